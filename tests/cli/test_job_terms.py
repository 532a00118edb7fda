"""`jl job show` and `jl job dispute` read a job's own terms (the version it was posted
under) and the market's settings by name, not today's terms or positional reads. A module of
its own: changing the market's terms here must not leak into the other CLI tests' chain."""

from __future__ import annotations

from jouleledger.transport import dev_accounts
from jouleledger.units import parse_amount

from .conftest import Chain, Jl, settle

ORACLE_KEY = dev_accounts(10)[9].key.hex()  # dev:9 signs for the provider dev:6


def test_show_and_dispute_use_the_terms_the_job_was_posted_under(
    jl: Jl, chain: Chain, gpu_class: str
) -> None:
    jl.ok("--account", "dev:6", "stake", "1000")
    jl.ok("--account", "dev:6", "provider", "register", "--signer", "dev:9",
          "--gpu-class", gpu_class, "--price", "0.001", "--endpoint", "http://p6")  # fmt: skip
    posted = jl.json("--account", "dev:2", "job", "post", "--gpu-class", gpu_class,
                     "--price", "0.5", "--max-payment", "4")  # fmt: skip
    job_id = posted["job_id"]
    settle(chain, job_id, 6, ORACLE_KEY, energy_mj=2_000)
    admin = chain.client(0)
    then = admin.parameters()
    admin._send(admin.market.functions.setDisputeBond(parse_amount("25")))
    admin._send(admin.market.functions.setFeeBps(500))
    now = admin.parameters()
    assert now.terms.dispute_bond == parse_amount("25") and now.terms.version > then.terms.version
    job = admin.job(job_id)
    assert job.terms_version == then.terms.version

    shown = jl.json("job", "show", str(job_id))
    assert shown["terms_version"] == then.terms.version
    assert shown["dispute_bond"] == "10" and shown["fee_bps"] == 100
    assert shown["dispute_window_ends"] == job.settled_at + now.dispute_window
    table = jl.ok("job", "show", str(job_id))
    assert f"10 CPT (terms v{then.terms.version})" in table

    before = chain.client(2).balance()
    disputed = jl.json("--account", "dev:2", "--yes", "job", "dispute", str(job_id))
    opened_at = int(chain.w3.eth.get_block("latest")["timestamp"])
    assert disputed["bond"] == "10"
    assert before - chain.client(2).balance() == parse_amount("10")
    assert disputed["arbiter_deadline"] == opened_at + now.arbiter_timeout
