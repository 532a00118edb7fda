"""Writing a benchmark's figures: bench/results/<name>.json, and a table on stdout."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def write_results(name: str, figures: Mapping[str, object]) -> Path:
    """Save `figures` as bench/results/`name`.json (sorted keys) and print them."""
    path = RESULTS_DIR / f"{name}.json"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(dict(figures), indent=2, sort_keys=True) + "\n")
    width = max(map(len, figures), default=0)
    for key, value in sorted(figures.items()):
        shown = f"{value:>12,}" if isinstance(value, int) else f"{value!s:>12}"
        print(f"{key:<{width}}  {shown}")
    print(f"wrote {path}")
    return path
