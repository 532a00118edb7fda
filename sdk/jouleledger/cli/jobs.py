"""``jl job post|bid|show|list|cancel|dispute|expire``: a client's side of the market.

Job amounts (price, max payment, bid) are CPT with at most 9 decimals: the market keeps
them in whole nano-CPT. Posting escrows ``max payment + bid`` with an EIP-2612 permit, so
it is one transaction and leaves no standing allowance. The JSON and tables of jobs are
built in `jouleledger.cli.job_views`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from web3.contract import Contract
from web3.types import EventData, TxReceipt

from .. import specs
from ..client import DEFAULT_DEADLINE, JobRequest, JouleLedger, MissingEvent, receipt_event
from ..gpu import gpu_class_id, gpu_class_name
from ..types import Job, JobState
from . import params
from .errors import CliError
from .job_views import job_json, job_table, jobs_table, queue_name, settlement_json
from .output import cpt, plain, utc
from .session import session
from .staking import require_balance

app = typer.Typer(help="Post, bid on, inspect and manage compute jobs.")

JobIdArg = Annotated[int, typer.Argument(metavar="JOB_ID", min=1, help="The job's id.")]


@app.command()
def post(
    ctx: typer.Context,
    gpu_class: Annotated[
        str, typer.Option("--gpu-class", metavar="NAME", help="GPU class, e.g. nvidia-h100.")
    ],
    price: Annotated[
        str, typer.Option("--price", metavar="AMOUNT", help="Most it pays per GPU-second, CPT.")
    ],
    max_payment: Annotated[
        str,
        typer.Option("--max-payment", metavar="AMOUNT", help="Cap on the usage payment, CPT."),
    ],
    bid: Annotated[
        str, typer.Option("--bid", metavar="AMOUNT", help="Priority bid, CPT (paid to the runner).")
    ] = "0",
    deadline_in: Annotated[
        int,
        typer.Option(
            "--deadline-in", min=1, metavar="SECONDS", help="Settle within this many seconds."
        ),
    ] = DEFAULT_DEADLINE,
    provider: Annotated[
        str | None,
        typer.Option("--provider", metavar="ADDR", help="Only this provider may take it."),
    ] = None,
    spec: Annotated[
        Path | None,
        typer.Option(
            "--spec",
            metavar="FILE",
            exists=True,
            dir_okay=False,
            readable=True,
            help="The job spec (JSON); keccak256 of its canonical JSON is posted.",
        ),
    ] = None,
    spec_hash: Annotated[
        str | None,
        typer.Option("--spec-hash", metavar="HEX", help="keccak256 of the spec, 32 bytes hex."),
    ] = None,
) -> None:
    """Post a job, escrowing max payment + bid with a permit (one transaction)."""
    s = session(ctx)
    if spec is not None and spec_hash is not None:
        raise CliError("pass --spec FILE or --spec-hash HEX, not both")
    request_price = params.amount(price, what="--price", job=True)
    request_max = params.amount(max_payment, what="--max-payment", job=True)
    request_bid = params.amount(bid, what="--bid", job=True, allow_zero=True)
    name = _class_name(gpu_class)
    digest = b"\0" * 32
    if spec is not None:
        digest = _spec_file_hash(spec)
    elif spec_hash is not None:
        digest = params.bytes32(spec_hash, what="--spec-hash")
    designated = s.address_of(provider) if provider else None
    client = s.client
    escrow = request_max + request_bid
    require_balance(client, escrow, f"posting this job (escrow {cpt(escrow)})")
    deadline = s.now() + deadline_in
    request = JobRequest(
        gpu_class=name,
        price_per_gpu_second=request_price,
        max_payment=request_max,
        bid=request_bid,
        deadline=deadline,
        spec_hash=digest,
        provider=designated,
    )
    with s.out.activity(f"posting a {name} job (escrow {cpt(escrow)})"):
        job_id = client.post_job(request)
    job = client.job(job_id)
    rank, size = _position(client, job)
    s.out.result(
        {
            "job_id": job_id,
            "gpu_class": name,
            "price_per_gpu_second": plain(request_price),
            "max_payment": plain(request_max),
            "bid": plain(request_bid),
            "escrow": plain(escrow),
            "deadline": deadline,
            "spec_hash": digest,
            "provider": designated,
            "boost": plain(job.boost),
            "priority": plain(job.priority),
            "level": job.level,
            "queue_position": rank,
            "queue_length": size,
        },
        [
            f"posted job {job_id}: {name} at up to {cpt(request_price)}/GPU-s; escrowed "
            f"{cpt(escrow)} (max payment {cpt(request_max)} + bid {cpt(request_bid)})",
            f"priority {cpt(job.priority)} (level {job.level})"
            + (f", of which {cpt(job.boost)} from your locked holdings" if job.boost else "")
            + f"; deadline {utc(deadline)}; #{rank} of {size} in the {queue_name(job)}",
        ],
    )


@app.command(context_settings=params.AMOUNT_CONTEXT)
def bid(
    ctx: typer.Context,
    job_id: JobIdArg,
    amount: Annotated[
        str, typer.Argument(metavar="AMOUNT", help="The new total bid in CPT (higher than now).")
    ],
) -> None:
    """Raise an open job's priority bid to AMOUNT (escrowing the difference)."""
    s = session(ctx)
    new_bid = params.amount(amount, what="the bid", job=True)
    client = s.client
    job = client.job(job_id)
    if job.state is not JobState.OPEN:
        raise CliError(f"job {job_id} is {job.state.name.lower()}: only open jobs take bids")
    if new_bid <= job.bid:
        raise CliError(
            f"job {job_id}'s bid is already {cpt(job.bid)}: the new bid must be higher "
            f"(it is the total, not an increment)"
        )
    extra = new_bid - job.bid
    require_balance(client, extra, f"raising the bid by {cpt(extra)}")
    with s.out.activity(f"raising job {job_id}'s bid to {cpt(new_bid)}"):
        client.raise_bid(job_id, new_bid)
    raised = client.job(job_id)
    rank, size = _position(client, raised)
    s.out.result(
        {
            "job_id": job_id,
            "bid": plain(new_bid),
            "previous_bid": plain(job.bid),
            "priority": plain(raised.priority),
            "level": raised.level,
            "queue_position": rank,
            "queue_length": size,
        },
        f"raised job {job_id}'s bid from {cpt(job.bid)} to {cpt(new_bid)} (escrowed {cpt(extra)} "
        f"more); priority {cpt(raised.priority)} (level {raised.level}), now #{rank} of {size} "
        f"in the {queue_name(raised)}",
    )


