"""The indexer's exceptions: one root, `IndexerError`, so callers can catch all of them."""

from __future__ import annotations

from jouleledger.errors import JouleLedgerError


class IndexerError(JouleLedgerError):
    """Root of every exception the indexer raises."""


class DatabaseUrlError(IndexerError, ValueError):
    """A database URL the indexer cannot use (unknown scheme, no driver, bad path)."""


class WrongDeployment(IndexerError, ValueError):
    """The database already holds the index of another deployment or chain."""


class ReorgTooDeep(IndexerError, RuntimeError):
    """The chain reorganised below the blocks the indexer can still roll back."""


class ChainReplaced(ReorgTooDeep):
    """No indexed block is on the node's chain any more: the chain was replaced (a
    restarted devnet with the same chain id and addresses)."""
