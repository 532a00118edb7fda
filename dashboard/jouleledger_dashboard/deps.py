"""The dependencies routes take: the `Dashboard` and the templates, kept on the app's state
so that tests can build an app around their own.

They are ``async def`` although nothing in them waits: FastAPI runs a plain ``def``
dependency in the thread pool, and three thread round trips per page (each a wake-up of
the event loop) cost more server CPU than the page's own SQL.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request
from fastapi.templating import Jinja2Templates

from .queries.accounts import HISTORY_MAX, HistoryFilter
from .service import Dashboard, history_filter


async def get_dashboard(request: Request) -> Dashboard:
    """The app's `Dashboard`.

    Args:
        request: the request.
    """
    dashboard: Dashboard = request.app.state.dashboard
    return dashboard


async def get_templates(request: Request) -> Jinja2Templates:
    """The app's page templates.

    Args:
        request: the request.
    """
    templates: Jinja2Templates = request.app.state.templates
    return templates


async def get_filter(
    kind: Annotated[str | None, Query(description="An entry kind, e.g. job_settled.")] = None,
    job: Annotated[str | None, Query(description="A job id.")] = None,
    since: Annotated[str | None, Query(description="Unix seconds or an ISO date.")] = None,
    until: Annotated[str | None, Query(description="Unix seconds or an ISO date.")] = None,
) -> HistoryFilter:
    """The history filters of a request, parsed (a bad one is a 400).

    Args:
        kind: an entry kind, or empty.
        job: a job id, or empty.
        since: unix seconds or an ISO date, or empty.
        until: unix seconds or an ISO date, or empty.

    Raises:
        BadInput: an unknown kind, a bad job id or time.
    """
    return history_filter(kind, job, since, until)


LimitDep = Annotated[
    int, Query(ge=1, le=HISTORY_MAX, description="The most history rows to return.")
]
DashboardDep = Annotated[Dashboard, Depends(get_dashboard)]
TemplatesDep = Annotated[Jinja2Templates, Depends(get_templates)]
FilterDep = Annotated[HistoryFilter, Depends(get_filter)]
