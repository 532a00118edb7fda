"""What the node needs from the chain, behind one small interface.

`Chain` is the node's view of the market, as the provider it works for: claim, look jobs up,
settle, withdraw. `LedgerChain` implements it with the SDK's `JouleLedger` client (the SDK
signs transactions locally and decodes reverts); tests use an in-memory one.

Failures come back as three oracle exceptions, so the node's loops need not know web3:

- `NoEligibleJob`: nothing to claim right now (not an error).
- `ChainRejected`: the contract refused (a custom error, decoded); retrying the same call will
  not help unless the chain's state changes.
- `ChainUnavailable`: the node, the network or the fee market failed us; retry with backoff.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Protocol, TypeVar

from eth_typing import ChecksumAddress
from web3.logs import DISCARD
from web3.types import TxReceipt

from jouleledger import rpc
from jouleledger.client import JouleLedger, UnknownJob
from jouleledger.errors import (
    ContractRevert,
    JouleLedgerError,
    TransactionFailed,
)
from jouleledger.gpu import gpu_class_name
from jouleledger.records import MarketDomain, UsageRecord
from jouleledger.types import JobState

from .errors import ConfigError, OracleError

logger = logging.getLogger(__name__)

T = TypeVar("T")
_LOG_CHUNK: Final = 500  # job ids per eth_getLogs filter

SETTLED_STATES: Final = frozenset({JobState.SETTLED, JobState.DISPUTED, JobState.FINALIZED})


class NoEligibleJob(OracleError):
    """The market has no job this provider may claim now."""


class ChainUnavailable(OracleError, ConnectionError):
    """The Ethereum node could not be used (unreachable, timing out, refusing transactions).

    Transient: the node retries with backoff.
    """


class ChainRejected(OracleError):
    """The contract refused a call with one of its custom errors.

    Attributes:
        name: the error's name, e.g. ``"MarketInvalidJobState"`` (``""`` when undecodable).
        args: its decoded arguments by name.
    """

    def __init__(self, message: str, *, name: str = "", args: Mapping[str, Any] | None = None):
        super().__init__(message)
        self.name = name
        self.args_by_name: dict[str, Any] = dict(args or {})

    @property
    def job_id(self) -> int | None:
        """The job the error names, when it names one."""
        value = self.args_by_name.get("jobId")
        return int(value) if value is not None else None


@dataclass(frozen=True)
class ChainJob:
    """A job as the market reports it now."""

    job_id: int
    state: JobState
    provider: ChecksumAddress | None
    deadline: int
    settled_at: int
    payment: int
    bid: int = 0
    boost: int = 0  # priority from the client's locked holdings, fixed at posting


@dataclass(frozen=True)
class Settlement:
    """A transaction that settled jobs, and what each job was paid (wei, before fees)."""

    tx_hash: str
    payments: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Registration:
    """The provider's registration as the staking contract reports it."""

    provider: ChecksumAddress
    registered: bool
    signer: ChecksumAddress | None
    gpu_class: str
    stake: int


class Chain(Protocol):
    """The market, seen by one provider. Every method may raise `ChainUnavailable`."""

    provider: ChecksumAddress
    domain: MarketDomain

    def registration(self) -> Registration:
        """The provider's stake, class and registered oracle signer."""
        ...

    def claim_next(self) -> int:
        """Claim the highest-priority job this provider may take; its id.

        Raises:
            NoEligibleJob: there is none.
            ChainRejected: the market refused (paused, not enough stake, ...).
        """
        ...

    def claim(self, job_id: int) -> None:
        """Claim one job (one designated to this provider).

        Raises:
            ChainRejected: the market refused (a higher bid comes first, not eligible, ...).
        """
        ...

    def job(self, job_id: int) -> ChainJob | None:
        """The job now, or None when no job has that id."""
        ...

    def spec_hash(self, job_id: int) -> bytes | None:
        """The spec hash the job was posted with, or None when no job has that id."""
        ...

    def claimed_job_ids(self) -> list[int]:
        """Every job this provider ever claimed on this market, oldest first."""
        ...

    def settle(self, record: UsageRecord, signature: bytes) -> Settlement:
        """Settle one job with the oracle's signature over its record.

        Raises:
            ChainRejected: the market refused.
        """
        ...

    def settle_batch(self, records: Sequence[UsageRecord], signature: bytes) -> Settlement:
        """Settle jobs with one signature over the batch.

        Raises:
            ChainRejected: the market refused (the whole batch).
        """
        ...

    def settlement(self, job_id: int) -> Settlement | None:
        """The transaction that settled `job_id` (from its ``JobSettled`` event), if any."""
        ...

    def payments(self, job_ids: Iterable[int]) -> dict[int, int]:
        """What each of `job_ids` that is settled was paid, from ``JobSettled`` events."""
        ...

    def finalized_job_ids(self) -> set[int]:
        """Jobs whose payment this provider has withdrawn (``JobFinalized`` events)."""
        ...

    def chain_time(self) -> int:
        """The latest block's timestamp: the clock the market checks records against."""
        ...

    def nudge(self) -> bool:
        """On a development chain, mine a block so its clock catches up; True if it did."""
        ...

    def dispute_window(self) -> int:
        """Seconds after settlement before the payment can be withdrawn."""
        ...

    def withdraw(self, job_ids: Sequence[int]) -> int:
        """Pull the payments of `job_ids` (and any credit); the amount in wei.

        Raises:
            ChainRejected: the market refused (window still open, nothing to withdraw, ...).
        """
        ...


