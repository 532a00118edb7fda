"""``jl balance`` and ``jl faucet``: CPT (and gas) balances, and devnet minting."""

from __future__ import annotations

from typing import Annotated

import typer

from . import params
from .output import cpt, eth, plain
from .session import dev_account, session

#: What `jl faucet` tops an address up to in ether, so a new account can pay for gas.
FAUCET_ETH = 10 * 10**18
FAUCET_ETH_BELOW = 10**18


def balance(
    ctx: typer.Context,
    who: params.Who = None,
) -> None:
    """Show the CPT and ether balance of an address, and what the market owes it."""
    s = session(ctx)
    address = s.address_of(who)
    reader = s.reader
    tokens = reader.balance(address)
    ether = int(s.w3.eth.get_balance(address))
    credit = reader.credit(address)
    lines = [f"{address}: {cpt(tokens)} ({eth(ether)} for gas)"]
    if credit:
        lines.append(f"the market owes it {cpt(credit)}: take it out with `jl withdraw`")
    s.out.result(
        {
            "address": address,
            "cpt": plain(tokens),
            "eth": plain(ether),
            "market_credit": plain(credit),
        },
        lines,
    )


def faucet(
    ctx: typer.Context,
    who: Annotated[str, typer.Argument(metavar="ADDRESS", help="Address, keystore name or dev:N.")],
    amount: Annotated[str, typer.Argument(metavar="AMOUNT", help="CPT to mint, e.g. 1000 or 0.5.")],
    gas: Annotated[
        bool,
        typer.Option(
            "--gas/--no-gas",
            help="Also send 10 ETH for gas when the address has less than 1 ETH.",
        ),
    ] = True,
) -> None:
    """Mint CPT to an address on a local devnet (signed by the deployer, dev:0).

    Refused on any chain other than a local devnet (chain id 31337 or 1337).
    """
    s = session(ctx)
    wei = params.amount(amount)
    s.require_devnet("the faucet")
    address = s.address_of(who)
    minter = s.client_for(dev_account(0))
    with s.out.activity(f"minting {cpt(wei)} to {address}"):
        minter.mint(address, wei)
    sent_gas = 0
    if gas and int(s.w3.eth.get_balance(address)) < FAUCET_ETH_BELOW:
        with s.out.activity(f"sending {eth(FAUCET_ETH)} to {address} for gas"):
            minter.sender.send({"to": address, "value": FAUCET_ETH})
        sent_gas = FAUCET_ETH
    now = minter.balance(address)
    lines = [f"minted {cpt(wei)} to {address}; balance now {cpt(now)}"]
    if sent_gas:
        lines.append(f"sent {eth(sent_gas)} for gas")
    s.out.result(
        {"address": address, "minted": plain(wei), "cpt": plain(now), "eth_sent": plain(sent_gas)},
        lines,
    )
