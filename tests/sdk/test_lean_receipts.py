"""`lean_receipt` formats a receipt exactly as web3 does, for a fraction of the time."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3._utils.method_formatters import receipt_formatter
from web3.datastructures import AttributeDict

from jouleledger import Devnet, start_devnet
from jouleledger.client import JobRequest, JouleLedger
from jouleledger.deployment import deploy_protocol
from jouleledger.transport import raw_request
from jouleledger.tx.lean import lean_receipt
from jouleledger.units import parse_amount
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def anvil() -> Iterator[Devnet]:
    with start_devnet("anvil", accounts=2, search_from=ROOT) as net:
        yield net


def test_lean_receipts_equal_web3s_for_calls_with_many_logs_and_a_deployment(anvil: Devnet) -> None:
    deployment = deploy_protocol(anvil.w3, anvil.accounts[0])
    client = JouleLedger(anvil.w3, deployment, anvil.accounts[0])
    client.post_jobs([JobRequest("nvidia-h100", parse_amount("0.001"), parse_amount("1"))] * 20)
    latest = anvil.w3.eth.block_number
    hashes = [tx for n in (1, latest) for tx in anvil.w3.eth.get_block(n)["transactions"]]
    assert hashes
    for tx_hash in hashes:
        raw = raw_request(anvil.w3, "eth_getTransactionReceipt", ["0x" + bytes(tx_hash).hex()])
        expected = AttributeDict.recursive(receipt_formatter(raw))
        assert lean_receipt(raw) == expected
    assert len(lean_receipt(raw)["logs"]) >= 20
