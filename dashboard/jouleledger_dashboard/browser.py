"""Debian's chromium as the browser tests and the demo's screenshots launch it.

Kept here, not in the tests, because `scripts/demo_screens.py` launches it the same way.
The flags are TOOLCHAIN.md's: without the background-networking ones chromium keeps trying
to reach the internet, and as root it needs ``--no-sandbox``.
"""

from __future__ import annotations

from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
MISSING = "chromium is not installed (/usr/bin/chromium): `make test` installs it as root"


def launch_options() -> dict[str, object]:
    """The keyword arguments for playwright's ``chromium.launch``."""
    return {"executable_path": str(CHROMIUM), "args": list(CHROMIUM_ARGS)}