@app.command()
def show(ctx: typer.Context, job_id: JobIdArg) -> None:
    """Show one job: state, its terms (those it was posted under), escrow, and its
    settlement once settled."""
    s = session(ctx)
    reader = s.reader
    job = reader.job(job_id)
    now = s.now()
    posted = _first(reader.events("JobPosted", jobId=job_id))
    settled = _first(reader.events("JobSettled", jobId=job_id))
    window = reader.parameters().dispute_window
    terms = reader.terms(job.terms_version)  # the job's own, not those new jobs get now
    data = job_json(job)
    data["dispute_bond"] = plain(terms.dispute_bond)
    data["spec_hash"] = "0x" + bytes(posted["args"]["specHash"]).hex() if posted else None
    if settled:
        data |= settlement_json(settled["args"], job.settled_at + window)
    if s.out.json_mode:
        s.out.json(data)
        return
    table = job_table(
        job,
        settled["args"] if settled else None,
        spec_hash=data["spec_hash"],
        dispute_bond=terms.dispute_bond,
        window=window,
        now=now,
    )
    s.out.table(table)


@app.command("list")
def list_(
    ctx: typer.Context,
    open_only: Annotated[
        bool, typer.Option("--open", help="Open jobs in priority order (the on-chain queue).")
    ] = False,
    gpu_class: Annotated[
        str | None, typer.Option("--gpu-class", metavar="NAME", help="Only this GPU class.")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="At most this many jobs.")] = 50,
) -> None:
    """List jobs: with --open the open ones (open to every provider) in priority order
    (priority = bid + holdings boost, by level, then first posted), per GPU class;
    otherwise the most recently posted ones, newest first."""
    s = session(ctx)
    reader = s.reader
    class_filter = _class_name(gpu_class) if gpu_class else None
    now = s.now()
    found: list[tuple[int | None, Job]] = []
    if open_only:
        if class_filter:
            classes = [class_filter]
        else:
            seen = {bytes(e["args"]["gpuClass"]) for e in reader.events("JobPosted")}
            classes = sorted(gpu_class_name(c) for c in seen)
        for name in classes:
            for rank, (job_id, _) in enumerate(reader.queue(_class_key(name), limit), start=1):
                found.append((rank, reader.job(job_id)))
    else:
        filters: dict[str, Any] = {"gpuClass": _class_key(class_filter)} if class_filter else {}
        events = reader.events("JobPosted", **filters)[-limit:]
        found = [(None, reader.job(int(e["args"]["jobId"]))) for e in reversed(events)]
    if s.out.json_mode:
        rows = [({"rank": rank} if rank else {}) | job_json(job) for rank, job in found]
        s.out.json({"jobs": rows})
        return
    if not found:
        what = "open jobs" if open_only else "jobs"
        where = f" of class {class_filter}" if class_filter else ""
        s.out.line(f"no {what}{where} on this market")
        return
    s.out.table(jobs_table(found, open_only=open_only, now=now))


