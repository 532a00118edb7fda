"""What the node needs from the chain, behind one small interface.

`Chain` is the node's view of the market, as the provider it works for: claim, look jobs up,
settle, withdraw. `LedgerChain` implements it with the SDK's `JouleLedger` client (the SDK
signs transactions locally and decodes reverts); tests use an in-memory one.

Failures come back as three oracle exceptions, so the node's loops need not know web3:

- `NoEligibleJob`: nothing to claim right now (not an error).
- `ChainRejected`: the contract refused (a custom error, decoded); retrying the same call will
  not help unless the chain's state changes.
- `ChainUnavailable`: the node, the network or the fee market failed us; retry with backoff.
"""

from .interface import *  # noqa: F403  (the interface's names, listed in its __all__)
from .interface import __all__ as _interface_names
from .ledger import LedgerChain

__all__ = [*_interface_names, "LedgerChain"]
