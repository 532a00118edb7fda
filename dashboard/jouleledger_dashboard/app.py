"""The FastAPI application: pages, the JSON API, static files and the error pages.

Read-only: no route writes to the chain or the index, and no key is ever loaded. Every
error a visitor can cause is a 4xx with a message that says what to do: an HTML page for
the pages, ``{"detail": ...}`` for ``/api/``.
"""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractContextManager, asynccontextmanager, nullcontext

from anyio import to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from . import api, pages
from .assets import STATIC, vendor_assets
from .errors import BadInput, NotFound
from .models import Head
from .service import Dashboard
from .web import error_page, make_templates

log = logging.getLogger(__name__)

#: Threads that run the routes (FastAPI runs plain ``def`` routes in a pool), per database.
#: A page is CPU work under the GIL, so more threads add no throughput, only hand-overs of
#: the GIL: SQLite releases it for every row it steps, and a second busy thread takes it at
#: each row. On the benchmark's account page: 7 context switches per page with one thread,
#: 43 with two, 287 with eight (server CPU 4.9, 6.9 and 11.2 ms). PostgreSQL releases it per
#: round trip instead, and a second thread uses that wait.
WORKER_THREADS = {"sqlite": 1, "postgresql": 2}
Background = Callable[[], AbstractContextManager[object]]
"""Runs alongside the server (the indexer thread): entered at startup, left at shutdown."""


def create_app(dashboard: Dashboard, background: Background | None = None) -> FastAPI:
    """The dashboard app for one deployment.

    Args:
        dashboard: the index and chain it reads.
        background: what to run while the app serves (e.g. the indexer), if anything.

    Raises:
        AssetsMissing: uPlot or htmx is neither vendored nor in node_modules.
    """
    vendor_assets()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # Requests wait their turn in the event loop instead of convoying on the GIL.
        threads = WORKER_THREADS.get(dashboard.db.dialect, 2)
        to_thread.current_default_thread_limiter().total_tokens = threads
        # Everything loaded so far (web3, SQLAlchemy, FastAPI: some 200,000 objects) lives
        # as long as the process: out of the collector's sight, a full collection takes
        # milliseconds instead of the 100 ms pause that showed in the pages' p95.
        gc.freeze()
        with (background or nullcontext)():
            yield

    app = FastAPI(
        title="JouleLedger dashboard",
        description="Read-only views of a JouleLedger deployment: market, accounts, "
        "providers and jobs, from its index and the chain.",
        lifespan=lifespan,
        docs_url=None,  # FastAPI's own /docs loads Swagger UI from a CDN: served locally below
        redoc_url=None,
    )
    app.state.dashboard = dashboard
    app.state.templates = make_templates()
    app.include_router(api.router)
    app.include_router(pages.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/docs", include_in_schema=False)
    def docs() -> Response:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="JouleLedger dashboard API",
            swagger_js_url="/static/vendor/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
            swagger_ui_parameters={"validatorUrl": None},  # no call to validator.swagger.io
        )

    _install_error_handlers(app)
    return app


def _install_error_handlers(app: FastAPI) -> None:
    async def respond(request: Request, status: int, message: str) -> Response:
        if request.url.path.startswith(("/api/", "/static/")):
            return JSONResponse({"detail": message}, status_code=status)
        try:
            head = await run_in_threadpool(app.state.dashboard.head)
        except Exception:  # the error page must render even when the index cannot
            head = Head(block=-1, timestamp=0, chain_block=-1)
        return error_page(app.state.templates, request, status, message, head)

    @app.exception_handler(BadInput)
    async def bad_input(request: Request, exc: BadInput) -> Response:
        return await respond(request, 400, str(exc))

    @app.exception_handler(NotFound)
    async def not_found(request: Request, exc: NotFound) -> Response:
        return await respond(request, 404, str(exc))

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg', '')}"
            for e in exc.errors()
        )
        return await respond(request, 400, f"bad request: {problems}")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        message = str(exc.detail)
        if exc.status_code == 404:
            message = (
                f"there is no page at {request.url.path[:80]}: the pages are /, "
                "/accounts/ADDRESS, /providers/ADDRESS and /jobs/ID"
            )
        return await respond(request, exc.status_code, message)
