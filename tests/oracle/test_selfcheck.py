"""``jl-oracle selfcheck``: its per-device arithmetic (on the simulated meter and a clock the
test moves), and its refusal to run without real hardware. Its real run is on a GPU machine
(docs/energy-validation.md), never in make test."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from jouleledger_oracle.cli import app
from jouleledger_oracle.cli.selfcheck import check_device
from jouleledger_oracle.metering import SimulatedMeter
from jouleledger_oracle.metering import rapl as rapl_module
from jouleledger_oracle.workloads import TokenGeneration, TokenGenerationInputs, WorkloadContext
from jouleledger_oracle.workloads.base import WorkloadOutput

from .conftest import FakeClock


class _TickingWorkload(TokenGeneration):
    """Makes 100 tokens per run and moves the test's clock by 3 s (no real work)."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.runs = 0

    def run(self, inputs: TokenGenerationInputs, context: WorkloadContext) -> WorkloadOutput:
        self.clock.advance(3.0)
        self.runs += 1
        return WorkloadOutput(work_units=100, output=b"", backend=f"fake-{context.gpu_uuid}")


def test_a_device_check_runs_for_the_whole_window_and_compares_counter_and_integral(
    clock: FakeClock,
) -> None:
    meter = SimulatedMeter("nvidia-h100", gpu_count=2, clock=clock)
    gpu = meter.describe()[1]
    workload = _TickingWorkload(clock)

    check = check_device(meter, gpu, 10.0, clock=clock, workload=workload)

    assert workload.runs == 4  # 3 s each until at least 10 s had passed
    assert check.window_s == pytest.approx(12.0)
    assert check.tokens == 400
    assert check.gpu_uuid == gpu.uuid and check.backend == f"fake-{gpu.uuid}"
    assert check.power_integral_mj == check.counter_mj  # the model: integral is the energy
    assert check.difference_pct == 0.0
    assert check.tokens_per_joule == pytest.approx(400 / (check.counter_mj / 1000))


def test_selfcheck_refuses_to_run_without_a_real_device(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)
    monkeypatch.setitem(sys.modules, "amdsmi", None)
    monkeypatch.setattr(rapl_module, "POWERCAP_ROOT", tmp_path)

    result = CliRunner().invoke(app, ["selfcheck"])

    assert result.exit_code == 1
    assert "no real device to check" in result.output
    assert "Traceback" not in result.output


def test_selfcheck_needs_at_least_ten_seconds_per_device() -> None:
    result = CliRunner().invoke(app, ["selfcheck", "--seconds", "2"])

    assert result.exit_code == 2


def test_the_json_report_is_plain_json(clock: FakeClock) -> None:
    meter = SimulatedMeter("cpu-x86", clock=clock)
    check = check_device(
        meter, meter.describe()[0], 10.0, clock=clock, workload=_TickingWorkload(clock)
    )

    assert json.loads(check.model_dump_json())["tokens"] == 400
