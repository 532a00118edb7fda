"""``jl provider register|update|show``: a provider's terms, stake and track record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from ..gpu import gpu_class_name
from . import params
from .errors import CliError
from .output import cpt, key_value_table, number, plain, when
from .session import Session, session

app = typer.Typer(help="Register as a provider and inspect providers.")

UINT64_MAX = 2**64 - 1

Signer = Annotated[
    str,
    typer.Option(
        "--signer",
        metavar="NAME|ADDR",
        help="The oracle node's key: a keystore name or dev:N (it signs the binding proof "
        "here), or its address together with --signer-proof.",
    ),
]
SignerProof = Annotated[
    str | None,
    typer.Option(
        "--signer-proof",
        metavar="HEX",
        help="The signer's binding proof, made where its key lives (`jl-oracle signer-proof`).",
    ),
]
GpuClass = Annotated[
    str, typer.Option("--gpu-class", metavar="NAME", help="GPU class, e.g. nvidia-h100.")
]
Price = Annotated[
    str,
    typer.Option("--price", metavar="AMOUNT", help="Ask price in CPT per GPU-second."),
]
Endpoint = Annotated[
    str, typer.Option("--endpoint", metavar="URL", help="URL of the provider's oracle node.")
]


def _terms_command(*, register: bool, doc: str) -> Callable[..., None]:
    """``register`` and ``update``: the same options, sent as a registration or an update."""

    def command(
        ctx: typer.Context,
        signer: Signer,
        gpu_class: GpuClass,
        price: Price,
        endpoint: Endpoint,
        signer_proof: SignerProof = None,
    ) -> None:
        _set_terms(
            session(ctx), signer, signer_proof, gpu_class, price, endpoint, register=register
        )

    command.__doc__ = doc
    return command


register = app.command("register")(
    _terms_command(
        register=True,
        doc="Register this account as a provider (it needs the minimum stake first).",
    )
)
update = app.command("update")(
    _terms_command(
        register=False,
        doc="""Change this provider's oracle signer, GPU class, price or endpoint.

    A lower price applies at once; a higher one after the staking contract's ask delay, so
    that nobody can raise it around a claim to pass over cheaper jobs.
    """,
    )
)


def _set_terms(
    s: Session,
    signer: str,
    signer_proof: str | None,
    gpu_class: str,
    price: str,
    endpoint: str,
    *,
    register: bool,
) -> None:
    proof = params.hex_bytes(signer_proof, what="--signer-proof") if signer_proof else None
    oracle = None
    if proof is None and not (not register and _is_current_signer(s, signer)):
        oracle = s.signer_key(signer)
    signer_address = oracle.address if oracle is not None else s.address_of(signer)
    ask = params.amount(price, what="--price", job=True)
    if ask > UINT64_MAX:
        raise CliError(f"--price {price} is too high: at most {number(UINT64_MAX)} CPT/GPU-s")
    name = gpu_class.strip().lower()
    if not name:
        raise CliError("--gpu-class must not be empty, e.g. nvidia-h100")
    if not endpoint.strip():
        raise CliError("--endpoint must not be empty: the URL of the oracle node")
    client = s.client
    verb = "registering" if register else "updating"
    with s.out.activity(f"{verb} {client.address} as a {name} provider"):
        key = oracle if oracle is not None else signer_address
        if register:
            client.register_provider(key, name, ask, endpoint.strip(), signer_proof=proof)
        else:
            client.update_provider(key, name, ask, endpoint.strip(), signer_proof=proof)
    info = client.provider()
    s.out.result(
        {
            "address": client.address,
            "index": info.index,
            "signer": signer_address,
            "gpu_class": name,
            "price_per_gpu_second": plain(info.ask_price_per_gpu_second),
            "pending_price": plain(info.pending_ask) if info.pending_ask else None,
            "pending_price_at": info.pending_ask_at or None,
            "endpoint": info.endpoint,
        },
        f"{'registered' if register else 'updated'} provider #{info.index} {client.address}: "
        f"{name} at {cpt(info.ask_price_per_gpu_second)}/GPU-s"
        + (
            f" ({cpt(info.pending_ask)}/GPU-s from {when(info.pending_ask_at, s.now())})"
            if info.pending_ask
            else ""
        )
        + f", oracle signer {signer_address}, endpoint {info.endpoint}",
    )


def _is_current_signer(s: Session, signer: str) -> bool:
    """Whether `signer` (an address) is already this provider's signer: no proof needed."""
    if not signer.strip().lower().startswith("0x"):
        return False
    current = s.client.provider().signer
    return current is not None and current == params.address(signer, what="--signer")


@app.command()
def show(
    ctx: typer.Context,
    who: params.Who = None,
) -> None:
    """Show a provider's stake, locked and unbonding stake, terms and settled-work stats.

    The stats (jobs settled, earnings, energy, AI tokens per joule) are summed from the
    market's settlement events.
    """
    s = session(ctx)
    address = s.address_of(who)
    reader = s.reader
    info = reader.provider(address)
    stats = reader.provider_stats(address)
    now = s.now()
    data = {
        "address": address,
        "registered": info.registered,
        "index": info.index,
        "stake": plain(info.stake),
        "locked": plain(info.locked),
        "unbonding": plain(info.unbonding),
        "unbonding_ready_at": info.unbonding_ready_at,
        "signer": info.signer,
        "gpu_class": gpu_class_name(info.gpu_class) if info.registered else None,
        "price_per_gpu_second": plain(info.ask_price_per_gpu_second),
        "pending_price": plain(info.pending_ask) if info.pending_ask else None,
        "pending_price_at": info.pending_ask_at or None,
        "endpoint": info.endpoint,
        "jobs_settled": stats.jobs_settled,
        "earned": plain(stats.earned),
        "energy_joules": stats.energy_mj / 1000,
        "ai_tokens": stats.ai_tokens,
        "tokens_per_joule": stats.tokens_per_joule,
    }
    if s.out.json_mode:
        s.out.json(data)
        return
    unbonding = cpt(info.unbonding)
    if info.unbonding:
        unbonding += f", withdrawable from {when(info.unbonding_ready_at, now)}"
    rows = [
        ("provider", f"#{info.index}" if info.registered else "not registered"),
        ("stake", cpt(info.stake)),
        ("locked", f"{cpt(info.locked)} (backing claimed jobs)"),
        ("unbonding", unbonding),
    ]
    if info.registered:
        rows += [
            ("gpu class", gpu_class_name(info.gpu_class)),
            ("price", f"{cpt(info.ask_price_per_gpu_second)}/GPU-s"),
            *(
                [
                    (
                        "price raise",
                        f"{cpt(info.pending_ask)}/GPU-s from {when(info.pending_ask_at, now)}",
                    )
                ]
                if info.pending_ask
                else []
            ),
            ("oracle signer", str(info.signer or "-")),
            ("endpoint", info.endpoint or "-"),
        ]
    rows += [
        ("jobs settled", f"{stats.jobs_settled:,}"),
        ("earned", cpt(stats.earned)),
        ("energy", f"{stats.energy_mj / 1000:,.3f} J"),
        ("ai tokens", f"{stats.ai_tokens:,}"),
        ("tokens/joule", f"{stats.tokens_per_joule:,.3f}"),
    ]
    s.out.table(key_value_table(rows, title=address))
