"""Stateful property test of the money invariants of DESIGN.md ("Money invariants").

A hypothesis state machine (brownie's `state_machine`) drives random sequences of every
operation that moves tokens or changes a job: staking, unbonding and withdrawing unbonded
stake, posting (random bids, prices and deadlines, some jobs designated to a provider),
raising bids, cancelling, claiming (`claimNext` and `claimJob`), settling one job or a
batch, disputes (the arbiter decides either way, or the default applies after its
timeout), expiry of open and claimed jobs, pausing, withdrawals (also while paused) and
time travel. The actors are three clients, two providers and the treasury; each example
draws whether the second provider shares the first one's GPU class (they compete for one
queue) or serves another class (a third, registered but idle, must then stay untouched).

The model. The machine keeps its own ledger: every job's state, escrow, payment, lock and
dispute bond; every account's token balance and market credit; every provider's stake and
unbonding amount. From it each rule predicts the outcome of its call: success with the
exact token movements, or the exact custom error. Most steps take an action the model says
is valid; a high `st_fault` draw makes a rule take an invalid one on purpose (wrong caller,
wrong state, too early, too late, misaligned amount, stale queue hint, forged or replayed
signature). Hypothesis likes to repeat one rule many times in a row, so two rules move a
job one step along its lifecycle as its parties normally would (`rule_advance_a_job`,
`rule_advance_the_oldest_job`): repeated, they still walk jobs through claim, settlement,
dispute, expiry and withdrawal; a rule that finds nothing to act on does the same instead
of wasting its step.

After every step the invariant reads the chain (one JSON-RPC batch) and checks:
- the market holds exactly the escrows of open and claimed jobs, the payments held for
  settled and disputed jobs, the refunds not yet pulled, the bonds of open disputes and the
  credits of every account, computed from the model and from the chain's `credit` views;
- the staking contract holds exactly `totalBonded`, the sum of every provider's stake and
  unbonding amount, as `providerInfo` reports it and as the model expects;
- the total supply is unchanged and sits entirely with the accounts the model tracks;
- every job's view matches the model; its payment never exceeds `maxPayment + bid`;
- every provider's `lockedStake` is the sum of the locks of its claimed, settled and
  disputed jobs, and never exceeds its stake;
- each class's queue is sorted by (bid desc, id asc) and holds exactly the open jobs.
Per transaction, from its logs: a job's payment leaves the market at most once
(`JobFinalized`, or a dispute the client won) and exactly as settled; a slash never exceeds
the lock of the job it punishes; a withdrawal pays exactly what the model owes.

Time. Outcomes that depend on `block.timestamp` are predicted only when the chain clock is
more than MARGIN seconds from the boundary; a step that lands inside the margin does
nothing and is counted as "ambiguous" in the summary printed at the end (run with `-s`).

Speed. Successful transactions go out as raw `eth_sendTransaction`, encoded by brownie's
contract objects: brownie's own transaction path costs ~50 ms each on a 2-core machine,
against ~4 ms. Expected reverts are checked with brownie's `.call` inside
`brownie.reverts`, which decodes the custom error (`Name: arg, arg`).
"""

from __future__ import annotations

import enum
import importlib.util
import itertools
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import brownie
import brownie.test
import pytest
import requests
from brownie import web3
from conftest import (
    A100,
    ARBITER_TIMEOUT,
    COLLATERAL_BPS,
    DISPUTE_WINDOW,
    H100,
    NANO,
    ONE,
    PRICE,
    UNBONDING_DELAY,
    ZERO_ADDRESS,
    Protocol,
    custom_error,
)
from eth_utils import keccak
from hypothesis import HealthCheck, Phase
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

# At most MAX_EXAMPLES x STEPS steps; hypothesis makes its first ~10 examples short.
MAX_EXAMPLES = 60
STEPS = 30
SETTINGS = {
    "max_examples": MAX_EXAMPLES,
    "stateful_step_count": STEPS,
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
    # No target phase: its Pareto optimiser spends most of the budget re-running variants of
    # a few examples. The other phases as brownie's profile says: `--failfast` drops the
    # shrinking, which takes minutes once a bug is found.
    "phases": [p for p in hypothesis_settings.default.phases if p is not Phase.target],
}

BPS = 10_000
MAX_SKIP = 32  # JobMarket.MAX_SKIP
# A class no provider serves: its jobs only ever wait, get cancelled or expire.
L4 = keccak(text="nvidia-l4")[:4]
CLASSES = (H100, A100, L4)
# Seconds kept between the chain clock and any time boundary a prediction depends on.
MARGIN = 30
GAS = 6_000_000
GPU_MILLIS = (0, 1_234, 2_000_000, 10**12)  # nothing, a little, a lot, past maxPayment
ARBITER_ROLE = keccak(text="ARBITER_ROLE")
PAUSER_ROLE = keccak(text="PAUSER_ROLE")
# `st_fault` values at or above this pick a rule's invalid variant (FAULTY + 0, + 1, ...).
FAULTY = 6


def _topic(signature: str) -> str:
    return "0x" + keccak(text=signature).hex().removeprefix("0x")


SLASHED = _topic("Slashed(address,uint256,address)")
SETTLED = _topic("JobSettled(uint256,uint256,uint256,uint256,uint256)")
FINALIZED = _topic("JobFinalized(uint256,address,uint256,uint256)")
RESOLVED = _topic("DisputeResolved(uint256,bool,bool,uint256,uint256)")
WITHDRAWN = _topic("Withdrawn(address,uint256)")


class State(enum.IntEnum):
    NONE = 0
    OPEN = 1
    CLAIMED = 2
    SETTLED = 3
    DISPUTED = 4
    FINALIZED = 5
    EXPIRED = 6
    CANCELLED = 7


@dataclass(eq=False)
class Job:
    """The model's view of one job; amounts in wei."""

    id: int
    client: str
    gpu_class: bytes
    price: int
    max_payment: int
    bid: int
    deadline: int
    designated: str | None
    fee_bps: int
    state: State = State.OPEN
    provider: str | None = None  # assigned at claim
    payment: int = 0  # usage + bid, once settled
    settled_at: int = 0
    refund_withdrawn: bool = False
    bond: int = 0  # while disputed
    disputed_at: int = 0
    settlement: tuple[Any, bytes] | None = None  # the record and signature that settled it

    @property
    def escrow(self) -> int:
        return self.max_payment + self.bid

    @property
    def refund(self) -> int:
        return self.escrow - self.payment

    @property
    def lock(self) -> int:
        return self.escrow * COLLATERAL_BPS // BPS


@dataclass
class Provider:
    """The model's view of one provider's stake."""

    account: Any
    signer: Any  # eth-account key of its oracle node
    gpu_class: bytes
    ask: int
    stake: int
    unbonding: int = 0
    ready_at: int = 0

    @property
    def address(self) -> str:
        return str(self.account)


@dataclass
class Receipt:
    timestamp: int
    logs: list[dict[str, Any]]

    def events(self, address: Any, topic: str) -> list[tuple[list[str], list[int]]]:
        """(topics, data words) of the logs that `address` emitted under `topic`."""
        found = []
        for log in self.logs:
            if log["address"].lower() == str(address).lower() and log["topics"][0] == topic:
                data = log["data"][2:]
                words = [int(data[i : i + 64], 16) for i in range(0, len(data), 64)]
                found.append((log["topics"], words))
        return found


