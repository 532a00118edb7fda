"""Rows for the dashboard benchmark, written straight into the index's tables.

Indexing 100,000 jobs from a chain would take the benchmark most of an hour on two cores
(posting, claiming and settling them all), and the page latency does not depend on how the
rows got there: so `seed` writes what the indexer would have written for such a history,
through the indexer's own models and column types. The shape: `CLIENTS` clients, each with
the same number of jobs; `PROVIDERS` providers over four GPU classes, one in ten with NVML
records; 90% of jobs finalized, then settled, open, claimed and expired ones; settlements
spread over the three and a half days before the chain's newest block.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert

from jouleledger.gpu import gpu_class_id
from jouleledger_indexer import Database
from jouleledger_indexer.models import (
    Account,
    AccountTx,
    Block,
    Job,
    Provider,
    ProviderClassStats,
    SyncState,
)

CLASSES = ("nvidia-h100", "nvidia-a100", "nvidia-l40s", "rtx-4090")
CPT = 10**18
CHUNK = 5_000


@dataclass(frozen=True)
class Seeded:
    """What the benchmark asks pages for."""

    clients: list[str]
    providers: list[str]


def _address(n: int, kind: int) -> str:
    return "0x" + f"{kind:02x}" + f"{n:038x}"


def _hash() -> str:
    return "0x" + os.urandom(32).hex()


def _state(i: int) -> int:
    bucket = i % 100
    if bucket < 90:
        return 5  # finalized
    return (3, 3, 3, 3, 3, 1, 1, 2, 2, 6)[bucket - 90]  # settled, open, claimed, expired


def _jobs(
    jobs: int, clients: list[str], providers: list[str], now: int
) -> Iterator[dict[str, Any]]:
    span = 3 * 86400 + 43200
    for i in range(1, jobs + 1):
        state = _state(i)
        provider = providers[i % len(providers)]
        settled = state in (3, 5)
        at = now - span + span * i // jobs
        energy = 8_000_000 + (i * 7919) % 4_000_000
        nvml = i % len(providers) < len(providers) // 10  # one provider in ten has NVML
        yield {
            "id": i, "state": state, "client": clients[i % len(clients)],
            "provider": None if state == 1 else provider, "designated_provider": None,
            "gpu_class": "0x" + gpu_class_id(CLASSES[i % len(providers) % 4]).hex(),
            "spec_hash": "0x" + "00" * 32, "price_per_gpu_second": CPT // 1000,
            "max_payment": CPT, "bid": (i % 5) * CPT // 10, "boost": 0, "priority": 0,
            "deadline": now + 86400, "locked_stake": CPT // 2,
            "payment": CPT // 5 if settled else None, "refund": 4 * CPT // 5 if settled else None,
            "payout": CPT // 5 if state == 5 else None, "fee": CPT // 500 if state == 5 else None,
            "penalty": None, "gpu_millis": 60_000 if settled else None,
            "energy_mj": energy if settled else None, "ai_tokens": 40_000 if settled else None,
            "tokens_per_joule_e6": 40_000 * 10**9 // energy if settled else None,
            "meter_kind": int(nvml) if settled else None,
            "gpu_id_hash": "0x" + f"{i % len(providers) * 2 + i % 2:064x}" if settled else None,
            "result_hash": _hash() if settled else None,
            "usage_start": at - 60 if settled else None, "usage_end": at if settled else None,
            "posted_at": at - 120, "claimed_at": None if state == 1 else at - 90,
            "settled_at": at if settled else None, "disputed_at": None, "resolved_at": None,
            "finalized_at": at + 600 if state == 5 else None, "cancelled_at": None,
            "expired_at": at if state == 6 else None, "posted_block": i, "updated_block": i,
            "post_tx": _hash(), "settle_tx": _hash() if settled else None,
        }  # fmt: skip


def _history(job: dict[str, Any]) -> Iterator[dict[str, Any]]:
    base = {"job_id": job["id"], "counterparty": None, "block_number": job["id"],
            "block_time": job["posted_at"]}  # fmt: skip
    yield {**base, "account": job["client"], "kind": "job_posted", "amount": job["max_payment"],
           "tx_hash": job["post_tx"], "log_index": 0}  # fmt: skip
    if job["settle_tx"]:
        settled = {**base, "tx_hash": job["settle_tx"], "block_time": job["settled_at"]}
        yield {**settled, "account": job["provider"], "kind": "job_settled",
               "amount": job["payment"], "log_index": 1}  # fmt: skip
        yield {**settled, "account": job["client"], "kind": "job_refund",
               "amount": job["refund"], "log_index": 2}  # fmt: skip


def _batches(rows: Iterator[dict[str, Any]]) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) == CHUNK:
            yield batch
            batch = []
    if batch:
        yield batch


def seed(db: Database, *, jobs: int, clients: int, providers: int, head: tuple[int, int],
         chain_id: int, addresses: dict[str, str]) -> Seeded:  # fmt: skip
    """Write `jobs` jobs with their history, accounts, providers and leaderboard rows.

    Args:
        db: an upgraded, empty index.
        jobs: how many jobs.
        clients: how many clients share them.
        providers: how many providers ran them.
        head: the chain's newest block number and time (the index's head).
        chain_id: the chain's id.
        addresses: the deployment's token, staking, market and vault addresses.
    """
    client_keys = [_address(n, 0xC1) for n in range(clients)]
    provider_keys = [_address(n, 0xA0) for n in range(providers)]
    stats: dict[tuple[str, str, int], list[int]] = {}
    totals: dict[str, list[int]] = {p: [0, 0, 0, 0] for p in provider_keys}
    spent: dict[str, list[int]] = {c: [0, 0, 0] for c in client_keys}
    with db.engine.begin() as conn:
        for table in (AccountTx, Job, Account, Provider, ProviderClassStats, SyncState, Block):
            conn.execute(delete(table))
        for batch in _batches(_jobs(jobs, client_keys, provider_keys, head[1])):
            conn.execute(insert(Job), batch)
            conn.execute(insert(AccountTx), [h for job in batch for h in _history(job)])
            for job in batch:
                spent[job["client"]][0] += 1
                if job["payment"] is not None:
                    spent[job["client"]][1] += job["payment"]
                    spent[job["client"]][2] += job["refund"]
                    key = (job["provider"], job["gpu_class"], job["meter_kind"])
                    row = stats.setdefault(key, [0, 0, 0, 0, 0])
                    for n, value in enumerate((1, job["energy_mj"], job["ai_tokens"],
                                               job["gpu_millis"], job["payment"])):  # fmt: skip
                        row[n] += value
                    for n, value in enumerate((1, job["energy_mj"], job["ai_tokens"],
                                               job["payment"])):  # fmt: skip
                        totals[job["provider"]][n] += value
        conn.execute(insert(ProviderClassStats), [
            {"provider": p, "gpu_class": c, "meter_kind": k, "jobs_settled": s[0],
             "energy_mj": s[1], "ai_tokens": s[2], "gpu_millis": s[3], "earned": s[4]}
            for (p, c, k), s in stats.items()
        ])  # fmt: skip
        conn.execute(insert(Provider), [
            {"address": p, "index": n + 1, "signer": _address(n, 0x51),
             "gpu_class": "0x" + gpu_class_id(CLASSES[n % 4]).hex(),
             "ask_price_per_gpu_second": CPT // 1000, "endpoint": f"https://p{n}.example/",
             "pending_ask": None, "pending_ask_at": None, "stake": 3000 * CPT, "unbonding": 0,
             "unbonding_ready_at": None, "slashed": 0, "jobs_claimed": t[0], "jobs_settled": t[0],
             "jobs_expired": 0, "jobs_disputed": 0, "earned": t[3], "paid_out": t[3], "fees": 0,
             "energy_mj": t[1], "ai_tokens": t[2], "gpu_millis": 60_000 * t[0],
             "registered_at": 0, "updated_block": head[0]}
            for n, (p, t) in enumerate(totals.items())
        ])  # fmt: skip
        conn.execute(insert(Account), [
            {"address": a, "balance": 100 * CPT, "holdings_locked": 0, "holdings_warm_at": None,
             "boost_used": 0, "boost_capacity": 0, "boost_backed_until": None,
             "jobs_posted": s[0], "spent": s[1], "refunded": s[2], "escrowed": 0,
             "updated_block": head[0]}
            for a, s in spent.items()
        ])  # fmt: skip
        conn.execute(insert(Block), [{"number": head[0], "hash": _hash(), "parent_hash": _hash(),
                                      "timestamp": head[1]}])  # fmt: skip
        conn.execute(insert(SyncState), [{"id": 1, "chain_id": chain_id, **addresses,
                                          "start_block": 0, "indexed_block": head[0],
                                          "indexed_hash": None, "revertible_from": None,
                                          "updated_at": 0.0}])  # fmt: skip
    return Seeded(clients=client_keys, providers=provider_keys)
