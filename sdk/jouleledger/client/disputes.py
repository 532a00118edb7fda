"""The dispute part of the client: open, resolve and finalize disputes."""

from __future__ import annotations

from web3.types import TxReceipt

from .reads import MarketReads
from .token import TokenPart


class DisputePart(TokenPart, MarketReads):
    """Disputes of settled jobs on `JobMarket`."""

    def open_dispute(self, job_id: int) -> TxReceipt:
        """Dispute a settled job within the window, posting the dispute bond of the terms
        the job was posted under.

        Args:
            job_id: a settled job of this account.

        Raises:
            UnknownJob: no such job.
            ContractRevert: e.g. the window has closed; decoded.
        """
        bond = self.terms(self.job(job_id).terms_version).dispute_bond
        call = self.market.functions.openDispute(job_id)
        return self._send_spending(self.deployment.market, bond, call)

    def resolve_dispute(self, job_id: int, client_wins: bool) -> TxReceipt:
        """The arbiter's decision (needs ARBITER_ROLE).

        Args:
            job_id: the disputed job.
            client_wins: whether the client's dispute is upheld.

        Raises:
            ContractRevert: e.g. no ARBITER_ROLE, or not disputed; decoded.
        """
        return self._send(self.market.functions.resolveDispute(job_id, client_wins))

    def finalize_dispute(self, job_id: int) -> TxReceipt:
        """Apply the default (the record stands) once the arbiter timed out.

        Args:
            job_id: the disputed job.

        Raises:
            ContractRevert: e.g. the arbiter still has time; decoded.
        """
        return self._send(self.market.functions.finalizeDispute(job_id))