class ChainReader:
    """Many view calls in one JSON-RPC batch: one round trip instead of one per view."""

    def __init__(self, uri: str) -> None:
        self._uri = uri
        self._session = requests.Session()
        self._calls: list[tuple[Any, tuple[Any, ...]]] = []

    def add(self, fn: Any, *args: Any) -> int:
        self._calls.append((fn, args))
        return len(self._calls) - 1

    def read(self) -> list[Any]:
        calls, self._calls = self._calls, []
        payload = [
            {
                "jsonrpc": "2.0",
                "id": i,
                "method": "eth_call",
                "params": [{"to": fn._address, "data": fn.encode_input(*args)}, "latest"],
            }
            for i, (fn, args) in enumerate(calls)
        ]
        replies = sorted(self._session.post(self._uri, json=payload).json(), key=lambda r: r["id"])
        for (fn, args), reply in zip(calls, replies, strict=True):
            assert "result" in reply, f"{fn._name}{args} failed: {reply.get('error')}"
        return [fn.decode_output(r["result"]) for (fn, _), r in zip(calls, replies, strict=True)]


def _load_state_machine() -> Callable[..., None]:
    """brownie's `state_machine`, loaded from the Python source that brownie ships.

    The mypyc-compiled `brownie.test.stateful` of eth-brownie 1.22.2 cannot run any machine:
    it compiles `_BrownieStateMachine` as a final class, so the subclass it generates fails
    with "TypeError: brownie.test.stateful._BrownieStateMachine object expected". The
    `stateful.py` shipped next to the extension module is the same code, uncompiled.
    """
    source = Path(brownie.test.__file__).with_name("stateful.py")
    spec = importlib.util.spec_from_file_location("_brownie_stateful_source", source)
    assert spec is not None and spec.loader is not None, f"no {source}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    run: Callable[..., None] = module.state_machine
    return run


state_machine = _load_state_machine()


def _rpc(method: str, params: list[Any]) -> Any:
    reply = web3.provider.make_request(method, params)
    assert "error" not in reply, f"{method} failed: {reply['error']}"
    return reply["result"]


def _receipt(tx_hash: str) -> dict[str, Any]:
    """The receipt of a sent transaction; anvil may answer before it has mined it."""
    for _ in range(2_500):
        raw: dict[str, Any] | None = _rpc("eth_getTransactionReceipt", [tx_hash])
        if raw is not None:
            return raw
        time.sleep(0.002)
    raise AssertionError(f"{tx_hash} was not mined")


def _addr(account: Any) -> str:
    return str(account)


def _fault(st_fault: int) -> int | None:
    """Which invalid variant a rule tries (0, 1, ...), or None for a valid action."""
    return st_fault - FAULTY if st_fault >= FAULTY else None


