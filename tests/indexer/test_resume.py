"""Kill -9 while indexing, restart: nothing lost, nothing twice. A real indexer process
(``python -m jouleledger_indexer``) on a real anvil, killed with SIGKILL mid-run; then an
indexer resumes on the same database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from jouleledger import Devnet
from jouleledger.deployment import save_deployment
from jouleledger.tx import Sender
from jouleledger_indexer import Database, Indexer
from jouleledger_indexer.__main__ import main
from jouleledger_indexer.models import SyncState
from tests.conftest import ROOT
from tests.indexer.scenario import Market, assert_index_matches_chain, contract

DEADLINE_S = 60


def _indexer(home: Path, rpc: str, db_url: str, *extra: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ, JL_HOME=str(home))
    command = [sys.executable, "-m", "jouleledger_indexer", "--rpc", rpc, "--db", db_url]
    return subprocess.Popen(
        [*command, *extra], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _indexed_block(db: Database) -> int:
    with db.session() as s:
        state = s.scalar(select(SyncState))
        return -1 if state is None else state.indexed_block


@pytest.fixture(scope="module")
def market(anvil: Devnet, tmp_path_factory: pytest.TempPathFactory) -> Market:
    """The scenario, then 40 one-transfer blocks: many small batches to kill the process
    among. Its home folder records the deployment."""
    market = Market.deploy(anvil.w3, anvil.accounts)
    market.run()
    token = contract(anvil.w3, "ComputePowerToken", market.deployment.token)
    sender = Sender(anvil.w3, anvil.accounts[0])
    for i in range(40):
        sender.send(token.functions.transfer(anvil.accounts[5].address, i + 1))
    market.home = tmp_path_factory.mktemp("home")
    save_deployment(market.home / "deployments.json", market.deployment)
    return market


def test_killed_indexer_resumes_without_losing_or_repeating_events(
    db: Database, anvil: Devnet, market: Market
) -> None:
    head = anvil.w3.eth.block_number
    home = market.home
    url = db.url.render_as_string(hide_password=False)
    db.upgrade()  # so that progress can be polled; the indexer finds the schema current

    rpc = anvil.rpc_url
    assert rpc is not None
    first = _indexer(home, rpc, url, "--max-range", "1", "--poll", "0.05")
    try:
        deadline = time.monotonic() + DEADLINE_S
        while _indexed_block(db) < head // 2:
            assert first.poll() is None, first.stdout.read() if first.stdout else b""
            assert time.monotonic() < deadline, "the indexer made no progress"
            time.sleep(0.005)
        first.send_signal(signal.SIGKILL)
        first.wait(DEADLINE_S)
    finally:
        if first.poll() is None:
            first.kill()
    killed_at = _indexed_block(db)
    assert killed_at < head, "the indexer finished before it could be killed"

    result = Indexer(anvil.w3, market.deployment, db).run_once()  # the restart
    assert result.from_block == killed_at + 1
    assert _indexed_block(db) == anvil.w3.eth.block_number
    assert_index_matches_chain(db, market)


def test_the_command_indexes_once_and_explains_a_missing_deployment(
    anvil: Devnet, market: Market, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    rpc = anvil.rpc_url
    assert rpc is not None
    monkeypatch.setenv("JL_HOME", str(market.home))
    url = f"sqlite:///{tmp_path / 'once.sqlite'}"
    assert main(["--rpc", rpc, "--db", url, "--once"]) == 0
    assert "events" in capsys.readouterr().out
    assert _indexed_block(Database(url)) == anvil.w3.eth.block_number
    monkeypatch.setenv("JL_HOME", str(tmp_path / "empty"))
    assert main(["--rpc", rpc, "--once"]) == 1
    assert "no deployments file" in capsys.readouterr().err
