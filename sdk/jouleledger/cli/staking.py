"""``jl stake|unstake|withdraw``: a provider's stake, and pulling what the protocol owes.

``jl withdraw`` takes out everything that can be taken out now: unbonded stake whose
delay has passed, and from the market its credit (refunds of cancelled or expired jobs,
dispute awards), the unused escrow of this account's settled jobs and the payments of
the jobs it ran whose dispute window has closed. Those jobs are found from the market's
events; ``--job ID`` names them instead, and ``--from stake|market`` limits it to one side.
What is not ready yet is listed with the time it will be.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Annotated

import typer
from eth_typing import ChecksumAddress

from ..client import JouleLedger
from ..types import JobId, JobState
from . import params
from .errors import CliError, ExitCode
from .output import cpt, plain, when
from .session import Session, session


def stake(
    ctx: typer.Context,
    amount: Annotated[
        str, typer.Argument(metavar="AMOUNT", help="CPT to add to the stake, e.g. 1000.")
    ],
) -> None:
    """Add CPT to this account's provider stake (approving the staking contract as needed)."""
    s, client, wei = send_amount(ctx, amount, "staking", JouleLedger.stake, spends=True)
    info = client.provider()
    minimum = int(client.staking.functions.minStake().call())
    lines = [f"staked {cpt(wei)}; stake now {cpt(info.stake)}"]
    if not info.registered and info.stake < minimum:
        lines.append(f"registering as a provider needs at least {cpt(minimum)} staked")
    s.out.result(
        {"address": client.address, "staked": plain(wei), "stake": plain(info.stake)}, lines
    )


def unstake(
    ctx: typer.Context,
    amount: Annotated[str, typer.Argument(metavar="AMOUNT", help="CPT to unbond, e.g. 500.")],
) -> None:
    """Request unbonding of stake; it becomes withdrawable after the unbonding delay.

    Stake that backs claimed jobs stays locked. A new request restarts the delay for
    everything still unbonding.
    """
    s, client, wei = send_amount(
        ctx, amount, "requesting unbonding of", JouleLedger.request_unbond, spends=False
    )
    info = client.provider()
    now = s.now()
    s.out.result(
        {
            "address": client.address,
            "requested": plain(wei),
            "unbonding": plain(info.unbonding),
            "withdrawable_at": info.unbonding_ready_at,
            "stake": plain(info.stake),
        },
        [
            f"unbonding {cpt(wei)} (unbonding in total: {cpt(info.unbonding)}); stake now "
            f"{cpt(info.stake)}",
            f"withdrawable from {when(info.unbonding_ready_at, now)} with `jl withdraw`",
        ],
    )


class Source(StrEnum):
    """Where `jl withdraw` takes from."""

    all = "all"
    stake = "stake"
    market = "market"


def withdraw(
    ctx: typer.Context,
    jobs: Annotated[
        list[int] | None,
        typer.Option(
            "--job",
            min=1,
            metavar="ID",
            help="Withdraw the payment or refund of these jobs (repeatable) instead of the "
            "ones found automatically.",
        ),
    ] = None,
    source: Annotated[
        Source, typer.Option("--from", help="Take only unbonded stake, or only from the market.")
    ] = Source.all,
) -> None:
    """Withdraw everything owed now: unbonded stake, market credit, job payments and refunds.

    Without --job, the jobs are found from the market's events: this account's settled jobs
    with unused escrow, and the jobs it ran whose dispute window has closed. What is not
    ready yet is listed with the time it will be. Exits 0 when there is nothing to take.
    """
    s = session(ctx)
    client = s.client
    me = client.address
    now = s.now()
    taken: dict[str, int] = {}
    pending: list[str] = []
    job_ids: list[int] = []

    if source in (Source.all, Source.stake):
        info = client.provider()
        if info.unbonding and now >= info.unbonding_ready_at:
            with s.out.activity(f"withdrawing {cpt(info.unbonding)} of unbonded stake"):
                taken["stake"] = client.withdraw_unbonded()
        elif info.unbonding:
            pending.append(
                f"{cpt(info.unbonding)} unbonding, withdrawable from "
                f"{when(info.unbonding_ready_at, now)}"
            )

    if source in (Source.all, Source.market):
        if jobs:
            job_ids = sorted(set(jobs))
            for job_id in job_ids:
                client.job(job_id)  # UnknownJob for a typo, before sending anything
        else:
            job_ids, waiting = owed_jobs(client, me, now)
            pending.extend(waiting)
        credit = client.credit(me)
        if job_ids or credit:
            with s.out.activity("withdrawing from the market"):
                taken["market"] = client.withdraw(job_ids)

    total = sum(taken.values())
    parts = []
    if "stake" in taken:
        parts.append(f"{cpt(taken['stake'])} of unbonded stake")
    if "market" in taken:
        jobs_text = f" (jobs {', '.join(map(str, job_ids))})" if job_ids else ""
        parts.append(f"{cpt(taken['market'])} from the market{jobs_text}")
    lines = [f"withdrew {cpt(total)}: {' and '.join(parts)}"] if taken else []
    if not taken:
        lines.append(f"nothing to withdraw for {me} now")
    lines += [f"not yet: {p}" for p in pending]
    s.out.result(
        {
            "address": me,
            "withdrawn": plain(total),
            "stake": plain(taken.get("stake", 0)),
            "market": plain(taken.get("market", 0)),
            "jobs": job_ids if "market" in taken else [],
            "pending": pending,
        },
        lines,
    )


