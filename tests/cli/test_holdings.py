"""`jl holdings` and the provider commands' signer proofs, against a real anvil."""

from __future__ import annotations

from eth_account import Account

from jouleledger.binding import sign_signer_binding

from .conftest import Chain, Jl, error_line


def test_lock_show_and_unlock_holdings(jl: Jl, chain: Chain) -> None:
    holder = ("--account", "dev:3")
    out = jl.ok(*holder, "holdings", "lock", "1000")
    assert "locked 1,000 CPT; 1,000 CPT locked in all, 0 CPT of it warm" in out
    shown = jl.json("holdings", "show", "dev:3")
    assert shown["locked"] == "1000" and shown["warm"] == "0" and shown["warming"] == "1000"
    chain.advance(3601)  # the default warm-up
    shown = jl.json("holdings", "show", "dev:3")
    assert shown["warm"] == "1000" and shown["boost_per_job"] == "10"  # 1% of 1,000 CPT
    assert shown["capacity_per_epoch"] == 10 and shown["used_this_epoch"] == 0
    table = jl.ok("holdings", "show", "dev:3")
    assert "boost per job" in table and "0 of 10 used this epoch" in table
    out = jl.ok(*holder, "holdings", "unlock", "400")
    assert "unlocked 400 CPT; 600 CPT still locked" in out


def test_unlocking_more_than_locked_is_one_clear_line(jl: Jl) -> None:
    jl.ok("--account", "dev:4", "holdings", "lock", "10")
    line = error_line(jl("--account", "dev:4", "holdings", "unlock", "11"))
    assert line.endswith(" has 10 CPT locked, cannot unlock 11 CPT")


def test_registering_with_a_bare_signer_address_says_how_to_prove_the_key(jl: Jl) -> None:
    jl.ok("--account", "dev:5", "stake", "1000")
    key = Account.create()
    result = jl(
        "--account",
        "dev:5",
        "provider",
        "register",
        "--signer",
        key.address,
        "--gpu-class",
        "nvidia-h100",
        "--price",
        "0.001",
        "--endpoint",
        "http://p5",
    )
    line = error_line(result)
    assert result.exit_code == 2
    assert "--signer-proof" in line and "jl-oracle signer-proof" in line


def test_registering_with_a_signer_proof_made_elsewhere(jl: Jl, chain: Chain) -> None:
    jl.ok("--account", "dev:6", "stake", "1000")
    key = Account.create()
    provider = chain.net.accounts[6].address
    proof = sign_signer_binding(
        key,
        provider=provider,
        staking=chain.deployment.staking,
        chain_id=chain.deployment.chain_id,
        nonce=0,
    )
    provider_cmd = ("--account", "dev:6", "provider")
    terms = ("--gpu-class", "nvidia-a100", "--price", "0.001", "--endpoint", "http://p6")
    proven = ("--signer", key.address, "--signer-proof", "0x" + proof.hex())
    out = jl.ok(*provider_cmd, "register", *proven, *terms)
    assert f"oracle signer {key.address}" in out
    stranger = Account.create().address
    bad = jl(*provider_cmd, "update", "--signer", stranger, "--signer-proof", "0xzz", *terms)
    assert "is not hex" in error_line(bad)
    raised = ("--gpu-class", "nvidia-a100", "--price", "0.002", "--endpoint", "http://p6")
    out = jl.ok(*provider_cmd, "update", "--signer", key.address, *raised)
    assert "0.001 CPT/GPU-s (0.002 CPT/GPU-s from" in out  # a raise waits
