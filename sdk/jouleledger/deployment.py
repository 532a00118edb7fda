"""Deploying the protocol and recording where it lives, per chain id.

The deployments file is JSON: ``{"<chain id>": {"token": "0x..", "staking": "0x..",
"market": "0x..", "block": N}}``. The same code then talks to anvil, ganache, py-evm or
any EVM chain by changing the RPC URL.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

from eth_account.signers.local import LocalAccount
from eth_typing import ChecksumAddress
from web3 import Web3

from .artifacts import load_artifact
from .errors import JouleLedgerError
from .tx import deploy, send
from .units import parse_amount


class DeploymentNotFound(JouleLedgerError, LookupError):
    """No deployment is recorded for the connected chain."""


@dataclass(frozen=True)
class ProtocolConfig:
    """Deployment-time settings (periods are fixed for the life of a deployment)."""

    initial_supply: int = parse_amount("100000000")
    min_stake: int = parse_amount("1000")
    dispute_window: int = 3600
    arbiter_timeout: int = 3600
    unbonding_delay: int = 3 * 3600
    collateral_bps: int = 5_000
    # The most stake one job locks: jobs above 2x this escrow are refused, and a provider
    # claims only with this much stake free (so no job can stand in another's way).
    collateral_cap: int = parse_amount("100")
    ask_increase_delay: int = 600
    fee_bps: int = 100
    dispute_bond: int = parse_amount("10")
    busy_threshold: int = 16
    # Holdings that buy priority in busy periods (see docs/priority.md).
    holdings_warmup: int = 3600
    holdings_epoch: int = 3600
    boost_bps: int = 100
    max_boost: int = parse_amount("50")
    holding_per_job: int = parse_amount("100")
    max_boosted_jobs_per_epoch: int = 100


@dataclass(frozen=True)
class Deployment:
    """Addresses of one deployment of the protocol on one chain."""

    chain_id: int
    token: ChecksumAddress
    staking: ChecksumAddress
    market: ChecksumAddress
    block: int = 0


def deploy_protocol(
    w3: Web3,
    admin: LocalAccount,
    config: ProtocolConfig | None = None,
    *,
    treasury: ChecksumAddress | None = None,
) -> Deployment:
    """Deploy the token, staking, holdings vault and market (with its extension), wire them
    and set the parameters.

    Args:
        admin: deploys, holds every admin role and the initial token supply.
        treasury: receives protocol fees (default: the admin).
    """
    config = config or ProtocolConfig()
    token = deploy(w3, admin, load_artifact("ComputePowerToken"), config.initial_supply)
    staking = deploy(
        w3,
        admin,
        load_artifact("ProviderStaking"),
        token.address,
        config.unbonding_delay,
        config.min_stake,
        config.ask_increase_delay,
        admin.address,
    )
    boost = (
        config.boost_bps,
        config.max_boost,
        config.holding_per_job,
        config.max_boosted_jobs_per_epoch,
    )
    vault = deploy(
        w3,
        admin,
        load_artifact("HoldingsVault"),
        token.address,
        config.holdings_warmup,
        config.holdings_epoch,
        boost,
        admin.address,
    )
    extension = deploy(w3, admin, load_artifact("JobMarketExtension"))
    market = deploy(
        w3,
        admin,
        load_artifact("JobMarket"),
        token.address,
        staking.address,
        vault.address,
        extension.address,
        config.dispute_window,
        config.arbiter_timeout,
        config.collateral_bps,
        config.collateral_cap,
        treasury or admin.address,
        admin.address,
    )
    send(w3, admin, staking.functions.setMarket(market.address))
    send(w3, admin, vault.functions.setMarket(market.address))
    if config.fee_bps:
        send(w3, admin, market.functions.setFeeBps(config.fee_bps))
    if config.dispute_bond:
        send(w3, admin, market.functions.setDisputeBond(config.dispute_bond))
    if config.busy_threshold != 16:
        send(w3, admin, market.functions.setBusyThreshold(config.busy_threshold))
    return Deployment(
        chain_id=int(w3.eth.chain_id),
        token=token.address,
        staking=staking.address,
        market=market.address,
        block=int(w3.eth.block_number),
    )


def save_deployment(path: Path, deployment: Deployment) -> None:
    """Record `deployment` under its chain id in the JSON file at `path` (others are kept)."""
    data = json.loads(path.read_text()) if path.exists() else {}
    entry = asdict(deployment)
    data[str(entry.pop("chain_id"))] = entry
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)


def load_deployment(path: Path, chain_id: int) -> Deployment:
    """The deployment recorded for `chain_id` in `path`.

    Raises:
        DeploymentNotFound: the file is missing or has no entry for that chain.
    """
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise DeploymentNotFound(
            f"no deployments file at {path}; deploy first (`jl deploy`) or pass addresses"
        ) from None
    entry = data.get(str(chain_id))
    if entry is None:
        known = ", ".join(sorted(data)) or "none"
        raise DeploymentNotFound(
            f"no deployment for chain id {chain_id} in {path} (chains there: {known}); "
            "check the RPC URL or deploy there first"
        )
    return Deployment(
        chain_id=chain_id,
        token=Web3.to_checksum_address(entry["token"]),
        staking=Web3.to_checksum_address(entry["staking"]),
        market=Web3.to_checksum_address(entry["market"]),
        block=int(entry.get("block", 0)),
    )
