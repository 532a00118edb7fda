"""The dashboard on the demo's chain: screenshots for `make demo`, a server for
`make dashboard`.

`scripts/demo.py` calls `after_scenario` at the end of its scenario, while its chain is
still up. Then:

- under `make demo`, the chain is indexed, the dashboard is served on a free port for a
  moment, and Debian's chromium saves a screenshot of each page into ``demo-output/``
  (``dashboard-market.png``, ``-account``, ``-provider``, ``-job``); without chromium one
  line says so and the demo goes on;
- under `make dashboard` (``python scripts/demo_screens.py``), the dashboard is served on
  that chain until Ctrl-C; then the demo finishes and stops its chain and nodes.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from jouleledger import Devnet
from jouleledger.deployment import Deployment
from jouleledger_dashboard.browser import CHROMIUM, MISSING, launch_options
from jouleledger_dashboard.server import ServerThread, open_dashboard, wait_indexed

SERVE: dict[str, Any] = {"on": False, "port": 8800}


def after_scenario(net: Devnet, deployment: Deployment, output: Path | None) -> None:
    """Serve the dashboard on the demo's chain (`make dashboard`), or screenshot its pages
    into `output` (`make demo`; nothing when `output` is None).

    Args:
        net: the demo's running devnet.
        deployment: the protocol's addresses on it.
        output: the demo's output folder, or None.
    """
    if not SERVE["on"] and (output is None or not CHROMIUM.exists()):
        if output is not None:
            print(f"screens    skipped: {MISSING}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        opened = open_dashboard(net.w3, deployment, f"sqlite:///{tmp}/index.sqlite")
        server = ServerThread(opened.app, port=SERVE["port"] if SERVE["on"] else 0)
        url = server.start()
        try:
            wait_indexed(opened.app, int(net.w3.eth.block_number))
            if SERVE["on"]:
                print(f"dashboard  {url} on chain {net.rpc_url}; Ctrl-C stops it", flush=True)
                wait_for_interrupt(server)
            else:
                assert output is not None
                saved = screenshots(url, output)
                print(f"screens    {len(saved)} dashboard pages in {output}/dashboard-*.png")
        finally:
            server.stop()
            opened.dispose()


def wait_for_interrupt(server: ServerThread) -> None:
    """Block until Ctrl-C (or the server stops by itself); a second Ctrl-C while everything
    stops is ignored, so that the chain and the nodes are always stopped.

    Args:
        server: the running dashboard.
    """
    try:
        while server.alive:
            time.sleep(0.5)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        print("\ndashboard  stopping the dashboard, the nodes and the chain", flush=True)


def pages(url: str) -> dict[str, str]:
    """One example of each page, picked from what the market page shows.

    Args:
        url: the dashboard's base URL.
    """
    market = httpx.get(f"{url}/api/market", timeout=10).json()
    found = {"market": "/"}
    if market["settlements"]:
        job = market["settlements"][-1]
        found["job"] = f"/jobs/{job['job_id']}"
        found["provider"] = f"/providers/{job['provider']}"
        client = httpx.get(f"{url}/api/jobs/{job['job_id']}", timeout=10).json()["client"]
        found["account"] = f"/accounts/{client}"
    return found


def screenshots(url: str, output: Path) -> list[Path]:
    """Save a full-page screenshot of each page into `output`.

    Args:
        url: the dashboard's base URL.
        output: the folder to write into.
    """
    from playwright.sync_api import sync_playwright

    output.mkdir(parents=True, exist_ok=True)
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for name, path in pages(url).items():
            page.goto(url + path)
            page.wait_for_load_state("networkidle")
            target = output / f"dashboard-{name}.png"
            page.screenshot(path=str(target), full_page=True)
            saved.append(target)
        browser.close()
    return saved


def main(argv: list[str] | None = None) -> int:
    """`make dashboard`: the demo scenario, then the dashboard on its chain until Ctrl-C.

    Args:
        argv: the command line (default: sys.argv).
    """
    parser = argparse.ArgumentParser(description=(main.__doc__ or "").splitlines()[0])
    parser.add_argument("--port", type=int, default=8800, help="the dashboard's port")
    parser.add_argument("--jobs-per-client", default="26")
    args = parser.parse_args(argv)
    SERVE.update(on=True, port=args.port)
    import demo  # the scenario; it calls after_scenario while its chain is up

    return demo.main(["--jobs-per-client", args.jobs_per_client])


if __name__ == "__main__":
    sys.exit(main())
