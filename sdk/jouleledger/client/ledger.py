"""`JouleLedger`: the SDK's client for one deployment of the protocol, acting as one account.

Every protocol operation is a typed method. Reads need no account; writes sign locally with
the account given at construction (keys never go to the node) through a `Sender`, so a
revert comes back as the contract's own error, decoded (`jouleledger.errors`).

The class is a facade: each contract's operations live in their own part (`token`,
`staking`, `market`, `disputes`, `holdings`, `history`), all built on `core.ClientCore`,
so a change to, say, disputes is made in `disputes.py` and every method keeps its name on
`JouleLedger`.

One synchronous design serves dApps, the CLI and the oracle node: the `Sender` is
thread-safe (one nonce manager per account and chain), and the oracle runs its chain work
in a worker thread, so there is no separate AsyncWeb3 variant to keep in step.
"""

from __future__ import annotations

from pathlib import Path

from eth_account.signers.local import LocalAccount

from ..deployment import Deployment, load_deployment
from ..transport import connect
from .disputes import DisputePart
from .history import HistoryPart
from .holdings import HoldingsPart
from .market import MarketPart
from .staking import StakingPart


class JouleLedger(StakingPart, MarketPart, DisputePart, HoldingsPart, HistoryPart):
    """A client of one JouleLedger deployment.

    Args:
        w3: a connected `Web3` (any EVM JSON-RPC endpoint, or the embedded chain).
        deployment: the addresses to talk to (see `jouleledger.deployment`).
        account: the local account that signs writes; None for a read-only client.
        sender: a ready `Sender` (advanced: shared nonce managers, fee settings).
    """

    @classmethod
    def connect(
        cls,
        rpc_url: str,
        *,
        deployments: Path | None = None,
        deployment: Deployment | None = None,
        account: LocalAccount | None = None,
        timeout: float = 10.0,
    ) -> JouleLedger:
        """Connect to `rpc_url` and find the deployment for the chain it serves.

        Args:
            rpc_url: the node's JSON-RPC URL.
            deployments: the deployments JSON file to look the chain id up in.
            deployment: explicit addresses instead (its chain id must match the node's).
            account: the account that signs writes; None for a read-only client.
            timeout: seconds to wait for the node.

        Raises:
            ValueError: neither `deployments` nor `deployment` is given.
            NodeUnreachable: nothing answers at `rpc_url`.
            WrongChain: `deployment` is for another chain than the node serves.
            DeploymentNotFound: the file has no deployment for the node's chain.
        """
        if deployment is not None:
            w3 = connect(rpc_url, chain_id=deployment.chain_id, timeout=timeout)
            return cls(w3, deployment, account)
        if deployments is None:
            raise ValueError("pass deployments=<file> or deployment=<addresses>")
        w3 = connect(rpc_url, timeout=timeout)
        return cls(w3, load_deployment(deployments, int(w3.eth.chain_id)), account)

    def as_account(self, account: LocalAccount) -> JouleLedger:
        """The same deployment and connection, signing as `account`.

        Args:
            account: the account the new client signs as.
        """
        return JouleLedger(self.w3, self.deployment, account)
