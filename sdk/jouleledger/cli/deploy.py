"""``jl deploy``: deploy the protocol to any chain and record where it lives."""

from __future__ import annotations

from typing import Annotated

import typer

from ..deployment import ProtocolConfig, deploy_protocol, save_deployment
from . import params
from .output import cpt, duration
from .session import session


def deploy(
    ctx: typer.Context,
    min_stake: Annotated[
        str, typer.Option("--min-stake", metavar="AMOUNT", help="Stake a provider needs, in CPT.")
    ] = "1000",
    dispute_window: Annotated[
        int, typer.Option("--dispute-window", min=1, metavar="SECONDS", help="Dispute window.")
    ] = ProtocolConfig.dispute_window,
    unbonding_delay: Annotated[
        int,
        typer.Option(
            "--unbonding-delay",
            min=1,
            metavar="SECONDS",
            help="Unbonding delay (longer than the dispute window).",
        ),
    ] = ProtocolConfig.unbonding_delay,
    fee_bps: Annotated[
        int, typer.Option("--fee-bps", min=0, max=10_000, help="Protocol fee in basis points.")
    ] = ProtocolConfig.fee_bps,
    dispute_bond: Annotated[
        str, typer.Option("--dispute-bond", metavar="AMOUNT", help="Bond to open a dispute, CPT.")
    ] = "10",
) -> None:
    """Deploy the token, staking and market to --rpc with --account, and record them.

    The account becomes the admin of every role and receives the initial CPT supply. The
    addresses are saved in $JL_HOME/deployments.json under the chain id, where every other
    command finds them.
    """
    s = session(ctx)
    config = ProtocolConfig(
        min_stake=params.amount(min_stake, what="--min-stake"),
        dispute_window=dispute_window,
        unbonding_delay=unbonding_delay,
        fee_bps=fee_bps,
        dispute_bond=params.amount(dispute_bond, what="--dispute-bond", allow_zero=True),
    )
    admin = s.account
    if not s.on_devnet:
        s.confirm(
            f"Deploy JouleLedger to chain {s.chain_id} at {s.rpc_url} as {admin.address}? "
            "It costs gas."
        )
    with s.out.activity(f"deploying to chain {s.chain_id}"):
        deployment = deploy_protocol(s.w3, admin, config)
        save_deployment(s.paths.deployments, deployment)
    s.out.result(
        {
            "chain_id": deployment.chain_id,
            "token": deployment.token,
            "staking": deployment.staking,
            "market": deployment.market,
            "block": deployment.block,
            "admin": admin.address,
        },
        [
            f"deployed on chain {deployment.chain_id} at block {deployment.block} "
            f"(admin {admin.address})",
            f"token    {deployment.token}",
            f"staking  {deployment.staking}",
            f"market   {deployment.market}",
            f"min stake {cpt(config.min_stake)}, dispute window "
            f"{duration(config.dispute_window)}, unbonding {duration(config.unbonding_delay)}, "
            f"fee {config.fee_bps / 100:g}%",
            f"recorded in {s.paths.deployments}",
        ],
    )
