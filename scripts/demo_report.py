"""The demo's report: what each provider, client and the holder did, the money checks that
prove nothing was created or lost, and how the report is printed and written to
demo-output/ (JSON and a PNG chart). `demo.py` runs the scenario and fills it in."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from web3 import Web3

from jouleledger.client import JouleLedger
from jouleledger.gpu import gpu_class_name
from jouleledger.priority import claim_order_key
from jouleledger.types import JobState


@dataclass
class ProviderReport:
    name: str
    address: str
    gpu_class: str
    meter: str
    jobs_settled: int = 0
    settled_cpt: str = "0"  # payments of its settled jobs (before disputes and fees)
    paid_out_cpt: str = "0"  # what it actually withdrew
    slashed_cpt: str = "0"
    energy_j: float = 0.0
    ai_tokens: int = 0
    tokens_per_joule: float = 0.0
    gas_per_job: int = 0


@dataclass
class ClientReport:
    name: str
    address: str
    jobs_posted: int = 0
    spent_cpt: str = "0"
    refunded_cpt: str = "0"


@dataclass
class BoostedJob:
    job_id: int
    gpu_class: str
    bid_cpt: str
    boost_cpt: str
    claimed_before_richer: int  # jobs of its class with a higher bid that it went ahead of


@dataclass
class HolderReport:
    address: str
    locked_cpt: str
    boost_per_job_cpt: str
    jobs: list[BoostedJob] = field(default_factory=list)


@dataclass
class Report:
    chain: str
    chain_id: int
    seconds: float
    jobs: int
    claim_order_ok: bool
    providers: list[ProviderReport] = field(default_factory=list)
    clients: list[ClientReport] = field(default_factory=list)
    holder: HolderReport | None = None
    checks: dict[str, bool] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return all(self.checks.values()) and self.claim_order_ok


def cpt(wei: int) -> str:
    """Wei as CPT with 4 decimals, for the report.

    Args:
        wei: an amount in token base units.
    """
    return f"{wei / 10**18:.4f}"


def say(text: str) -> None:
    """Print a line of the demo's narration at once (the nodes print from other threads).

    Args:
        text: the line.
    """
    print(text, flush=True)


def holder_report(
    admin: JouleLedger, holder: JouleLedger, boosted: list[int], locked: int
) -> HolderReport:
    """How far the holder's boosted jobs went ahead of richer bids in their classes.

    Args:
        admin: reads the market's events.
        holder: the account that locked holdings.
        boosted: the jobs it posted with a boost.
        locked: what it locked, in wei.
    """
    posted = {e["args"]["jobId"]: e["args"] for e in admin.events("JobPosted")}
    claim_rank = {e["args"]["jobId"]: n for n, e in enumerate(admin.events("JobClaimed"))}
    report = HolderReport(
        address=holder.address,
        locked_cpt=cpt(locked),
        boost_per_job_cpt=cpt(max((posted[j]["boost"] for j in boosted), default=0)),
    )
    for job_id in boosted:
        args = posted[job_id]
        richer_after = [
            other
            for other, o in posted.items()
            if o["gpuClass"] == args["gpuClass"]
            and o["bid"] > args["bid"]
            and claim_rank.get(other, 10**9) > claim_rank.get(job_id, -1)
        ]
        report.jobs.append(
            BoostedJob(
                job_id=job_id,
                gpu_class=gpu_class_name(bytes(args["gpuClass"])),
                bid_cpt=cpt(args["bid"]),
                boost_cpt=cpt(args["boost"]),
                claimed_before_richer=len(richer_after),
            )
        )
    return report


def provider_gas(w3: Web3, admin: JouleLedger, provider: str) -> int:
    """Gas the provider's account paid for claiming and settling.

    Args:
        w3: the chain.
        admin: reads the market's events.
        provider: the provider's address.
    """
    hashes = {e["transactionHash"] for e in admin.events("JobClaimed", provider=provider)}
    hashes |= {e["transactionHash"] for e in admin.events("UsageAttested", provider=provider)}
    return sum(int(w3.eth.get_transaction_receipt(h)["gasUsed"]) for h in hashes)


def check_claim_order(admin: JouleLedger, posted: list[int]) -> bool:
    """Within each class, jobs were claimed by priority level (bid + boost), then age.

    Args:
        admin: reads the market's events.
        posted: the jobs of the run.
    """
    order: dict[bytes, list[tuple[int, int]]] = {}
    priorities = {
        e["args"]["jobId"]: e["args"]["bid"] + e["args"]["boost"] for e in admin.events("JobPosted")
    }
    for e in admin.events("JobClaimed"):
        job_id = e["args"]["jobId"]
        if job_id in posted:
            key = claim_order_key(priorities[job_id], job_id)
            order.setdefault(admin.job(job_id).gpu_class, []).append(key)
    return all(seq == sorted(seq) for seq in order.values())


def money_checks(admin: JouleLedger, supply: int, holders: list[str]) -> dict[str, bool]:
    """Nothing created or lost: every token of the supply is held by an account or a
    contract, and each contract holds exactly what it owes.

    Args:
        admin: reads the token, the market, staking and the vault.
        supply: the token's total supply at the start.
        holders: every account of the run.
    """
    token = admin.token.functions
    market, staking = admin.deployment.market, admin.deployment.staking
    vault = admin.vault.address
    held = sum(token.balanceOf(a).call() for a in holders)
    held += sum(token.balanceOf(c).call() for c in (market, staking, vault))
    owed_by_market: int = sum(admin.credit(a) for a in holders)
    for job_id in range(1, admin.job_count() + 1):
        job = admin.job(job_id)
        if job.state in (JobState.OPEN, JobState.CLAIMED):
            owed_by_market += job.max_payment + job.bid
        if job.state in (JobState.SETTLED, JobState.DISPUTED):
            owed_by_market += job.payment
        if JobState.SETTLED <= job.state <= JobState.FINALIZED and not job.refund_withdrawn:
            owed_by_market += job.refund
        if job.state == JobState.DISPUTED:
            owed_by_market += admin.market.functions.dispute(job_id).call()[1]
    return {
        "total supply unchanged": int(token.totalSupply().call()) == supply,
        "every token accounted for": held == supply,
        "market holds exactly what it owes": token.balanceOf(market).call() == owed_by_market,
        "staking holds exactly the stakes": token.balanceOf(staking).call()
        == admin.staking.functions.totalBonded().call(),
        "vault holds exactly the holdings": token.balanceOf(vault).call()
        == admin.vault.functions.totalLocked().call(),
    }


def print_report(report: Report) -> None:
    """Print the report's tables and checks.

    Args:
        report: the finished report.
    """
    say(f"\nproviders ({report.providers[0].meter} meters)" if report.providers else "")
    say(f"  {'name':<9} {'class':<12} {'jobs':>4} {'paid out':>9} {'slashed':>8} "
        f"{'energy J':>9} {'tokens':>7} {'tok/J':>7} {'gas/job':>8}")  # fmt: skip
    for p in report.providers:
        say(f"  {p.name:<9} {p.gpu_class:<12} {p.jobs_settled:>4} {p.paid_out_cpt:>9} "
            f"{p.slashed_cpt:>8} {p.energy_j:>9.1f} {p.ai_tokens:>7} {p.tokens_per_joule:>7.2f} "
            f"{p.gas_per_job:>8,}")  # fmt: skip
    say("clients")
    for c in report.clients:
        say(f"  {c.name:<9} {c.jobs_posted:>3} jobs   net spent {c.spent_cpt:>8} CPT   "
            f"refunded {c.refunded_cpt:>8} CPT")  # fmt: skip
    if report.holder is not None:
        h = report.holder
        say(f"holdings priority (holder locked {h.locked_cpt} CPT, boost {h.boost_per_job_cpt} "
            "CPT per job while busy)")  # fmt: skip
        for j in h.jobs:
            say(f"  job {j.job_id:>3} {j.gpu_class:<12} bid {j.bid_cpt} + boost {j.boost_cpt}: "
                f"claimed ahead of {j.claimed_before_richer} jobs with richer bids")  # fmt: skip
    say("money checks")
    for name, ok in report.checks.items():
        say(f"  {'ok  ' if ok else 'FAIL'} {name}")
    say(f"  {'ok  ' if report.claim_order_ok else 'FAIL'} jobs claimed in priority order")
    say(f"\n{report.jobs} jobs in {report.seconds:.1f} s on {report.chain}")


def write_output(report: Report, folder: Path) -> None:
    """Write ``report.json`` and the ``providers.png`` chart into `folder`.

    Args:
        report: the finished report.
        folder: where to write (created if missing).
    """
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(json.dumps(asdict(report), indent=2) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [p.name for p in report.providers]
    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.6))
    left.bar(names, [p.tokens_per_joule for p in report.providers], color="#2a9d8f")
    left.set_title("AI tokens per joule")
    right.bar(names, [float(p.paid_out_cpt) for p in report.providers], color="#e9c46a")
    right.set_title("earnings paid out (CPT)")
    meter = report.providers[0].meter if report.providers else "?"
    fig.suptitle(f"JouleLedger demo on {report.chain} ({meter} meter)")
    fig.tight_layout()
    fig.savefig(folder / "providers.png", dpi=110)
    plt.close(fig)
    say(f"wrote {folder / 'report.json'} and {folder / 'providers.png'}")
