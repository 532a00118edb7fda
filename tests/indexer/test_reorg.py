"""Reorgs on a real anvil: ``anvil_reorg`` (blocks replaced by others with other
transactions), ``anvil_rollback`` (the chain made shorter) and ``evm_snapshot`` +
``evm_revert`` (the chain cut back, then grown again).
The index rolls back to the fork, reads the new blocks, and equals the chain again."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select
from web3 import Web3

from jouleledger import Devnet
from jouleledger.transport import raw_request
from jouleledger.tx.nonces import NonceManager
from jouleledger.units import parse_amount
from jouleledger_indexer import Database, Indexer, IndexerConfig, ReorgTooDeep, address_key
from jouleledger_indexer.models import Job, Transfer, UndoEntry
from tests.indexer.scenario import Market, assert_index_matches_chain, contract


def _resync(anvil: Devnet) -> None:
    """After a reorg dropped transactions, the SDK's counted nonces are ahead: re-read them."""
    for account in anvil.accounts:
        NonceManager.for_account(anvil.w3, account.address).resync()


def _signed_transfer(market: Market, sender: LocalAccount, to: str, amount: int) -> str:
    w3 = market.w3
    token = contract(w3, "ComputePowerToken", market.deployment.token)
    tx: Any = token.functions.transfer(Web3.to_checksum_address(to), amount).build_transaction(
        {
            "from": sender.address,
            "nonce": w3.eth.get_transaction_count(sender.address),
            "gas": 100_000,
            "chainId": market.deployment.chain_id,
        }
    )
    return "0x" + bytes(sender.sign_transaction(tx).raw_transaction).hex()


@pytest.fixture(scope="module")
def deployed(anvil: Devnet) -> Market:
    """A deployment with a settled job, made once for the module."""
    m = Market.deploy(anvil.w3, anvil.accounts)
    m.post(0)
    m.claim_and_settle(1)
    return m


@pytest.fixture
def market(deployed: Market, anvil: Devnet) -> Iterator[Market]:
    """The module's deployment; the chain is put back as it was after each test."""
    snapshot = anvil.control.snapshot()
    yield deployed
    anvil.control.revert(snapshot)
    _resync(anvil)


def test_anvil_reorg_replaces_indexed_blocks_and_the_index_follows(
    db: Database, market: Market, anvil: Devnet
) -> None:
    indexer = Indexer(market.w3, market.deployment, db, IndexerConfig(confirmations=0))
    indexer.run_once()
    before = anvil.w3.eth.block_number
    job = market.post(1)
    market.clients[1].raise_bid(job, parse_amount("2"))
    gone = market.post(1)
    indexer.run_once()
    depth = anvil.w3.eth.block_number - before  # every block since `before` is replaced
    stranger = "0x" + "ab" * 20
    raw = _signed_transfer(market, anvil.accounts[0], stranger, 12345)
    raw_request(anvil.w3, "anvil_reorg", [depth, [[raw, 1]]])
    _resync(anvil)

    result = indexer.run_once()

    head = anvil.w3.eth.block_number
    assert result.rolled_back_to is not None and result.rolled_back_to <= head - depth + 1
    with db.session() as s:
        assert s.get(Job, job) is None and s.get(Job, gone) is None
        moved = s.scalars(select(Transfer).where(Transfer.to_address == stranger)).all()
        assert [t.value for t in moved] == [12345]
    assert_index_matches_chain(db, market)


def test_revert_to_a_snapshot_then_other_blocks_is_followed(
    db: Database, market: Market, anvil: Devnet
) -> None:
    indexer = Indexer(market.w3, market.deployment, db, IndexerConfig(confirmations=0))
    control = anvil.control
    snapshot = control.snapshot()
    fork = anvil.w3.eth.block_number + 1
    job = market.post(0)
    market.provider.claim_job(job)
    indexer.run_once()
    control.revert(snapshot)
    _resync(anvil)
    market.admin.transfer(market.clients[1].account.address, parse_amount("7"))  # type: ignore[union-attr]
    other = market.post(1)  # the same job id, another client
    control.mine(5)

    result = indexer.run_once()

    assert result.rolled_back_to is not None and result.rolled_back_to <= fork
    with db.session() as s:
        row = s.get(Job, other)
        assert row is not None and row.client == address_key(market.clients[1].account.address)  # type: ignore[union-attr]
        assert row.provider is None
    assert_index_matches_chain(db, market)


def test_a_reorg_below_the_revertible_window_is_refused(market: Market, anvil: Devnet) -> None:
    db = Database("sqlite://")
    config = IndexerConfig(confirmations=0, reorg_window=2, initial_range=2, max_range=2)
    indexer = Indexer(market.w3, market.deployment, db, config)
    snapshot = anvil.control.snapshot()
    for _ in range(4):
        market.post(0)
    indexer.run_once()
    anvil.control.revert(snapshot)
    _resync(anvil)
    anvil.control.mine(8)
    with pytest.raises(ReorgTooDeep, match="raise reorg_window"):
        indexer.run_once()


def test_blocks_under_the_confirmation_depth_wait_and_keep_no_undo(
    market: Market, anvil: Devnet
) -> None:
    db = Database("sqlite://")
    for _ in range(3):
        market.post(0)
    indexer = Indexer(market.w3, market.deployment, db, IndexerConfig(confirmations=3))
    result = indexer.run_once()
    head = anvil.w3.eth.block_number
    assert result.to_block == head - 3
    raw_request(anvil.w3, "anvil_reorg", [2, []])  # within the depth: nothing to undo
    _resync(anvil)
    assert indexer.run_once().rolled_back_to is None
    with db.session() as s:
        undo = s.scalar(select(func.count()).select_from(UndoEntry))
    assert undo is not None and undo > 0  # the blocks are in the revertible window
    assert indexer.status().lag == 0


def test_anvil_rollback_shortens_the_chain_and_the_index_follows(
    market: Market, anvil: Devnet
) -> None:
    db = Database("sqlite://")
    indexer = Indexer(market.w3, market.deployment, db, IndexerConfig(confirmations=0))
    before = anvil.w3.eth.block_number
    gone = market.post(0)
    indexer.run_once()
    raw_request(anvil.w3, "anvil_rollback", [anvil.w3.eth.block_number - before])
    _resync(anvil)
    assert anvil.w3.eth.block_number == before

    result = indexer.run_once()  # the indexed tip is gone: not even a block of that number

    assert result.rolled_back_to is not None and result.rolled_back_to <= before + 1
    with db.session() as s:
        assert s.get(Job, gone) is None
    assert_index_matches_chain(db, market)
