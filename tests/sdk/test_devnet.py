"""The devnet launcher: anvil, ganache and py-evm run the same bytecode; nothing is left running."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jouleledger import (
    Devnet,
    DevnetError,
    deploy,
    dev_accounts,
    load_artifact,
    send,
    sign_permit,
    start_devnet,
)
from tests.conftest import ROOT

ONE = 10**18


def process_gone(pid: int) -> bool:
    """True when `pid` no longer runs (absent, or a zombie nobody has reaped yet)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return True
    return stat[stat.rindex(")") + 2] == "Z"


def port_open(url: str) -> bool:
    host, port = url.removeprefix("http://").split(":")
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, int(port))) == 0


def test_funded_accounts_are_the_development_mnemonic_keys(devnet: Devnet) -> None:
    assert [a.address for a in devnet.accounts] == [a.address for a in dev_accounts()]
    assert devnet.accounts[0].address == "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266"
    for account in devnet.accounts:
        assert devnet.w3.eth.get_balance(account.address) >= 10_000 * ONE


def test_token_deploys_and_transfers_on_every_chain(devnet: Devnet) -> None:
    w3, (owner, alice, bob) = devnet.w3, devnet.accounts[:3]
    token = deploy(w3, owner, load_artifact("ComputePowerToken"), 1_000 * ONE)
    send(w3, owner, token.functions.transfer(alice.address, 10 * ONE))
    assert token.functions.balanceOf(alice.address).call() == 10 * ONE

    permit = sign_permit(
        alice,
        token=token.address,
        token_name="Compute Power Token",
        chain_id=devnet.chain_id,
        spender=bob.address,
        value=4 * ONE,
        nonce=0,
        deadline=w3.eth.get_block("latest")["timestamp"] + 600,
    )
    send(w3, bob, token.functions.permit(
        alice.address, bob.address, 4 * ONE, permit.deadline, permit.v, permit.r, permit.s
    ))  # fmt: skip
    send(w3, bob, token.functions.transferFrom(alice.address, bob.address, 4 * ONE))
    assert token.functions.balanceOf(alice.address).call() == 6 * ONE
    assert token.functions.balanceOf(bob.address).call() == 4 * ONE
    assert token.functions.nonces(alice.address).call() == 1


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


def test_advance_time_moves_every_chains_clock(devnet: Devnet) -> None:
    from jouleledger.devnet import advance_time

    before = devnet.w3.eth.get_block("latest")
    advance_time(devnet.w3, 3_600)
    after = devnet.w3.eth.get_block("latest")
    assert after["number"] == before["number"] + 1
    assert after["timestamp"] - before["timestamp"] >= 3_600
    with pytest.raises(ValueError, match="time only moves forward"):
        advance_time(devnet.w3, -1)
