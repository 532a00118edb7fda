"""The JSON API and the pages over HTTP, against a real anvil chain and its index: numbers
equal chain state, bad input is a clear 4xx, nothing answers 5xx, CSV round-trips."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import urljoin

import httpx
import pytest

from jouleledger.efficiency import tokens_per_joule
from jouleledger.types import JobState
from jouleledger.units import format_amount, parse_amount
from tests.dashboard.conftest import wait_served
from tests.dashboard.scenario import HOSTILE_ENDPOINT, Scenario


def get(url: str, path: str, **params: str) -> httpx.Response:
    return httpx.get(url + path, params=params, timeout=10)


def test_account_numbers_equal_chain_state(served: str, world: Scenario) -> None:
    for who in (world.client, world.holder, *world.providers):
        body = get(served, f"/api/accounts/{who.address}").json()
        info, holding = world.admin.provider(who.address), world.admin.holding(who.address)
        assert body["balances"]["balance_cpt"] == format_amount(world.admin.balance(who.address))
        assert body["balances"]["stake_cpt"] == format_amount(info.stake)
        assert body["balances"]["unbonding_cpt"] == format_amount(info.unbonding)
        assert body["balances"]["credit_cpt"] == format_amount(world.admin.credit(who.address))
        assert body["balances"]["holdings_locked_cpt"] == format_amount(holding.locked)
    client = get(served, f"/api/accounts/{world.client.address}").json()["client"]
    assert client["jobs_posted"] == len(world.jobs)
    assert client["low_funds"] is True and client["time_to_empty_s"] > 0


def test_job_states_and_efficiency_equal_chain_state(served: str, world: Scenario) -> None:
    for job_id in world.jobs.values():
        body = get(served, f"/api/jobs/{job_id}").json()
        assert body["state"] == world.admin.job(job_id).state.name.lower()
    for provider in world.providers:
        settled = {e["args"]["jobId"]: e["args"] for e in world.admin.events("JobSettled")}
        mine = [settled[j] for j in settled if world.admin.job(j).provider == provider.address]
        energy = sum(a["energyMj"] for a in mine)
        tokens = sum(a["aiTokens"] for a in mine)
        body = get(served, f"/api/providers/{provider.address}").json()
        assert body["jobs_settled"] == len(mine)
        assert body["tokens_per_joule"] == round(tokens_per_joule(tokens, energy), 3)
    assert world.admin.job(world.jobs["open"]).state is JobState.OPEN


def test_leaderboards_never_rank_simulated_with_nvml(served: str, world: Scenario) -> None:
    boards = get(served, "/api/market").json()["leaderboards"]
    assert [b["meter_kind"] for b in boards] == ["nvml", "simulated"]
    for board in boards:
        assert {r["meter_kind"] for r in board["rows"]} == {board["meter_kind"]}
    assert boards[0]["rows"][0]["provider"] == world.providers[1].address


def test_hostile_endpoint_is_served_as_text(served: str, world: Scenario) -> None:
    address = world.providers[0].address
    assert get(served, f"/api/providers/{address}").json()["endpoint"] == HOSTILE_ENDPOINT
    html = get(served, f"/providers/{address}").text
    assert "<script>window.__xss" not in html
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/accounts/0x1234", 400, "is not an address"),
        ("/accounts/' OR 1=1; DROP TABLE jobs; --", 400, "is not an address"),
        ("/providers/0xZZ", 400, "is not an address"),
        ("/jobs/999999", 404, "not on this market"),
        ("/jobs/" + str(2**200), 404, "not on this market"),
        ("/jobs/" + "9" * 100, 400, "not a job id"),
        ("/jobs/1e9", 400, "not a job id"),
        ("/jobs/0", 400, "out of range"),
        ("/search?q=SELECT * FROM jobs", 400, "nothing to look up"),
        ("/search", 400, "bad request"),
        ("/search?q=0x" + "ab" * 32, 404, "no indexed event"),
        ("/no/such/page", 404, "there is no page"),
        ("/accounts/0x000000000000000000000000000000000000dEaD", 404, "no JouleLedger activity"),
        ("/api/jobs/abc", 400, "not a job id"),
        ("/api/accounts/0x70997970C51812dc3A010C7d01b50e0d17dc79C8/history?kind=x", 400, "kind"),
        (
            "/api/accounts/0x70997970C51812dc3A010C7d01b50e0d17dc79C8/history?since=soon",
            400,
            "time",
        ),
    ],
)
def test_bad_input_gets_a_clear_4xx(served: str, path: str, status: int, says: str) -> None:
    response = httpx.get(served + path, timeout=10)
    assert response.status_code == status, response.text[:500]
    if path.startswith("/api/"):
        assert says in response.json()["detail"]
    else:
        assert says in response.text and "<title>" in response.text


def test_provider_page_of_a_mere_client_is_404(served: str, world: Scenario) -> None:
    response = get(served, f"/providers/{world.client.address}")
    assert response.status_code == 404 and "not a provider" in response.text


def test_search_leads_to_account_job_and_transaction(served: str, world: Scenario) -> None:
    job = world.jobs["settled-2"]
    assert get(served, "/api/search", q=world.client.address.lower()).json()["url"] == (
        f"/accounts/{world.client.address}"
    )
    assert get(served, "/api/search", q=f"#{job}").json()["url"] == f"/jobs/{job}"
    settle_tx = get(served, f"/api/jobs/{job}").json()["timeline"][-1]["tx_hash"]
    assert get(served, "/api/search", q=settle_tx).json()["url"] == f"/jobs/{job}"


def test_csv_export_round_trips_the_history(served: str, world: Scenario) -> None:
    path = f"/api/accounts/{world.client.address}/history"
    rows = get(served, path, limit="1000").json()["rows"]
    exported = list(csv.DictReader(io.StringIO(get(served, path + ".csv").text)))
    assert len(exported) == len(rows) > 5
    for got, want in zip(exported, rows, strict=True):
        assert got["tx_hash"] == want["tx_hash"] and got["kind"] == want["kind"]
        assert got["amount_cpt"] == (want["amount_cpt"] or "")
    only = get(served, path + ".csv", kind="job_posted").text
    assert {r["kind"] for r in csv.DictReader(io.StringIO(only))} == {"job_posted"}


def test_no_page_answers_5xx(served: str, world: Scenario) -> None:
    seen: set[str] = set()
    todo = ["/", f"/accounts/{world.client.address}", "/docs", "/openapi.json"]
    while todo and len(seen) < 80:
        path = todo.pop()
        if path in seen:
            continue
        seen.add(path)
        response = httpx.get(urljoin(served, path), timeout=10)
        assert response.status_code < 500, (path, response.status_code)
        if "text/html" in response.headers.get("content-type", ""):
            todo += [p for p in re.findall(r'href="(/[^"#]*)"', response.text) if p not in seen]
    assert len(seen) > 15


def test_a_new_block_changes_the_pages_cached_for_the_last_one(
    served: str, world: Scenario
) -> None:
    holder = world.holder.address
    before = get(served, f"/api/accounts/{holder}/history").json()
    assert get(served, f"/accounts/{holder}").status_code == 200  # now cached for this block
    receipt = world.admin.transfer(holder, parse_amount("0.25"))
    wait_served(served, receipt["blockNumber"])
    after = get(served, f"/api/accounts/{holder}/history").json()
    page = get(served, f"/accounts/{holder}").text
    assert after["total"] == before["total"] + 1
    newest = after["rows"][0]
    assert (newest["kind"], newest["amount_cpt"]) == ("transfer_in", "0.25")
    assert newest["block"] == receipt["blockNumber"]
    balance = format_amount(world.admin.balance(holder))
    assert f'<dd data-field="balance_cpt">{balance}</dd>' in page
    assert f'data-kind="transfer_in"><td>{receipt["blockNumber"]}</td>' in page


def test_history_filters_select_the_same_rows_as_filtering_all_of_them(
    served: str, world: Scenario
) -> None:
    path = f"/api/accounts/{world.client.address}/history"
    rows = get(served, path, limit="1000").json()["rows"]
    job = next(r["job_id"] for r in rows if r["job_id"])
    middle = sorted(r["timestamp"] for r in rows)[len(rows) // 2]

    def filtered(**params: str) -> list[dict[str, object]]:
        body = get(served, path, limit="1000", **params).json()
        assert body["total"] == len(body["rows"])
        return body["rows"]  # type: ignore[no-any-return]

    assert filtered(job=str(job)) == [r for r in rows if r["job_id"] == job]
    assert filtered(since=str(middle)) == [r for r in rows if r["timestamp"] >= middle]
    assert filtered(until=str(middle), kind="job_posted") == [
        r for r in rows if r["timestamp"] <= middle and r["kind"] == "job_posted"
    ]
    assert filtered(job=str(2**64)) == []  # no integer column holds it: nothing matches
    first = get(served, path, limit="2").json()
    assert first["rows"] == rows[:2] and first["total"] == len(rows)
