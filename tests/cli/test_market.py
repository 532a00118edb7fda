"""`jl` against a real anvil through Typer's CliRunner: staking, providers, jobs, tokens."""

from __future__ import annotations

import json
from pathlib import Path

from jouleledger.gpu import gpu_class_id
from jouleledger.specs import spec_hash
from jouleledger.transport import dev_accounts
from jouleledger_oracle.chain import LedgerChain
from jouleledger_oracle.specs import SpecRegistry
from jouleledger_oracle.workloads import JobSpec

from .conftest import Chain, Jl, error_line, fresh_key, settle

PROVIDER = "dev:1"
ORACLE_KEY = dev_accounts(8)[7].key.hex()  # dev:7 is the provider's oracle signer
ORACLE = dev_accounts(8)[7].address


def test_stake_register_and_show_a_provider(jl: Jl) -> None:
    out = jl.ok("--account", PROVIDER, "stake", "1500")
    assert "staked 1,500 CPT; stake now 1,500 CPT" in out

    out = jl.ok("--account", PROVIDER, "stake", "500.5")
    assert "staked 500.5 CPT; stake now 2,000.5 CPT" in out

    out = jl.ok(
        "--account", PROVIDER, "provider", "register", "--signer", "dev:7",
        "--gpu-class", "nvidia-h100", "--price", "0.002", "--endpoint", "http://oracle:9000",
    )  # fmt: skip
    assert "registered provider #1" in out and "nvidia-h100 at 0.002 CPT/GPU-s" in out

    shown = jl.json("provider", "show", PROVIDER)
    assert shown["registered"] is True
    assert shown["stake"] == "2000.5"
    assert shown["locked"] == "0"
    assert shown["gpu_class"] == "nvidia-h100"
    assert shown["price_per_gpu_second"] == "0.002"
    assert shown["signer"] == ORACLE
    assert shown["jobs_settled"] == 0

    table = jl.ok("provider", "show", PROVIDER)
    assert "2,000.5 CPT" in table and "http://oracle:9000" in table


def test_post_bid_and_list_open_jobs_in_priority_order(jl: Jl, gpu_class: str) -> None:
    client = ("--account", "dev:2")
    post = (*client, "job", "post", "--gpu-class", gpu_class, "--price", "0.001")
    first = jl.json(*post, "--max-payment", "10", "--bid", "1")
    second = jl.json(*post, "--max-payment", "10", "--bid", "3")
    third = jl.json(*post, "--max-payment", "10")
    assert (first["queue_position"], second["queue_position"], third["queue_position"]) == (1, 1, 3)
    assert first["escrow"] == "11"

    raised = jl.json(*client, "job", "bid", str(third["job_id"]), "2")
    assert raised["bid"] == "2" and raised["previous_bid"] == "0"
    assert raised["queue_position"] == 2

    listed = jl.json("job", "list", "--open", "--gpu-class", gpu_class)["jobs"]
    assert [j["id"] for j in listed] == [second["job_id"], third["job_id"], first["job_id"]]
    assert [j["rank"] for j in listed] == [1, 2, 3]
    assert [j["bid"] for j in listed] == ["3", "2", "1"]

    recent = jl.json("job", "list", "--gpu-class", gpu_class)["jobs"]
    assert [j["id"] for j in recent] == [third["job_id"], second["job_id"], first["job_id"]]

    table = jl.ok("job", "list", "--open", "--gpu-class", gpu_class)
    assert "open jobs by priority" in table and "3 CPT" in table

    shown = jl.json("job", "show", str(first["job_id"]))
    assert shown["state"] == "open"
    assert shown["gpu_class"] == "0x" + gpu_class_id(gpu_class).hex()  # not a known name
    assert shown["max_payment"] == "10" and shown["bid"] == "1"
    assert shown["client"] == dev_accounts(3)[2].address


