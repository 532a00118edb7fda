"""Loading a vendor library (``pynvml``, ``amdsmi``) only when its meter is asked for."""

from __future__ import annotations

import contextlib
import importlib
import io
from types import ModuleType

from ..errors import MeterUnavailable


def import_vendor_library(module: str, advice: str) -> ModuleType:
    """Import a vendor library now, not at package import, so machines without it still work.

    Some (``amdsmi``) print to stdout or raise `OSError` when their native library is missing;
    both are kept quiet and turned into one `MeterUnavailable` that says what to do.

    Args:
        module: the module to import (``pynvml``, ``amdsmi``).
        advice: what to do when it does not import.

    Raises:
        MeterUnavailable: it does not import; the message ends with `advice`.
    """
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            return importlib.import_module(module)
    except (ImportError, OSError, AttributeError, KeyError) as exc:
        raise MeterUnavailable(
            f"could not import {module} ({type(exc).__name__}: {exc}): {advice}"
        ) from exc


def text(value: str | bytes) -> str:
    """A vendor library's string, which older bindings return as bytes.

    Args:
        value: what the library returned.
    """
    return value.decode() if isinstance(value, bytes) else value
