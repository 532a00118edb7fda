"""The protocol's constants as the contract tests know them: deployment settings, units,
job states, and the EIP-712 field lists the tests' own encoder signs with. Kept apart from
`market_protocol.py`, which drives the deployed protocol with them.
"""

from __future__ import annotations

from eth_utils import keccak

TOKEN_NAME = "Compute Power Token"
INITIAL_SUPPLY = 1_000_000 * 10**18
ONE = 10**18
NANO = 10**9
ZERO_ADDRESS = "0x" + "00" * 20
H100 = keccak(text="nvidia-h100")[:4]
A100 = keccak(text="nvidia-a100")[:4]
PRICE = ONE // 1000  # 0.001 CPT per GPU-second
MIN_STAKE = 1_000 * ONE
DISPUTE_WINDOW = 3600
ARBITER_TIMEOUT = 3600
UNBONDING_DELAY = 3 * 3600
ASK_INCREASE_DELAY = 600
COLLATERAL_BPS = 5_000
COLLATERAL_CAP = 100 * ONE  # so the largest escrow is 200 CPT
MAX_ESCROW = COLLATERAL_CAP * 10_000 // COLLATERAL_BPS
FEE_BPS = 100
DISPUTE_BOND = 10 * ONE
MIN_DISPUTE_BOND = 10**15
DEFAULT_SLASH_BPS = 5_000
DEFAULT_EXPIRE_PENALTY_BPS = 1_000
DEFAULT_TREASURY_SHARE_BPS = 1_000
DEFAULT_BUSY_THRESHOLD = 16
DAY = 86_400
# The holdings vault, as `jouleledger.deployment` sets it up.
WARMUP = 3600
EPOCH = 3600
BOOST_BPS = 100  # a boost of 1% of warm holdings per job
MAX_BOOST = 50 * ONE
HOLDING_PER_JOB = 100 * ONE
MAX_JOBS_PER_EPOCH = 100
# Job states
OPEN, CLAIMED, SETTLED, DISPUTED, FINALIZED, EXPIRED, CANCELLED = range(1, 8)
MAX_LEVEL = 223


def struct_fields(type_string: str) -> list[dict[str, str]]:
    """The EIP-712 field list of a struct, read from its type string as the contract's type
    hash spells it: the tests sign with what the Solidity source states, not with the SDK's
    copy, so a field the two disagree on fails here."""
    members = type_string[type_string.index("(") + 1 : -1]
    return [dict(zip(("type", "name"), m.split(" "), strict=True)) for m in members.split(",")]


# As in OpenZeppelin's ERC20Permit (EIP-2612), UsageRecords.sol and ProviderStaking.sol.
PERMIT_TYPES = {
    "Permit": struct_fields(
        "Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"
    )
}
RECORD_FIELDS = struct_fields(
    "UsageRecord(uint256 jobId,address provider,uint64 gpuMillis,uint64 energyMj,uint64 aiTokens,"
    "bytes32 resultHash,uint64 startTime,uint64 endTime,uint8 meterKind,bytes32 gpuIdHash)"
)
BINDING_FIELDS = struct_fields("SignerBinding(address provider,address signer,uint256 nonce)")


def padded(name: str) -> bytes:
    """A parameter name as the bytes32 that MarketInvalidParameter carries."""
    return name.encode().ljust(32, b"\0")


def level_of(priority_wei: int) -> int:
    """The priority level of a priority in wei, computed independently of the contract:
    0 for zero, else 1 + 4*floor(log2(p)) + the two bits after the leading one (p in
    nano-CPT), at most MAX_LEVEL."""
    p = priority_wei // NANO
    if p == 0:
        return 0
    e = p.bit_length() - 1
    m = (p >> (e - 2)) & 3 if e >= 2 else (p << (2 - e)) & 3
    return min(1 + 4 * e + m, MAX_LEVEL)
