"""The set-up the throughput benchmarks share, outside their timed part: an anvil with the
protocol deployed, and a client per taking part account, each handed its CPT."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from jouleledger import Devnet, start_devnet
from jouleledger.client import JouleLedger
from jouleledger.deployment import Deployment, ProtocolConfig, deploy_protocol
from jouleledger.units import parse_amount


@dataclass
class Protocol:
    """A deployed protocol on a devnet.

    Attributes:
        net: the devnet.
        deployment: the protocol's addresses.
        admin: the deployer's client (dev account 0, which holds the CPT supply).
        users: a client for each of dev accounts 1, 2, ..., funded with CPT.
    """

    net: Devnet
    deployment: Deployment
    admin: JouleLedger
    users: list[JouleLedger]


@contextmanager
def deployed_protocol(
    *, accounts: int, users: int, cpt_each: str, config: ProtocolConfig | None = None
) -> Iterator[Protocol]:
    """Start anvil, deploy the protocol and hand CPT to the users; stop anvil afterwards.

    Args:
        accounts: how many dev accounts anvil funds with ether.
        users: how many of them (after the admin) take part.
        cpt_each: the CPT each user gets, e.g. ``"1000000"``.
        config: the protocol's parameters (default: `deploy_protocol`'s).
    """
    with start_devnet("anvil", accounts=accounts) as net:
        admin_account = net.accounts[0]
        deployment = deploy_protocol(net.w3, admin_account, config)
        admin = JouleLedger(net.w3, deployment, admin_account)
        clients = []
        for account in net.accounts[1 : users + 1]:
            admin.transfer(account.address, parse_amount(cpt_each))
            clients.append(admin.as_account(account))
        yield Protocol(net, deployment, admin, clients)
