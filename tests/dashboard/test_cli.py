"""`jl dashboard`: serves the deployment at --rpc, prints its URL, stops on Ctrl-C; and the
SDK's CLI does not import FastAPI until the command runs."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

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


def workers_of(pid: int) -> set[int]:
    """The worker processes `pid` spawned that still run (Linux /proc; multiprocessing's
    resource tracker, also a child, is not one)."""
    found: set[int] = set()
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found.update(int(n) for n in task.read_text().split())
    return {n for n in found if b"spawn_main" in Path(f"/proc/{n}/cmdline").read_bytes()}


CONNECTIONS = 40


def cpu_ticks(pid: int) -> int:
    """User plus system CPU clock ticks the process `pid` has used (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def views(url: str, n: int) -> tuple[int, str]:
    """`url` fetched `n` times over one kept-alive connection: the last status and page."""
    with httpx.Client() as client:
        for _ in range(n):
            answer = client.get(url)
    return answer.status_code, answer.text


def running(pid: int) -> bool:
    """Whether the process `pid` still runs (not gone, and not a zombie)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def wait_gone(pids: set[int], timeout: float = 30.0) -> None:
    """Wait until none of `pids` runs; fail naming those that still do."""
    deadline = time.monotonic() + timeout
    while any(running(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if running(p)], f"still running after {timeout} s"


@dataclass
class Served:
    """A `jl dashboard --workers 2` process: its Popen, URL and worker pids."""

    process: subprocess.Popen[str]
    url: str
    workers: set[int]


@contextmanager
def workers_dashboard(net: Devnet, world: Scenario, home: Path) -> Iterator[Served]:
    """`jl dashboard --workers 2` on a free port, in a process group of its own (so a test
    can send Ctrl-C to all of it, as a terminal does); killed whole at the end whatever
    the test did, so that no worker outlives it."""
    save_deployment(home / "deployments.json", world.admin.deployment)
    env = {**os.environ, "JL_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    command = [*JL, "--rpc", str(net.rpc_url), "dashboard", "--port", "0", "--workers", "2"]
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, text=True, start_new_session=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(4)]
        url = re.match(r"dashboard\s+(http://127\.0\.0\.1:\d+)", lines[0])
        assert url, lines
        assert lines[3].split() == ["workers", "2", "processes"]
        workers = workers_of(process.pid)
        assert len(workers) == 2, workers
        yield Served(process, url.group(1), workers)
    finally:
        with suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.communicate(timeout=30)


def test_jl_dashboard_workers_serve_what_this_process_indexes_and_stop_with_it(
    net: Devnet, world: Scenario, tmp_path: Path
) -> None:
    with workers_dashboard(net, world, tmp_path) as served:
        wait_served(served.url, net.w3.eth.block_number)
        net.w3.provider.make_request("evm_mine", [])  # type: ignore[arg-type]
        wait_served(served.url, net.w3.eth.block_number)  # the parent indexed it
        page = f"{served.url}/providers/{world.providers[0].address}"
        used = {pid: cpu_ticks(pid) for pid in served.workers}
        with ThreadPoolExecutor(CONNECTIONS) as pool:
            answers = list(pool.map(lambda _: views(page, 5), range(CONNECTIONS)))
        assert all(a == answers[0] for a in answers)  # whichever worker answered agrees
        assert answers[0][0] == 200 and world.providers[0].address in answers[0][1]
        # The kernel spread the connections over both workers (SO_REUSEPORT): each did work.
        # (All forty on one worker: a chance of 2 in 2**40.)
        assert all(cpu_ticks(pid) > used[pid] for pid in served.workers), used
        os.killpg(served.process.pid, signal.SIGINT)  # Ctrl-C in its terminal
        assert served.process.wait(timeout=30) == 0
        wait_gone(served.workers)


def test_jl_dashboard_workers_stop_with_sigterm_to_the_parent_and_free_the_port(
    net: Devnet, world: Scenario, tmp_path: Path
) -> None:
    with workers_dashboard(net, world, tmp_path) as served:
        served.process.send_signal(signal.SIGTERM)  # `kill PID`, or a supervisor
        assert served.process.wait(timeout=30) == 0
        wait_gone(served.workers)
        port = int(served.url.rsplit(":", 1)[1])
        with socket.socket() as again:  # nothing holds it any more
            again.bind(("127.0.0.1", port))


def test_jl_dashboard_workers_stop_when_the_parent_is_killed(
    net: Devnet, world: Scenario, tmp_path: Path
) -> None:
    with workers_dashboard(net, world, tmp_path) as served:
        served.process.kill()  # SIGKILL, or the OOM killer: it cannot stop them itself
        served.process.wait(timeout=30)
        wait_gone(served.workers)  # each noticed its parent was gone, and stopped


def test_jl_dashboard_says_so_and_fails_when_a_worker_dies(
    net: Devnet, world: Scenario, tmp_path: Path
) -> None:
    with workers_dashboard(net, world, tmp_path) as served:
        victim = min(served.workers)
        os.kill(victim, signal.SIGKILL)
        assert served.process.wait(timeout=30) == 1
        wait_gone(served.workers)
        _, stderr = served.process.communicate(timeout=30)
    assert f"(pid {victim}) stopped with exit code -9" in stderr
    assert "the dashboard stopped" in stderr


@pytest.mark.parametrize(
    ("options", "listens"),
    [(0, True), (socket.SO_REUSEPORT, True), (socket.SO_REUSEPORT, False)],
    ids=["plain", "shared-like-workers", "held-like-a-starting-dashboard"],
)
def test_jl_dashboard_workers_say_when_the_port_is_taken(
    net: Devnet, world: Scenario, tmp_path: Path, options: int, listens: bool
) -> None:
    """Also when the holder shares its port (SO_REUSEPORT, as another `jl dashboard
    --workers` does, listening or still starting): the two would otherwise split the
    port's visitors unnoticed."""
    save_deployment(tmp_path / "deployments.json", world.admin.deployment)
    with socket.socket() as taken:
        if options:
            taken.setsockopt(socket.SOL_SOCKET, options, 1)
        taken.bind(("127.0.0.1", 0))
        if listens:
            taken.listen()
        port = str(taken.getsockname()[1])
        done = subprocess.run(
            [*JL, "--rpc", str(net.rpc_url), "dashboard", "--port", port, "--workers", "2"],
            cwd=ROOT, env={**os.environ, "JL_HOME": str(tmp_path)},
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
    assert done.returncode != 0
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr
    assert "pass another with --port" in done.stderr


def test_jl_dashboard_says_what_to_do_without_a_deployment(net: Devnet, tmp_path: Path) -> None:
    env = {**os.environ, "JL_HOME": str(tmp_path)}
    done = subprocess.run(
        [*JL, "--rpc", str(net.rpc_url), "dashboard"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 5
    assert "no deployment on chain 31337" in done.stderr and "jl deploy" in done.stderr
