"""The SDK's exceptions: one root, `JouleLedgerError`, so callers can catch everything we raise.

Subclasses also inherit the matching builtin where that is natural, so
`except ValueError` keeps working for bad arguments.
"""

from __future__ import annotations


class JouleLedgerError(Exception):
    """Root of every exception the SDK raises."""


class ArtifactError(JouleLedgerError, FileNotFoundError):
    """A compiled contract is missing from the package (the build step did not run)."""


class DevnetError(JouleLedgerError, RuntimeError):
    """A local chain could not be started, did not answer, or died."""


class TransactionFailed(JouleLedgerError):
    """A transaction was mined but reverted.

    Attributes:
        tx_hash: hash of the reverted transaction.
    """

    def __init__(self, message: str, tx_hash: str | None = None) -> None:
        super().__init__(message)
        self.tx_hash = tx_hash
