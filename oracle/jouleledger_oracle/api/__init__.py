"""The node's HTTP API (FastAPI): one router per resource, `create_app` wires them.

Every endpoint is a plain ``def``: they read SQLite and may call the chain, which block, so
FastAPI runs them in its thread pool and the event loop never waits on them.
"""

from ..settings import ApiSettings
from .app import create_app
from .deps import get_settings

__all__ = ["ApiSettings", "create_app", "get_settings"]
