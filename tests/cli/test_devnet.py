"""`jl devnet up|status|down` through real processes: the chain outlives the `jl` that
started it, later commands find it without --rpc, and `down` leaves no process behind."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from jouleledger.cli import ExitCode
from jouleledger.transport import free_port
from tests.conftest import ROOT


def running(pid: int) -> bool:
    """Whether `pid` is a live process (a zombie awaiting its reaper does not count)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"


def test_devnet_up_serves_later_commands_and_down_stops_it(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("JL_RPC", "JL_ACCOUNT")}
    env["JL_HOME"] = str(tmp_path / "home")

    def jl(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "jouleledger.cli", *args],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )

    port = free_port()
    up = jl("devnet", "up", "--port", str(port), "--json")
    assert up.returncode == 0, up.stderr
    started = json.loads(up.stdout)
    pid = started["pid"]
    try:
        assert started["rpc_url"] == f"http://127.0.0.1:{port}"
        assert running(pid)  # outlived the `jl devnet up` process
        record = json.loads((tmp_path / "home" / "devnet.json").read_text())
        assert (record["pid"], record["port"], record["chain"]) == (pid, port, "anvil")
        assert record["market"] == started["market"]

        status = json.loads(jl("devnet", "status", "--json").stdout)
        assert status["running"] is True and status["block"] > 0

        # No --rpc: every command finds the devnet through devnet.json.
        balance = jl("balance", "dev:0", "--json")
        assert json.loads(balance.stdout)["cpt"] == "100000000", balance.stderr
        staked = jl("--account", "dev:0", "stake", "1000", "--json")
        assert json.loads(staked.stdout)["stake"] == "1000", staked.stderr
    finally:
        down = jl("devnet", "down")
        if running(pid):  # keep a failed test from leaking the chain
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
    assert down.returncode == 0, down.stderr
    assert f"stopped anvil (pid {pid})" in down.stdout
    deadline = time.monotonic() + 5
    while running(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not running(pid)
    assert not (tmp_path / "home" / "devnet.json").exists()
    assert "31337" not in json.loads((tmp_path / "home" / "deployments.json").read_text())

    after = jl("devnet", "status")
    assert after.returncode == ExitCode.NOT_FOUND
    assert after.stderr.strip() == "error: no devnet is running: start one with `jl devnet up`"


def test_devnet_that_exits_early_is_one_clear_line(tmp_path: Path) -> None:
    """The detached devnet waits with the launcher's own loop and turns its errors into
    CLI errors: the exit code and the chain's last output, one line."""
    import pytest

    from jouleledger.cli.devnet_process import spawn, wait_until_ready
    from jouleledger.cli.errors import CliError

    log = tmp_path / "chain.log"
    process = spawn(["sh", "-c", "echo 'fatal: unknown hardfork'; exit 3"], log)
    with pytest.raises(CliError, match=r"exited with code 3 before answering: fatal: unknown"):
        wait_until_ready(process, f"http://127.0.0.1:{free_port()}", log)

    busy = spawn(["sh", "-c", "echo 'Error: Address already in use (os error 98)'; exit 1"], log)
    with pytest.raises(CliError, match="the port is already in use: pick another --port"):
        wait_until_ready(busy, f"http://127.0.0.1:{free_port()}", log)
