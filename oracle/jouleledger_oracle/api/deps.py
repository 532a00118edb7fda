"""Dependencies shared by the routers: the node, the API token check, path parameters."""

from __future__ import annotations

import secrets
from typing import Annotated, Any, Final

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from ..node import OracleNode
from ..settings import ApiSettings
from .models import Problem

MAX_UINT256: Final = 2**256 - 1

_bearer = HTTPBearer(
    auto_error=False,
    description="The node's API token: `Authorization: Bearer <token>` (see --api-token-env).",
)


def get_node(request: Request) -> OracleNode:
    """The node the app serves.

    Args:
        request: the request being served.
    """
    node: OracleNode = request.app.state.node
    return node


def get_settings(request: Request) -> ApiSettings:
    """The settings `create_app` was given (override in tests with
    ``app.dependency_overrides[get_settings]``).

    Args:
        request: the request being served.
    """
    settings: ApiSettings = request.app.state.settings
    return settings


def require_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    settings: Annotated[ApiSettings, Depends(get_settings)],
) -> None:
    """Let the request through only with the node's bearer token.

    Args:
        credentials: the request's ``Authorization: Bearer`` header, if any.
        settings: the API's settings (the expected token).

    Raises:
        HTTPException: 401 without a token or with a wrong one; 403 when the node has no
            token configured (write endpoints are then disabled).
    """
    if settings.api_token is None:
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            "write endpoints are disabled: start the node with an API token (--api-token-env)",
        )
    expected = settings.api_token.get_secret_value().encode()
    given = credentials.credentials.encode() if credentials is not None else b""
    if not given or not secrets.compare_digest(given, expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong API token: send the header 'Authorization: Bearer <token>'",
            headers={"WWW-Authenticate": "Bearer"},
        )


NodeDep = Annotated[OracleNode, Depends(get_node)]
SettingsDep = Annotated[ApiSettings, Depends(get_settings)]
Authorized = Depends(require_token)
JobIdPath = Annotated[
    int,
    Path(
        ge=0,
        le=MAX_UINT256,
        description="the job's id on the market (a uint256)",
        examples=[1],
    ),
]


def write_route(
    summary: str, model: type[BaseModel], status_code: int, **answers: str
) -> dict[str, Any]:
    """The decorator arguments of a write endpoint: behind the token (`Authorized`), with
    its 401/403 answers and its own.

    Args:
        summary: the OpenAPI summary.
        model: the success body.
        status_code: the usual success status.
        **answers: other statuses (``s200``, ``s404``, ...) and what they mean; ``s200``
            returns `model`, ``s422`` FastAPI's validation body, the others `Problem`.
    """
    responses: dict[int | str, dict[str, Any]] = {
        401: {"model": Problem, "description": "missing or wrong API token"},
        403: {"model": Problem, "description": "write endpoints are disabled"},
    }
    for key, description in answers.items():
        code = int(key.removeprefix("s"))
        body = {200: {"model": model}, 422: {}}.get(code, {"model": Problem})
        responses[code] = {**body, "description": description}
    return {
        "summary": summary,
        "response_model": model,
        "status_code": status_code,
        "dependencies": [Authorized],
        "responses": dict(sorted(responses.items(), key=lambda item: str(item[0]))),
    }


def lookup_route(summary: str, model: type[BaseModel], missing: str) -> dict[str, Any]:
    """The decorator arguments of a read of one thing by key, answering 404 when it is missing.

    Args:
        summary: the OpenAPI summary.
        model: the body when found.
        missing: when the 404 happens.
    """
    return {
        "summary": summary,
        "response_model": model,
        "responses": {404: {"model": Problem, "description": missing}},
    }


def not_found(message: str) -> HTTPException:
    """A 404 to raise, saying what is missing.

    Args:
        message: what is missing.
    """
    return HTTPException(status.HTTP_404_NOT_FOUND, message)
