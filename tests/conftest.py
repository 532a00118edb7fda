"""Fixtures shared by every pytest suite (the brownie suite in tests/contracts has its own)."""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from jouleledger import Devnet, start_devnet

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))  # build_contracts, demo, deploy

CHAIN_KINDS = ["anvil", "ganache", "embedded"]


def port_open(url: str) -> bool:
    """Whether something listens at `url` (``http://host:port``)."""
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def child_processes() -> list[tuple[int, str]]:
    """(pid, name) of this process's live children, read from /proc (Linux)."""
    me = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        state, ppid = stat[stat.rindex(")") + 2 :].split()[:2]
        if int(ppid) == me and state != "Z":
            found.append((int(entry.name), name))
    return found


@pytest.fixture(scope="session", autouse=True)
def no_devnet_left_behind() -> Iterator[None]:
    """Fail the run if any test leaves a chain process running."""
    yield
    left = [(pid, name) for pid, name in child_processes() if name in ("anvil", "node")]
    assert not left, f"chain processes left running after the tests: {left}"


@pytest.fixture(scope="module", params=CHAIN_KINDS)
def devnet(request: pytest.FixtureRequest) -> Iterator[Devnet]:
    """One chain of each kind per test module: the same tests run on all three."""
    with start_devnet(request.param, search_from=ROOT) as net:
        yield net
