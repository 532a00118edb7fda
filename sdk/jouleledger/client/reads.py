"""The market's views, typed: jobs, queues, terms and parameters, read by field name."""

from __future__ import annotations

from typing import Any

from web3 import Web3

from ..errors import JouleLedgerError
from ..types import ClassStatus, Job, JobId, JobState, MarketParameters, Terms, Wei
from .core import ZERO_ADDRESS, ClientCore, class_id, struct_fields


class UnknownJob(JouleLedgerError, LookupError):
    """No job with that id exists on this market."""


class MarketReads(ClientCore):
    """Read-only views of `JobMarket` (no account needed)."""

    def job(self, job_id: int) -> Job:
        """The job `job_id` now.

        Args:
            job_id: the job's id.

        Raises:
            UnknownJob: no such job on this market.
        """
        fields = self._struct(self.market, "job", job_id)
        state = JobState(fields.pop("state"))
        if state is JobState.NONE:
            count = self.job_count()
            known = f"it has jobs 1 to {count}" if count else "it has no jobs yet"
            raise UnknownJob(
                f"job {job_id} does not exist on market {self.deployment.market} ({known})"
            )
        provider = fields.pop("provider")
        return Job(
            id=JobId(job_id),
            state=state,
            provider=None if provider == ZERO_ADDRESS else provider,
            gpu_class=bytes(fields.pop("gpu_class")),
            **fields,
        )

    def job_count(self) -> int:
        """How many jobs the market has had (ids run from 1 to this)."""
        return int(self.market.functions.jobCount().call())

    def _parameters(self) -> dict[str, Any]:
        return self._struct(self.market, "parameters")

    def terms(self, version: int | None = None) -> Terms:
        """The market terms of `version`.

        Args:
            version: a terms version (default: the one new jobs get now).

        Raises:
            ContractRevert: no such version; decoded.
        """
        if version is None:
            version = int(self._parameters()["terms_version"])
        raw, attestors = self.market.functions.terms(version).call()
        fields = dict(zip(struct_fields(self.market.abi, "terms"), raw, strict=True))
        return Terms(
            version=version,
            fee_bps=fields["fee_bps"],
            dispute_bond=Wei(fields["dispute_bond"]),
            dispute_slash_bps=fields["dispute_slash_bps"],
            expire_penalty_bps=fields["expire_penalty_bps"],
            treasury_share_bps=fields["treasury_share_bps"],
            attestor_threshold=fields["attestor_threshold"],
            attestors=tuple(Web3.to_checksum_address(a) for a in attestors),
        )

    def parameters(self) -> MarketParameters:
        """The terms new jobs get and the market-wide settings, by name."""
        raw = self._parameters()
        return MarketParameters(
            terms=self.terms(int(raw["terms_version"])),
            treasury=Web3.to_checksum_address(raw["treasury"]),
            busy_threshold=int(raw["busy_threshold"]),
            dispute_window=self.dispute_window(),
            arbiter_timeout=int(self.market.functions.ARBITER_TIMEOUT().call()),
            collateral_bps=int(self.market.functions.COLLATERAL_BPS().call()),
            collateral_cap=Wei(self.market.functions.COLLATERAL_CAP().call()),
        )

    def dispute_window(self) -> int:
        """Seconds after settlement during which the client may dispute (one read)."""
        return int(self.market.functions.DISPUTE_WINDOW().call())

    def queue(self, gpu_class: str | bytes, limit: int = 1000) -> list[tuple[JobId, Wei]]:
        """Open jobs of a class (open to every provider) in priority order, with their
        priorities (bid + boost).

        Args:
            gpu_class: the class, by name or 4-byte id.
            limit: the most jobs to return.
        """
        ids, priorities = self.market.functions.queue(class_id(gpu_class), 0, limit).call()
        return [(JobId(i), Wei(p)) for i, p in zip(ids, priorities, strict=True)]

    def designated_queue(
        self, provider: str, gpu_class: str | bytes, limit: int = 1000
    ) -> list[tuple[JobId, Wei]]:
        """Open jobs of a class designated to `provider`, in priority order.

        Args:
            provider: the designated provider.
            gpu_class: the class, by name or 4-byte id.
            limit: the most jobs to return.
        """
        who = Web3.to_checksum_address(provider)
        call = self.market.functions.designatedQueue(who, class_id(gpu_class), 0, limit)
        ids, priorities = call.call()
        return [(JobId(i), Wei(p)) for i, p in zip(ids, priorities, strict=True)]

    def class_status(self, gpu_class: str | bytes) -> ClassStatus:
        """How many jobs of the class are open to all, and whether it is busy (holdings
        boost the jobs posted now).

        Args:
            gpu_class: the class, by name or 4-byte id.
        """
        class_id_ = class_id(gpu_class)
        open_jobs, busy = self.market.functions.classStatus(class_id_).call()
        threshold = int(self._parameters()["busy_threshold"])
        return ClassStatus(class_id_, int(open_jobs), bool(busy), threshold)

    def priority_level(self, priority: int) -> int:
        """The level a priority is queued at: four per doubling.

        Args:
            priority: bid + boost, in wei.
        """
        return int(self.market.functions.priorityLevel(priority).call())

    def credit(self, address: str | None = None) -> Wei:
        """What `address` can withdraw from the market besides per-job refunds and payments.

        Args:
            address: whose credit (default: this account).

        Raises:
            NoAccount: no `address` and the client is read-only.
        """
        return Wei(self.market.functions.credit(self._who(address)).call())
