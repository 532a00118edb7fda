"""The SDK's side of priority book v2 against a real anvil: priority levels agree with the
contract, holdings boosts in busy periods, signer proofs, versioned terms and delayed ask
raises, each read back through the typed client."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

from jouleledger import Devnet, start_devnet
from jouleledger.binding import sign_signer_binding
from jouleledger.client import JobRequest, JouleLedger
from jouleledger.deployment import ProtocolConfig, deploy_protocol
from jouleledger.errors import ContractRevert
from jouleledger.priority import MAX_LEVEL, NANO, priority_level
from jouleledger.transport import advance_time
from jouleledger.units import parse_amount
from tests.conftest import ROOT

CONFIG = ProtocolConfig(
    busy_threshold=3,
    holdings_warmup=600,
    holdings_epoch=3600,
    boost_bps=100,
    max_boost=parse_amount("5"),
    holding_per_job=parse_amount("100"),
    ask_increase_delay=300,
)
ASK = parse_amount("0.001")


@dataclass
class Market:
    net: Devnet
    admin: JouleLedger
    provider: JouleLedger
    client: JouleLedger
    holder: JouleLedger
    oracle: LocalAccount

    def request(self, bid: str = "0", gpu_class: str = "nvidia-h100") -> JobRequest:
        return JobRequest(gpu_class, ASK * 2, parse_amount("1"), bid=parse_amount(bid))


@pytest.fixture(scope="module")
def anvil() -> Iterator[Devnet]:
    with start_devnet("anvil", search_from=ROOT) as net:
        yield net


@pytest.fixture
def market(anvil: Devnet) -> Market:
    """A fresh deployment per test (cheap on anvil) with a registered provider."""
    a = anvil.accounts
    admin = JouleLedger(anvil.w3, deploy_protocol(anvil.w3, a[0], CONFIG), a[0])
    provider, client, holder = (admin.as_account(x) for x in (a[1], a[2], a[3]))
    for who in (provider, client, holder):
        admin.transfer(who.address, parse_amount("10000"))
    provider.stake(parse_amount("2000"))
    oracle = Account.create()
    provider.register_provider(oracle, "nvidia-h100", ASK, "http://node")
    return Market(anvil, admin, provider, client, holder, oracle)


def test_priority_levels_agree_with_the_contract(market: Market) -> None:
    values = [0, 1, NANO - 1, NANO, 2 * NANO, 3 * NANO, 5 * NANO, 7 * NANO, 10**17, 10**18]
    values += [(1 << e) * NANO + d for e in range(0, 64, 3) for d in (0, NANO)]
    for value in values:
        assert priority_level(value) == market.admin.priority_level(value), value
    assert priority_level(2**80 * NANO) == MAX_LEVEL


def test_holdings_boost_a_post_only_when_warm_and_the_class_is_busy(market: Market) -> None:
    holder = market.holder
    holder.lock_holdings(parse_amount("1000"))
    for _ in range(CONFIG.busy_threshold):
        market.client.post_job(market.request("1"))
    assert market.client.class_status("nvidia-h100").busy
    cold = holder.job(holder.post_job(market.request("0.1")))
    assert cold.boost == 0  # locked, but not warm yet: a flash loan buys nothing

    advance_time(market.net.w3, CONFIG.holdings_warmup + 1)
    held = holder.holding()
    assert held.warm == parse_amount("1000") and held.boost_per_job == parse_amount("5")
    boosted = holder.job(holder.post_job(market.request("0.1")))
    assert boosted.boost == parse_amount("5")  # 1% of 1,000 CPT is 10, capped at 5
    assert boosted.priority == parse_amount("5.1")
    assert boosted.level == priority_level(boosted.priority)
    posted = holder.events("JobPosted", jobId=boosted.id)[0]["args"]
    assert posted["boost"] == parse_amount("5")
    assert holder.queue("nvidia-h100")[0] == (boosted.id, parse_amount("5.1"))


def test_a_quiet_class_gives_no_boost_and_capacity_runs_out_per_epoch(market: Market) -> None:
    holder = market.holder
    holder.lock_holdings(parse_amount("200"))  # capacity: 2 boosted jobs per epoch
    advance_time(market.net.w3, CONFIG.holdings_warmup + 1)
    quiet = holder.job(holder.post_job(market.request("0.1")))
    assert quiet.boost == 0 and not holder.class_status("nvidia-h100").busy
    for _ in range(CONFIG.busy_threshold):
        market.client.post_job(market.request("1"))
    boosts = [holder.job(holder.post_job(market.request("0.1"))).boost for _ in range(3)]
    assert boosts == [parse_amount("2"), parse_amount("2"), 0]
    assert holder.holding().used == 2 and holder.holding().remaining == 0


def test_holdings_that_back_a_boosted_job_stay_locked_until_its_deadline(market: Market) -> None:
    holder = market.holder
    holder.lock_holdings(parse_amount("500"))
    advance_time(market.net.w3, CONFIG.holdings_warmup + 1)
    for _ in range(CONFIG.busy_threshold):
        market.client.post_job(market.request("1"))
    job = holder.job(holder.post_job(market.request("0.1")))
    assert job.boost > 0
    with pytest.raises(ContractRevert) as refused:
        holder.unlock_holdings(parse_amount("1"))
    assert refused.value.name == "HoldingsBacking"
    assert refused.value.args_by_name["backedUntil"] == job.deadline
    assert "unlock after that" in str(refused.value)
    advance_time(market.net.w3, job.deadline - holder._now() + 1)
    before = holder.balance()
    holder.unlock_holdings(parse_amount("500"))
    assert holder.balance() == before + parse_amount("500")
    assert holder.holding().locked == 0


def test_binding_a_signer_needs_its_proof(market: Market) -> None:
    other = market.admin.as_account(market.net.accounts[4])
    market.admin.transfer(other.address, parse_amount("2000"))
    other.stake(parse_amount("1500"))
    key = Account.create()
    with pytest.raises(ValueError, match="needs its proof"):
        other.register_provider(key.address, "nvidia-a100", ASK, "http://other")
    forged = sign_signer_binding(
        Account.create(),
        provider=other.address,
        staking=other.deployment.staking,
        chain_id=other.deployment.chain_id,
        nonce=0,
    )
    with pytest.raises(ContractRevert) as refused:
        other.register_provider(key.address, "nvidia-a100", ASK, "http://x", signer_proof=forged)
    assert refused.value.name == "StakingInvalidSignerProof"
    proof = other.signer_proof(key)  # what `jl-oracle signer-proof` prints where the key is
    other.register_provider(key.address, "nvidia-a100", ASK, "http://x", signer_proof=proof)
    assert other.provider().signer == key.address and other.provider().signer_nonce == 1


def test_an_ask_raise_waits_and_a_cut_applies_at_once(market: Market) -> None:
    provider = market.provider
    provider.update_provider(market.oracle.address, "nvidia-h100", ASK * 3, "http://node")
    info = provider.provider()
    assert info.ask_price_per_gpu_second == ASK and info.pending_ask == ASK * 3
    assert info.pending_ask_at == provider._now() + CONFIG.ask_increase_delay
    advance_time(market.net.w3, CONFIG.ask_increase_delay)
    assert provider.provider().ask_price_per_gpu_second == ASK * 3
    provider.update_provider(market.oracle.address, "nvidia-h100", ASK, "http://node")
    assert provider.provider().ask_price_per_gpu_second == ASK
    assert provider.provider().pending_ask == 0


def test_a_job_keeps_the_terms_it_was_posted_under(market: Market) -> None:
    job_id = market.client.post_job(market.request())
    before = market.client.job(job_id)
    market.admin._send(market.admin.market.functions.setDisputeBond(parse_amount("20")))
    market.admin._send(market.admin.market.functions.setFeeBps(500))
    now = market.admin.parameters()
    assert now.terms.version == before.terms_version + 2
    assert now.terms.dispute_bond == parse_amount("20") and now.terms.fee_bps == 500
    old = market.admin.terms(before.terms_version)
    assert old.dispute_bond == CONFIG.dispute_bond and old.fee_bps == CONFIG.fee_bps
    assert market.client.job(job_id).fee_bps == CONFIG.fee_bps
    assert now.collateral_cap == CONFIG.collateral_cap and now.busy_threshold == 3


def test_market_settings_are_read_by_name_not_position(market: Market) -> None:
    reader = JouleLedger(market.net.w3, market.admin.deployment)  # no account needed
    params = reader.parameters()
    assert reader.dispute_window() == params.dispute_window == CONFIG.dispute_window
    assert reader.class_status("nvidia-h100").busy_threshold == CONFIG.busy_threshold
    assert reader.terms() == params.terms
