"""``jl holdings lock|unlock|show``: locked CPT that buys priority in busy periods.

CPT locked in the holdings vault counts after a warm-up. While a GPU class is busy, each
job its holder posts there gets a priority boost (added to its bid) of a share of the warm
holdings, capped, for a limited number of jobs per epoch; holdings that backed a boosted
job stay locked until that job's deadline. See docs/priority.md for the formula.
"""

from __future__ import annotations

from typing import Annotated

import typer

from ..client import JouleLedger
from ..types import Holding
from . import params
from .output import cpt, key_value_table, plain, when
from .session import session
from .staking import send_amount

app = typer.Typer(help="Lock CPT to raise your jobs' priority when a GPU class is busy.")

Amount = Annotated[str, typer.Argument(metavar="AMOUNT", help="CPT, e.g. 500.")]


@app.command(context_settings=params.AMOUNT_CONTEXT)
def lock(ctx: typer.Context, amount: Amount) -> None:
    """Lock AMOUNT CPT in the holdings vault (with a permit: one transaction)."""
    s, client, wei = send_amount(ctx, amount, "locking", JouleLedger.lock_holdings, spends=True)
    held = client.holding()
    s.out.result(
        {"address": client.address, "locked_now": plain(wei)} | holding_json(held),
        [
            f"locked {cpt(wei)}; {cpt(held.locked)} locked in all, {cpt(held.warm)} of it warm",
            f"{cpt(held.warming)} counts from {when(held.warm_at, s.now())}",
        ],
    )


@app.command(context_settings=params.AMOUNT_CONTEXT)
def unlock(ctx: typer.Context, amount: Amount) -> None:
    """Take AMOUNT of locked CPT back (not while it backs boosted jobs before their deadline)."""
    s, client, wei = send_amount(
        ctx, amount, "unlocking", JouleLedger.unlock_holdings, spends=False
    )
    held = client.holding()
    s.out.result(
        {"address": client.address, "unlocked": plain(wei)} | holding_json(held),
        f"unlocked {cpt(wei)}; {cpt(held.locked)} still locked",
    )


@app.command()
def show(ctx: typer.Context, who: params.Who = None) -> None:
    """Show an account's locked holdings, the boost a job gets now and the capacity left."""
    s = session(ctx)
    address = s.address_of(who)
    held = s.reader.holding(address)
    if s.out.json_mode:
        s.out.json({"address": address} | holding_json(held))
        return
    now = s.now()
    rows = [
        ("locked", cpt(held.locked)),
        ("warm", f"{cpt(held.warm)} (counts now)"),
    ]
    if held.warming:
        rows.append(("warming", f"{cpt(held.warming)}, counts from {when(held.warm_at, now)}"))
    rows += [
        ("boost per job", f"{cpt(held.boost_per_job)} (added to the bid while a class is busy)"),
        (
            "boosted jobs",
            f"{held.used} of {held.capacity} used this epoch (new epoch "
            f"{when(held.epoch_ends_at, now)})",
        ),
    ]
    if held.backed_until > now:
        rows.append(("locked until", f"{when(held.backed_until, now)} (backs boosted jobs)"))
    s.out.table(key_value_table(rows, title=address))


def holding_json(held: Holding) -> dict[str, object]:
    """An account's holdings as JSON: amounts as CPT strings, unset times as null.

    Args:
        held: the holdings as the vault reports them.
    """
    return {
        "locked": plain(held.locked),
        "warm": plain(held.warm),
        "warming": plain(held.warming),
        "warm_at": held.warm_at or None,
        "boost_per_job": plain(held.boost_per_job),
        "capacity_per_epoch": held.capacity,
        "used_this_epoch": held.used,
        "epoch_ends_at": held.epoch_ends_at,
        "backed_until": held.backed_until or None,
    }
