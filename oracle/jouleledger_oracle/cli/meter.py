"""``jl-oracle meter``: what the meter sees, for a provider checking its setup."""

from __future__ import annotations

import json
import time
from enum import StrEnum
from typing import Annotated, Any

import typer
from rich.table import Table

from ..errors import OracleError
from ..metering import Meter, MeterSession, Reading, select_meter
from .common import app, fail, out, setup_logging


class MeterOption(StrEnum):
    """The ``--meter`` choices."""

    auto = "auto"
    nvml = "nvml"
    amd_smi = "amd-smi"
    rapl = "rapl"
    simulated = "simulated"


@app.command("meter")
def meter_command(
    meter: Annotated[MeterOption, typer.Option(help="Which meter to use.")] = MeterOption.auto,
    seconds: Annotated[
        float, typer.Option(min=0.2, max=60, help="Length of the sample window.")
    ] = 1.5,
    gpu_class: Annotated[
        str, typer.Option(help="The simulated meter's GPU class.")
    ] = "nvidia-h100",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of tables.")] = False,
) -> None:
    """Show what the meter sees: GPUs, model, driver, UUID, and a short energy sample.

    \f
    Args:
        meter: which meter to use.
        seconds: the length of the sample window.
        gpu_class: the simulated meter's GPU class.
        as_json: print JSON instead of tables.

    Raises:
        typer.Exit: 1 when the meter fails, 2 for bad configuration.
    """
    setup_logging("warning")
    try:
        with select_meter(meter.value, gpu_class=gpu_class) as chosen:
            gpus, readings = _sample(chosen, seconds)
    except (OracleError, OSError) as exc:
        fail(exc)
    simulated = chosen.kind == "simulated"
    if as_json:
        print(
            json.dumps(
                {
                    "meter_kind": chosen.kind,
                    "simulated": simulated,
                    "gpus": [gpu.model_dump(mode="json") for gpu in gpus],
                    "samples": [_sample_view(r) | {"gpu_index": r.gpu_index} for r in readings],
                },
                indent=2,
            )
        )
        return
    if simulated:
        out.print(
            "[bold yellow]SIMULATED METER[/]: no device was measured (why: see the log on "
            "stderr). Numbers come from a power model; records from it say "
            "meter_kind=simulated.",
            highlight=False,
        )
    else:
        out.print(f"[bold green]{chosen.kind}[/]: real energy counters.", highlight=False)
    table = Table(title=f"GPUs ({chosen.kind})")
    for column in ("index", "model", "driver", "UUID"):
        table.add_column(column)
    for gpu in gpus:
        table.add_row(str(gpu.index), gpu.name, gpu.driver_version, gpu.uuid)
    out.print(table)
    sample = Table(title=f"{seconds:g} s sample")
    for column in (
        "GPU",
        "window ms",
        "energy mJ",
        "source",
        "power integral mJ",
        "mean W",
        "samples",
    ):
        sample.add_column(column)
    for reading in readings:
        view = _sample_view(reading)
        sample.add_row(
            str(reading.gpu_index),
            str(view["window_ms"]),
            str(view["energy_mj"]),
            str(view["energy_source"]),
            str(view["power_integral_mj"]),
            f"{view['mean_power_w']:.1f}",
            str(view["power_samples"]),
        )
    out.print(sample)
    for reading in readings:
        for note in reading.notes:
            out.print(f"GPU {reading.gpu_index}: {note}", highlight=False)


def _sample(meter: Meter, seconds: float) -> tuple[list[Any], list[Reading]]:
    """Measure every GPU over one window of `seconds` (sessions run side by side)."""
    gpus = meter.describe()
    sessions: list[MeterSession] = []
    try:
        for gpu in gpus:
            sessions.append(meter.start(0, gpu_uuid=gpu.uuid))
        time.sleep(seconds)
        return gpus, [session.stop() for session in sessions]
    finally:
        for session in sessions:
            session.abort()


def _sample_view(reading: Reading) -> dict[str, Any]:
    window_s = reading.gpu_millis / 1000
    return {
        "window_ms": reading.gpu_millis,
        "energy_mj": reading.energy_mj,
        "energy_source": reading.energy_source,
        "power_integral_mj": reading.power_integral_mj,
        "mean_power_w": reading.energy_mj / 1000 / window_s if window_s else 0.0,
        "power_samples": len(reading.power_samples),
        "coarse": reading.coarse,
    }
