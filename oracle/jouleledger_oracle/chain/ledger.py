"""`LedgerChain`: the `Chain` interface on a real market through the SDK's `JouleLedger`
client (it signs transactions locally and decodes reverts)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, Literal, TypeVar

from eth_typing import ChecksumAddress
from web3.types import TxReceipt

from jouleledger.abi import contract_errors
from jouleledger.client import JouleLedger, UnknownJob, receipt_events
from jouleledger.errors import ContractRevert, DevnetError, JouleLedgerError, TransactionFailed
from jouleledger.gpu import gpu_class_name
from jouleledger.records import MarketDomain, UsageRecord
from jouleledger.transport import DevnetControl, call, control

from ..errors import ChainRejected, ChainUnavailable, NoEligibleJob, OracleError
from .interface import ChainJob, Registration, Settlement

T = TypeVar("T")
_LOG_CHUNK: Final = 500  # job ids per eth_getLogs filter


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
        # The devnet's control interface, found on the first `nudge`; False: not a devnet.
        self._devnet: DevnetControl | Literal[False] | None = None

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
        return call(self.client.w3, fn, method=method)

    def _settlement(self, receipt: TxReceipt) -> Settlement:
        events = receipt_events(self.client.market, receipt, "JobSettled")
        return Settlement(
            tx_hash="0x" + bytes(receipt["transactionHash"]).hex(),
            payments={int(e["args"]["jobId"]): int(e["args"]["payment"]) for e in events},
        )

    # --- Chain --------------------------------------------------------------------------

    def registration(self) -> Registration:
        """`Chain.registration` through the SDK's client (arguments and errors as there)."""

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
        """`Chain.claim_next` through the SDK's client (arguments and errors as there)."""

        def claim() -> int:
            try:
                return int(self.client.claim_next())
            except contract_errors.MarketNoEligibleJob as exc:
                raise NoEligibleJob(str(exc)) from exc

        return self._guard("claiming the next job", claim)

    def claim_many(self, n: int) -> list[int]:
        """`Chain.claim_many` through the SDK's ``claim_next(n)`` (one transaction)."""
        if n < 1:
            raise ValueError(f"claim at least one job, not {n}")

        return self._guard(f"claiming up to {n} jobs", lambda: _claim_up_to(self.client, n))

    def claim(self, job_id: int) -> None:
        """`Chain.claim` through the SDK's client (arguments and errors as there)."""
        self._guard(f"claiming job {job_id}", lambda: self.client.claim_job(job_id))

    def job(self, job_id: int) -> ChainJob | None:
        """`Chain.job` through the SDK's client (arguments and errors as there)."""

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
        """`Chain.spec_hash` through the SDK's client (arguments and errors as there)."""

        def read() -> bytes | None:
            events = self._read(
                "eth_getLogs", lambda: self.client.events("JobPosted", jobId=job_id)
            )
            return bytes(events[0]["args"]["specHash"]) if events else None

        return self._guard(f"reading job {job_id}'s spec hash", read)

    def claimed_job_ids(self) -> list[int]:
        """`Chain.claimed_job_ids` through the SDK's client (arguments and errors as there)."""

        def read() -> list[int]:
            events = self._read(
                "eth_getLogs", lambda: self.client.events("JobClaimed", provider=self.provider)
            )
            return [int(e["args"]["jobId"]) for e in events]

        return self._guard("reading this provider's claims", read)

    def settle(self, record: UsageRecord, signature: bytes) -> Settlement:
        """`Chain.settle` through the SDK's client (arguments and errors as there)."""
        return self._guard(
            f"settling job {record.job_id}",
            lambda: self._settlement(self.client.settle(record, signature)),
        )

    def settle_batch(self, records: Sequence[UsageRecord], signature: bytes) -> Settlement:
        """`Chain.settle_batch` through the SDK's client (arguments and errors as there)."""
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
        """`Chain.settlement` through the SDK's client (arguments and errors as there)."""

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
        """`Chain.payments` through the SDK's client (arguments and errors as there)."""
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
        """`Chain.finalized_job_ids` through the SDK's client (arguments and errors as there)."""

        def read() -> set[int]:
            events = self._read(
                "eth_getLogs", lambda: self.client.events("JobFinalized", provider=self.provider)
            )
            return {int(e["args"]["jobId"]) for e in events}

        return self._guard("reading withdrawn jobs", read)

    def chain_time(self) -> int:
        """`Chain.chain_time` through the SDK's client (arguments and errors as there)."""
        w3 = self.client.w3
        return self._guard(
            "reading the latest block",
            lambda: int(
                self._read("eth_getBlockByNumber", lambda: w3.eth.get_block("latest"))["timestamp"]
            ),
        )

    def nudge(self) -> bool:
        """`Chain.nudge` through the SDK's client (arguments and errors as there)."""

        def mine() -> bool:
            if self._devnet is None:
                try:
                    self._devnet = control(self.client.w3)
                except DevnetError:  # a public chain: its clock runs by itself
                    self._devnet = False
            if self._devnet is False:
                return False
            self._devnet.mine()
            return True

        return self._guard("mining a block on the development chain", mine)

    def dispute_window(self) -> int:
        """`Chain.dispute_window` through the SDK's client (arguments and errors as there)."""
        if self._window is None:
            client = self.client
            self._window = self._guard(
                "reading the dispute window",
                lambda: self._read("eth_call", lambda: client.parameters().dispute_window),
            )
        return self._window

    def withdraw(self, job_ids: Sequence[int]) -> int:
        """`Chain.withdraw` through the SDK's client (arguments and errors as there)."""
        return self._guard(
            f"withdrawing the payments of {len(job_ids)} jobs",
            lambda: int(self.client.withdraw(job_ids)),
        )


def _claim_up_to(client: JouleLedger, n: int) -> list[int]:
    """Up to `n` jobs, in one transaction (``claim_next(n)``: empty when none is eligible)."""
    return [int(j) for j in client.claim_next(n)]


def _rejected(what: str, exc: ContractRevert) -> ChainRejected:
    return ChainRejected(f"{what}: {exc}", revert=exc)
