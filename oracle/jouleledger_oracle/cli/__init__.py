"""``jl-oracle``: run the oracle node (``serve``), look at what its meter sees (``meter``), or
check the meter against real hardware (``selfcheck``).

Exit codes: 0 success; 1 the node or the meter failed at run time (chain unreachable, GPU
lost); 2 bad configuration (wrong password, provider not registered, bad option). Errors are
one line on stderr; ``--debug`` shows the traceback.

One module per command group: `serve` (``serve``, ``signer-proof``), `meter` (``meter``),
`selfcheck` (``selfcheck``); `common` holds the app and the error handling they share.
"""

from __future__ import annotations

from . import meter, selfcheck, serve
from .common import app

__all__ = ["app", "main", "meter", "selfcheck", "serve"]


def main() -> None:
    """The console script's entry point."""
    app()
