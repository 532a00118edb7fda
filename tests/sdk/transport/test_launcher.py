"""The devnet launcher: chains start, fail clearly, and leave nothing running.

What every backend must do once started is in `test_control.py`."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jouleledger import DevnetError, start_devnet
from tests.conftest import ROOT, port_open


def process_gone(pid: int) -> bool:
    """True when `pid` no longer runs (absent, or a zombie nobody has reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


@pytest.mark.parametrize("kind", ["anvil", "ganache"])
def test_stop_ends_the_process_and_frees_the_port(kind: str) -> None:
    net = start_devnet(kind, search_from=ROOT)
    assert net.pid is not None and net.rpc_url is not None
    assert port_open(net.rpc_url)
    net.stop()
    assert process_gone(net.pid)
    assert not port_open(net.rpc_url)
    net.stop()  # a second stop is harmless


def test_chain_dies_when_its_parent_is_killed() -> None:
    script = (
        "import sys, time\n"
        "from jouleledger import start_devnet\n"
        f"net = start_devnet('anvil', search_from={str(ROOT)!r})\n"
        "print(net.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert parent.stdout is not None
    anvil_pid = int(parent.stdout.readline())
    assert not process_gone(anvil_pid)
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.monotonic() + 10
    while not process_gone(anvil_pid) and time.monotonic() < deadline:
        time.sleep(0.05)  # polling another session's process: there is no event to await
    assert process_gone(anvil_pid)


def test_unknown_chain_kind_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="unknown chain kind 'hardhat'; choose one of: anvil"):
        start_devnet("hardhat")


def test_missing_program_says_what_to_do() -> None:
    with pytest.raises(DevnetError, match="could not start anvil"):
        start_devnet("anvil", command=["/nonexistent/anvil"])


def test_program_that_exits_early_reports_its_output(tmp_path: Path) -> None:
    fake = tmp_path / "fake-anvil"
    fake.write_text("#!/bin/sh\necho 'fatal: no such hardfork' >&2\nexit 3\n")
    fake.chmod(0o755)
    with pytest.raises(DevnetError, match=r"(?s)exited with code 3.*no such hardfork"):
        start_devnet("anvil", command=[str(fake)])


def test_busy_port_is_a_clear_error() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(DevnetError, match=f"could not bind port {port}: it is in use"):
            start_devnet("anvil", port=port, search_from=ROOT)
