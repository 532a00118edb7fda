"""Provider terms that could be gamed: signer bindings (proof of possession, replay,
rotation) and ask changes (a raise waits, a cut applies at once)."""

from __future__ import annotations

from typing import Any

import brownie
from eth_account import Account
from market_constants import ASK_INCREASE_DELAY, H100, MIN_STAKE, ONE, PRICE, ZERO_ADDRESS


def staked(protocol: Any, who: Any) -> Any:
    """Funds `who` and stakes the minimum, ready to register."""
    protocol.fund(who)
    protocol.staking.stake(MIN_STAKE, {"from": who})
    return who


def rotated(protocol: Any, provider: Any, new: Any = None) -> Any:
    """Binds `new` (default: a fresh key) as `provider`'s oracle signer; returns the key it
    replaced, which keeps its rights over jobs claimed before."""
    old = protocol.signer_keys[provider.address]
    protocol.update_provider(provider, signer=new or Account.create())
    return old


def recovered_binding(staking: Any, provider: Any, signer: Any, proof: bytes) -> str:
    """The address a proof recovers to for binding `signer` to `provider` now."""
    digest = staking.signerBindingDigest(provider, signer)
    return str(Account._recover_hash(digest, signature=proof))


# --- P7: signer bindings -------------------------------------------------------------------


def test_register_with_a_proof_signed_by_another_key_reverts(
    protocol: Any, staking: Any, accounts: Any, error: Any
) -> None:
    who = staked(protocol, accounts[6])
    node, impostor = Account.create(), Account.create()
    proof = protocol.sign_binding(impostor, who, signer=node.address)
    with brownie.reverts(error("StakingInvalidSignerProof", node.address, impostor.address)):
        staking.registerProvider(node.address, proof, H100, PRICE, "", {"from": who})


def test_register_with_a_proof_made_for_another_provider_reverts(
    protocol: Any, staking: Any, accounts: Any, error: Any
) -> None:
    """A proof seen in the mempool cannot be taken over by a front-runner."""
    owner, thief = accounts[6], staked(protocol, accounts[7])
    node = Account.create()
    proof = protocol.sign_binding(node, owner)
    wrong = recovered_binding(staking, thief, node.address, proof)
    with brownie.reverts(error("StakingInvalidSignerProof", node.address, wrong)):
        staking.registerProvider(node.address, proof, H100, PRICE, "", {"from": thief})


def test_rotating_with_an_empty_proof_reverts(
    protocol: Any, staking: Any, provider: Any, error: Any
) -> None:
    node = Account.create()
    with brownie.reverts(error("StakingInvalidSignerProof", node.address, ZERO_ADDRESS)):
        staking.updateProvider(node.address, b"", H100, PRICE, "", {"from": provider})


def test_a_replayed_proof_fails_after_a_rotation(
    protocol: Any, staking: Any, accounts: Any, error: Any
) -> None:
    who = staked(protocol, accounts[6])
    first, second = Account.create(), Account.create()
    old_proof = protocol.sign_binding(first, who)  # nonce 0
    staking.registerProvider(first.address, old_proof, H100, PRICE, "", {"from": who})
    protocol.update_provider(who, signer=second)  # nonce 1
    assert staking.providerInfo(who)["signerNonce"] == 2
    wrong = recovered_binding(staking, who, first.address, old_proof)
    with brownie.reverts(error("StakingInvalidSignerProof", first.address, wrong)):
        staking.updateProvider(first.address, old_proof, H100, PRICE, "", {"from": who})


def test_rotating_to_another_provider_s_signer_reverts(
    protocol: Any, staking: Any, provider: Any, provider2: Any, error: Any
) -> None:
    taken = protocol.signer_keys[provider.address]
    proof = protocol.sign_binding(taken, provider2)  # even with that key's own proof
    with brownie.reverts(error("StakingSignerInUse", taken.address, provider)):
        staking.updateProvider(taken.address, proof, H100, PRICE, "", {"from": provider2})


def test_binding_an_attestor_as_signer_reverts(
    protocol: Any, staking: Any, market: Any, provider: Any, error: Any
) -> None:
    attestor = Account.create()
    market.setAttestors([attestor.address], 1, {"from": protocol.admin})
    proof = protocol.sign_binding(attestor, provider)
    with brownie.reverts(error("StakingSignerIsAttestor", attestor.address)):
        staking.updateProvider(attestor.address, proof, H100, PRICE, "", {"from": provider})


def test_set_attestors_refuses_a_provider_s_signer(
    protocol: Any, market: Any, provider: Any, error: Any
) -> None:
    signer = protocol.signer_keys[provider.address].address
    with brownie.reverts(error("MarketAttestorIsSigner", signer, provider)):
        market.setAttestors([Account.create().address, signer], 1, {"from": protocol.admin})


def test_a_rotated_out_signer_is_free_to_bind_elsewhere(
    protocol: Any, staking: Any, provider: Any, accounts: Any
) -> None:
    old = rotated(protocol, provider)
    assert staking.signerOwner(old.address) == ZERO_ADDRESS
    who = staked(protocol, accounts[6])
    proof = protocol.sign_binding(old, who)
    staking.registerProvider(old.address, proof, H100, PRICE, "", {"from": who})
    assert staking.signerOwner(old.address) == who