def owed_jobs(client: JouleLedger, me: ChecksumAddress, now: int) -> tuple[list[int], list[str]]:
    """Jobs whose refund or payment `me` can withdraw now, and notes on those not yet ready.

    Found from `JobPosted` (as client) and `JobClaimed` (as provider) events.
    """
    candidates = {int(e["args"]["jobId"]) for e in client.events("JobPosted", client=me)}
    candidates |= {int(e["args"]["jobId"]) for e in client.events("JobClaimed", provider=me)}
    window = client.parameters().dispute_window
    ready: list[int] = []
    waiting: list[str] = []
    for job_id in sorted(candidates):
        job = client.job(JobId(job_id))
        refund = (
            job.client == me
            and job.state in (JobState.SETTLED, JobState.DISPUTED, JobState.FINALIZED)
            and job.refund > 0
            and not job.refund_withdrawn
        )
        payment = job.state is JobState.SETTLED and job.provider == me
        if payment and now < job.settled_at + window:
            waiting.append(
                f"job {job_id}'s payment of {cpt(job.payment)}, after its dispute window "
                f"closes at {when(job.settled_at + window, now)}"
            )
            continue  # the market pays both sides of a job at once: wait for the window
        if refund or payment:
            ready.append(job_id)
    return ready, waiting


def require_balance(client: JouleLedger, needed: int, what: str) -> None:
    """Refuse before sending anything when the account holds less CPT than `needed`.

    Raises:
        CliError: with the shortfall (exit code 3).
    """
    have = client.balance()
    if have < needed:
        raise CliError(
            f"insufficient CPT balance: {what} needs {cpt(needed)} but {client.address} holds "
            f"{cpt(have)}; get tokens first (on a devnet: `jl faucet {client.address} "
            f"{plain(needed - have)}`)",
            ExitCode.REFUSED,
        )


def send_amount(
    ctx: typer.Context,
    amount: str,
    label: str,
    action: Callable[[JouleLedger, int], object],
    *,
    spends: bool,
) -> tuple[Session, JouleLedger, int]:
    """The first half of a command that moves AMOUNT CPT: parse it, refuse before sending
    when the account holds less (if the action spends it), and run the action under a
    progress label.

    Args:
        ctx: the command's context.
        amount: the AMOUNT argument, in CPT.
        label: what the action does, e.g. ``"staking"`` (shown as ``staking 1,000 CPT``).
        action: sends the transaction, given the client and the amount in wei.
        spends: whether the action takes the amount from the account's CPT balance.

    Returns:
        The session, its signing client and the amount in wei.

    Raises:
        CliError: a bad amount, or a balance short of it (exit code 3).
    """
    s = session(ctx)
    wei = params.amount(amount)
    client = s.client
    if spends:
        require_balance(client, wei, f"{label} {cpt(wei)}")
    with s.out.activity(f"{label} {cpt(wei)}"):
        action(client, wei)
    return s, client, wei
