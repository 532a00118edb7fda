"""`create_app`: the FastAPI application around one `OracleNode`."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse

from .. import __version__
from ..chain import ChainUnavailable
from ..errors import InvalidJobSpec, OracleError
from ..node import OracleNode, RunRefused, UnknownChainJob
from ..settings import ApiSettings
from ..specs import RegistryFull
from . import attestations, health, jobs, metrics, specs, stats

logger = logging.getLogger(__name__)

DESCRIPTION = """
The JouleLedger oracle node next to a provider's GPUs: it claims jobs in bid order, runs and
meters them (NVML energy counter, or a simulated meter that says so), signs EIP-712 usage
records and settles them on chain, alone or in batches.

Reads are open. Writes (`POST`) need the node's token: `Authorization: Bearer <token>`.
"""

# Which status each of the node's errors becomes; the message is always the error's own.
_STATUS: tuple[tuple[type[Exception], int], ...] = (
    (UnknownChainJob, status.HTTP_404_NOT_FOUND),
    (RunRefused, status.HTTP_409_CONFLICT),
    (RegistryFull, status.HTTP_409_CONFLICT),
    (ChainUnavailable, status.HTTP_503_SERVICE_UNAVAILABLE),
)


def create_app(
    node: OracleNode, settings: ApiSettings | None = None, *, manage_node: bool = True
) -> FastAPI:
    """The node's HTTP API.

    Args:
        node: the node the API serves.
        settings: the API's settings (token, page size); the CLI passes its
            `OracleSettings`, which are `ApiSettings` too.
        manage_node: start the node's threads in the app's lifespan and stop them after.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if manage_node:
            await anyio.to_thread.run_sync(node.start)
        try:
            yield
        finally:
            if manage_node:
                await anyio.to_thread.run_sync(node.stop)

    app = FastAPI(
        title="JouleLedger oracle node",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    app.state.node = node
    app.state.settings = settings or ApiSettings()
    for module in (health, metrics, jobs, attestations, stats, specs):
        app.include_router(module.router)

    @app.exception_handler(OracleError)
    async def oracle_error(request: Request, exc: OracleError) -> JSONResponse:
        if isinstance(exc, InvalidJobSpec):
            # The shape of FastAPI's own 422, so every 422 reads the same.
            problem = {"loc": ["body"], "msg": str(exc), "type": "invalid_job_spec"}
            return JSONResponse({"detail": [problem]}, status_code=422)
        for kind, code in _STATUS:
            if isinstance(exc, kind):
                headers = {"Retry-After": "5"} if code == 503 else None
                return JSONResponse({"detail": str(exc)}, status_code=code, headers=headers)
        logger.error("api: %s %s failed: %s", request.method, request.url.path, exc)
        return JSONResponse({"detail": f"the node failed: {exc}"}, status_code=500)

    return app
