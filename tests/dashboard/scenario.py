"""A small market made with the SDK on a real anvil chain, for the dashboard's tests.

Two providers (one with a hostile endpoint string, one whose records say NVML so that it
lands on a leaderboard of its own; the meter is faked here, as on every machine without a
GPU, and the record says which), a client with little CPT left (time-to-empty warning),
a holder, settled, disputed, slashed, open and unbonding state.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from eth_account import Account

from jouleledger import Devnet
from jouleledger.client import JobRequest, JouleLedger
from jouleledger.deployment import ProtocolConfig, deploy_protocol
from jouleledger.eip712.records import MeterKind, UsageRecord
from jouleledger.units import parse_amount
from jouleledger_oracle.signer import OracleSigner

HOSTILE_ENDPOINT = '<script>window.__xss = 1</script><img src=x onerror="window.__xss=2">'
CONFIG = ProtocolConfig(
    dispute_window=600,
    arbiter_timeout=600,
    unbonding_delay=1800,
    busy_threshold=2,
    holdings_warmup=60,
    dispute_bond=parse_amount("1"),
)


@dataclass
class Scenario:
    """The parties and jobs the tests compare pages against."""

    admin: JouleLedger
    providers: list[JouleLedger]
    client: JouleLedger
    holder: JouleLedger
    signers: list[OracleSigner]
    jobs: dict[str, int] = field(default_factory=dict)


def _settle(
    provider: JouleLedger, signer: OracleSigner, job_id: int, n: int, kind: MeterKind
) -> None:
    now = provider._now()
    record = UsageRecord(
        job_id=job_id,
        provider=provider.address,
        gpu_millis=60_000 + 1_000 * n,
        energy_mj=9_000_000 + 250_000 * n,
        ai_tokens=40_000 + 3_000 * n,
        result_hash=os.urandom(32),
        start_time=now - 61,
        end_time=now - 1,
        meter_kind=kind,
        gpu_id_hash=bytes([n % 2 + 1]) * 32,
    )
    provider.settle(record, signer.sign_record(provider.domain, record).signature)


def build(net: Devnet) -> Scenario:
    """Deploy the protocol on `net` and play the scenario (about a hundred transactions).

    Args:
        net: a fresh anvil devnet with at least 6 accounts.
    """
    a = net.accounts
    admin = JouleLedger(net.w3, deploy_protocol(net.w3, a[0], CONFIG), a[0])
    providers, signers = [], []
    plans = (("nvidia-h100", HOSTILE_ENDPOINT), ("nvidia-a100", "https://b.example/oracle"))
    for index, (gpu, endpoint) in enumerate(plans, start=1):
        provider = admin.as_account(a[index])
        admin.transfer(provider.address, parse_amount("3000"))
        provider.stake(parse_amount("3000"))
        key = Account.create()
        provider.register_provider(key, gpu, parse_amount("0.001"), endpoint)
        providers.append(provider)
        signers.append(OracleSigner(bytes(key.key)))
    client = admin.as_account(a[3])
    admin.transfer(client.address, parse_amount("12"))
    holder = admin.as_account(a[4])
    admin.transfer(holder.address, parse_amount("600"))
    holder.lock_holdings(parse_amount("500"))
    s = Scenario(admin, providers, client, holder, signers)

    for n, (provider, kind) in enumerate(
        [(0, MeterKind.SIMULATED)] * 3 + [(1, MeterKind.NVML)] * 2, start=1
    ):
        gpu = plans[provider][0]
        bid = parse_amount("0.1")
        job = client.post_job(JobRequest(gpu, parse_amount("0.002"), parse_amount("1"), bid=bid))
        providers[provider].claim_job(job)
        _settle(providers[provider], signers[provider], job, n, kind)
        s.jobs[f"settled-{n}"] = job
    price, cap = parse_amount("0.002"), parse_amount("1")
    s.jobs["open"] = client.post_job(JobRequest("nvidia-h100", price, cap, bid=parse_amount("0.3")))
    s.jobs["claimed"] = client.post_job(JobRequest("nvidia-a100", price, cap))
    providers[1].claim_job(s.jobs["claimed"])
    disputed = s.jobs["settled-1"]
    client.open_dispute(disputed)
    admin.resolve_dispute(disputed, True)  # the client wins: provider 0 is slashed
    providers[0].request_unbond(parse_amount("100"))
    return s
