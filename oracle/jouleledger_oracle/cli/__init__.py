"""``jl-oracle``: run the oracle node (``serve``) or look at what its meter sees (``meter``).

Exit codes: 0 success; 1 the node or the meter failed at run time (chain unreachable, GPU
lost); 2 bad configuration (wrong password, provider not registered, bad option). Errors are
one line on stderr; ``--debug`` shows the traceback.

One module per command group: `serve` (``serve``, ``signer-proof``), `meter` (``meter``);
`common` holds the app and the error handling they share.
"""

from __future__ import annotations

from . import meter, serve
from .common import app

__all__ = ["app", "main", "meter", "serve"]


def main() -> None:
    """The console script's entry point."""
    app()
