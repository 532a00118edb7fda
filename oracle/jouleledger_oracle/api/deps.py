"""Dependencies shared by the routers: the node, the API token check, path parameters."""

from __future__ import annotations

import secrets
from typing import Annotated, Final

from fastapi import Depends, HTTPException, Path, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ..node import OracleNode
from .settings import ApiSettings, get_settings

MAX_UINT256: Final = 2**256 - 1

_bearer = HTTPBearer(
    auto_error=False,
    description="The node's API token: `Authorization: Bearer <token>` (see --api-token-env).",
)


def get_node(request: Request) -> OracleNode:
    """The node the app serves."""
    node: OracleNode = request.app.state.node
    return node


def require_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    settings: Annotated[ApiSettings, Depends(get_settings)],
) -> None:
    """Let the request through only with the node's bearer token.

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
