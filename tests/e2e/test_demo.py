"""`make demo` in a reduced size: the whole scenario runs and its money checks hold."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import demo
import pytest

from jouleledger import ChainKind
from tests.conftest import ROOT, port_open


def test_demo_runs_end_to_end_on_anvil_and_stops_its_chain(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "scripts/demo.py", "--jobs-per-client", "4"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for check in (
        "total supply unchanged",
        "every token accounted for",
        "market holds exactly what it owes",
        "staking holds exactly the stakes",
        "vault holds exactly the holdings",
        "jobs claimed in priority order",
    ):
        assert f"ok   {check}" in done.stdout
    assert "the arbiter sides with the client" in done.stdout
    assert "the arbiter sides with the provider" in done.stdout
    assert re.search(r"expired    job \d+: client refunded 2 CPT", done.stdout)
    report = json.loads((ROOT / "demo-output" / "report.json").read_text())
    boosted = report["holder"]["jobs"]
    assert len(boosted) == 3  # one per class: each is busy with 4 jobs per client
    assert all(float(j["boost_cpt"]) == 2.0 for j in boosted)  # 0.1% of 2,000 CPT
    assert all(j["claimed_before_richer"] > 0 for j in boosted)
    assert report["jobs"] == 9 + len(boosted)
    assert all(p["meter"] == "simulated" for p in report["providers"])
    assert sum(p["jobs_settled"] for p in report["providers"]) == 8 + len(boosted)
    assert (ROOT / "demo-output" / "providers.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    url = re.search(r"at (http://\S+),", done.stdout)
    assert url is not None and not port_open(url.group(1))


@pytest.mark.slow
def test_demo_money_checks_hold_on_the_embedded_chain() -> None:
    report = demo.run(ChainKind.EMBEDDED, jobs_per_client=2, output=None)
    assert report.ok, report.checks
    assert report.claim_order_ok
    settled = sum(p.jobs_settled for p in report.providers)
    assert report.holder is not None
    assert settled == 4 + len(report.holder.jobs)
