"""``jl-oracle selfcheck``: does the meter tell the truth on this machine's real devices?

For each device a real meter finds (NVML GPUs, AMD SMI GPUs, RAPL CPU packages), it runs the
``token-generation`` workload on that device (found by UUID) for at least ``--seconds``
(10 s by default) inside one meter window, and reports the energy counter's delta, the
integral of the power sampled over the same window, their difference in %, the tokens made
and tokens per joule: as a table and as JSON. It needs no download: the workload's weights
are random from a seed, and PyTorch is used when it is installed and sees the GPU.

It is a check for real hardware, never part of ``make test``; `docs/energy-validation.md`
says what to record.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Annotated, Any, Final

import typer
from pydantic import BaseModel
from rich.table import Table

from ..errors import MeterUnavailable, OracleError
from ..metering import REAL_KINDS, GpuInfo, Meter, MeterKindName, select_meter
from ..workloads import TokenGeneration, TokenGenerationInputs, WorkloadContext
from .common import app, err, fail, out, setup_logging

MIN_SECONDS: Final = 10.0
GPU_INPUTS: Final = TokenGenerationInputs.model_validate(
    {"prompt_tokens": 32, "max_new_tokens": 512, "d_model": 1024, "n_heads": 16, "n_layers": 4}
    | {"vocab_size": 8192}
)
CPU_INPUTS: Final = TokenGenerationInputs.model_validate(
    {"prompt_tokens": 16, "max_new_tokens": 128, "d_model": 256, "n_heads": 8, "n_layers": 4}
    | {"device": "cpu"}
)


class DeviceCheck(BaseModel):
    """What one device's window measured."""

    meter_kind: str
    gpu_index: int
    gpu_uuid: str
    name: str
    driver_version: str
    backend: str
    window_s: float
    counter_mj: int
    power_integral_mj: int | None
    difference_pct: float | None
    tokens: int
    tokens_per_joule: float
    notes: tuple[str, ...]


def check_device(
    meter: Meter,
    gpu: GpuInfo,
    seconds: float,
    *,
    clock: Callable[[], float] = time.monotonic,
    workload: TokenGeneration | None = None,
) -> DeviceCheck:
    """Run the workload on `gpu` for at least `seconds` in one window of `meter`.

    Args:
        meter: a real meter (any meter works; tests use the simulated one).
        gpu: one of its devices.
        seconds: how long the workload runs, at least.
        clock: measures `seconds` (monotonic); injectable for tests.
        workload: the token generator (tests pass a cheap one).

    Raises:
        MeterError: the device could not be measured.
        WorkloadError: the workload failed.
    """
    runner = workload or TokenGeneration()
    context = WorkloadContext(gpu_index=gpu.index, gpu_uuid=gpu.uuid, meter_kind=meter.kind)
    inputs = GPU_INPUTS if meter.kind in ("nvml", "amd-smi") else CPU_INPUTS
    tokens, backend, runs = 0, "", 0
    with meter.start(0, gpu_uuid=gpu.uuid) as session:
        start = clock()
        while runs == 0 or clock() - start < seconds:
            produced = runner.run(inputs.model_copy(update={"seed": runs}), context)
            tokens += produced.work_units
            backend = produced.backend
            runs += 1
        reading = session.stop(work_units=tokens)
    integral = reading.power_integral_mj
    counter = reading.energy_mj
    return DeviceCheck(
        meter_kind=reading.meter_kind,
        gpu_index=gpu.index,
        gpu_uuid=gpu.uuid,
        name=gpu.name,
        driver_version=gpu.driver_version,
        backend=backend,
        window_s=reading.gpu_millis / 1000,
        counter_mj=counter,
        power_integral_mj=integral,
        difference_pct=(integral - counter) / counter * 100 if integral and counter else None,
        tokens=tokens,
        tokens_per_joule=tokens / (counter / 1000) if counter else 0.0,
        notes=reading.notes,
    )


def open_real_meters(kinds: tuple[MeterKindName, ...]) -> tuple[list[Meter], list[str]]:
    """Every real meter of `kinds` that works here, and why each other one does not.

    Args:
        kinds: the meter kinds to try.
    """
    meters: list[Meter] = []
    missing: list[str] = []
    for kind in kinds:
        try:
            meters.append(select_meter(kind))
        except MeterUnavailable as exc:
            missing.append(f"{kind}: {exc}")
    return meters, missing


def _table(checks: list[DeviceCheck]) -> Table:
    table = Table(title="selfcheck: energy counter against the power integral, same window")
    for column in ("meter", "GPU", "model", "window s", "counter J", "integral J", "diff %"):
        table.add_column(column)
    for column in ("tokens", "tokens/J", "backend"):
        table.add_column(column)
    for c in checks:
        table.add_row(
            c.meter_kind,
            str(c.gpu_index),
            c.name,
            f"{c.window_s:.2f}",
            f"{c.counter_mj / 1000:.1f}",
            "n/a" if c.power_integral_mj is None else f"{c.power_integral_mj / 1000:.1f}",
            "n/a" if c.difference_pct is None else f"{c.difference_pct:+.1f}",
            str(c.tokens),
            f"{c.tokens_per_joule:.3f}",
            c.backend,
        )
    return table


@app.command("selfcheck")
def selfcheck_command(
    seconds: Annotated[
        float, typer.Option(min=MIN_SECONDS, help="Seconds of work per device (at least 10).")
    ] = MIN_SECONDS,
    tolerance: Annotated[
        float, typer.Option(min=0, help="Largest |difference| in % that passes.")
    ] = 10.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print only the JSON.")] = False,
) -> None:
    """Run a real workload on every device a real meter finds and compare its energy
    counter with the integral of its sampled power (never part of make test).

    \f
    Args:
        seconds: the workload's length on each device.
        tolerance: the largest |difference| in % that passes.
        as_json: print only the JSON.

    Raises:
        typer.Exit: 1 when no real device is found, a device fails, or a difference exceeds
            the tolerance.
    """
    setup_logging("warning")
    meters, missing = open_real_meters(REAL_KINDS)
    if not meters:
        fail(
            MeterUnavailable(
                "selfcheck found no real device to check (it never uses the simulated meter): "
                + " | ".join(missing)
            )
        )
    checks: list[DeviceCheck] = []
    try:
        for meter in meters:
            with meter:
                for gpu in meter.describe():
                    err.print(f"checking {meter.kind} {gpu.index} {gpu.name} for {seconds:g} s")
                    checks.append(check_device(meter, gpu, seconds))
    except (OracleError, OSError) as exc:
        fail(exc)
    report: dict[str, Any] = {
        "checks": [c.model_dump(mode="json") for c in checks],
        "not_found": missing,
        "tolerance_pct": tolerance,
    }
    if not as_json:
        out.print(_table(checks))
    print(json.dumps(report, indent=2))
    if any(c.difference_pct is not None and abs(c.difference_pct) > tolerance for c in checks):
        raise typer.Exit(1)
