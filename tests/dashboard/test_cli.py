"""`jl dashboard`: serves the deployment at --rpc, prints its URL, stops on Ctrl-C; and the
SDK's CLI does not import FastAPI until the command runs."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from jouleledger import Devnet
from jouleledger.deployment import save_deployment
from tests.conftest import ROOT
from tests.dashboard.conftest import wait_served
from tests.dashboard.scenario import Scenario

JL = [sys.executable, "-m", "jouleledger.cli"]


def test_jl_does_not_import_fastapi_until_the_dashboard_runs() -> None:
    code = "import sys, jouleledger.cli; sys.exit('fastapi' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], cwd=ROOT).returncode == 0


def test_jl_dashboard_serves_prints_its_url_and_stops_on_ctrl_c(
    net: Devnet, world: Scenario, tmp_path: Path
) -> None:
    save_deployment(tmp_path / "deployments.json", world.admin.deployment)
    env = {**os.environ, "JL_HOME": str(tmp_path), "PYTHONUNBUFFERED": "1"}
    command = [*JL, "--rpc", str(net.rpc_url), "dashboard", "--port", "0"]
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        first = process.stdout.readline()
        url = re.match(r"dashboard\s+(http://127\.0\.0\.1:\d+)", first)
        assert url, first
        wait_served(url.group(1), net.w3.eth.block_number)
        assert httpx.get(url.group(1) + "/").status_code == 200
        assert list((tmp_path / "index").glob("*.sqlite"))  # indexed under $JL_HOME
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(timeout=30)
    assert code == 0


def test_jl_dashboard_says_what_to_do_without_a_deployment(net: Devnet, tmp_path: Path) -> None:
    env = {**os.environ, "JL_HOME": str(tmp_path)}
    done = subprocess.run(
        [*JL, "--rpc", str(net.rpc_url), "dashboard"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 5
    assert "no deployment on chain 31337" in done.stderr and "jl deploy" in done.stderr
