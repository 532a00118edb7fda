"""A market with a provider, an oracle, clients and a holder on a real chain, driven
through the SDK, and the check that the index equals the chain's state."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from sqlalchemy import func, select
from web3 import Web3
from web3.contract import Contract

from jouleledger import JobRequest, JouleLedger, load_artifact
from jouleledger.deployment import Deployment, ProtocolConfig, deploy_protocol
from jouleledger.records import UsageRecord, batch_digest, record_digest
from jouleledger.transport import advance_time
from jouleledger.types import JobState
from jouleledger.units import parse_amount
from jouleledger_indexer import Database, address_key
from jouleledger_indexer.models import Account as AccountRow
from jouleledger_indexer.models import Event, Job, Provider
from tests.sample_records import sample_record

PRICE = parse_amount("0.001")
CONFIG = ProtocolConfig(holdings_warmup=60, dispute_window=600, arbiter_timeout=600)


@dataclass
class Market:
    """One deployment and the SDK clients of its actors."""

    w3: Web3
    deployment: Deployment
    admin: JouleLedger
    provider: JouleLedger
    oracle: LocalAccount
    clients: list[JouleLedger]
    ids: dict[str, int] = field(default_factory=dict)
    home: Path = Path()

    @classmethod
    def deploy(cls, w3: Web3, accounts: tuple[LocalAccount, ...]) -> Market:
        """Deploy, fund the actors, stake and register the provider."""
        admin_account, provider_account, oracle = accounts[0], accounts[1], accounts[2]
        deployment = deploy_protocol(w3, admin_account, CONFIG)
        admin = JouleLedger(w3, deployment, admin_account)
        clients = [JouleLedger(w3, deployment, a) for a in accounts[3:5]]
        for who in (provider_account, *(c.account for c in clients)):
            assert who is not None
            admin.transfer(who.address, parse_amount("100000"))
        provider = JouleLedger(w3, deployment, provider_account)
        provider.approve(deployment.staking, parse_amount("100000"))
        provider.stake(parse_amount("5000"))
        provider.register_provider(oracle, "nvidia-h100", PRICE, "<script>alert(1)</script>")
        return cls(w3, deployment, admin, provider, oracle, clients)

    @property
    def provider_address(self) -> str:
        """The provider's address."""
        assert self.provider.account is not None
        return self.provider.account.address

    def post(self, client: int = 0, bid: int = 0) -> int:
        """Post a job of `clients[client]`; its id."""
        request = JobRequest("nvidia-h100", PRICE, parse_amount("10"), bid=bid)
        return int(self.clients[client].post_job(request))

    def record(self, job_id: int) -> UsageRecord:
        """A usage record of `job_id` (simulated meter: this machine has no GPU)."""
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        return sample_record(job_id, self.provider_address, now)

    def claim_and_settle(self, count: int, *, batch: bool = False) -> list[int]:
        """Claim `count` jobs and settle them, one by one or in one batch."""
        jobs = [int(self.provider.claim_next()) for _ in range(count)]
        records = [self.record(j) for j in jobs]
        domain = self.provider.domain
        if batch:
            digest = batch_digest(domain, records)
            self.provider.settle_batch(records, _sign(self.oracle, digest))
        else:
            for record in records:
                self.provider.settle(record, _sign(self.oracle, record_digest(domain, record)))
        return jobs

    def run(self) -> dict[str, int]:
        """Every kind of event: posts, bids, cancels, settlements (single and batch),
        a dispute, a withdrawal, an unbond, holdings. Returns some job ids."""
        first = self.post(0)
        self.clients[0].raise_bid(first, parse_amount("1"))
        cancelled = self.post(1)
        self.clients[1].cancel_job(cancelled)
        for _ in range(4):
            self.post(1)
        settled = self.claim_and_settle(1)
        disputed = self.claim_and_settle(3, batch=True)[0]
        self.clients[1].open_dispute(disputed)
        self.admin.resolve_dispute(disputed, True)
        advance_time(self.w3, 601)
        self.provider.withdraw([settled[0]])
        self.provider.request_unbond(parse_amount("100"))
        self.clients[0].lock_holdings(parse_amount("500"))
        self.ids = {"settled": settled[0], "cancelled": cancelled, "disputed": disputed}
        return self.ids


def _sign(oracle: LocalAccount, digest: bytes) -> bytes:
    return bytes(Account.unsafe_sign_hash(digest, oracle.key).signature)


def contract(w3: Web3, name: str, address: str) -> Contract:
    """`name`'s contract at `address`."""
    return w3.eth.contract(address=Web3.to_checksum_address(address), abi=load_artifact(name).abi)


def chain_log_count(w3: Web3, addresses: list[str], start: int, end: int) -> int:
    """How many logs the contracts emitted in blocks `start` to `end`."""
    query: Any = {"fromBlock": start, "toBlock": end, "address": addresses}
    return len(w3.eth.get_logs(query))


def assert_index_matches_chain(db: Database, market: Market) -> None:
    """Every balance, job, provider and holding in the index equals the chain's view, and
    the index holds each log of the deployment exactly once."""
    client = market.admin
    with db.session() as s:
        accounts = {a.address: a for a in s.scalars(select(AccountRow))}
        jobs = {j.id: j for j in s.scalars(select(Job))}
        providers = {p.address: p for p in s.scalars(select(Provider))}
        events = s.scalar(select(func.count()).select_from(Event))
        distinct = s.execute(select(Event.block_number, Event.log_index).distinct()).all()
        indexed_to = s.scalar(select(func.max(Event.block_number)))
    assert accounts, "nothing was indexed"
    for address, row in accounts.items():
        assert row.balance == client.balance(Web3.to_checksum_address(address)), address
    count = client.job_count()
    assert sorted(jobs) == list(range(1, count + 1))
    for job_id, job in jobs.items():
        view = client.job(job_id)
        assert JobState(job.state) == view.state, job_id
        assert job.client == address_key(view.client)
        assert job.provider == (address_key(view.provider) if view.provider else None)
        if view.state in (JobState.OPEN, JobState.CLAIMED):  # the view shows terms until then
            assert (job.bid, job.max_payment) == (view.bid, view.max_payment), job_id
        if view.state in (JobState.SETTLED, JobState.DISPUTED, JobState.FINALIZED):
            assert (job.payment, job.refund) == (view.payment, view.refund), job_id
    for address, prov in providers.items():
        info = client.provider(Web3.to_checksum_address(address))
        assert (prov.stake, prov.unbonding) == (info.stake, info.unbonding), address
        if info.registered:
            assert prov.endpoint == info.endpoint and prov.index == info.index
    for c in market.clients:
        assert c.account is not None
        holding = c.holding(c.account.address)
        row = accounts[address_key(c.account.address)]
        assert row.holdings_locked == holding.locked
    vault = contract(market.w3, "JobMarket", market.deployment.market).functions.VAULT().call()
    d = market.deployment
    addresses = [d.token, d.staking, d.market, vault]
    assert indexed_to is not None
    assert events == len(distinct) == chain_log_count(market.w3, addresses, 0, indexed_to)