def test_post_escrows_with_a_permit_in_one_transaction(jl: Jl, chain: Chain, tmp_path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text('{"workload": "token-generation", "inputs": {"max_new_tokens": 1000}}')
    before = chain.client(4).balance()
    posted = jl.json(
        "--account", "dev:4", "job", "post", "--gpu-class", "nvidia-a100", "--price", "0.5",
        "--max-payment", "2.25", "--bid", "0.000000001", "--spec", str(spec),
        "--deadline-in", "600",
    )  # fmt: skip
    assert len(posted["transactions"]) == 1  # permit + post in one transaction, no approve
    client = chain.client(4)
    assert client.allowance(client.address, chain.deployment.market) == 0
    assert before - client.balance() == 2_250_000_001 * 10**9
    shown = jl.json("job", "show", str(posted["job_id"]))
    assert shown["spec_hash"] == "0x" + spec_hash(spec.read_bytes()).hex()


def test_a_spec_file_posts_the_hash_the_node_looks_it_up_by(
    jl: Jl, chain: Chain, tmp_path: Path, gpu_class: str
) -> None:
    spec = {"workload": "token-generation", "inputs": {"seed": 3, "max_new_tokens": 8}}
    path = tmp_path / "spec.json"  # keys in another order, indented, a trailing newline
    path.write_text(
        '{\n  "inputs": {\n    "max_new_tokens": 8,\n    "seed": 3\n  },\n'
        '  "workload": "token-generation"\n}\n'
    )
    assert path.read_bytes() != JobSpec.model_validate(spec).model_dump_json().encode()
    posted = jl.json("--account", "dev:2", "job", "post", "--gpu-class", gpu_class,
                     "--price", "1", "--max-payment", "1", "--spec", str(path))  # fmt: skip

    registry = SpecRegistry(specs=[spec])  # the provider registered the same spec
    node_side = LedgerChain(chain.client(1)).spec_hash(posted["job_id"])  # as the node reads it
    assert node_side is not None
    assert registry.spec_for(node_side) == (JobSpec.model_validate(spec), "registry")
    assert posted["spec_hash"] == JobSpec.model_validate(spec).spec_hash()


def test_a_spec_file_that_is_not_json_is_refused_in_one_line_before_posting(
    jl: Jl, chain: Chain, tmp_path: Path, gpu_class: str
) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text("workload: token-generation\n")
    before = chain.client(0).job_count()
    result = jl("--account", "dev:2", "job", "post", "--gpu-class", gpu_class,
                "--price", "1", "--max-payment", "1", "--spec", str(path))  # fmt: skip
    assert result.exit_code == 2
    line = error_line(result)
    assert f"--spec {path}" in line and "not valid JSON" in line
    assert '{"workload"' in line and "--spec-hash" in line  # what to do instead
    assert chain.client(0).job_count() == before


def test_cancel_credits_the_escrow_and_withdraw_pays_it_out(jl: Jl, gpu_class: str) -> None:
    client = ("--account", "dev:5")
    posted = jl.json(*client, "job", "post", "--gpu-class", gpu_class, "--price", "1",
                     "--max-payment", "7", "--bid", "0.5")  # fmt: skip
    out = jl.ok(*client, "job", "cancel", str(posted["job_id"]))
    assert f"cancelled job {posted['job_id']}; 7.5 CPT credited" in out
    assert jl.json("balance", "dev:5")["market_credit"] == "7.5"
    assert jl.json("job", "list", "--open", "--gpu-class", gpu_class)["jobs"] == []

    taken = jl.json(*client, "withdraw")
    assert taken["market"] == "7.5" and taken["withdrawn"] == "7.5"
    assert jl.json("balance", "dev:5")["market_credit"] == "0"


def test_settled_job_pays_the_provider_after_the_window_and_shows_efficiency(
    jl: Jl, chain: Chain, gpu_class: str
) -> None:
    provider = ("--account", "dev:6")
    jl.ok(*provider, "stake", "1000")
    jl.ok(*provider, "provider", "register", "--signer", "dev:9",
          "--gpu-class", gpu_class, "--price", "0.001", "--endpoint", "http://p6")  # fmt: skip
    posted = jl.json("--account", "dev:2", "job", "post", "--gpu-class", gpu_class,
                     "--price", "0.5", "--max-payment", "4", "--bid", "1")  # fmt: skip
    job_id = posted["job_id"]
    settle(chain, job_id, 6, dev_accounts(10)[9].key.hex(), energy_mj=2_000)

    shown = jl.json("job", "show", str(job_id))
    assert shown["state"] == "settled"
    assert shown["payment"] == "2"  # 2 GPU-seconds at 0.5 + the bid of 1
    assert shown["refund"] == "3"
    assert shown["tokens_per_joule"] == 2500.0  # 5,000 tokens / 2 J

    stats = jl.json("provider", "show", "dev:6")
    assert stats["jobs_settled"] == 1
    assert stats["tokens_per_joule"] == 2500.0
    assert stats["earned"] == "2"

    early = jl.json(*provider, "withdraw", "--from", "market")
    assert early["withdrawn"] == "0"
    assert any(f"job {job_id}'s payment" in p for p in early["pending"])
    refund = jl.json("--account", "dev:2", "withdraw", "--job", str(job_id))
    assert refund["market"] == "3"

    chain.advance(3601)  # past the dispute window
    paid = jl.json(*provider, "withdraw", "--from", "market")
    assert paid["jobs"] == [job_id]
    assert paid["market"] == "1.98"  # 2 CPT less the 1% protocol fee


def test_unstake_shows_when_it_is_withdrawable_and_withdraw_waits_for_it(
    jl: Jl, chain: Chain
) -> None:
    account = ("--account", "dev:3")
    jl.ok(*account, "stake", "1000")
    requested = jl.json(*account, "unstake", "400")
    assert requested["unbonding"] == "400" and requested["stake"] == "600"
    now = int(chain.w3.eth.get_block("latest")["timestamp"])
    assert requested["withdrawable_at"] == now + 3 * 3600

    out = jl.ok(*account, "withdraw")
    assert "nothing to withdraw" in out and "400 CPT unbonding" in out

    chain.advance(3 * 3600 + 1)
    taken = jl.json(*account, "withdraw", "--from", "stake")
    assert taken["stake"] == "400" and taken["market"] == "0"


def test_expire_refunds_the_client_once_the_deadline_passed(
    jl: Jl, chain: Chain, gpu_class: str
) -> None:
    posted = jl.json("--account", "dev:5", "job", "post", "--gpu-class", gpu_class,
                     "--price", "1", "--max-payment", "3", "--deadline-in", "60")  # fmt: skip
    job_id = str(posted["job_id"])
    early = jl("--account", "dev:9", "job", "expire", job_id)
    assert early.exit_code == 3
    assert f"job {job_id}'s deadline" in error_line(early) and "has not passed" in early.stderr

    chain.advance(61)
    expired = jl.json("--account", "dev:9", "job", "expire", job_id)
    assert expired["refund"] == "3" and expired["client"] == dev_accounts(6)[5].address
    assert jl.json("job", "show", job_id)["state"] == "expired"


def test_dispute_asks_for_confirmation_and_needs_a_settled_job(jl: Jl, gpu_class: str) -> None:
    posted = jl.json("--account", "dev:5", "job", "post", "--gpu-class", gpu_class,
                     "--price", "1", "--max-payment", "3")  # fmt: skip
    job_id = str(posted["job_id"])
    unconfirmed = jl("--account", "dev:5", "job", "dispute", job_id)
    assert unconfirmed.exit_code == 2
    assert "bond of 10 CPT" in error_line(unconfirmed) and "--yes" in unconfirmed.stderr

    refused = jl("--account", "dev:5", "--yes", "job", "dispute", job_id)
    assert refused.exit_code == 3
    assert error_line(refused) == f"error: job {job_id} is open, which does not allow that"


def test_faucet_mints_and_funds_gas_and_balance_reports_it(jl: Jl) -> None:
    _, address = fresh_key()
    out = jl.ok("faucet", address, "12.5")
    assert f"minted 12.5 CPT to {address}; balance now 12.5 CPT" in out
    assert "sent 10 ETH for gas" in out

    balance = jl.json("balance", address)
    assert balance == {"address": address, "cpt": "12.5", "eth": "10", "market_credit": "0"}
    assert f"{address}: 12.5 CPT" in jl.ok("balance", address)


def test_json_goes_alone_on_stdout_and_progress_to_stderr(jl: Jl, gpu_class: str) -> None:
    post = ("job", "post", "--gpu-class", gpu_class, "--price", "1", "--max-payment", "1")
    result = jl("--account", "dev:2", *post, "--json")  # a global option after the command
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["transactions"][0] in result.stderr  # the hash is shown while waiting
    for command in (["balance", "dev:2"], ["job", "list"], ["provider", "show", "dev:2"]):
        json.loads(jl.ok(*command, "--json"))
