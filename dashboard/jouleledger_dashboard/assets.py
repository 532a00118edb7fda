"""The third-party scripts and styles the pages use, vendored from npm and served locally.

No page loads anything from a CDN: uPlot, htmx and Swagger UI (the /docs page) come from
the project's `node_modules`
(pinned in package.json), copied into ``static/vendor/`` when the dashboard is built or
first served, and served from there by the app.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .errors import AssetsMissing

STATIC = Path(__file__).resolve().parent / "static"
VENDOR = STATIC / "vendor"

#: Served name -> path inside node_modules.
VENDORED: dict[str, str] = {
    "uPlot.iife.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "swagger-ui-bundle.js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger-ui.css": "swagger-ui-dist/swagger-ui.css",
}


def find_node_modules(start: Path) -> Path | None:
    """The nearest ``node_modules`` at or above `start` that holds uPlot, else None.

    Args:
        start: where to begin looking (a folder).
    """
    for folder in (start, *start.parents):
        candidate = folder / "node_modules"
        if (candidate / "uplot" / "package.json").is_file():
            return candidate
    return None


def vendor_assets(node_modules: Path | None = None, dest: Path = VENDOR) -> Path:
    """Copy the vendored files into `dest` (skipping ones already up to date).

    Args:
        node_modules: where npm installed them (default: found above the working folder
            or this package).
        dest: the folder the app serves them from.

    Raises:
        AssetsMissing: a file is neither in `dest` nor in node_modules.
    """
    if node_modules is None:
        node_modules = find_node_modules(Path.cwd()) or find_node_modules(STATIC)
    dest.mkdir(parents=True, exist_ok=True)
    for name, source in VENDORED.items():
        target = dest / name
        origin = None if node_modules is None else node_modules / source
        if origin is not None and origin.is_file():
            if not target.is_file() or target.stat().st_size != origin.stat().st_size:
                shutil.copyfile(origin, target)
        elif not target.is_file():
            raise AssetsMissing(
                f"{name} is missing: run `npm ci` in the JouleLedger checkout (it installs "
                "uplot, htmx.org and swagger-ui-dist from package.json), then start the "
                "dashboard again"
            )
    return dest