class LedgerChain:
    """`Chain` on a real market through the SDK's client, acting as the provider's account.

    Args:
        client: a `JouleLedger` built with the provider's account (it sends the claims and
            withdrawals; settlements could come from anyone, but come from it too).
    """

    def __init__(self, client: JouleLedger) -> None:
        self.client = client
        self.provider: ChecksumAddress = client.address
        self.domain: MarketDomain = client.domain
        self._window: int | None = None
        self._devnet: bool | None = None

    # --- plumbing -----------------------------------------------------------------------

    def _guard(self, what: str, fn: Callable[[], T]) -> T:
        """Run `fn`, turning SDK and web3 failures into the oracle's three outcomes."""
        try:
            return fn()
        except OracleError:
            raise
        except ContractRevert as exc:
            raise _rejected(what, exc) from exc
        except TransactionFailed as exc:
            if exc.revert is not None:
                raise _rejected(what, exc.revert) from exc
            raise ChainRejected(f"{what}: {exc}") from exc
        except JouleLedgerError as exc:
            # RpcError, ReceiptTimeout, TransactionRejected, InsufficientFunds, WrongChain...
            raise ChainUnavailable(f"{what}: {exc}") from exc
        except Exception as exc:  # raw web3 / requests failures of plain reads
            raise ChainUnavailable(f"{what}: {type(exc).__name__}: {exc}") from exc

    def _read(self, method: str, fn: Callable[[], T]) -> T:
        """A read, retried on transient transport failures like every SDK request."""
        return rpc.call(self.client.w3, fn, method=method)

    def _settlement(self, receipt: TxReceipt) -> Settlement:
        events = self.client.market.events.JobSettled().process_receipt(receipt, errors=DISCARD)
        return Settlement(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            payments={int(e["args"]["jobId"]): int(e["args"]["payment"]) for e in events},
        )

    # --- Chain --------------------------------------------------------------------------

    def registration(self) -> Registration:
        def read() -> Registration:
            info = self.client.provider(self.provider)
            return Registration(
                provider=self.provider,
                registered=info.registered,
                signer=info.signer,
                gpu_class=gpu_class_name(info.gpu_class),
                stake=int(info.stake),
            )

        return self._guard("reading the provider's registration", read)

    def claim_next(self) -> int:
        def claim() -> int:
            try:
                return int(self.client.claim_next())
            except ContractRevert as exc:
                if exc.name == "MarketNoEligibleJob":
                    raise NoEligibleJob(str(exc)) from exc
                raise

        return self._guard("claiming the next job", claim)

    def claim(self, job_id: int) -> None:
        self._guard(f"claiming job {job_id}", lambda: self.client.claim_job(job_id))

    def job(self, job_id: int) -> ChainJob | None:
        def read() -> ChainJob | None:
            try:
                job = self._read("eth_call", lambda: self.client.job(job_id))
            except UnknownJob:
                return None
            return ChainJob(
                job_id=job_id,
                state=job.state,
                provider=job.provider,
                deadline=int(job.deadline),
                settled_at=int(job.settled_at),
                payment=int(job.payment),
                bid=int(job.bid),
                boost=int(job.boost),
            )

        return self._guard(f"reading job {job_id}", read)

    def spec_hash(self, job_id: int) -> bytes | None:
        def read() -> bytes | None:
            events = self._read(
                "eth_getLogs", lambda: self.client.events("JobPosted", jobId=job_id)
            )
            return bytes(events[0]["args"]["specHash"]) if events else None

        return self._guard(f"reading job {job_id}'s spec hash", read)

    def claimed_job_ids(self) -> list[int]:
        def read() -> list[int]:
            events = self._read(
                "eth_getLogs", lambda: self.client.events("JobClaimed", provider=self.provider)
            )
            return [int(e["args"]["jobId"]) for e in events]

        return self._guard("reading this provider's claims", read)

    def settle(self, record: UsageRecord, signature: bytes) -> Settlement:
        return self._guard(
            f"settling job {record.job_id}",
            lambda: self._settlement(self.client.settle(record, signature)),
        )

    def settle_batch(self, records: Sequence[UsageRecord], signature: bytes) -> Settlement:
        return self._guard(
            f"settling a batch of {len(records)} jobs",
            lambda: self._settlement(self.client.settle_batch(records, signature)),
        )

    def _settled_events(self, job_ids: Sequence[int]) -> list[Any]:
        found: list[Any] = []
        for start in range(0, len(job_ids), _LOG_CHUNK):
            chunk = list(job_ids[start : start + _LOG_CHUNK])

            def logs(ids: list[int] = chunk) -> list[Any]:
                return list(self.client.events("JobSettled", jobId=ids))

            found.extend(self._read("eth_getLogs", logs))
        return found

    def settlement(self, job_id: int) -> Settlement | None:
        def read() -> Settlement | None:
            events = self._settled_events([job_id])
            if not events:
                return None
            event = events[0]
            return Settlement(
                tx_hash="0x" + bytes(event["transactionHash"]).hex(),
                payments={job_id: int(event["args"]["payment"])},
            )

        return self._guard(f"looking up job {job_id}'s settlement", read)

    def payments(self, job_ids: Iterable[int]) -> dict[int, int]:
        ids = sorted(set(job_ids))
        if not ids:
            return {}
        return self._guard(
            "reading settlement payments",
            lambda: {
                int(e["args"]["jobId"]): int(e["args"]["payment"])
                for e in self._settled_events(ids)
            },
        )

    def finalized_job_ids(self) -> set[int]:
        def read() -> set[int]:
            events = self._read(
                "eth_getLogs", lambda: self.client.events("JobFinalized", provider=self.provider)
            )
            return {int(e["args"]["jobId"]) for e in events}

        return self._guard("reading withdrawn jobs", read)

    def chain_time(self) -> int:
        w3 = self.client.w3
        return self._guard(
            "reading the latest block",
            lambda: int(
                self._read("eth_getBlockByNumber", lambda: w3.eth.get_block("latest"))["timestamp"]
            ),
        )

    def nudge(self) -> bool:
        w3 = self.client.w3

        def mine() -> bool:
            if self._devnet is None:
                self._devnet = rpc.is_devnet(w3)
            if not self._devnet:
                return False
            rpc.mine(w3)
            return True

        return self._guard("mining a block on the development chain", mine)

    def dispute_window(self) -> int:
        if self._window is None:
            client = self.client
            self._window = self._guard(
                "reading the dispute window",
                lambda: self._read("eth_call", lambda: client.parameters().dispute_window),
            )
        return self._window

    def withdraw(self, job_ids: Sequence[int]) -> int:
        return self._guard(
            f"withdrawing the payments of {len(job_ids)} jobs",
            lambda: int(self.client.withdraw(job_ids)),
        )


def _rejected(what: str, exc: ContractRevert) -> ChainRejected:
    return ChainRejected(f"{what}: {exc}", name=exc.name, args=exc.args_by_name)


def check_registration(chain: Chain, signer: ChecksumAddress) -> Registration:
    """Check that the provider is registered with `signer` as its oracle signer.

    Args:
        chain: the market, as the provider.
        signer: the address of the node's oracle key.

    Raises:
        ConfigError: not registered, or registered with another signer (the message says
            how to fix it).
        ChainUnavailable: the chain cannot be read.
    """
    reg = chain.registration()
    if not reg.registered:
        raise ConfigError(
            f"{reg.provider} is not a registered provider on this market: stake and register "
            f"it first, naming {signer} as its oracle signer"
        )
    if reg.signer != signer:
        raise ConfigError(
            f"provider {reg.provider} is registered with oracle signer {reg.signer}, but this "
            f"node's keystore holds {signer}: update the provider's signer or use the right "
            "keystore"
        )
    return reg
