"""The HTML pages: each renders the same model its ``/api/`` twin answers."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.responses import Response

from .deps import DashboardDep, FilterDep, LimitDep, TemplatesDep
from .queries.accounts import HISTORY_MAX, HISTORY_PAGE

router = APIRouter(include_in_schema=False)


def _render(
    templates: TemplatesDep, request: Request, name: str, dashboard: DashboardDep, **context: Any
) -> Response:
    return templates.TemplateResponse(
        request, name, {"head": dashboard.head(), **context}, headers={"Cache-Control": "no-store"}
    )


@router.get("/", response_class=HTMLResponse)
def market_page(request: Request, dashboard: DashboardDep, templates: TemplatesDep) -> Response:
    """The market: classes, recent settlements, the efficiency leaderboards.

    Args:
        request: the request.
        dashboard: the deployment's index and chain reads.
        templates: the page templates.
    """
    return _render(templates, request, "market.html", dashboard, market=dashboard.market())


@router.get("/accounts/{address}", response_class=HTMLResponse)
def account_page(
    address: str,
    request: Request,
    flt: FilterDep,
    dashboard: DashboardDep,
    templates: TemplatesDep,
    limit: LimitDep = HISTORY_PAGE,
) -> Response:
    """An account: balances, its side as a client, its filtered history.

    Args:
        address: a 0x-address (checked: a malformed one is a 400).
        request: the request.
        flt: the history filters (kind, job, since, until).
        dashboard: the deployment's index and chain reads.
        templates: the page templates.
        limit: the most history rows.
    """
    view = dashboard.account(address)
    raw = {k: request.query_params.get(k, "") for k in ("kind", "job", "since", "until")}
    filters = {**raw, "query": urlencode({k: v for k, v in raw.items() if v})}
    more = urlencode({**{k: v for k, v in raw.items() if v}, "limit": HISTORY_MAX})
    return _render(
        templates,
        request,
        "account.html",
        dashboard,
        account=view,
        history=dashboard.history(view.address, flt, limit),
        filters=filters,
        more=more,
    )


@router.get("/providers/{address}", response_class=HTMLResponse)
def provider_page(
    address: str, request: Request, dashboard: DashboardDep, templates: TemplatesDep
) -> Response:
    """A provider: totals, charts, per-GPU work, disputes and slashes.

    Args:
        address: a 0x-address (checked: a malformed one is a 400).
        request: the request.
        dashboard: the deployment's index and chain reads.
        templates: the page templates.
    """
    return _render(templates, request, "provider.html", dashboard, p=dashboard.provider(address))


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(
    job_id: str, request: Request, dashboard: DashboardDep, templates: TemplatesDep
) -> Response:
    """A job: its lifecycle, usage record, payment and refund.

    Args:
        job_id: what the visitor gave.
        request: the request.
        dashboard: the deployment's index and chain reads.
        templates: the page templates.
    """
    return _render(templates, request, "job.html", dashboard, job=dashboard.job(job_id))


@router.get("/search")
def search_page(q: str, dashboard: DashboardDep) -> Response:
    """The search box: on to the page its entry names.

    Args:
        q: the search box's text.
        dashboard: the deployment's index and chain reads.
    """
    return RedirectResponse(dashboard.search(q).url, status_code=303)
