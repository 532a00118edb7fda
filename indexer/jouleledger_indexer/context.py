"""What an event handler works with: the batch's rows, block times, usage records, and
the history line helper."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from .decoding import DecodedLog
from .models import Account, AccountTx, Base, Dispute, Event, Job, Provider, table_of
from .writer import BatchWriter, Row

ZERO = "0x" + "00" * 20


def new_account(address: str, block: int) -> Row:
    """A fresh `Account` row.

    Args:
        address: its stored address.
        block: the block it first appears in.
    """
    return {
        "address": address,
        "balance": 0,
        "holdings_locked": 0,
        "holdings_warm_at": None,
        "boost_used": 0,
        "boost_capacity": 0,
        "boost_backed_until": None,
        "jobs_posted": 0,
        "spent": 0,
        "refunded": 0,
        "escrowed": 0,
        "updated_block": block,
    }


def new_provider(address: str, block: int) -> Row:
    """A fresh `Provider` row.

    Args:
        address: its stored address.
        block: the block it first appears in.
    """
    row: Row = {c.name: None for c in table_of(Provider).columns}
    zeros = ("stake", "unbonding", "slashed", "earned", "paid_out", "fees")
    counters = ("jobs_claimed", "jobs_settled", "jobs_expired", "jobs_disputed")
    row.update({name: 0 for name in (*zeros, *counters, "energy_mj", "ai_tokens", "gpu_millis")})
    row.update(address=address, updated_block=block)
    return row


class BatchContext:
    """The state one batch of events is applied to.

    Args:
        writer: the batch's rows.
        times: block number -> timestamp, for every block with an event.
        usage: job id -> the usage record its settlement transaction carried.
    """

    def __init__(
        self, writer: BatchWriter, times: Mapping[int, int], usage: Mapping[int, dict[str, Any]]
    ) -> None:
        self.writer = writer
        self.times = times
        self.usage = usage
        self.slashes_by_tx: dict[str, list[Row]] = {}

    def prefetch(self, logs: Sequence[DecodedLog]) -> None:
        """Load the rows the events of `logs` will touch, in a few queries.

        Args:
            logs: the batch's decoded logs.
        """
        jobs = {(j,) for log in logs if (j := log.job_id) is not None}
        addresses = {
            (v,)
            for log in logs
            for v in log.args.values()
            if isinstance(v, str) and len(v) == 42 and v != ZERO
        }
        self.writer.prefetch(Job, jobs)
        self.writer.prefetch(Dispute, jobs)
        self.writer.prefetch(Account, addresses)
        self.writer.prefetch(Provider, addresses)

    def time(self, log: DecodedLog) -> int:
        """The timestamp of the block of `log`.

        Args:
            log: a decoded log of this batch.
        """
        return self.times[log.block_number]

    def at_log(self, log: DecodedLog, **fields: Any) -> Row:
        """`fields` with the `FromLog` columns of `log` (block, position, transaction, time).

        Args:
            log: the event the row comes from.
            fields: the row's other columns.
        """
        return {
            "block_number": log.block_number,
            "log_index": log.log_index,
            "tx_hash": log.tx_hash,
            "block_time": self.time(log),
            **fields,
        }

    def record(self, log: DecodedLog) -> None:
        """Store `log` in the events table.

        Args:
            log: a decoded log.
        """
        row = self.at_log(
            log, contract=log.contract, name=log.name, job_id=log.job_id, args=log.args_json()
        )
        self.writer.append(Event, row)

    def history(
        self,
        log: DecodedLog,
        account: str | None,
        kind: str,
        *,
        amount: int | None = None,
        job_id: int | None = None,
        counterparty: str | None = None,
    ) -> None:
        """Add a line to `account`'s transaction history (nothing for the zero address).

        Args:
            log: the event behind it.
            account: whose history.
            kind: what happened (see `AccountTx`).
            amount: the amount it moved, in wei.
            job_id: the job it concerns (default: the event's ``jobId``).
            counterparty: the other side.
        """
        if account is None or account == ZERO:
            return
        job = log.job_id if job_id is None else job_id
        row = self.at_log(
            log, account=account, kind=kind, job_id=job, amount=amount, counterparty=counterparty
        )
        self.writer.append(AccountTx, row)

    def account(self, address: str, block: int) -> Row:
        """The `Account` row of `address` for editing (created when new).

        Args:
            address: a stored address.
            block: the block of the change.
        """
        return self._row(Account, address, block, new_account)

    def provider(self, address: str, block: int) -> Row:
        """The `Provider` row of `address` for editing (created when new).

        Args:
            address: a stored address.
            block: the block of the change.
        """
        return self._row(Provider, address, block, new_provider)

    def _row(
        self, model: type[Base], address: str, block: int, new: Callable[[str, int], Row]
    ) -> Row:
        row = self.writer.edit(model, (address,), block, new(address, block))
        assert row is not None
        row["updated_block"] = block
        return row

    def job(self, job_id: int, block: int) -> Row | None:
        """The `Job` row of `job_id` for editing (None: the index never saw it posted).

        Args:
            job_id: the job.
            block: the block of the change.
        """
        row = self.writer.edit(Job, (job_id,), block)
        if row is not None:
            row["updated_block"] = block
        return row
