"""The node's counters, and their Prometheus exposition through ``prometheus_client``.

Counters count what this process did since it started (Prometheus expects counters to reset
with the process); totals that belong to the store (jobs by state, energy and tokens measured)
are read from it when scraped, so they survive restarts.

Label values are bounded: errors are counted by their class name (``errors_total{error=
"ChainUnavailable"}``), never by their text; the last error's text is shown by ``/health``.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, fields, replace
from typing import Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

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


class NodeMetrics:
    """Thread-safe counters, errors by class, and the last error, updated by the node."""

    def __init__(self) -> None:
        self._counters = Counters()
        self._errors: Counter[str] = Counter()
        self.last_error = ""
        self.last_error_at = 0.0
        self._lock = threading.Lock()

    def add(self, **deltas: int) -> None:
        """Add to counters by name, e.g. ``add(claims=1)``.

        Args:
            **deltas: amounts by counter name (a field of `Counters`).

        Raises:
            AttributeError: a name that is not a counter.
        """
        with self._lock:
            current = self._counters
            self._counters = replace(
                current, **{name: getattr(current, name) + delta for name, delta in deltas.items()}
            )

    def error(self, message: str, at: float, *, kind: str) -> None:
        """Count an error by its kind and remember it as the latest (shown by /health).

        Args:
            message: what went wrong.
            at: unix time.
            kind: a bounded label: the exception's class name, or the stage of a job issue.
        """
        with self._lock:
            self._errors[kind] += 1
            self.last_error = message
            self.last_error_at = at

    def snapshot(self) -> tuple[Counters, str, float]:
        """The counters, the last error and its time, read together."""
        with self._lock:
            return self._counters, self.last_error, self.last_error_at

    def errors_by_kind(self) -> dict[str, int]:
        """How many errors of each kind this process had."""
        with self._lock:
            return dict(self._errors)


Labels = Mapping[str, str]


def family(name: str, kind: str, help: str, samples: Iterable[tuple[float, Labels]]) -> Metric:
    """One metric with its samples, named ``jouleledger_oracle_<name>``.

    Args:
        name: the name without the prefix (a counter's ends in ``_total``).
        kind: ``counter`` or ``gauge``.
        help: what it measures.
        samples: each value with its labels (every sample should use the same label names).

    Raises:
        KeyError: a kind that is neither ``counter`` nor ``gauge``.
    """
    samples = list(samples)
    labels = sorted({key for _, sample_labels in samples for key in sample_labels})
    kinds: dict[str, type[CounterMetricFamily | GaugeMetricFamily]] = {
        "counter": CounterMetricFamily,
        "gauge": GaugeMetricFamily,
    }
    metric = kinds[kind](f"{PREFIX}_{name}", help, labels=labels)
    for value, sample_labels in samples:
        metric.add_metric([sample_labels.get(key, "") for key in labels], value)
    return metric


def single(name: str, kind: str, help: str, value: float, **labels: str) -> Metric:
    """A metric with one sample (see `family`).

    Args:
        name: the name without the prefix.
        kind: ``counter`` or ``gauge``.
        help: what it measures.
        value: its value.
        **labels: its labels.
    """
    return family(name, kind, help, [(value, labels)])


def counter_metrics(counters: Counters) -> list[Metric]:
    """The process counters as counter metrics (``..._total``).

    Args:
        counters: a snapshot of the node's counters.
    """
    return [
        single(f"{f.name}_total", "counter", COUNTER_HELP[f.name], getattr(counters, f.name))
        for f in fields(counters)
    ]


class _Snapshot(Collector):
    def __init__(self, metrics: Iterable[Metric]) -> None:
        self._metrics = list(metrics)

    def collect(self) -> Iterator[Metric]:
        """The metrics, as given."""
        return iter(self._metrics)


def render(metrics: Iterable[Metric]) -> str:
    """The Prometheus text format (0.0.4) of `metrics`, written by ``prometheus_client``.

    Args:
        metrics: built with `family` or `single`.
    """
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Snapshot(metrics))
    return generate_latest(registry).decode()
