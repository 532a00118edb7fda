"""The oracle node's exceptions: one root, `OracleError`, so callers can catch everything we raise.

Subclasses also inherit the matching builtin where that is natural, so ``except TimeoutError``
or ``except ValueError`` keeps working for code that does not know the oracle's classes.
"""

from __future__ import annotations


class OracleError(Exception):
    """Root of every exception the oracle node raises."""


class ConfigError(OracleError, ValueError):
    """A setting the node was started with makes no sense (unknown meter kind, GPU class, ...)."""


class NoGpuProfile(ConfigError):
    """The simulated meter was asked for a GPU class the SDK's catalogue lacks, so it has no
    power model for it (it never simulates another class in its place)."""


class MeterUnavailable(OracleError, RuntimeError):
    """The requested meter cannot work on this machine (no NVIDIA driver, no GPU, no counter)."""


class MeterError(OracleError, RuntimeError):
    """A meter that did start failed or was misused during a job (GPU lost, GPU busy, ...)."""


class WorkloadError(OracleError, RuntimeError):
    """A job could not be run: unknown workload, bad inputs, or the workload itself failed."""


class InvalidJobSpec(WorkloadError, ValueError):
    """The job spec names an unknown workload or gives it malformed inputs."""


class WorkloadTimeout(WorkloadError, TimeoutError):
    """The workload ran past its wall-time limit and was killed."""


class WorkloadLimitExceeded(WorkloadError):
    """The workload went over its memory or output limit and was stopped."""


class StoreError(OracleError, RuntimeError):
    """The node's database refused an operation or is unusable (conflict, corruption, version)."""


class AttestationConflict(StoreError):
    """A job already has a signature over a different digest; the oracle signs once per job."""
