"""The API's settings, a pydantic model behind a dependency that tests override."""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr


class ApiSettings(BaseModel):
    """What the HTTP layer needs to know.

    Attributes:
        api_token: the bearer token write endpoints require; None disables them (403).
        max_page: the most jobs one ``GET /jobs`` page returns.
    """

    model_config = ConfigDict(frozen=True)

    api_token: SecretStr | None = None
    max_page: int = Field(default=1000, ge=1)


def get_settings(request: Request) -> ApiSettings:
    """The settings `create_app` was given (override in tests with
    ``app.dependency_overrides[get_settings]``)."""
    settings: ApiSettings = request.app.state.settings
    return settings
