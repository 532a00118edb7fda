"""Gas of every market operation on a fresh anvil: `make bench-gas` -> bench/results/gas.json.

Every figure is the gasUsed of a whole transaction (21,000 base included), measured in the
steady state a busy market is in: counters, the treasury and the provider already hold a
balance, and queues already hold jobs.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from report import write_results
from web3 import Web3
from web3.contract import Contract

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the tests' sample records

from jouleledger import start_devnet
from jouleledger.client import JouleLedger
from jouleledger.deployment import ProtocolConfig, deploy_protocol
from jouleledger.gpu import gpu_class_id
from jouleledger.records import MarketDomain, UsageRecord, batch_digest, record_digest
from jouleledger.transport import advance_time
from jouleledger.tx import send
from jouleledger.units import parse_amount
from tests.sample_records import sample_record

H100 = gpu_class_id("nvidia-h100")
PRICE = parse_amount("0.001")  # per GPU-second
ZERO = "0x" + "00" * 20


class Bench:
    def __init__(self, w3: Web3, accounts: tuple[LocalAccount, ...]) -> None:
        self.w3 = w3
        self.admin, self.provider, self.client = accounts[0], accounts[1], accounts[3]
        self.oracle, self.attacker = accounts[2], accounts[4]
        config = ProtocolConfig(fee_bps=100, dispute_bond=parse_amount("10"), holdings_warmup=60)
        d = deploy_protocol(w3, self.admin, config)
        self.deployment = d
        self.token = self._contract("ComputePowerToken", d.token)
        self.staking = self._contract("ProviderStaking", d.staking)
        self.market = self._contract("JobMarket", d.market)
        self.vault = self._contract("HoldingsVault", self.market.functions.VAULT().call())
        self.domain = MarketDomain(d.chain_id, d.market)
        for who in (self.provider, self.client, self.attacker):
            self.tx(self.admin, self.token.functions.transfer(who.address, parse_amount("1000000")))
        big = 2**256 - 1  # an unlimited allowance: OpenZeppelin then skips the allowance write
        self.tx(self.provider, self.token.functions.approve(self.staking.address, big))
        self.tx(self.client, self.token.functions.approve(self.market.address, big))
        self.tx(self.provider, self.token.functions.approve(self.market.address, big))
        self.tx(self.client, self.token.functions.approve(self.vault.address, big))
        self.gas_stake = self.tx(
            self.provider, self.staking.functions.stake(parse_amount("500000"))
        )
        provider = JouleLedger(w3, d, self.provider)
        provider.register_provider(self.oracle, H100, PRICE, "http://x")

    def _contract(self, name: str, address: str) -> Contract:
        from jouleledger import load_artifact

        return self.w3.eth.contract(address=address, abi=load_artifact(name).abi)

    def tx(self, who: LocalAccount, call: Any) -> int:
        return int(send(self.w3, who, call)["gasUsed"])

    def post(self, bid: int = 0) -> tuple[int, int]:
        deadline = self.w3.eth.get_block("latest")["timestamp"] + 86_400
        request = (b"\x11" * 32, H100, PRICE, parse_amount("10"), bid, deadline, ZERO)
        gas = self.tx(self.client, self.market.functions.postJob(request))
        return self.market.functions.jobCount().call(), gas

    def post_junk(self, count: int, kind: str) -> int:
        """`count` jobs the provider cannot take, ahead of everything it can (higher bids),
        posted by the attacker with `postJobs`, each in a group of its own (its price or
        deadline differs by a nano-CPT or a second from the one before, so a claim has to
        read each); returns the gas per junk job. Kinds: "expired" (short deadlines, then the
        clock moves past them) and "below_ask" (priced under the ask)."""
        now = int(self.w3.eth.get_block("latest")["timestamp"])
        requests = [
            (
                b"\x22" * 32,
                H100,
                PRICE // 2 - n * 10**9 if kind == "below_ask" else PRICE,
                parse_amount("0.001"),
                parse_amount("1"),
                now + 30 + n if kind == "expired" else now + 86_400,
                ZERO,
            )
            for n in range(count)
        ]
        self.tx(self.attacker, self.token.functions.approve(self.market.address, 2**256 - 1))
        gas = sum(
            self.tx(self.attacker, self.market.functions.postJobs(requests[i : i + 100]))
            for i in range(0, count, 100)
        )
        if kind == "expired":
            self.warp(count + 31)
        return gas // count

    def claim(self) -> tuple[int, int]:
        receipt = send(self.w3, self.provider, self.market.functions.claimNext())
        job = self.market.events.JobClaimed().process_receipt(receipt)[0]["args"]["jobId"]
        return int(job), int(receipt["gasUsed"])

    def record(self, job_id: int) -> UsageRecord:
        now = self.w3.eth.get_block("latest")["timestamp"]
        return sample_record(job_id, self.provider.address, now)

    def sign(self, digest: bytes) -> bytes:
        return bytes(Account.unsafe_sign_hash(digest, self.oracle.key).signature)

    def settle(self, job_id: int) -> int:
        rec = self.record(job_id)
        sig = self.sign(record_digest(self.domain, rec))
        return self.tx(self.provider, self.market.functions.settle(rec.as_tuple(), sig, []))

    def settle_batch(self, job_ids: list[int]) -> int:
        recs = [self.record(j) for j in job_ids]
        sig = self.sign(batch_digest(self.domain, recs))
        batch = [r.as_batch_tuple() for r in recs]
        call = self.market.functions.settleBatch(self.provider.address, batch, sig, [])
        return self.tx(self.provider, call)

    def warp(self, seconds: int) -> None:
        advance_time(self.w3, seconds)


def measure() -> dict[str, int]:
    with start_devnet("anvil", accounts=5) as net:
        b = Bench(net.w3, net.accounts)
        gas: dict[str, int] = {"stake": b.gas_stake}
        # Warm-up: counters, the treasury and the provider's balance become non-zero.
        for _ in range(3):
            b.post()
        first, _ = b.claim()
        b.settle(first)
        b.warp(3601)
        b.tx(b.provider, b.market.functions.withdraw([first]))
        b.tx(b.client, b.market.functions.withdraw([first]))

        job, gas["post_job"] = b.post()
        gas["raise_bid"] = b.tx(b.client, b.market.functions.raiseBid(job, parse_amount("1")))
        claimed, gas["claim_next"] = b.claim()
        # Jobs 2 and 3 (bid 0) still wait: a bid puts this one first, as claimJob requires.
        named, _ = b.post(bid=parse_amount("1"))
        gas["claim_job"] = b.tx(b.provider, b.market.functions.claimJob(named))
        b.settle(named)
        gas["settle_single"] = b.settle(claimed)
        b.warp(3601)
        gas["withdraw"] = b.tx(b.provider, b.market.functions.withdraw([claimed]))
        gas["full_lifecycle"] = (
            gas["post_job"] + gas["claim_next"] + gas["settle_single"] + gas["withdraw"]
        )

        gas |= measure_batches(b, 64)

        for size in (8, 32, 128):
            jobs = []
            for _ in range(size):
                b.post()
            for _ in range(size):
                jobs.append(b.claim()[0])
            gas[f"settle_batch_per_job_{size}"] = b.settle_batch(jobs) // size

        gas["request_unbond"] = b.tx(
            b.provider, b.staking.functions.requestUnbond(parse_amount("1"))
        )
        job, _ = b.post()
        claimed, _ = b.claim()
        b.settle(claimed)
        gas["open_dispute"] = b.tx(b.client, b.market.functions.openDispute(claimed))
        gas["resolve_dispute"] = b.tx(b.admin, b.market.functions.resolveDispute(claimed, True))

        b.post()
        claimed, _ = b.claim()
        b.warp(86_401)
        gas["expire_job"] = b.tx(b.client, b.market.functions.expireJob(claimed))

        gas["lock_holdings"] = b.tx(b.client, b.vault.functions.lock(parse_amount("1000")))
    for kind in ("expired", "below_ask"):
        gas |= measure_junk(kind)
    kinds = ("expired", "below_ask")
    gas["claim_next_behind_1000_junk"] = max(gas[f"claim_next_behind_1000_junk_{k}"] for k in kinds)
    gas["claim_per_junk_job"] = max(gas[f"claim_per_junk_job_{k}"] for k in kinds)
    gas["junk_post_cost"] = min(gas[f"junk_post_cost_{k}"] for k in kinds)
    return gas


def measure_batches(b: Bench, size: int) -> dict[str, int]:
    """Each step of `size` jobs' lives in one transaction: postJobs, claimNextJobs,
    settleBatch and withdraw, per job."""
    deadline = b.w3.eth.get_block("latest")["timestamp"] + 86_400
    request = (b"\x11" * 32, H100, PRICE, parse_amount("10"), 0, deadline, ZERO)
    post = b.tx(b.client, b.market.functions.postJobs([request] * size))
    receipt = send(b.w3, b.provider, b.market.functions.claimNextJobs(size))
    claimed = b.market.events.JobClaimed().process_receipt(receipt)
    jobs = [int(event["args"]["jobId"]) for event in claimed]
    assert len(jobs) == size, len(jobs)
    settle = b.settle_batch(jobs)
    b.warp(3601)
    withdraw = b.tx(b.provider, b.market.functions.withdraw(jobs))
    steps = {
        "post_jobs": post,
        "claim_next": int(receipt["gasUsed"]),
        "settle_batch": settle,
        "withdraw": withdraw,
    }
    gas = {f"{step}_per_job_{size}": used // size for step, used in steps.items()}
    gas[f"batch_lifecycle_per_job_{size}"] = sum(steps.values()) // size
    return gas


def measure_junk(kind: str) -> dict[str, int]:
    """claimNext behind 1,000 jobs of one kind the provider cannot take (on a fresh chain),
    and what a junk job costs its poster (its escrow comes back in full: gas is the cost)."""
    with start_devnet("anvil", accounts=5) as net:
        b = Bench(net.w3, net.accounts)
        for _ in range(2):
            b.post()
        _, base = b.claim()  # steady state: the provider holds a claimed job already
        junk_post = b.post_junk(1_000, kind)
        _, claim = b.claim()
    return {
        f"claim_next_behind_1000_junk_{kind}": claim,
        f"claim_per_junk_job_{kind}": (claim - base) // 1_000,
        f"junk_post_cost_{kind}": junk_post,
    }


def main() -> int:
    write_results("gas", measure())
    return 0


if __name__ == "__main__":
    sys.exit(main())
