"""The pages in Debian's chromium: what they show equals chain state, hostile text stays
text, charts draw, a new block shows without a reload, and the CSV link round-trips."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path
from typing import Any

import httpx

from jouleledger.units import format_amount, parse_amount
from tests.dashboard.scenario import HOSTILE_ENDPOINT, Scenario

LIVE_UPDATE_S = 2.0  # the bound: a new block shows within two seconds


def field(page: Any, name: str) -> str:
    return str(page.inner_text(f'[data-field="{name}"]')).strip()


def open_page(page: Any, url: str) -> Any:
    statuses: list[tuple[str, int]] = []
    page.on("response", lambda r: statuses.append((r.url, r.status)))
    response = page.goto(url)
    assert response.status == 200, url
    page.wait_for_load_state("networkidle")
    assert all(status < 400 for _, status in statuses), statuses
    return page


def test_market_page_shows_classes_settlements_and_two_leaderboards(
    served: str, world: Scenario, page: Any
) -> None:
    open_page(page, served + "/")
    assert page.locator("#classes tbody tr").count() == 2
    h100 = page.locator('#classes tr[data-class="nvidia-h100"] [data-field="open_jobs"]')
    assert h100.inner_text() == "1"  # the open job
    assert page.locator("#settlements tbody tr").count() == 5
    boards = page.locator("table.leaderboard")
    assert [boards.nth(i).get_attribute("data-meter") for i in range(2)] == ["nvml", "simulated"]


def test_account_page_shows_chain_balances_and_a_low_funds_warning(
    served: str, world: Scenario, page: Any
) -> None:
    open_page(page, f"{served}/accounts/{world.client.address}")
    assert field(page, "balance_cpt") == format_amount(world.admin.balance(world.client.address))
    assert page.locator("#low-funds").is_visible()
    assert field(page, "jobs_posted") == str(len(world.jobs))
    page.select_option('select[name="kind"]', "job_posted")
    page.click("#history-filters button")
    page.wait_for_load_state("networkidle")
    kinds = page.locator("#history tbody tr").evaluate_all("rows => rows.map(r => r.dataset.kind)")
    assert kinds and set(kinds) == {"job_posted"}


def test_provider_page_escapes_its_endpoint_and_draws_both_charts(
    served: str, world: Scenario, page: Any
) -> None:
    open_page(page, f"{served}/providers/{world.providers[0].address}")
    assert page.inner_text("#endpoint") == HOSTILE_ENDPOINT
    assert page.evaluate("window.__xss") is None
    for chart in ("#earnings-chart", "#tpj-chart"):
        page.wait_for_selector(f"{chart} canvas")
        assert page.get_attribute(chart, "data-points") == "3"
    assert page.locator('#disputes tr[data-kind="slash"]').count() == 1


def test_job_page_shows_the_lifecycle_and_usage_record(
    served: str, world: Scenario, page: Any
) -> None:
    job = world.jobs["settled-1"]
    open_page(page, f"{served}/jobs/{job}")
    assert page.inner_text("#state") == world.admin.job(job).state.name.lower()
    kinds = page.locator("#timeline li").evaluate_all("li => li.map(x => x.dataset.kind)")
    assert kinds[:3] == ["JobPosted", "JobClaimed", "JobSettled"]
    assert "DisputeResolved" in kinds
    assert page.locator('#usage [data-meter="simulated"]').count() == 1


def test_a_new_block_shows_without_a_reload(served: str, world: Scenario, page: Any) -> None:
    holder = world.holder.address
    open_page(page, f"{served}/accounts/{holder}")
    page.evaluate("window.__sameDocument = true")
    world.admin.transfer(holder, parse_amount("1.5"))
    mined = time.monotonic()
    want = format_amount(world.admin.balance(holder))
    page.wait_for_function(
        "want => document.querySelector('[data-field=balance_cpt]').innerText.trim() === want",
        arg=want,
        timeout=LIVE_UPDATE_S * 1000,
    )
    assert time.monotonic() - mined <= LIVE_UPDATE_S
    assert page.evaluate("window.__sameDocument") is True  # no reload happened


def test_the_csv_link_downloads_the_filtered_history(
    served: str, world: Scenario, page: Any
) -> None:
    open_page(page, f"{served}/accounts/{world.client.address}?kind=job_settled")
    with page.expect_download() as download:
        page.click("#csv")
    text = Path(download.value.path()).read_text()
    rows = list(csv.DictReader(io.StringIO(text)))
    api = httpx.get(
        f"{served}/api/accounts/{world.client.address}/history", params={"kind": "job_settled"}
    ).json()["rows"]
    assert [r["tx_hash"] for r in rows] == [r["tx_hash"] for r in api]
    assert len(rows) == page.locator("#history tbody tr").count()


def test_a_bad_address_shows_an_error_page(served: str, page: Any) -> None:
    response = page.goto(f"{served}/accounts/0xnothex")
    assert response.status == 400
    assert "is not an address" in page.inner_text("#error-message")
    page.fill('input[name="q"]', "<b>hi</b>")
    page.click("header button")
    assert page.inner_text("#error-message").startswith("nothing to look up for '<b>hi</b>'")


def test_no_page_loads_anything_from_elsewhere(served: str, world: Scenario, page: Any) -> None:
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    provider, job = world.providers[1].address, world.jobs["open"]
    for path in (
        "/",
        f"/accounts/{world.client.address}",
        f"/providers/{provider}",
        f"/jobs/{job}",
    ):
        open_page(page, served + path)
    open_page(page, served + "/docs")
    page.wait_for_selector(".swagger-ui .opblock")  # the API's operations, listed
    assert len(requested) > 10
    assert all(url.startswith(served) for url in requested), sorted(set(requested))
