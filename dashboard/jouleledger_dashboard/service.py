"""`Dashboard`: what every page and API route asks for, in one place.

It joins the index (read through `queries`) with live chain values (`LiveChain`) and turns
visitor input into checked values first (`inputs`), so the HTML pages and the JSON API show
the same numbers from the same calls.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from jouleledger.types import ClassStatus
from jouleledger_indexer import address_key

from . import inputs
from .cache import BlockCache
from .chain import LiveChain
from .errors import BadInput, NotFound
from .models import (
    AccountView,
    Head,
    History,
    HistoryRow,
    JobView,
    MarketView,
    ProviderView,
    SearchResult,
    Series,
)
from .queries import accounts, jobs, market, providers
from .queries.accounts import HISTORY_PAGE, HistoryFilter
from .readdb import ReadDatabase


@dataclass
class Dashboard:
    """The read side of one deployment: its index and a live chain connection.

    Args:
        db: read-only connections to the indexer's database.
        chain: live reads of the deployment.
        cache: answers kept per indexed block.
    """

    db: ReadDatabase
    chain: LiveChain
    cache: BlockCache = field(default_factory=BlockCache)

    def _indexed(self) -> tuple[int, int]:
        """The indexed block and its time (reread at most every 0.1 s)."""
        return self.cache.head(lambda: self.db.run(jobs.indexed_head))

    def _read(self, what: str, *args: Any, block: int | None = None) -> Any:
        """`what` (a query function taking a connection first) of `args`, cached for the
        indexed block (or `block`, for live values that come with their own)."""
        function: Callable[..., Any] = QUERIES[what]
        at = self._indexed()[0] if block is None else block
        return self.cache.get(at, (what, *args), lambda: self.db.run(lambda c: function(c, *args)))

    def _read_of(self, what: str, address: str, *args: Any) -> Any:
        """`_read` of `what` for the account a visitor's `address` names: checked (a bad one
        is `BadInput`), then given as the page shows it and as the index keys it."""
        who = inputs.address(address)
        return self._read(what, who, address_key(who), *args)

    def head(self) -> Head:
        """How far the index has read, and the node's newest block."""
        block, timestamp = self._indexed()
        return Head(block=block, timestamp=timestamp, chain_block=self.chain.head())

    def market(self) -> MarketView:
        """The market page's numbers."""
        block = self._indexed()[0]
        return self.cache.get(
            block, ("market", max(self.chain.head(), block)), lambda: self._market_now(block)
        )

    def _market_now(self, block: int) -> MarketView:
        def status_of(gpu_class: bytes) -> ClassStatus:
            return self.chain.class_status(gpu_class, floor=block)

        return self.db.run(lambda conn: market.market_view(conn, status_of))

    def account(self, address: str) -> AccountView:
        """An account's balances and its side as a client.

        Args:
            address: what the visitor gave.

        Raises:
            BadInput: not an address.
        """
        who = inputs.address(address)
        block, now = self._indexed()
        balances, balance_wei = self.chain.balances(who, floor=block)
        key = address_key(who)
        client, is_provider, known = self._read("account", key, balance_wei, now)
        if not known and balances.balance_cpt == "0" and client.jobs_posted == 0:
            raise NotFound(
                f"{who} has no JouleLedger activity on this deployment (no CPT, no jobs, "
                "no stake): check the address, or the network the dashboard reads"
            )
        return AccountView(
            address=who,
            head_block=block,
            balances=balances,
            client=client,
            is_provider=is_provider,
        )

    def history(self, address: str, flt: HistoryFilter, limit: int = HISTORY_PAGE) -> History:
        """An account's newest history entries that match `flt`.

        Args:
            address: what the visitor gave.
            flt: the parsed filters.
            limit: the most rows.

        Raises:
            BadInput: not an address, or an unknown kind.
        """
        return self._read_of("history", address, flt, limit)  # type: ignore[no-any-return]

    def history_rows(self, address: str, flt: HistoryFilter) -> Iterator[HistoryRow]:
        """Every matching history entry, for the CSV export.

        Args:
            address: what the visitor gave.
            flt: the parsed filters.

        Raises:
            BadInput: not an address.
        """
        who = inputs.address(address)
        with self.db.connect() as conn:
            yield from accounts.history_rows(conn, address_key(who), flt)

    def provider(self, address: str) -> ProviderView:
        """A provider's page.

        Args:
            address: what the visitor gave.

        Raises:
            BadInput: not an address.
            NotFound: not a provider.
        """
        return self._read_of("provider", address)  # type: ignore[no-any-return]

    def series(self, address: str) -> Series:
        """A provider's chart series.

        Args:
            address: what the visitor gave.

        Raises:
            BadInput: not an address.
        """
        return self._read_of("series", address)  # type: ignore[no-any-return]

    def job(self, job_id: str | int) -> JobView:
        """A job's page.

        Args:
            job_id: what the visitor gave.

        Raises:
            BadInput: not a job id.
            NotFound: no such job indexed.
        """
        return self._read("job", inputs.job_id(job_id))  # type: ignore[no-any-return]

    def search(self, query: str) -> SearchResult:
        """Where a search box entry leads.

        Args:
            query: the search box's text.

        Raises:
            BadInput: neither an address, a job id nor a hash.
            NotFound: a hash the index does not know.
        """
        target = inputs.search(query)
        if target.kind == "account":
            return SearchResult(kind="account", url=f"/accounts/{target.value}")
        if target.kind == "job":
            return SearchResult(kind="job", url=f"/jobs/{target.value}")
        url = self.db.run(lambda conn: jobs.tx_target(conn, target.value))
        return SearchResult(kind="tx", url=url)


#: The cached reads of `Dashboard._read`, by name.
QUERIES: dict[str, Callable[..., Any]] = {
    "account": accounts.account_reads,
    "history": accounts.history,
    "provider": providers.provider_view,
    "series": providers.provider_series,
    "job": jobs.job_view,
}


def history_filter(
    kind: str | None, job: str | None, since: str | None, until: str | None
) -> HistoryFilter:
    """The history filters from query parameters.

    Args:
        kind: an `AccountTx` kind, or empty.
        job: a job id, or empty.
        since: a time (unix seconds or ISO), or empty.
        until: a time, or empty.

    Raises:
        BadInput: an unknown kind, a bad job id or time.
    """
    if kind and kind not in accounts.KINDS:
        raise BadInput(
            f"kind={kind[:40]!r} is not a history kind: use one of {', '.join(accounts.KINDS)}"
        )
    return HistoryFilter(
        kind=kind or None,
        job=inputs.job_id(job) if job and job.strip() else None,
        since=inputs.timestamp(since, "since"),
        until=inputs.timestamp(until, "until"),
    )
