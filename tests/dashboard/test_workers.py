"""`jl dashboard --workers`: what it refuses, and the advice its errors give. (Serving,
stopping and the port rules are tested on real processes in `test_cli.py`.)"""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jouleledger import Devnet
from jouleledger.cli import app
from jouleledger.deployment import save_deployment
from jouleledger_dashboard import workers
from jouleledger_dashboard.workers import MAX_WORKERS, ServerProcesses, Source, bind, pool_size
from tests.dashboard.scenario import Scenario


@pytest.mark.parametrize("count", [0, MAX_WORKERS + 1])
def test_a_worker_count_outside_1_to_16_is_refused(count: int, world: Scenario) -> None:
    source = Source("http://127.0.0.1:1", world.admin.deployment, "sqlite:///unused")
    with pytest.raises(ValueError, match=f"workers must be 1 to {MAX_WORKERS}, not {count}"):
        ServerProcesses(source, count)
    done = CliRunner().invoke(app, ["dashboard", "--workers", str(count)])
    assert done.exit_code == 2  # a usage error, before anything starts


def test_each_worker_keeps_a_share_of_the_connections_and_at_least_three() -> None:
    assert pool_size(1) == 24 and pool_size(2) == 12 and pool_size(MAX_WORKERS) == 3
    assert MAX_WORKERS * (pool_size(MAX_WORKERS) + pool_size(MAX_WORKERS) // 3) + 15 < 100


def test_a_host_that_is_not_this_machine_says_so() -> None:
    with pytest.raises(RuntimeError, match=r"is '192\.0\.2\.1' an address of this machine"):
        bind("192.0.2.1", 0)  # TEST-NET-1: never a local address


def test_each_bind_error_gets_its_own_advice() -> None:
    def advice(code: int) -> str:
        return workers._bind_advice("127.0.0.1", 80, OSError(code, "x"))

    assert "pass another with --port" in advice(errno.EADDRINUSE)
    assert "port 80 needs root here" in advice(errno.EACCES)
    assert "an address of this machine" in advice(errno.EADDRNOTAVAIL)


def test_workers_are_refused_where_the_kernel_does_not_spread_connections(
    net: Devnet, world: Scenario, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from jouleledger_dashboard import cli

    monkeypatch.setattr(cli, "BALANCED", False)  # as on macOS or Windows
    save_deployment(tmp_path / "deployments.json", world.admin.deployment)
    done = CliRunner().invoke(
        app,
        ["--rpc", str(net.rpc_url), "dashboard", "--workers", "2"],
        env={"JL_HOME": str(tmp_path)},
    )
    assert done.exit_code == 2, done.output
    assert "--workers needs Linux" in done.output and "leave it out" in done.output
