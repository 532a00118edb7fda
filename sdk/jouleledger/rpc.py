"""Talking to the node: kept for existing imports; the code lives in `jouleledger.transport`."""

from .transport import *  # noqa: F403
from .transport import __all__ as __all__
