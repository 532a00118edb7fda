"""How fast the indexer reads a chain into each database: `measure_indexing(url)`.

A real anvil gets a deployment and a busy market: `JOBS` jobs posted with the SDK's
`post_jobs` (``postJobs`` batches: a ``JobPosted`` per job, a ``Transfer`` per call), and
`SETTLED` of them claimed and settled in one batch (so the settlement calldata is read too). Then an
empty database indexes all of it from the token's deployment block, and the figure is
events written per second of `Indexer.run_once` (schema creation not counted). The chain is
made once per process and shared by every database measured.

Run alone: ``python bench/indexer_speed.py`` prints SQLite and PostgreSQL (a throwaway
server, `jouleledger_indexer.pgserver`) figures.
"""

from __future__ import annotations

import atexit
import functools
import sys
import tempfile
import time
from pathlib import Path

from eth_account import Account

from jouleledger import JobRequest, JouleLedger, MeterKind, start_devnet
from jouleledger.deployment import Deployment, deploy_protocol
from jouleledger.records import UsageRecord, batch_digest
from jouleledger.transport import Devnet
from jouleledger.units import parse_amount
from jouleledger_indexer import Database, Indexer, IndexerConfig
from jouleledger_indexer.pgserver import available, create_database, local_postgres

JOBS = 6000
SETTLED = 50
PRICE = parse_amount("0.001")
ROOT = Path(__file__).resolve().parents[1]


@functools.lru_cache(maxsize=1)
def _chain() -> tuple[Devnet, Deployment]:
    net = start_devnet("anvil", accounts=4, search_from=ROOT)
    atexit.register(net.stop)
    admin, provider_account, oracle, client_account = net.accounts
    deployment = deploy_protocol(net.w3, admin)
    ledger = JouleLedger(net.w3, deployment, admin)
    for who in (provider_account, client_account):
        ledger.transfer(who.address, parse_amount("1000000"))
    provider = JouleLedger(net.w3, deployment, provider_account)
    provider.approve(deployment.staking, parse_amount("100000"))
    provider.stake(parse_amount("50000"))
    provider.register_provider(oracle, "nvidia-h100", PRICE, "http://provider.example")
    client = JouleLedger(net.w3, deployment, client_account)
    for _ in range(0, JOBS, 1500):  # a few calls: one JSON-RPC batch of 6,000 is too large
        client.post_jobs([JobRequest("nvidia-h100", PRICE, parse_amount("1"))] * 1500)
    jobs = [int(provider.claim_next()) for _ in range(SETTLED)]
    now = int(net.w3.eth.get_block("latest")["timestamp"])
    records = [
        UsageRecord(
            j,
            provider_account.address,
            1000,
            500_000,
            700,
            bytes(32),
            now - 2,
            now,
            MeterKind.SIMULATED,
            bytes(32),
        )
        for j in jobs
    ]
    digest = batch_digest(provider.domain, records)
    provider.settle_batch(records, bytes(Account.unsafe_sign_hash(digest, oracle.key).signature))
    return net, deployment


def measure_indexing(url: str) -> dict[str, float | int]:
    """Index the benchmark chain into the empty database at `url` and time it.

    Args:
        url: an empty database (``sqlite:///...`` or ``postgresql://...``).

    Returns:
        ``events``, ``blocks``, ``seconds``, ``index_events_per_s`` (wall clock) and
        ``index_events_per_cpu_s`` (the indexer's own CPU time).
    """
    net, deployment = _chain()
    database = Database(url)
    try:
        indexer = Indexer(net.w3, deployment, database, IndexerConfig(confirmations=0))
        indexer.start()
        began, cpu_began = time.perf_counter(), time.process_time()
        result = indexer.run_once()
        seconds = time.perf_counter() - began
        cpu = time.process_time() - cpu_began
    finally:
        database.dispose()
    return {
        "events": result.events,
        "blocks": result.to_block - result.from_block + 1,
        "seconds": round(seconds, 3),
        "index_events_per_s": round(result.events / seconds),
        # This process's CPU only (not the node's or the database server's): a figure that
        # other jobs on the same cores do not move.
        "index_events_per_cpu_s": round(result.events / cpu),
    }


def main() -> int:
    """Print the figures for SQLite and, where the server programs exist, PostgreSQL."""
    with tempfile.TemporaryDirectory() as folder:
        print("sqlite", measure_indexing(f"sqlite:///{folder}/index.sqlite"))
    if available():
        with local_postgres() as server:
            print("postgresql", measure_indexing(create_database(server)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