class MarketMachine:
    """Rules are named by the behaviour they drive; an `st_*` argument is drawn from the
    strategy of the same name. brownie calls `__init__` and `teardown_final` once per test,
    on the class; `setup` runs before every example, on a chain reverted to the snapshot
    taken right after `__init__`."""

    st_client = st.integers(0, 2)
    st_provider = st.integers(0, 1)
    st_account = st.integers(0, 5)  # 3 clients, 2 providers, the treasury
    st_pick = st.integers(0, 255)
    st_choice = st.integers(0, 5)
    st_fault = st.integers(0, FAULTY + 3)
    st_reject = st.integers(0, 6)
    st_max_payment = st.integers(1, 40).map(lambda n: n * ONE // 4)
    st_bid = st.sampled_from([0, 0, ONE // 2, ONE, 3 * ONE])
    st_bid_step = st.sampled_from([NANO, ONE // 2, 2 * ONE])
    st_price = st.sampled_from([2 * PRICE, PRICE, PRICE // 2])
    st_lifetime = st.sampled_from([86_413, 901, 4_003, 9_007, 40_009])
    st_designate = st.sampled_from([None, None, 0, 1])
    st_class = st.integers(0, 3)  # 0 and 2: the first provider's class, 1: the second's
    st_gpu_millis = st.sampled_from(GPU_MILLIS)
    st_batch_size = st.integers(1, 4)
    st_flag = st.booleans()
    st_sleep = st.sampled_from([3_701, 61, 1_207, 7_411, 11_003, 90_001])
    st_stake = st.sampled_from([ONE, 500 * ONE, 5_000 * ONE])
    st_unbond = st.integers(0, 3)
    st_fee = st.sampled_from([100, 0, 1_000])
    st_initial = st.lists(
        st.tuples(st.integers(0, 2), st.sampled_from([0, ONE, 3 * ONE]), st.integers(0, 3)),
        min_size=1,
        max_size=4,
    )

    # --- once per test -------------------------------------------------------------------

    def __init__(
        self, protocol: Protocol, clients: list[Any], providers: list[Any], treasury: Any
    ) -> None:
        # `self` is the class brownie generates: these are class attributes.
        self.protocol = protocol
        self.market, self.token, self.staking = protocol.market, protocol.token, protocol.staking
        self.admin, self.clients, self.treasury = protocol.admin, clients, treasury
        self.client_addresses = [_addr(c) for c in clients]
        self.reader = ChainReader(web3.provider.endpoint_uri)
        self.stats: Counter[str] = Counter()
        self.lengths: list[int] = []  # steps of each example
        self.started = time.monotonic()

        params = self.market.parameters()
        self.dispute_bond = params["disputeBond"]
        self.dispute_slash_bps = params["disputeSlashBps"]
        self.expire_penalty_bps = params["expirePenaltyBps"]
        self.treasury_share_bps = params["treasuryShareBps"]
        self.base_fee_bps = params["feeBps"]
        assert params["treasury"] == treasury and params["attestorThreshold"] == 0
        self.min_stake = self.staking.minStake()
        self.base_providers: list[Provider] = []
        for account in providers:
            info = self.staking.providerInfo(account)
            assert info["locked"] == 0 and info["unbonding"] == 0
            self.base_providers.append(
                Provider(
                    account,
                    protocol.signer_keys[account.address],
                    bytes(info["gpuClass"]),
                    info["askPricePerGpuSecond"],
                    info["stake"],
                )
            )
        holders = [self.admin, *clients, *providers, treasury]
        self.base_balances = {_addr(a): self.token.balanceOf(a) for a in holders}
        for account in holders:
            assert self.market.credit(account) == 0
        assert self.market.jobCount() == 0 and not self.market.paused()
        self.supply = self.token.totalSupply()

    def setup(self) -> None:
        self.jobs: dict[int, Job] = {}
        self.balances = dict(self.base_balances)
        self.credits: Counter[str] = Counter()
        # Three registered providers; each example lets the first face the second (same
        # class) or the third (another class). The idle one's stake must not move.
        self.all_providers = [replace(p) for p in self.base_providers]
        self.provider_of = {p.address: p for p in self.all_providers}
        self._choose_providers(False)
        self.paused = False
        self.fee_bps = self.base_fee_bps
        self.payouts: Counter[int] = Counter()  # per job, from JobFinalized / DisputeResolved
        self.checked = False  # the first invariant check runs before any step
        self.steps = 0
        self.advancing = False
        self.stats["examples"] += 1

    def _choose_providers(self, other_class: bool) -> None:
        first, same, other = self.all_providers
        self.providers = [first, other if other_class else same]
        self.actors = [*self.clients, *(p.account for p in self.providers), self.treasury]

    def teardown(self) -> None:
        self.lengths.append(self.steps)

    def teardown_final(self) -> None:
        stats = self.stats
        elapsed = time.monotonic() - self.started
        print(
            f"\n[invariants] {stats['examples']} examples, {stats['steps']} steps "
            f"(at most {MAX_EXAMPLES} x {STEPS}), {elapsed:.1f} s"
        )
        full = sum(n >= STEPS - 1 for n in self.lengths)
        print(f"  {full} examples ran all their steps; hypothesis keeps its first ones short")
        for name, count in sorted(stats.items()):
            if name not in ("examples", "steps"):
                print(f"  {count:5d}  {name}")

    # --- model helpers -------------------------------------------------------------------

    def _now(self) -> int:
        return int(_rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)

    @staticmethod
    def _before(now: int, boundary: int) -> bool:
        return now < boundary - MARGIN

    @staticmethod
    def _after(now: int, boundary: int) -> bool:
        return now > boundary + MARGIN

    def _ambiguous(self, what: str) -> None:
        self.stats[f"ambiguous (too close to a time boundary): {what}"] += 1

    def _nothing(self, what: str, pick: int) -> None:
        """A rule found nothing to act on: rather than waste the step, move the oldest live
        job along (see `_advance`)."""
        self.stats[f"no candidate: {what} (moved the oldest job instead)"] += 1
        if not self.advancing:
            self._advance(0, pick % 6, GPU_MILLIS[pick % len(GPU_MILLIS)])

    def _in(self, *states: State) -> list[Job]:
        return [job for job in self.jobs.values() if job.state in states]

    def _not_in(self, *states: State) -> list[Job]:
        return [job for job in self.jobs.values() if job.state not in states]

    def _queue(self, gpu_class: bytes) -> list[Job]:
        open_jobs = [j for j in self._in(State.OPEN) if j.gpu_class == gpu_class]
        return sorted(open_jobs, key=lambda j: (-j.bid, j.id))

    def _hint(self, gpu_class: bytes, bid: int, job_id: int) -> int:
        """The job to insert after, as the SDK computes it: the last one that goes first."""
        after = 0
        for job in self._queue(gpu_class):
            if job.id == job_id:
                continue
            if job.bid > bid or (job.bid == bid and job.id < job_id):
                after = job.id
            else:
                break
        return after

    def _locked(self, provider: Provider) -> int:
        held = self._in(State.CLAIMED, State.SETTLED, State.DISPUTED)
        return sum(j.lock for j in held if j.provider == provider.address)

    def _eligible(self, job: Job, provider: Provider, now: int) -> bool | None:
        """Whether `provider` may claim open `job`; None when too close to its deadline."""
        if job.gpu_class != provider.gpu_class or job.price < provider.ask:
            return False
        if job.designated not in (None, provider.address):
            return False
        if self._before(now, job.deadline):
            return True
        return False if self._after(now, job.deadline) else None

    def _slash(self, provider: Provider, amount: int) -> int:
        """What staking takes: active stake first, then unbonding."""
        from_stake = min(amount, provider.stake)
        from_unbonding = min(amount - from_stake, provider.unbonding)
        provider.stake -= from_stake
        provider.unbonding -= from_unbonding
        return from_stake + from_unbonding

    def _other_client(self, address: str) -> str:
        return self.client_addresses[(self.client_addresses.index(address) + 1) % 3]

    def _market_liabilities(self) -> Counter[str]:
        """What the market owes besides credits, by kind, from the model's jobs."""
        owed = Counter[str]()
        for job in self.jobs.values():
            if job.state in (State.OPEN, State.CLAIMED):
                owed["escrows"] += job.escrow
            if job.state in (State.SETTLED, State.DISPUTED):
                owed["held payments"] += job.payment
            if job.state in (State.SETTLED, State.DISPUTED, State.FINALIZED):
                owed["refunds"] += 0 if job.refund_withdrawn else job.refund
            if job.state == State.DISPUTED:
                owed["bonds"] += job.bond
        return owed

    # --- chain helpers -------------------------------------------------------------------

    def _send(self, fn: Any, *args: Any, sender: Any, max_slash: int = 0) -> Receipt:
        """Mines `fn(*args)` from `sender`, which the model says succeeds."""
        name = fn._name.split(".")[-1]
        tx = {
            "from": _addr(sender),
            "to": fn._address,
            "data": fn.encode_input(*args),
            "gas": hex(GAS),
        }
        raw = _receipt(_rpc("eth_sendTransaction", [tx]))
        if int(raw["status"], 16) != 1:
            try:
                fn.call(*args, {"from": sender})
                reason = "(it does not revert when replayed as a call)"
            except brownie.exceptions.VirtualMachineError as exc:
                reason = exc.revert_msg
            raise AssertionError(
                f"{name}{args} from {sender} reverted, the model expected success: {reason}"
            )
        stamp = raw.get("blockTimestamp")  # anvil's extension to the receipt
        if stamp is None:
            stamp = _rpc("eth_getBlockByNumber", [raw["blockNumber"], False])["timestamp"]
        receipt = Receipt(int(stamp, 16) if isinstance(stamp, str) else int(stamp), raw["logs"])
        slashed = sum(words[0] for _, words in receipt.events(self.staking, SLASHED))
        assert slashed <= max_slash, (
            f"{name} slashed {slashed}, more than the job's lock allows ({max_slash})"
        )
        self._count_payouts(receipt)
        self.stats[f"{name}: ok"] += 1
        return receipt

    def _count_payouts(self, receipt: Receipt) -> None:
        """A job's payment leaves the market's hold at most once, and exactly as settled."""
        for topics, words in receipt.events(self.market, FINALIZED):
            job = self.jobs[int(topics[1], 16)]
            payout, fee = words
            assert payout + fee == job.payment <= job.escrow, (
                f"job {job.id} paid out {payout} + fee {fee}; it settled for {job.payment}"
            )
            self.payouts[job.id] += 1
        for topics, words in receipt.events(self.market, RESOLVED):
            if words[0]:  # the client won: the payment went back to it
                self.payouts[int(topics[1], 16)] += 1
        for job_id, count in self.payouts.items():
            assert count <= 1, f"job {job_id} was paid {count} times"

    def _reverts(self, error: str, fn: Any, *args: Any, sender: Any) -> None:
        """Asserts that `fn(*args)` from `sender` reverts with exactly `error`."""
        with brownie.reverts(error):
            fn.call(*args, {"from": sender})
        self.stats[f"{fn._name.split('.')[-1]}: {error.split(':')[0]}"] += 1

    def _sleep(self, seconds: int) -> None:
        # Straight to the node: brownie's chain.sleep and chain.mine inspect the call stack
        # (~25 ms each). Nothing here reads brownie's clock (chain.time()).
        _rpc("evm_increaseTime", [seconds])
        _rpc("evm_mine", [])
        self.stats["time passes"] += 1

    # --- the actions, on a chosen job or account -----------------------------------------

    def _post(
        self,
        client: str,
        gpu_class: bytes,
        max_payment: int,
        bid: int,
        price: int,
        lifetime: int,
        designated: str | None,
    ) -> None:
        deadline, job_id = self._now() + lifetime, len(self.jobs) + 1
        request = (
            b"\x11" * 32,
            gpu_class,
            price,
            max_payment,
            bid,
            deadline,
            designated or ZERO_ADDRESS,
        )
        fn, hint = self.market.postJob, self._hint(gpu_class, bid, job_id)
        if self.paused:
            self._reverts(custom_error("EnforcedPause"), fn, request, hint, sender=client)
            return
        self._send(fn, request, hint, sender=client)
        job = Job(
            job_id, client, gpu_class, price, max_payment, bid, deadline, designated, self.fee_bps
        )
        self.jobs[job_id] = job
        self.balances[client] -= job.escrow

    def _raise_bid(self, job: Job, step: int, fault: int | None) -> None:
        client, new_bid, error = job.client, job.bid + step, None
        if fault == 0:
            client = self._other_client(job.client)
            error = custom_error("MarketNotJobClient", job.id, client)
        elif fault == 1:
            new_bid = job.bid
            error = custom_error("MarketBidNotHigher", job.id, job.bid, new_bid)
        elif fault == 2:
            new_bid += 1
            error = custom_error("MarketAmountNotAligned", new_bid, NANO)
        fn, hint = self.market.raiseBid, self._hint(job.gpu_class, new_bid, job.id)
        if self.paused:
            self._reverts(custom_error("EnforcedPause"), fn, job.id, new_bid, hint, sender=client)
        elif error is not None:
            self._reverts(error, fn, job.id, new_bid, hint, sender=client)
        else:
            self._send(fn, job.id, new_bid, hint, sender=client)
            self.balances[client] -= new_bid - job.bid
            job.bid = new_bid

    def _cancel(self, job: Job, fault: int | None) -> None:
        fn = self.market.cancelJob
        if fault == 1:
            stranger = self.providers[0].account
            error = custom_error("MarketNotJobClient", job.id, stranger)
            self._reverts(error, fn, job.id, sender=stranger)
            return
        self._send(fn, job.id, sender=job.client)  # allowed while paused
        job.state = State.CANCELLED
        self.credits[job.client] += job.escrow

    def _claim_or_shortfall(self, provider: Provider, job: Job, fn: Any, *args: Any) -> None:
        needed = max(self._locked(provider) + job.lock, self.min_stake)
        if provider.stake < needed:
            error = custom_error(
                "MarketInsufficientStake", provider.address, provider.stake, needed
            )
            self._reverts(error, fn, *args, sender=provider.account)
            return
        self._send(fn, *args, sender=provider.account)
        job.state, job.provider = State.CLAIMED, provider.address

    def _claim_next(self, provider: Provider) -> None:
        fn, sender = self.market.claimNext, provider.account
        if self.paused:
            self._reverts(custom_error("EnforcedPause"), fn, sender=sender)
            return
        now = self._now()
        for skipped, job in enumerate(self._queue(provider.gpu_class), start=1):
            eligible = self._eligible(job, provider, now)
            if eligible is None:
                self._ambiguous("claimNext")
                return
            if eligible:
                self._claim_or_shortfall(provider, job, fn)
                return
            if skipped > MAX_SKIP:
                error = custom_error("MarketSkipLimitReached", job.id, skipped)
                self._reverts(error, fn, sender=sender)
                return
        error = custom_error("MarketNoEligibleJob", provider.address, provider.gpu_class)
        self._reverts(error, fn, sender=sender)

    def _claim_job(self, provider: Provider, job: Job) -> None:
        fn, sender, now = self.market.claimJob, provider.account, self._now()
        eligible = self._eligible(job, provider, now)
        if eligible is None:
            self._ambiguous("claimJob")
            return
        if not eligible:
            error = custom_error("MarketProviderNotEligible", job.id, provider.address)
            self._reverts(error, fn, job.id, sender=sender)
            return
        ahead = itertools.takewhile(lambda j: j.id != job.id, self._queue(provider.gpu_class))
        for skipped, other in enumerate(ahead, start=1):
            eligible = self._eligible(other, provider, now)
            if eligible is None:
                self._ambiguous("claimJob")
                return
            if eligible:
                error = custom_error("MarketHigherBidEligible", job.id, other.id)
                self._reverts(error, fn, job.id, sender=sender)
                return
            if skipped > MAX_SKIP:
                error = custom_error("MarketSkipLimitReached", job.id, skipped)
                self._reverts(error, fn, job.id, sender=sender)
                return
        self._claim_or_shortfall(provider, job, fn, job.id)

    def _record(self, job: Job, provider: str, gpu_millis: int, now: int, **fields: Any) -> Any:
        # endTime = the latest block's time: never after the settling block's.
        return self.protocol.record(
            job.id, provider, gpu_millis=gpu_millis, startTime=now - 10, endTime=now, **fields
        )

    def _apply_settlement(self, job: Job, gpu_millis: int, receipt: Receipt) -> None:
        usage = job.price // NANO * gpu_millis // 1000  # nano-CPT, rounded down
        paid = min(usage, job.max_payment // NANO)
        job.payment = (paid + job.bid // NANO) * NANO
        job.state, job.settled_at = State.SETTLED, receipt.timestamp
        emitted = {int(t[1], 16): words[0] for t, words in receipt.events(self.market, SETTLED)}
        assert emitted[job.id] == job.payment <= job.escrow, (
            f"job {job.id} settled for {emitted[job.id]}; model {job.payment}, escrow {job.escrow}"
        )

    def _replay_settlement(self, job: Job, gpu_millis: int) -> None:
        """The record that settled a job (or a fresh one of its provider) cannot settle it
        again: the job, not the signature, is marked."""
        assert job.provider is not None
        if job.settlement is None:
            record = self._record(job, job.provider, gpu_millis, self._now())
            signature = self.protocol.sign(self.provider_of[job.provider].signer, record)
            job.settlement = (record.tuple(), signature)
        record_tuple, signature = job.settlement
        error = custom_error("MarketInvalidJobState", job.id, int(job.state))
        self._reverts(error, self.market.settle, record_tuple, signature, [], sender=job.provider)

    def _settle(self, job: Job, gpu_millis: int, fault: int | None) -> None:
        now = self._now()
        provider = self.provider_of[job.provider or ""]
        other = self.providers[1 - self.providers.index(provider)]
        record = self._record(job, provider.address, gpu_millis, now)
        key, error = provider.signer, None
        if fault == 1:  # forged: signed by another provider's oracle
            key = other.signer
            error = custom_error(
                "MarketInvalidSigner", other.signer.address, provider.signer.address
            )
        elif fault == 2:  # a record naming another provider
            record = self._record(job, other.address, gpu_millis, now)
            error = custom_error("MarketWrongProvider", job.id, other.address, provider.address)
        elif self._after(now, job.deadline):
            error = custom_error("MarketDeadlinePassed", job.id, job.deadline)
        elif not self._before(now, job.deadline):
            self._ambiguous("settle")
            return
        elif fault == 3:
            record = self._record(job, provider.address, gpu_millis, now, energyMj=0)
            error = custom_error("MarketInvalidUsage", job.id)
        signature = self.protocol.sign(key, record)
        args = (record.tuple(), signature, [])
        fn = self.market.settle
        if error is not None:
            self._reverts(error, fn, *args, sender=provider.account)
            return
        receipt = self._send(fn, *args, sender=provider.account)
        self._apply_settlement(job, gpu_millis, receipt)
        job.settlement = (record.tuple(), signature)

    def _settle_batch(
        self, provider: Provider, size: int, gpu_millis: int, fault: int | None
    ) -> None:
        other = self.providers[1 - self.providers.index(provider)]
        now = self._now()
        mine = [j for j in self._in(State.CLAIMED) if j.provider == provider.address]
        ready = [j for j in mine if self._before(now, j.deadline)]
        if not ready:
            self._nothing("settleBatch", size)
            return
        chosen = ready[:size]
        start = GPU_MILLIS.index(gpu_millis)
        millis = [GPU_MILLIS[(start + i) % len(GPU_MILLIS)] for i in range(len(chosen))]
        key, error, extra = provider.signer, None, None
        late = [j for j in mine if self._after(now, j.deadline)]
        foreign = [j for j in self._in(State.CLAIMED) if j.provider == other.address]
        if fault == 0:  # the same job twice: the second time it is already settled
            extra = chosen[-1]
            error = custom_error("MarketInvalidJobState", extra.id, int(State.SETTLED))
        elif fault == 1 and foreign:
            extra = foreign[0]
            error = custom_error("MarketWrongProvider", extra.id, provider.address, other.address)
        elif fault == 2:
            key = other.signer
            error = custom_error(
                "MarketInvalidSigner", other.signer.address, provider.signer.address
            )
        elif fault == 3 and late:
            extra = late[0]
            error = custom_error("MarketDeadlinePassed", extra.id, extra.deadline)
        records = [
            self._record(j, provider.address, m, now) for j, m in zip(chosen, millis, strict=True)
        ]
        if extra is not None:
            records.append(self._record(extra, provider.address, 1_000, now))
        signature = self.protocol.sign_batch(key, records)
        args = (provider.account, [r.batch_tuple() for r in records], signature, [])
        fn = self.market.settleBatch
        if error is not None:
            self._reverts(error, fn, *args, sender=provider.account)
            return
        receipt = self._send(fn, *args, sender=provider.account)
        for job, millis_used in zip(chosen, millis, strict=True):
            self._apply_settlement(job, millis_used, receipt)
        self.stats[f"settleBatch: ok with {len(chosen)} jobs"] += 1

    def _open_dispute(self, job: Job, fault: int | None) -> None:
        fn, now = self.market.openDispute, self._now()
        window_end = job.settled_at + DISPUTE_WINDOW
        if fault == 1:
            stranger = self._other_client(job.client)
            error = custom_error("MarketNotJobClient", job.id, stranger)
            self._reverts(error, fn, job.id, sender=stranger)
        elif self._after(now, window_end):
            error = custom_error("MarketDisputeWindowClosed", job.id, window_end)
            self._reverts(error, fn, job.id, sender=job.client)
        elif self._before(now, window_end):
            receipt = self._send(fn, job.id, sender=job.client)
            self.balances[job.client] -= self.dispute_bond
            job.state, job.bond = State.DISPUTED, self.dispute_bond
            job.disputed_at = receipt.timestamp
        else:
            self._ambiguous("openDispute")

    def _apply_resolution(
        self, job: Job, client_wins: bool, fn: Any, *args: Any, sender: Any
    ) -> None:
        provider = self.provider_of[job.provider or ""]
        slash = job.lock * self.dispute_slash_bps // BPS if client_wins else 0
        assert slash <= job.lock
        receipt = self._send(fn, *args, sender=sender, max_slash=slash)
        slashed = self._slash(provider, slash)
        # The fee on the payment is due either way; the treasury also takes a share of what
        # the loser forfeits (the provider's slashed stake, or the client's bond).
        fee, share = job.payment * job.fee_bps // BPS, self.treasury_share_bps
        if client_wins:
            slash_share = slashed * share // BPS
            to_treasury = fee + slash_share
            self.credits[job.client] += job.payment - fee + job.bond + slashed - slash_share
        else:
            bond_share = job.bond * share // BPS
            to_treasury = fee + bond_share
            self.credits[provider.address] += job.payment - fee + job.bond - bond_share
        self.credits[_addr(self.treasury)] += to_treasury
        [(_, words)] = receipt.events(self.market, RESOLVED)
        assert (words[0], words[2], words[3]) == (client_wins, slashed, to_treasury), words
        job.state, job.bond = State.FINALIZED, 0

    def _resolve(self, job: Job, client_wins: bool, fault: int | None) -> None:
        fn, now = self.market.resolveDispute, self._now()
        deadline = job.disputed_at + ARBITER_TIMEOUT
        if fault == 1:  # only the arbiter decides
            error = custom_error("AccessControlUnauthorizedAccount", job.client, ARBITER_ROLE)
            self._reverts(error, fn, job.id, client_wins, sender=job.client)
        elif self._after(now, deadline):
            error = custom_error("MarketArbiterTimeoutPassed", job.id, deadline)
            self._reverts(error, fn, job.id, client_wins, sender=self.admin)
        elif self._before(now, deadline):
            self._apply_resolution(job, client_wins, fn, job.id, client_wins, sender=self.admin)
            self.stats[f"resolveDispute: ok, {'client' if client_wins else 'provider'} wins"] += 1
        else:
            self._ambiguous("resolveDispute")

    def _finalize(self, job: Job, caller: Any) -> None:
        fn, now = self.market.finalizeDispute, self._now()
        deadline = job.disputed_at + ARBITER_TIMEOUT
        if self._before(now, deadline):
            error = custom_error("MarketArbiterTimeoutNotPassed", job.id, deadline)
            self._reverts(error, fn, job.id, sender=caller)
        elif self._after(now, deadline):  # the default: the signed record stands
            self._apply_resolution(job, False, fn, job.id, sender=caller)
        else:
            self._ambiguous("finalizeDispute")

    def _expire(self, job: Job, caller: Any) -> None:
        fn, now = self.market.expireJob, self._now()
        if self._before(now, job.deadline):
            error = custom_error("MarketDeadlineNotPassed", job.id, job.deadline)
            self._reverts(error, fn, job.id, sender=caller)
            return
        if not self._after(now, job.deadline):
            self._ambiguous("expireJob")
            return
        penalty = job.lock * self.expire_penalty_bps // BPS if job.state == State.CLAIMED else 0
        assert penalty <= job.lock
        self._send(fn, job.id, sender=caller, max_slash=penalty)
        slashed = self._slash(self.provider_of[job.provider or ""], penalty) if penalty else 0
        self.credits[job.client] += job.escrow + slashed
        self.stats[f"expireJob: ok from {job.state.name}"] += 1
        job.state = State.EXPIRED

    def _withdraw(self, account: Any, skip_mask: int, fault: int | None) -> bool:
        """Pulls what `account` is owed (leaving out the jobs whose bit is set in
        `skip_mask`); True when tokens moved."""
        address, now = _addr(account), self._now()
        refunds, payments, early, unclear = [], [], [], []
        for job in self.jobs.values():
            if (
                job.client == address
                and job.state in (State.SETTLED, State.DISPUTED, State.FINALIZED)
                and not job.refund_withdrawn
                and job.refund > 0
            ):
                refunds.append(job)
            if job.provider == address and job.state == State.SETTLED:
                window_end = job.settled_at + DISPUTE_WINDOW
                if self._after(now, window_end):
                    payments.append(job)
                elif self._before(now, window_end):
                    early.append(job)
                else:
                    unclear.append(job)
        owed = sorted(refunds + payments, key=lambda j: j.id)
        listed = [j for i, j in enumerate(owed) if not (skip_mask >> i) & 1]
        amount = self.credits[address]
        amount += sum(j.refund for j in listed if j in refunds)
        amount += sum(j.payment - j.payment * j.fee_bps // BPS for j in listed if j in payments)
        ids = [j.id for j in listed]
        fn, error = self.market.withdraw, None
        if fault == 0:
            # A job it is owed nothing from: someone else's, or one it has just listed.
            pool = [j for j in self.jobs.values() if j not in refunds + payments + early + unclear]
            pool += listed
            if pool:
                bad = pool[skip_mask % len(pool)]
                ids.append(bad.id)
                error = custom_error("MarketNotWithdrawable", bad.id, address)
        elif fault == 1 and early:
            ids.append(early[0].id)
            window_end = early[0].settled_at + DISPUTE_WINDOW
            error = custom_error("MarketDisputeWindowOpen", early[0].id, window_end)
        if error is None and amount == 0 and not any(j in payments for j in listed):
            # A listed payment of zero still finalizes the job and frees its lock.
            error = custom_error("MarketNothingToWithdraw", address)
        if error is not None:
            self._reverts(error, fn, ids, sender=account)
            return False
        receipt = self._send(fn, ids, sender=account)
        [(_, [withdrawn])] = receipt.events(self.market, WITHDRAWN)
        assert withdrawn == amount, f"{address} withdrew {withdrawn}; the model owes {amount}"
        self.balances[address] += amount
        self.credits[address] = 0
        for job in listed:
            if job in payments:
                self.credits[_addr(self.treasury)] += job.payment * job.fee_bps // BPS
                job.state = State.FINALIZED
            else:
                job.refund_withdrawn = True
        role = "client" if address in self.client_addresses else "provider"
        if address == _addr(self.treasury):
            role = "the treasury"
        self.stats[f"withdraw: ok by {role}"] += 1
        if self.paused:
            self.stats["withdraw: ok while paused"] += 1
        return True

    # --- initialisation ------------------------------------------------------------------

    def initialize_market(self, st_flag: bool, st_initial: list[tuple[int, int, int]]) -> None:
        """Picks the second provider (of the first one's class or not) and starts with a few
        open jobs, so that claims have something to take."""
        self._choose_providers(st_flag)
        self.stats[f"examples with providers of {1 + st_flag} classes"] += 1
        for client, bid, gpu_class in st_initial:
            self._post(
                self.client_addresses[client],
                self._class(gpu_class),
                ONE,
                bid,
                2 * PRICE,
                86_413,
                None,
            )

    # --- rules: staking ------------------------------------------------------------------

    def rule_stake(self, st_provider: int, st_stake: int, st_fault: int) -> None:
        provider = self.providers[st_provider]
        if _fault(st_fault) == 0:
            self._reverts(
                custom_error("StakingZeroAmount"), self.staking.stake, 0, sender=provider.account
            )
            return
        self._send(self.staking.stake, st_stake, sender=provider.account)
        self.balances[provider.address] -= st_stake
        provider.stake += st_stake

    def rule_request_unbond(self, st_provider: int, st_unbond: int, st_fault: int) -> None:
        provider = self.providers[st_provider]
        unlocked = provider.stake - self._locked(provider)
        amount = (min(ONE, unlocked), unlocked // 4, unlocked // 2, unlocked)[st_unbond]
        if _fault(st_fault) == 0:
            amount = unlocked + NANO
        fn = self.staking.requestUnbond
        if amount == 0:
            self._reverts(custom_error("StakingZeroAmount"), fn, 0, sender=provider.account)
        elif amount > unlocked:
            error = custom_error(
                "StakingInsufficientUnlockedStake", provider.address, unlocked, amount
            )
            self._reverts(error, fn, amount, sender=provider.account)
        else:
            receipt = self._send(fn, amount, sender=provider.account)
            provider.stake -= amount
            provider.unbonding += amount
            provider.ready_at = receipt.timestamp + UNBONDING_DELAY

    def rule_withdraw_unbonded(self, st_provider: int) -> None:
        provider = self.providers[st_provider]
        fn, now, sender = self.staking.withdrawUnbonded, self._now(), provider.account
        if provider.unbonding == 0:
            self._reverts(
                custom_error("StakingNothingUnbonding", provider.address), fn, sender=sender
            )
        elif self._before(now, provider.ready_at):
            error = custom_error("StakingUnbondingNotReady", provider.address, provider.ready_at)
            self._reverts(error, fn, sender=sender)
        elif self._after(now, provider.ready_at):
            self._send(fn, sender=sender)
            self.balances[provider.address] += provider.unbonding
            provider.unbonding, provider.ready_at = 0, 0
        else:
            self._ambiguous("withdrawUnbonded")

    # --- rules: posting ------------------------------------------------------------------

    def _class(self, st_class: int) -> bytes:
        return L4 if st_class == 3 else self.providers[st_class % 2].gpu_class

    def rule_post_job(
        self,
        st_client: int,
        st_max_payment: int,
        st_bid: int,
        st_price: int,
        st_lifetime: int,
        st_designate: int | None,
        st_class: int,
    ) -> None:
        designated = None if st_designate is None else self.providers[st_designate].address
        self._post(
            self.client_addresses[st_client],
            self._class(st_class),
            st_max_payment,
            st_bid,
            st_price,
            st_lifetime,
            designated,
        )

    def rule_post_job_rejected(
        self, st_client: int, st_reject: int, st_bid: int, st_class: int
    ) -> None:
        """Posts that break one rule each: the exact error, and nothing escrowed."""
        client, gpu_class = self.clients[st_client], self._class(st_class)
        job_id, max_payment, bid = len(self.jobs) + 1, 2 * ONE, st_bid
        deadline, provider, hint = self._now() + DISPUTE_WINDOW, ZERO_ADDRESS, None
        pattern = None
        if st_reject == 0:
            max_payment += 1
            error = custom_error("MarketAmountNotAligned", max_payment, NANO)
        elif st_reject == 1:
            bid += NANO // 2
            error = custom_error("MarketAmountNotAligned", bid, NANO)
        elif st_reject == 2:
            max_payment = 0
            error = custom_error("MarketZeroPayment")
        elif st_reject == 3:
            deadline = 0
            error, pattern = "MarketInvalidDeadline", r"MarketInvalidDeadline: 0, \d+"
        elif st_reject == 4:
            gpu_class = b"\x00" * 4
            error = custom_error("MarketInvalidGpuClass")
        elif st_reject == 5:
            provider = _addr(self.treasury)
            error = custom_error("MarketProviderNotRegistered", provider)
        else:
            queue = self._queue(gpu_class)
            if not queue:
                self._nothing("stale queue hint (empty queue)", st_client)
                return
            # After a job that goes after the new one, or at the head before a better one.
            hint = queue[-1].id if self._hint(gpu_class, bid, job_id) == 0 else 0
            error = custom_error("MarketInvalidQueueHint", job_id, hint)
        request = (b"\x11" * 32, gpu_class, PRICE, max_payment, bid, deadline, provider)
        if hint is None:
            hint = self._hint(gpu_class, bid, job_id)
        fn = self.market.postJob
        if self.paused:
            self._reverts(custom_error("EnforcedPause"), fn, request, hint, sender=client)
        elif pattern is not None:
            with brownie.reverts(revert_pattern=pattern):
                fn.call(request, hint, {"from": client})
            self.stats[f"postJob: {error}"] += 1
        else:
            self._reverts(error, fn, request, hint, sender=client)

    def rule_raise_bid(self, st_pick: int, st_bid_step: int, st_fault: int) -> None:
        candidates = self._in(State.OPEN)
        if not candidates:
            self._nothing("raiseBid", st_pick)
            return
        self._raise_bid(candidates[st_pick % len(candidates)], st_bid_step, _fault(st_fault))

    def rule_cancel_job(self, st_pick: int, st_fault: int) -> None:
        fault, others = _fault(st_fault), self._not_in(State.OPEN)
        if fault == 0 and others:
            job = others[st_pick % len(others)]
            error = custom_error("MarketInvalidJobState", job.id, int(job.state))
            self._reverts(error, self.market.cancelJob, job.id, sender=job.client)
            return
        candidates = self._in(State.OPEN)
        if not candidates:
            self._nothing("cancelJob", st_pick)
            return
        self._cancel(candidates[st_pick % len(candidates)], fault)

    # --- rules: claiming -----------------------------------------------------------------

    def rule_claim_next(self, st_provider: int) -> None:
        self._claim_next(self.providers[st_provider])

    def rule_claim_job(self, st_provider: int, st_pick: int, st_fault: int) -> None:
        """Claims a given job: refused while a job ahead of it is one the provider could take."""
        provider = self.providers[st_provider]
        fn, sender = self.market.claimJob, provider.account
        fault, others = _fault(st_fault), self._not_in(State.OPEN)
        if self.paused:
            self._reverts(custom_error("EnforcedPause"), fn, st_pick, sender=sender)
        elif fault == 0 and others:
            job = others[st_pick % len(others)]
            error = custom_error("MarketInvalidJobState", job.id, int(job.state))
            self._reverts(error, fn, job.id, sender=sender)
        elif candidates := self._in(State.OPEN):
            # Mostly jobs of its class, where the queue order is what decides.
            mine = [j for j in candidates if j.gpu_class == provider.gpu_class]
            pool = mine if mine and st_pick % 4 else candidates
            self._claim_job(provider, pool[st_pick % len(pool)])
        else:
            self._nothing("claimJob", st_pick)

    # --- rules: settlement ---------------------------------------------------------------

    def rule_settle(self, st_pick: int, st_gpu_millis: int, st_fault: int) -> None:
        fault = _fault(st_fault)
        if fault == 0:
            done = self._in(State.SETTLED, State.DISPUTED, State.FINALIZED, State.EXPIRED)
            done = [j for j in done if j.provider is not None]
            if done:
                self._replay_settlement(done[st_pick % len(done)], st_gpu_millis)
                return
        candidates = self._in(State.CLAIMED)
        if not candidates:
            self._nothing("settle", st_pick)
            return
        self._settle(candidates[st_pick % len(candidates)], st_gpu_millis, fault)

    def rule_settle_batch(
        self, st_provider: int, st_batch_size: int, st_gpu_millis: int, st_fault: int
    ) -> None:
        provider = self.providers[st_provider]
        self._settle_batch(provider, st_batch_size, st_gpu_millis, _fault(st_fault))

    # --- rules: disputes -----------------------------------------------------------------

    def rule_open_dispute(self, st_pick: int, st_fault: int) -> None:
        fault, others = _fault(st_fault), self._not_in(State.SETTLED)
        if fault == 0 and others:
            job = others[st_pick % len(others)]
            error = custom_error("MarketInvalidJobState", job.id, int(job.state))
            self._reverts(error, self.market.openDispute, job.id, sender=job.client)
            return
        candidates = self._in(State.SETTLED)
        if not candidates:
            self._nothing("openDispute", st_pick)
            return
        self._open_dispute(candidates[st_pick % len(candidates)], fault)

    def rule_resolve_dispute(self, st_pick: int, st_flag: bool, st_fault: int) -> None:
        fault, others = _fault(st_fault), self._not_in(State.DISPUTED)
        if fault == 0 and others:
            job = others[st_pick % len(others)]
            error = custom_error("MarketInvalidJobState", job.id, int(job.state))
            self._reverts(error, self.market.resolveDispute, job.id, st_flag, sender=self.admin)
            return
        candidates = self._in(State.DISPUTED)
        if not candidates:
            self._nothing("resolveDispute", st_pick)
            return
        self._resolve(candidates[st_pick % len(candidates)], st_flag, fault)

    def rule_finalize_dispute(self, st_pick: int, st_account: int) -> None:
        candidates = self._in(State.DISPUTED)
        if not candidates:
            self._nothing("finalizeDispute", st_pick)
            return
        self._finalize(candidates[st_pick % len(candidates)], self.actors[st_account])

    # --- rules: expiry -------------------------------------------------------------------

    def rule_expire_job(self, st_pick: int, st_account: int, st_fault: int) -> None:
        caller, fault = self.actors[st_account], _fault(st_fault)
        others = self._not_in(State.OPEN, State.CLAIMED)
        if fault == 0 and others:
            job = others[st_pick % len(others)]
            error = custom_error("MarketInvalidJobState", job.id, int(job.state))
            self._reverts(error, self.market.expireJob, job.id, sender=caller)
            return
        candidates = self._in(State.OPEN, State.CLAIMED)
        if not candidates:
            self._nothing("expireJob", st_pick)
            return
        self._expire(candidates[st_pick % len(candidates)], caller)

    # --- rules: administration -----------------------------------------------------------

    def rule_pause_or_unpause(self, st_flag: bool, st_fault: int) -> None:
        fn = self.market.pause if st_flag else self.market.unpause
        if _fault(st_fault) == 0:
            stranger = self.clients[0]
            error = custom_error("AccessControlUnauthorizedAccount", stranger, PAUSER_ROLE)
            self._reverts(error, fn, sender=stranger)
        elif st_flag == self.paused:
            error = custom_error("EnforcedPause" if st_flag else "ExpectedPause")
            self._reverts(error, fn, sender=self.admin)
        else:
            self._send(fn, sender=self.admin)
            self.paused = st_flag

    def rule_set_fee(self, st_fee: int, st_fault: int) -> None:
        """A new fee applies to the jobs posted after it; posted jobs keep theirs."""
        fn = self.market.setFeeBps
        if _fault(st_fault) == 0:
            error = custom_error("MarketInvalidParameter", b"feeBps".ljust(32, b"\x00"), 1_001)
            self._reverts(error, fn, 1_001, sender=self.admin)
        else:
            self._send(fn, st_fee, sender=self.admin)
            self.fee_bps = st_fee

    # --- rules: withdrawals --------------------------------------------------------------

    def rule_withdraw(self, st_account: int, st_pick: int, st_fault: int) -> None:
        self._withdraw(self.actors[st_account], st_pick, _fault(st_fault))

    def rule_withdraw_while_paused(self, st_account: int) -> None:
        """Pausing never stops anyone from pulling what it is owed."""
        owed = [a for a in self.actors if self.credits[_addr(a)]]
        owed += [self.actors[self.client_addresses.index(j.client)] for j in self._refundable()]
        if not owed:
            self._nothing("withdraw while paused", st_account)
            return
        if not self.paused:
            self._send(self.market.pause, sender=self.admin)
            self.paused = True
        assert self._withdraw(owed[st_account % len(owed)], 0, None)

    def _refundable(self) -> list[Job]:
        done = self._in(State.SETTLED, State.DISPUTED, State.FINALIZED)
        return [j for j in done if not j.refund_withdrawn and j.refund > 0]

    # --- rules: time ---------------------------------------------------------------------

    def rule_time_passes(self, st_sleep: int) -> None:
        self._sleep(st_sleep)

    # --- rules: a job's next step --------------------------------------------------------

    def rule_advance_a_job(self, st_pick: int, st_choice: int, st_gpu_millis: int) -> None:
        """Moves a random live job one step along its lifecycle."""
        self._advance(st_pick, st_choice, st_gpu_millis)

    def rule_advance_the_oldest_job(self, st_choice: int, st_gpu_millis: int) -> None:
        """Moves the oldest live job one step: repeated, it walks one job to its end."""
        self._advance(0, st_choice, st_gpu_millis)

    def _advance(self, pick: int, choice: int, gpu_millis: int) -> None:
        """Takes the next step of a live job as its parties normally would (unpausing the
        market first, or posting a job when none is live), or lets the time pass that its
        next step waits for."""
        self.advancing = True
        try:
            self._advance_job(pick, choice, gpu_millis)
        finally:
            self.advancing = False

    def _advance_job(self, pick: int, choice: int, gpu_millis: int) -> None:
        if self.paused:
            self._send(self.market.unpause, sender=self.admin)
            self.paused = False
            return
        live = self._not_in(State.FINALIZED, State.EXPIRED, State.CANCELLED)
        if not live:
            client = self.client_addresses[pick % 3]
            self._post(client, self._class(choice % 4), 2 * ONE, ONE, 2 * PRICE, 9_007, None)
            return
        job, now = live[pick % len(live)], self._now()
        if job.state == State.OPEN:
            takers = [p for p in self.providers if self._eligible(job, p, now)]
            if takers:
                provider = takers[choice % len(takers)]
                if self._queue(job.gpu_class)[0] is job or choice % 2:
                    self._claim_next(provider)
                else:
                    self._claim_job(provider, job)
            elif self._after(now, job.deadline):
                self._expire(job, self.admin)
            elif choice < 2:
                self._cancel(job, None)
            elif choice < 4:
                self._raise_bid(job, ONE, None)
            else:
                self._sleep(job.deadline - now + MARGIN + 1)
        elif job.state == State.CLAIMED:
            provider = self.provider_of[job.provider or ""]
            if self._after(now, job.deadline):
                self._expire(job, self.clients[choice % 3])
            elif not self._before(now, job.deadline) or choice == 5:
                self._sleep(job.deadline - now + MARGIN + 1)  # the provider fails to deliver
            elif choice == 3:
                self._claim_next(provider)  # takes more work first: a later batch settles both
            elif choice % 2:
                self._settle_batch(provider, 1 + choice, gpu_millis, None)
            else:
                self._settle(job, gpu_millis, None)
        elif job.state == State.SETTLED:
            window_end = job.settled_at + DISPUTE_WINDOW
            if self._before(now, window_end):
                if choice < 2:
                    self._open_dispute(job, None)
                else:
                    self._sleep(window_end - now + MARGIN + 1)
            elif self._after(now, window_end):
                pull_refund = choice % 2 and job.refund and not job.refund_withdrawn
                payee = job.client if pull_refund else job.provider
                self._withdraw(payee, 0, None)
            else:
                self._sleep(2 * MARGIN + 1)
        else:  # disputed
            deadline = job.disputed_at + ARBITER_TIMEOUT
            if self._before(now, deadline) and choice < 4:
                self._resolve(job, choice % 2 == 1, None)
            elif self._after(now, deadline):
                self._finalize(job, self.clients[choice % 3])
            else:
                self._sleep(deadline - now + MARGIN + 1)

    # --- the invariants ------------------------------------------------------------------

    def invariant_money_is_conserved_and_the_chain_matches_the_model(self) -> None:
        if self.checked:
            self.stats["steps"] += 1
            self.steps += 1
        self.checked = True
        market, token, staking, read = self.market, self.token, self.staking, self.reader
        supply_at = read.add(token.totalSupply)
        balance_at = {a: read.add(token.balanceOf, a) for a in self.balances}
        market_balance_at = read.add(token.balanceOf, market)
        staking_balance_at = read.add(token.balanceOf, staking)
        credit_at = {a: read.add(market.credit, a) for a in self.balances}
        locked_at = [read.add(market.lockedStake, p.account) for p in self.all_providers]
        info_at = [read.add(staking.providerInfo, p.account) for p in self.all_providers]
        bonded_at = read.add(staking.totalBonded)
        queue_at = [read.add(market.queue, c, 0, 1000) for c in CLASSES]
        paused_at, count_at = read.add(market.paused), read.add(market.jobCount)
        job_at = {job_id: read.add(market.job, job_id) for job_id in self.jobs}
        chain_state = read.read()

        # Supply: never minted or burnt, and all of it with the accounts the model tracks.
        supply = chain_state[supply_at]
        held = sum(chain_state[i] for i in balance_at.values())
        held += chain_state[market_balance_at] + chain_state[staking_balance_at]
        assert supply == self.supply, f"total supply changed: {self.supply} -> {supply}"
        assert held == supply, f"holders have {held}, the supply is {supply}"
        for address, i in balance_at.items():
            assert chain_state[i] == self.balances[address], (
                f"{address} holds {chain_state[i]}; the model expects {self.balances[address]}"
            )

        # Market: its balance is exactly what it owes, by the model and by its own credits.
        owed = self._market_liabilities()
        chain_credits = sum(chain_state[i] for i in credit_at.values())
        market_balance = chain_state[market_balance_at]
        expected = sum(owed.values()) + sum(self.credits.values())
        assert market_balance == sum(owed.values()) + chain_credits == expected, (
            f"the market holds {market_balance} but owes {sum(owed.values()) + chain_credits} "
            f"by its credits, {expected} by the model: {dict(owed)}, credits {chain_credits} "
            f"on chain, {sum(self.credits.values())} in the model"
        )
        for address, i in credit_at.items():
            assert chain_state[i] == self.credits[address], (
                f"credit({address}) is {chain_state[i]}; the model expects {self.credits[address]}"
            )

        # Staking: its balance is exactly the stake and unbonding of every provider.
        staking_balance, bonded = chain_state[staking_balance_at], chain_state[bonded_at]
        infos = [chain_state[i] for i in info_at]
        reported = sum(info["stake"] + info["unbonding"] for info in infos)
        modelled = sum(p.stake + p.unbonding for p in self.all_providers)
        assert staking_balance == bonded == reported == modelled, (
            f"staking holds {staking_balance}, totalBonded is {bonded}, providers report "
            f"{reported}; the model expects {modelled}"
        )
        for provider, info, i in zip(self.all_providers, infos, locked_at, strict=True):
            locked, expected_lock = chain_state[i], self._locked(provider)
            got = (info["stake"], info["unbonding"])
            assert got == (provider.stake, provider.unbonding), (
                f"{provider.address}: stake, unbonding {got}; the model expects "
                f"{(provider.stake, provider.unbonding)}"
            )
            assert locked == info["locked"] == expected_lock, (
                f"{provider.address}: lockedStake {locked}; the model expects {expected_lock}"
            )
            assert locked <= info["stake"], (
                f"{provider.address}: locks {locked} > stake {info['stake']}"
            )

        # Jobs: every view matches the model.
        assert chain_state[count_at] == len(self.jobs)
        assert chain_state[paused_at] == self.paused
        for job_id, i in job_at.items():
            self._check_job(self.jobs[job_id], chain_state[i])

        # Queues: sorted by (bid desc, id asc), exactly the model's open jobs of the class.
        for gpu_class, i in zip(CLASSES, queue_at, strict=True):
            ids, bids = chain_state[i]
            ranked = list(zip(ids, bids, strict=True))
            for (a, bid_a), (b, bid_b) in itertools.pairwise(ranked):
                assert bid_a > bid_b or (bid_a == bid_b and a < b), f"queue out of order: {ranked}"
            expected_queue = [(j.id, j.bid) for j in self._queue(gpu_class)]
            assert ranked == expected_queue, f"queue {ranked}; the model expects {expected_queue}"

    def _check_job(self, job: Job, view: Any) -> None:
        state = State(view["state"])
        assert state == job.state, (
            f"job {job.id} is {state.name}; the model expects {job.state.name}"
        )
        assert view["client"] == job.client and view["feeBps"] == job.fee_bps
        assigned = job.provider or job.designated or ZERO_ADDRESS
        assert view["provider"] == assigned, (
            f"job {job.id}: provider {view['provider']}, not {assigned}"
        )
        if state in (State.OPEN, State.CLAIMED):
            got = (view["maxPayment"], view["bid"], view["deadline"])
            assert got == (job.max_payment, job.bid, job.deadline), f"job {job.id}: {got}"
        if state in (State.SETTLED, State.DISPUTED, State.FINALIZED):
            got = (view["payment"], view["refund"], view["refundWithdrawn"], view["settledAt"])
            want = (job.payment, job.refund, job.refund_withdrawn, job.settled_at)
            assert got == want, (
                f"job {job.id}: payment, refund, withdrawn, settledAt {got} != {want}"
            )
            assert view["payment"] <= job.escrow, f"job {job.id} pays {view['payment']} > escrow"


@pytest.fixture(scope="module")
def rivals(protocol: Protocol, accounts: Any, provider: Any) -> list[Any]:
    """Two more providers, both asking twice `provider`'s price: one of its class, one of
    another. Module-scoped, so that the snapshot the state machine takes (which replaces the
    one brownie's function isolation reverts to) is the state the module's tests start from."""
    same_class, other_class = accounts[4], accounts[6]
    protocol.add_provider(same_class, gpu_class=H100, ask=2 * PRICE)
    protocol.add_provider(other_class, gpu_class=A100, ask=2 * PRICE)
    return [same_class, other_class]


@pytest.fixture(scope="module")
def client3(protocol: Protocol, accounts: Any) -> Any:
    protocol.fund(accounts[5])
    return accounts[5]


def test_money_invariants_hold_under_random_operations(
    protocol: Protocol,
    provider: Any,
    rivals: list[Any],
    client: Any,
    client2: Any,
    client3: Any,
    treasury: Any,
) -> None:
    state_machine(
        MarketMachine,
        protocol,
        [client, client2, client3],
        [provider, *rivals],
        treasury,
        settings=SETTINGS,
    )