@app.command()
def cancel(ctx: typer.Context, job_id: JobIdArg) -> None:
    """Cancel an open job you posted; its escrow is credited to you (`jl withdraw`)."""
    s = session(ctx)
    client = s.client
    client.job(job_id)
    with s.out.activity(f"cancelling job {job_id}"):
        receipt = client.cancel_job(job_id)
    refund = int(_event(client.market, receipt, "JobCancelled")["args"]["refund"])
    s.out.result(
        {"job_id": job_id, "state": "cancelled", "refund": plain(refund)},
        f"cancelled job {job_id}; {cpt(refund)} credited to {client.address} "
        "(take it out with `jl withdraw`)",
    )


@app.command()
def dispute(ctx: typer.Context, job_id: JobIdArg) -> None:
    """Dispute a settled job within its dispute window, posting the bond of its terms."""
    s = session(ctx)
    client = s.client
    job = client.job(job_id)
    bond = client.terms(job.terms_version).dispute_bond
    s.confirm(f"Dispute job {job_id} ({job.state.name.lower()}), posting a bond of {cpt(bond)}?")
    require_balance(client, bond, f"the dispute bond of job {job_id}")
    with s.out.activity(f"opening a dispute on job {job_id}"):
        client.open_dispute(job_id)
    decide_by = s.now() + client.parameters().arbiter_timeout
    s.out.result(
        {"job_id": job_id, "state": "disputed", "bond": plain(bond), "arbiter_deadline": decide_by},
        f"disputed job {job_id} with a bond of {cpt(bond)}; the arbiter decides by "
        f"{utc(decide_by)}, or the settlement stands",
    )


@app.command()
def expire(ctx: typer.Context, job_id: JobIdArg) -> None:
    """Expire a job whose deadline passed unsettled: the client is refunded (anyone may)."""
    s = session(ctx)
    client = s.client
    job = client.job(job_id)
    with s.out.activity(f"expiring job {job_id}"):
        receipt = client.expire_job(job_id)
    args = _event(client.market, receipt, "JobExpired")["args"]
    refund, penalty = int(args["refund"]), int(args["penalty"])
    text = f"expired job {job_id}; {cpt(refund)} credited to its client {job.client}"
    if penalty:
        text += f", plus {cpt(penalty)} from the provider's stake"
    s.out.result(
        {
            "job_id": job_id,
            "state": "expired",
            "refund": plain(refund),
            "penalty": plain(penalty),
            "client": job.client,
        },
        text,
    )


# --- helpers ------------------------------------------------------------------------------


def _spec_file_hash(path: Path) -> bytes:
    """The hash a node looks `path`'s spec up by: its canonical JSON's, not its bytes'."""
    try:
        return specs.spec_hash(path.read_bytes())
    except specs.InvalidSpec as exc:
        raise CliError(
            f"--spec {path}: {exc}; to post a hash computed some other way, use --spec-hash HEX"
        ) from exc


def _class_name(text: str) -> str:
    name = text.strip().lower()
    if not name:
        raise CliError("--gpu-class must not be empty, e.g. nvidia-h100")
    return name


def _class_key(name: str) -> bytes:
    """A class name, or the ``0x1234abcd`` form `gpu_class_name` gives unknown classes."""
    if name.startswith("0x") and len(name) == 10:
        return bytes.fromhex(name[2:])
    return gpu_class_id(name)


def _position(client: JouleLedger, job: Job) -> tuple[int, int]:
    """Where `job` stands in its queue (the class's, or its designated provider's)."""
    if job.provider:
        entries = client.designated_queue(job.provider, job.gpu_class)
    else:
        entries = client.queue(job.gpu_class)
    queue = [q for q, _ in entries]
    return (queue.index(job.id) + 1 if job.id in queue else 0), len(queue)


def _first(events: list[EventData]) -> EventData | None:
    return events[0] if events else None


def _event(contract: Contract, receipt: TxReceipt, name: str) -> EventData:
    try:
        return receipt_event(contract, receipt, name)
    except MissingEvent as exc:
        raise CliError(str(exc)) from exc
