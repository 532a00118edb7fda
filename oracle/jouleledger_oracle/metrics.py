"""The node's counters, and their Prometheus text exposition (format 0.0.4).

Counters count what this process did since it started (Prometheus expects counters to reset
with the process); totals that belong to the store (jobs by state, energy and tokens measured)
are read from it when scraped, so they survive restarts.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Final

PREFIX: Final = "jouleledger_oracle"
CONTENT_TYPE: Final = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Counters:
    """What this process did since it started."""

    claims: int = 0
    jobs_run: int = 0
    job_failures: int = 0
    attestations_signed: int = 0
    batch_signatures: int = 0
    settle_transactions: int = 0
    jobs_settled: int = 0
    settle_failures: int = 0
    withdrawals: int = 0
    withdrawn_wei: int = 0
    chain_errors: int = 0


@dataclass
class NodeMetrics:
    """Thread-safe counters plus the last error, updated by the node's threads."""

    _counters: Counters = field(default_factory=Counters)
    last_error: str = ""
    last_error_at: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **deltas: int) -> None:
        """Add to counters by name, e.g. ``add(claims=1)``."""
        with self._lock:
            current = self._counters
            self._counters = replace(
                current, **{name: getattr(current, name) + delta for name, delta in deltas.items()}
            )

    def error(self, message: str, at: float) -> None:
        """Remember the latest error (shown by /metrics and /health)."""
        with self._lock:
            self.last_error = message
            self.last_error_at = at

    def snapshot(self) -> tuple[Counters, str, float]:
        """The counters, the last error and its time, read together."""
        with self._lock:
            return self._counters, self.last_error, self.last_error_at


@dataclass(frozen=True)
class Sample:
    """One line of exposition: a value with labels."""

    value: float
    labels: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Family:
    """One metric: name (without prefix), type, help and samples."""

    name: str
    kind: str  # counter | gauge
    help: str
    samples: tuple[Sample, ...]


COUNTER_HELP: Final[dict[str, str]] = {
    "claims": "Jobs this node claimed on chain",
    "jobs_run": "Jobs run and measured",
    "job_failures": "Job runs that failed (workload, spec or meter)",
    "attestations_signed": "Usage records signed (one signature per job)",
    "batch_signatures": "Batch signatures made for settleBatch",
    "settle_transactions": "Settlement transactions mined",
    "jobs_settled": "Jobs settled by this node's transactions",
    "settle_failures": "Settlement attempts the chain refused or that failed",
    "withdrawals": "Withdrawal transactions mined",
    "withdrawn_wei": "Payments withdrawn, in token base units",
    "chain_errors": "Failed attempts to use the Ethereum node",
}


def counter_families(counters: Counters) -> list[Family]:
    """The process counters as counter families (``..._total``)."""
    return [
        Family(
            f"{f.name}_total", "counter", COUNTER_HELP[f.name], (Sample(getattr(counters, f.name)),)
        )
        for f in fields(counters)
    ]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if isinstance(value, int):
        return str(value)
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def render(families: Iterable[Family]) -> str:
    """The Prometheus text format of `families`."""
    lines: list[str] = []
    for family in families:
        name = f"{PREFIX}_{family.name}"
        lines.append(f"# HELP {name} {family.help}")
        lines.append(f"# TYPE {name} {family.kind}")
        for sample in family.samples:
            if sample.labels:
                labels = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(sample.labels.items()))
                lines.append(f"{name}{{{labels}}} {_number(sample.value)}")
            else:
                lines.append(f"{name} {_number(sample.value)}")
    return "\n".join(lines) + "\n"
