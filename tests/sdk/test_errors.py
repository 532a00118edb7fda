"""Contract reverts decode into one typed exception per error, the same on every chain."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
from eth_abi.abi import encode
from eth_typing import ChecksumAddress
from eth_utils.crypto import keccak
from web3.contract import Contract
from web3.exceptions import ContractLogicError, Web3RPCError

from jouleledger import Devnet
from jouleledger.abi import (
    SDK_UNITS,
    available_artifacts,
    contract_errors,
    decode_revert,
    error_class,
    error_registry,
    load_artifact,
    placeholders,
    register_abi,
    revert_data_from_exception,
    revert_from_exception,
)
from jouleledger.errors import (
    ContractRevert,
    JouleLedgerError,
    Panic,
    RevertReason,
    TransactionFailed,
    UnknownErrorName,
    UnknownRevert,
)
from jouleledger.tx import Sender
from tests.sdk.conftest import ONE, fresh_address, permit_call

MINTER_ROLE = keccak(text="MINTER_ROLE")


def error_data(name: str, types: list[str], values: list[Any]) -> bytes:
    return keccak(text=f"{name}({','.join(types)})")[:4] + encode(types, values)


def call_error(fn: Any, sender: ChecksumAddress) -> BaseException:
    """What web3 raises for an eth_call of `fn` (each node words it differently)."""
    with pytest.raises(Exception) as caught:
        fn.call({"from": sender})
    return caught.value


# --- the token's errors on every chain ----------------------------------------------------


def test_transfer_beyond_balance_raises_erc20_insufficient_balance(
    devnet: Devnet, token: Contract
) -> None:
    owner, alice = devnet.accounts[:2]
    Sender(devnet.w3, owner).send(token.functions.transfer(alice.address, 3 * ONE))
    transfer = token.functions.transfer(fresh_address(), 5 * ONE)

    with pytest.raises(error_class("ERC20InsufficientBalance")) as caught:
        Sender(devnet.w3, alice).send(transfer)

    assert type(caught.value).__name__ == "ERC20InsufficientBalance"
    assert caught.value.args_by_name == {
        "sender": alice.address,
        "balance": 3 * ONE,
        "needed": 5 * ONE,
    }
    assert (
        caught.value.selector
        == keccak(text="ERC20InsufficientBalance(address,uint256,uint256)")[:4]
    )
    assert f"{alice.address} holds {3 * ONE} token base units but needs {5 * ONE}" in str(
        caught.value
    )
    # eth_call reports the same revert in another shape on each node; it decodes alike.
    decoded = revert_from_exception(call_error(transfer, alice.address))
    assert type(decoded) is error_class("ERC20InsufficientBalance")
    assert decoded.args_by_name == caught.value.args_by_name


def test_transfer_from_without_allowance_raises_erc20_insufficient_allowance(
    devnet: Devnet, token: Contract
) -> None:
    owner, market = devnet.accounts[0], devnet.accounts[2]
    pull = token.functions.transferFrom(owner.address, market.address, 7)

    with pytest.raises(error_class("ERC20InsufficientAllowance")) as caught:
        Sender(devnet.w3, market).send(pull)

    assert caught.value.args_by_name == {"spender": market.address, "allowance": 0, "needed": 7}
    assert "approve the market first or post with a permit" in str(caught.value)
    assert type(revert_from_exception(call_error(pull, market.address))) is type(caught.value)


def test_expired_permit_raises_erc2612_expired_signature(devnet: Devnet, token: Contract) -> None:
    owner, spender = devnet.accounts[0], devnet.accounts[3]
    deadline = devnet.w3.eth.get_block("latest")["timestamp"] - 1
    call = permit_call(token, owner, owner, spender, deadline)

    with pytest.raises(contract_errors.ERC2612ExpiredSignature) as caught:
        Sender(devnet.w3, spender).send(call)

    assert caught.value.args_by_name == {"deadline": deadline}
    assert "sign a new permit with a later deadline" in str(caught.value)


def test_permit_signed_by_another_key_raises_erc2612_invalid_signer(
    devnet: Devnet, token: Contract
) -> None:
    owner, spender, intruder = devnet.accounts[0], devnet.accounts[3], devnet.accounts[4]
    deadline = devnet.w3.eth.get_block("latest")["timestamp"] + 3600
    call = permit_call(token, intruder, owner, spender, deadline)

    with pytest.raises(error_class("ERC2612InvalidSigner")) as caught:
        Sender(devnet.w3, spender).send(call)

    # The digest the contract checks names the real owner, so the forged signature recovers
    # to an unrelated address.
    assert caught.value.args_by_name["owner"] == owner.address
    assert caught.value.args_by_name["signer"] not in (owner.address, intruder.address)
    assert "sign with the owner's key" in str(caught.value)


def test_mint_without_the_role_raises_access_control_unauthorized_account(
    devnet: Devnet, token: Contract
) -> None:
    alice = devnet.accounts[1]

    with pytest.raises(error_class("AccessControlUnauthorizedAccount")) as caught:
        Sender(devnet.w3, alice).send(token.functions.mint(alice.address, ONE))

    assert caught.value.args_by_name == {"account": alice.address, "neededRole": MINTER_ROLE}
    assert f"lacks the role MINTER_ROLE (0x{MINTER_ROLE.hex()})" in str(caught.value)
    assert "grantRole" in caught.value.hint


def test_mined_revert_is_transaction_failed_with_the_replayed_reason(
    devnet: Devnet, token: Contract
) -> None:
    alice = devnet.accounts[1]
    balance = token.functions.balanceOf(alice.address).call()
    # An explicit gas limit skips the estimate, so the revert happens on chain.
    call = token.functions.transfer(fresh_address(), balance + 1)

    with pytest.raises(TransactionFailed) as caught:
        Sender(devnet.w3, alice).send(call, gas=100_000)

    assert caught.value.receipt is not None and caught.value.receipt["status"] == 0
    assert type(caught.value.revert) is error_class("ERC20InsufficientBalance")
    assert caught.value.revert.args_by_name["needed"] == balance + 1
    assert f"{caught.value.tx_hash} reverted in block" in str(caught.value)
    assert "ERC20InsufficientBalance" in str(caught.value)


# --- Error(string), Panic, unknown and empty data on every chain --------------------------


@pytest.mark.parametrize(
    ("data", "expected", "args"),
    [
        (
            bytes.fromhex("08c379a0") + encode(["string"], ["no GPU free"]),
            RevertReason,
            {"reason": "no GPU free"},
        ),
        (bytes.fromhex("4e487b71") + encode(["uint256"], [0x11]), Panic, {"code": 0x11}),
        (bytes.fromhex("deadbeef") + encode(["uint256"], [7]), UnknownRevert, {}),
        (b"", UnknownRevert, {}),
    ],
    ids=["error-string", "panic", "unknown-selector", "empty"],
)
def test_standard_and_unknown_revert_data_decode_on_every_chain(
    devnet: Devnet,
    echo_revert: ChecksumAddress,
    data: bytes,
    expected: type[ContractRevert],
    args: dict[str, Any],
) -> None:
    sender = Sender(devnet.w3, devnet.accounts[0])
    call = {"to": echo_revert, "data": "0x" + data.hex()}

    with pytest.raises(ContractRevert) as estimated:
        sender.send(call)
    with pytest.raises(Exception) as called:
        devnet.w3.eth.call({"from": sender.address, "to": echo_revert, "data": data})

    for revert in (estimated.value, revert_from_exception(called.value)):
        assert type(revert) is expected
        assert revert is not None
        assert revert.data == data
        assert revert.args_by_name == args


def test_panic_names_its_code() -> None:
    panic = decode_revert(bytes.fromhex("4e487b71") + encode(["uint256"], [0x12]))

    assert isinstance(panic, Panic)
    assert (panic.code, panic.meaning) == (0x12, "division or modulo by zero")
    assert "panicked with code 0x12 (division or modulo by zero)" in str(panic)


def test_unknown_selector_keeps_the_raw_data_and_says_to_update_the_sdk() -> None:
    data = bytes.fromhex("deadbeef") + encode(["uint256"], [7])

    revert = decode_revert(data)

    assert type(revert) is UnknownRevert
    assert revert.selector == bytes.fromhex("deadbeef")
    assert data.hex() in str(revert)
    assert "update jouleledger" in str(revert)


def test_known_selector_with_undecodable_arguments_is_unknown_revert() -> None:
    selector = keccak(text="ERC2612ExpiredSignature(uint256)")[:4]

    revert = decode_revert(selector + b"\x01")

    assert type(revert) is UnknownRevert
    assert "does not decode as one" in str(revert)


# --- the registry --------------------------------------------------------------------------


def default_value(abi_type: str) -> Any:
    if abi_type == "address":
        return "0x" + "11" * 20
    if abi_type.startswith(("uint", "int")):
        return 5
    if abi_type.startswith("bytes") and abi_type != "bytes":
        return b"\x22" * int(abi_type[5:])
    if abi_type == "string":
        return "text"
    if abi_type == "bool":
        return True
    if abi_type == "bytes":  # MarketBatchItemInvalid's reason: another error, encoded
        return keccak(text="MarketZeroPayment()")[:4]
    raise NotImplementedError(abi_type)


def test_every_error_of_every_shipped_contract_decodes_to_its_own_class() -> None:
    registry = error_registry()
    specs = [registry.lookup(keccak(text=s)[:4]) for s in _signatures(registry)]

    assert len(specs) >= 16  # the token's errors at least
    for spec in specs:
        assert spec is not None
        data = spec.selector + encode(spec.types, [default_value(t) for t in spec.types])
        revert = decode_revert(data)
        assert type(revert) is error_class(spec.name), spec.signature
        assert revert.signature == spec.signature
        assert list(revert.args_by_name) == [i["name"] for i in spec.inputs]
        assert spec.name in str(revert)


def _signatures(registry: Any) -> list[str]:
    return [spec.signature for spec in registry._by_selector.values()]


def test_error_class_is_created_once_per_name() -> None:
    first = error_class("ERC20InsufficientBalance")

    assert error_class("ERC20InsufficientBalance") is first
    assert contract_errors.ERC20InsufficientBalance is first
    assert issubclass(first, ContractRevert) and issubclass(first, JouleLedgerError)
    assert error_class("Error") is RevertReason and error_class("Panic") is Panic


def test_misspelled_error_name_suggests_the_close_ones() -> None:
    with pytest.raises(UnknownErrorName, match="did you mean ERC20InsufficientBalance"):
        error_class("ERC20InsuficientBalance")
    with pytest.raises(AttributeError):
        _ = contract_errors.NoSuchError


def test_decoded_revert_survives_pickling() -> None:
    data = error_data("ERC2612ExpiredSignature", ["uint256"], [99])

    revert = pickle.loads(pickle.dumps(decode_revert(data)))

    assert type(revert) is error_class("ERC2612ExpiredSignature")
    assert revert.args_by_name == {"deadline": 99}


def test_registered_abi_teaches_the_decoder_a_new_error() -> None:
    abi = [
        {
            "type": "error",
            "name": "BridgeQuotaExceeded",
            "inputs": [
                {"name": "quota", "type": "tuple", "components": [
                    {"name": "limit", "type": "uint256"},
                    {"name": "holder", "type": "address"},
                ]},
            ],
        }
    ]  # fmt: skip
    data = error_data("BridgeQuotaExceeded", ["(uint256,address)"], [(3, "0x" + "ab" * 20)])
    assert type(decode_revert(data)) is UnknownRevert

    register_abi(abi, source="Bridge")
    revert = decode_revert(data)

    assert type(revert) is error_class("BridgeQuotaExceeded")
    assert revert.args_by_name == {
        "quota": {"limit": 3, "holder": "0xABaBaBaBABabABabAbAbABAbABabababaBaBABaB"}
    }
    assert "see the NatSpec of BridgeQuotaExceeded((uint256,address))" in str(revert)


# --- how each node reports revert data -----------------------------------------------------

CUSTOM = error_data("ERC2612ExpiredSignature", ["uint256"], [1])


@pytest.mark.parametrize(
    "exc",
    [
        ContractLogicError("0x" + CUSTOM.hex(), data="0x" + CUSTOM.hex()),  # anvil
        ContractLogicError(  # ganache eth_estimateGas
            "execution reverted: VM Exception while processing transaction: revert",
            data={"hash": None, "programCounter": 7, "result": "0x" + CUSTOM.hex()},
        ),
        Web3RPCError(  # ganache eth_call with Error(string)/empty data
            "rpc error",
            rpc_response={
                "jsonrpc": "2.0",
                "id": 1,
                "error": {
                    "code": -32000,
                    "message": "VM Exception while processing transaction: revert",
                    "data": "0x" + CUSTOM.hex(),
                },
            },
        ),
        ValueError({"code": 3, "message": "execution reverted", "data": "0x" + CUSTOM.hex()}),
    ],
    ids=["anvil", "ganache-estimate", "ganache-call", "dict-payload"],
)
def test_revert_data_is_found_in_every_nodes_shape(exc: BaseException) -> None:
    assert revert_data_from_exception(exc) == CUSTOM


def test_eth_tester_messages_decode_back_to_the_revert_data() -> None:
    from eth_tester.exceptions import TransactionFailed as EthTesterFailed

    as_bytes = EthTesterFailed(f"execution reverted: {CUSTOM!r}")
    as_reason = EthTesterFailed("execution reverted: no GPU free")

    assert revert_data_from_exception(as_bytes) == CUSTOM
    reason = revert_from_exception(as_reason)
    assert isinstance(reason, RevertReason) and reason.reason == "no GPU free"


def test_errors_that_are_not_reverts_are_not_decoded() -> None:
    nonce_error = Web3RPCError(
        "rpc error",
        rpc_response={
            "jsonrpc": "2.0",
            "id": 1,
            "error": {"code": -32003, "message": "nonce too low"},
        },
    )

    assert revert_data_from_exception(nonce_error) is None
    assert revert_from_exception(RuntimeError("boom")) is None


def test_every_error_of_every_shipped_contract_has_a_hint_whose_fields_exist() -> None:
    """Each custom error in a shipped ABI has a hint (its NatSpec notice, from the artifact's
    userdoc), and the hint only names arguments the error really has, in known units (a typo
    would fall back to the generic hint at revert time)."""
    seen: dict[str, list[str]] = {}
    for name in available_artifacts():
        for entry in load_artifact(name).abi:
            if entry.get("type") == "error":
                seen[entry["name"]] = [inp["name"] for inp in entry["inputs"]]
    specs = {spec.name: spec for spec in error_registry().specs()}

    assert {n for n in seen if n.startswith(("Market", "Staking", "Holdings"))}
    assert sorted(n for n in seen if not specs[n].hint) == []
    for name, params in seen.items():
        used = placeholders(specs[name].hint)
        assert {field for field, _ in used} <= set(params), (name, specs[name].hint)
        assert {unit for _, unit in used} <= {"", *SDK_UNITS}, (name, specs[name].hint)


def test_hints_fill_in_the_arguments_in_their_units() -> None:
    state = decode_revert(error_data("MarketInvalidJobState", ["uint256", "uint8"], [7, 2]))
    ready = decode_revert(
        error_data("StakingUnbondingNotReady", ["address", "uint256"], ["0x" + "ab" * 20, 99])
    )

    assert str(state) == (
        "reverted with MarketInvalidJobState: job 7 is claimed, which does not allow that"
    )
    assert ready.hint.endswith("becomes withdrawable at 99: try again then")


def test_registered_userdoc_gives_the_new_error_its_hint() -> None:
    abi = [
        {
            "type": "error",
            "name": "BridgePaused",
            "inputs": [{"name": "until", "type": "uint256"}],
        }
    ]
    userdoc = {"errors": {"BridgePaused(uint256)": [{"notice": "paused until {until:time}"}]}}

    register_abi(abi, source="PausableBridge", userdoc=userdoc)
    revert = decode_revert(error_data("BridgePaused", ["uint256"], [1234]))

    assert str(revert) == "reverted with BridgePaused: paused until 1234"
