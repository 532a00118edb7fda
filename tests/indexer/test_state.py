"""The index equals the chain after a scenario with every kind of event, on SQLite and
PostgreSQL; it resumes where it stopped and keeps each deployment apart."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import select
from web3 import Web3

from jouleledger import Devnet
from jouleledger.types import JobState
from jouleledger_indexer import (
    Database,
    Indexer,
    IndexerConfig,
    IndexerError,
    SyncResult,
    WrongDeployment,
    address_key,
)
from jouleledger_indexer.models import AccountTx, Dispute, Event, Job, Provider, Slash, SyncState
from tests.indexer.scenario import Market, assert_index_matches_chain


@pytest.fixture(scope="module")
def market(anvil: Devnet) -> Market:
    """A deployment on which the whole scenario ran once."""
    m = Market.deploy(anvil.w3, anvil.accounts)
    m.run()
    return m


def test_index_equals_chain_after_every_kind_of_event(db: Database, market: Market) -> None:
    result = Indexer(market.w3, market.deployment, db).run_once()
    assert result.caught_up and result.events > 50 and result.rolled_back_to is None
    assert_index_matches_chain(db, market)
    ids = market.ids
    with db.session() as s:
        settled = s.get(Job, ids["settled"])
        dispute = s.get(Dispute, ids["disputed"])
        provider = s.get(Provider, address_key(market.provider_address))
        slashes = s.scalars(select(Slash)).all()
        kinds = set(s.scalars(select(AccountTx.kind).distinct()))
        timeline = s.scalars(
            select(Event.name).where(Event.job_id == ids["settled"]).order_by(Event.id)
        ).all()
    assert settled is not None and provider is not None and dispute is not None
    assert settled.gpu_millis == 4_000 + settled.id and settled.meter_kind == 0
    assert settled.energy_mj == 1_200_000 + settled.id and settled.settle_tx
    assert settled.gpu_id_hash is not None and settled.finalized_at is not None
    assert dispute.client_wins is True and dispute.slashed == sum(x.amount for x in slashes)
    assert [x.job_id for x in slashes] == [ids["disputed"]]
    assert provider.endpoint == "<script>alert(1)</script>"  # stored as is; pages escape it
    assert provider.jobs_settled == 4 and provider.energy_mj > 0
    assert timeline[:3] == ["JobPosted", "BidRaised", "JobClaimed"]
    assert {"transfer_in", "job_posted", "job_settled", "job_refund", "withdrawn"} <= kinds
    assert {"dispute_opened", "slashed", "unbonding_requested", "holdings_locked"} <= kinds


def test_second_run_writes_nothing_new_and_a_new_block_is_picked_up(
    db: Database, market: Market
) -> None:
    indexer = Indexer(market.w3, market.deployment, db)
    first = indexer.run_once()
    assert indexer.run_once().events == 0
    job = market.post(0)
    again = Indexer(market.w3, market.deployment, db).run_once()  # a fresh process resumes
    assert again.from_block == first.to_block + 1 and again.events >= 2
    with db.session() as s:
        row = s.get(Job, job)
        assert row is not None and row.state == JobState.OPEN
    market.clients[0].cancel_job(job)
    indexer.run_once()
    assert_index_matches_chain(db, market)


def test_a_database_of_another_deployment_is_refused(
    db: Database, market: Market, anvil: Devnet
) -> None:
    Indexer(market.w3, market.deployment, db, IndexerConfig(start_block=0)).run_once()
    other = Market.deploy(anvil.w3, anvil.accounts)
    with pytest.raises(WrongDeployment, match="give each deployment its own database"):
        Indexer(anvil.w3, other.deployment, db).run_once()
    with db.session() as s:
        state = s.get(SyncState, 1)
        assert state is not None and state.market == address_key(market.deployment.market)


def test_run_forever_follows_new_blocks_until_stopped(market: Market, tmp_path: Path) -> None:
    # A file, not "sqlite://": an in-memory database is one per connection, and the
    # indexer's thread and this test read through different connections.
    db = Database(f"sqlite:///{tmp_path / 'index.sqlite'}")
    db.upgrade()  # the schema exists before this thread first looks
    indexer = Indexer(market.w3, market.deployment, db)
    stop, batches = threading.Event(), list[SyncResult]()
    worker = threading.Thread(
        target=indexer.run_forever, args=(stop,), kwargs={"poll_interval": 0.05,
                                                           "on_batch": batches.append},
    )  # fmt: skip
    worker.start()
    try:
        job = market.post(0)
        deadline = time.monotonic() + 10
        while True:
            with db.session() as s:
                if s.get(Job, job) is not None:
                    break
            assert time.monotonic() < deadline, "the new job was not indexed in 10 s"
            time.sleep(0.02)
    finally:
        stop.set()
        worker.join(10)
    assert not worker.is_alive() and batches
    market.clients[0].cancel_job(job)


def test_a_deployment_with_no_market_is_explained(market: Market) -> None:
    nowhere = replace(market.deployment, market=Web3.to_checksum_address("0x" + "00" * 19 + "01"))
    with pytest.raises(IndexerError, match="no JouleLedger market answers at"):
        Indexer(market.w3, nowhere, Database("sqlite://"))