def test_previous_signer_settles_a_job_claimed_before_the_rotation(
    protocol: Any, provider: Any, client: Any
) -> None:
    job = protocol.claimed(client, provider)
    old = rotated(protocol, provider)
    tx = protocol.settle(job, provider, key=old)
    assert tx.events["UsageAttested"]["signer"] == old.address


def test_previous_signer_cannot_settle_a_job_claimed_after_the_rotation(
    protocol: Any, provider: Any, client: Any, error: Any
) -> None:
    new = Account.create()
    old = rotated(protocol, provider, new)
    job = protocol.claimed(client, provider)
    with brownie.reverts(error("MarketInvalidSigner", old.address, new.address)):
        protocol.settle(job, provider, key=old)
    protocol.settle(job, provider, key=new)


def test_two_rotations_retire_the_oldest_signer(
    protocol: Any, provider: Any, client: Any, error: Any
) -> None:
    job = protocol.claimed(client, provider)
    old = rotated(protocol, provider)
    rotated(protocol, provider)
    with brownie.reverts(error("MarketInvalidSigner", old.address, ZERO_ADDRESS)):
        protocol.settle(job, provider, key=old)


def test_a_batch_cannot_mix_jobs_claimed_before_and_after_a_rotation(
    protocol: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    before = protocol.claimed(client, provider)
    old = rotated(protocol, provider)
    after = protocol.claimed(client, provider)
    records = [protocol.record(before, provider), protocol.record(after, provider)]
    signature = protocol.sign_batch(old, records)
    with brownie.reverts(error("MarketMixedTerms", 1, after)):
        market.settleBatch(
            provider, [r.batch_tuple() for r in records], signature, [], {"from": provider}
        )


# --- P6: asks ------------------------------------------------------------------------------


def test_a_raised_ask_is_pending_until_the_delay_passes(
    protocol: Any, staking: Any, provider: Any
) -> None:
    tx = protocol.update_provider(provider, ask=2 * PRICE)
    effective = tx.timestamp + ASK_INCREASE_DELAY
    event = tx.events["AskIncreaseScheduled"]
    assert (event["ask"], event["effectiveAt"]) == (2 * PRICE, effective)
    info = staking.providerInfo(provider)
    assert info["askPricePerGpuSecond"] == PRICE
    assert (info["pendingAsk"], info["pendingAskAt"]) == (2 * PRICE, effective)


def test_raising_the_ask_then_claiming_cannot_skip_a_cheaper_higher_job(
    protocol: Any, provider: Any, client: Any, served_first: Any
) -> None:
    cheap = protocol.post(client, bid=2 * ONE)
    pricey = protocol.post(client, bid=ONE, price=2 * PRICE)
    protocol.update_provider(provider, ask=2 * PRICE)
    served_first(provider, cheap, pricey)


def test_a_raised_ask_applies_after_the_delay(
    protocol: Any, staking: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    cheap = protocol.post(client, bid=2 * ONE)
    pricey = protocol.post(client, bid=ONE, price=2 * PRICE)
    protocol.update_provider(provider, ask=2 * PRICE)
    protocol.sleep(ASK_INCREASE_DELAY)
    with brownie.reverts(error("MarketProviderNotEligible", cheap, provider)):
        market.claimJob(cheap, {"from": provider})
    assert market.claimNext({"from": provider}).return_value == pricey
    info = staking.providerInfo(provider)
    assert info["askPricePerGpuSecond"] == 2 * PRICE
    assert (info["pendingAsk"], info["pendingAskAt"]) == (0, 0)


def test_repeating_a_pending_raise_does_not_restart_its_delay(
    protocol: Any, staking: Any, provider: Any
) -> None:
    tx = protocol.update_provider(provider, ask=2 * PRICE)
    protocol.sleep(ASK_INCREASE_DELAY // 2)
    again = protocol.update_provider(provider, ask=2 * PRICE)
    assert "AskIncreaseScheduled" not in again.events
    assert staking.providerInfo(provider)["pendingAskAt"] == tx.timestamp + ASK_INCREASE_DELAY


def test_lowering_the_ask_applies_at_once(
    protocol: Any, staking: Any, market: Any, provider: Any, client: Any, error: Any
) -> None:
    job = protocol.post(client, price=PRICE // 2)
    with brownie.reverts(error("MarketNoEligibleJob", provider, H100)):
        market.claimNext({"from": provider})
    protocol.update_provider(provider, ask=PRICE // 2)
    assert staking.providerInfo(provider)["askPricePerGpuSecond"] == PRICE // 2
    assert market.claimNext({"from": provider}).return_value == job


def test_lowering_the_ask_drops_a_pending_raise(
    protocol: Any, staking: Any, market: Any, provider: Any, client: Any
) -> None:
    protocol.update_provider(provider, ask=2 * PRICE)
    protocol.update_provider(provider, ask=PRICE // 2)
    protocol.sleep(ASK_INCREASE_DELAY)
    info = staking.providerInfo(provider)
    assert (info["askPricePerGpuSecond"], info["pendingAsk"]) == (PRICE // 2, 0)
    job = protocol.post(client, price=PRICE // 2)
    assert market.claimNext({"from": provider}).return_value == job
