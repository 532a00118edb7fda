"""Fixtures of the dashboard suite: one anvil devnet with a scenario, its index, a served
dashboard, and Debian's chromium driven by PyPI playwright.

The browser tests skip with one line when ``/usr/bin/chromium`` is missing (`make test`
installs it when it runs as root); everything else runs everywhere.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from jouleledger import Devnet, start_devnet
from jouleledger_dashboard.browser import CHROMIUM, launch_options
from jouleledger_dashboard.server import Opened, ServerThread, open_dashboard, wait_indexed
from tests.conftest import ROOT
from tests.dashboard import scenario
from tests.dashboard.scenario import Scenario


@pytest.fixture(scope="package")
def net() -> Iterator[Devnet]:
    """One anvil devnet for the whole suite."""
    with start_devnet("anvil", accounts=6, search_from=ROOT) as devnet:
        yield devnet


@pytest.fixture(scope="package")
def world(net: Devnet) -> Scenario:
    """The scenario, played once."""
    return scenario.build(net)


@pytest.fixture(scope="package")
def served(net: Devnet, world: Scenario, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The dashboard over the scenario, indexing in the background; yields its URL once the
    index has caught up with the chain."""
    db = tmp_path_factory.mktemp("index") / "index.sqlite"
    opened: Opened = open_dashboard(net.w3, world.admin.deployment, f"sqlite:///{db}")
    with ServerThread(opened.app) as server:
        wait_indexed(opened.app, net.w3.eth.block_number, timeout=20)
        yield server.url
    opened.dispose()


def wait_served(url: str, block: int, timeout: float = 20.0) -> dict[str, Any]:
    """Poll the dashboard at `url` (another process) until its index holds `block`;
    returns the head.

    Args:
        url: the dashboard's base URL.
        block: the block to wait for.
        timeout: seconds.

    Raises:
        AssertionError: it did not within `timeout` seconds.
    """
    deadline = time.monotonic() + timeout
    head: dict[str, Any] = {}
    while time.monotonic() < deadline:
        head = httpx.get(f"{url}/api/head").json()
        if head["block"] >= block:
            return head
        time.sleep(0.05)
    raise AssertionError(f"the index did not reach block {block} in {timeout} s: {head}")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, through playwright (skips when it is not installed)."""
    if not CHROMIUM.exists():
        pytest.skip(
            "chromium is not installed (/usr/bin/chromium): `make test` installs it as root"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(**launch_options())
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page; fails the test on any script error the page raises."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    context.close()
    assert not errors, f"script errors on the page: {errors}"
