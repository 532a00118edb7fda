"""The JSON API under ``/api/``: every number a page shows, read-only (OpenAPI at /docs)."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterator

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from .deps import DashboardDep, FilterDep, LimitDep
from .models import (
    AccountView,
    Head,
    History,
    JobView,
    MarketView,
    ProviderView,
    SearchResult,
    Series,
)
from .queries.accounts import CSV_FIELDS, HISTORY_PAGE

router = APIRouter(prefix="/api", tags=["api"])


@router.get("/head")
def head(dashboard: DashboardDep) -> Head:
    """How far the index has read; pages poll it and reload their live parts on change.

    Args:
        dashboard: the deployment's index and chain reads.
    """
    return dashboard.head()


@router.get("/market")
def market(dashboard: DashboardDep) -> MarketView:
    """Per GPU class the open queue, busy flag, bids, boosts and prices; recent
    settlements; efficiency leaderboards by meter kind.

    Args:
        dashboard: the deployment's index and chain reads.
    """
    return dashboard.market()


@router.get("/accounts/{address}")
def account(address: str, dashboard: DashboardDep) -> AccountView:
    """An account's balances, stake, holdings and its side as a client.

    Args:
        address: a 0x-address (checked: a malformed one is a 400).
        dashboard: the deployment's index and chain reads.
    """
    return dashboard.account(address)


@router.get("/accounts/{address}/history")
def history(
    address: str, flt: FilterDep, dashboard: DashboardDep, limit: LimitDep = HISTORY_PAGE
) -> History:
    """An account's newest history entries that match the filters.

    Args:
        address: a 0x-address (checked: a malformed one is a 400).
        flt: the history filters (kind, job, since, until).
        dashboard: the deployment's index and chain reads.
        limit: the most rows (1 to 1,000).
    """
    return dashboard.history(address, flt, limit)


@router.get("/accounts/{address}/history.csv", response_class=StreamingResponse)
def history_csv(address: str, flt: FilterDep, dashboard: DashboardDep) -> StreamingResponse:
    """Every matching history entry as CSV (the columns of the JSON history rows).

    Args:
        address: a 0x-address (checked: a malformed one is a 400).
        flt: the history filters (kind, job, since, until).
        dashboard: the deployment's index and chain reads.
    """
    rows = dashboard.history_rows(address, flt)
    first = next(rows, None)  # parse the address before the response starts

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS, lineterminator="\n")
        writer.writeheader()
        for row in itertools.chain([] if first is None else [first], rows):
            writer.writerow(row.model_dump())
            if buffer.tell() > 64_000:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    name = f"jouleledger-{address.strip()[:42]}-history.csv"
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(lines(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/providers/{address}")
def provider(address: str, dashboard: DashboardDep) -> ProviderView:
    """A provider's totals, jobs by state, per-GPU work, disputes and slashes.

    Args:
        address: a 0x-address (checked: a malformed one is a 400).
        dashboard: the deployment's index and chain reads.
    """
    return dashboard.provider(address)


@router.get("/providers/{address}/series")
def series(address: str, dashboard: DashboardDep) -> Series:
    """A provider's earnings and tokens per joule over its newest settlements.

    Args:
        address: a 0x-address (checked: a malformed one is a 400).
        dashboard: the deployment's index and chain reads.
    """
    return dashboard.series(address)


@router.get("/jobs/{job_id}")
def job(job_id: str, dashboard: DashboardDep) -> JobView:
    """A job's terms, money, usage record and lifecycle.

    Args:
        job_id: a whole number from 1 (a malformed one is a 400, an unknown one a 404).
        dashboard: the deployment's index and chain reads.
    """
    return dashboard.job(job_id)


@router.get("/search")
def search(q: str, dashboard: DashboardDep) -> SearchResult:
    """Where an address, a job id or a transaction hash leads.

    Args:
        q: an address, a job id (``42`` or ``#42``) or a transaction hash.
        dashboard: the deployment's index and chain reads.
    """
    return dashboard.search(q)
