"""The simulated meter: deterministic, plausible, and never mistaken for NVML."""

from __future__ import annotations

import sys
from typing import get_args

import pytest

from jouleledger.eip712.records import MeterKind
from jouleledger.gpu import GPU_CLASSES, KNOWN_CLASSES
from jouleledger_oracle.errors import ConfigError, NoGpuProfile
from jouleledger_oracle.metering import (
    MeterKindName,
    Reading,
    SimulatedMeter,
    record_meter_kind,
    select_meter,
)

from .conftest import FakeClock


def measure(
    seed: int,
    *,
    seconds: float = 3.0,
    work_units: int | None = None,
    gpu_class: str = "nvidia-h100",
) -> Reading:
    clock = FakeClock()
    meter = SimulatedMeter(gpu_class, seed=seed, clock=clock)
    session = meter.start(9)
    clock.advance(seconds)
    return session.stop(work_units=work_units)


def test_same_seed_gives_identical_readings() -> None:
    assert measure(seed=11) == measure(seed=11)
    assert measure(seed=11, work_units=500) == measure(seed=11, work_units=500)


def test_different_seed_gives_different_readings() -> None:
    first, second = measure(seed=11), measure(seed=12)

    assert first.energy_mj != second.energy_mj
    assert first.power_samples != second.power_samples


@pytest.mark.parametrize("real_kind", ["nvml", "amd-smi", "rapl"])
def test_simulated_readings_say_so_and_never_claim_a_real_meter_kind(real_kind: str) -> None:
    reading = measure(seed=1)

    assert reading.meter_kind == "simulated"
    assert reading.energy_source == "model"
    assert reading.gpu_uuid.startswith("SIM-")
    assert any("not measured on a GPU" in note for note in reading.notes)
    with pytest.raises(ValueError, match=f"measured \\({real_kind}\\) reading cannot carry"):
        Reading.model_validate({**reading.model_dump(), "meter_kind": real_kind})
    with pytest.raises(ValueError, match="cannot carry a simulated GPU or model energy"):
        Reading.model_validate(
            {**reading.model_dump(), "meter_kind": real_kind, "energy_source": "counter"}
        )


def test_simulated_gpus_describe_themselves_as_simulated() -> None:
    (gpu,) = SimulatedMeter("rtx-4090").describe()

    assert gpu.driver_version == "simulated"
    assert gpu.name.endswith("(simulated)")
    assert gpu.uuid.startswith("SIM-")


def test_energy_is_power_curve_times_time_between_idle_and_peak() -> None:
    profile = GPU_CLASSES["nvidia-l40s"]
    reading = measure(seed=5, seconds=10.0, gpu_class="nvidia-l40s")

    assert profile.idle_w * 10_000 <= reading.energy_mj <= profile.peak_w * 10_000
    assert reading.gpu_millis == 10_000
    assert len(reading.power_samples) == 100  # one every 100 ms of virtual time
    assert not reading.coarse


def test_more_reported_work_models_more_utilisation_and_energy() -> None:
    light = measure(seed=2, work_units=300)  # 100 tokens/s of an H100's 3000
    heavy = measure(seed=2, work_units=9000)  # 3000 tokens/s: flat out

    assert light.energy_mj < heavy.energy_mj
    assert max(s.gpu_pct for s in light.utilisation_samples) < 30


def test_short_simulated_window_is_flagged_coarse() -> None:
    assert measure(seed=1, seconds=0.3).coarse


def test_long_windows_keep_a_bounded_number_of_samples() -> None:
    reading = measure(seed=1, seconds=3600.0)

    assert len(reading.power_samples) <= 1000
    assert reading.gpu_millis == 3_600_000


def test_every_catalogue_class_has_a_simulated_profile() -> None:
    for name in KNOWN_CLASSES:
        (gpu,) = SimulatedMeter(name).describe()
        assert gpu.name.endswith("(simulated)")
        assert measure(seed=1, gpu_class=name).notes[0].startswith(f"simulated {name} ")


def test_an_h200_is_simulated_as_an_h200_not_an_h100() -> None:
    assert SimulatedMeter("nvidia-h200").describe()[0].name == "NVIDIA H200 (simulated)"
    work = 9_000  # tokens in 3 s: an H100 flat out, an H200 with room to spare
    h200 = measure(seed=4, work_units=work, gpu_class="nvidia-h200")
    h100 = measure(seed=4, work_units=work, gpu_class="nvidia-h100")
    assert h200.gpu_uuid != h100.gpu_uuid
    assert h200.energy_mj < h100.energy_mj


def test_unknown_gpu_class_lists_the_known_ones() -> None:
    with pytest.raises(NoGpuProfile, match=", ".join(sorted(KNOWN_CLASSES))) as raised:
        SimulatedMeter("tpu-v5")
    assert isinstance(raised.value, ConfigError)
    with pytest.raises(NoGpuProfile, match="did you mean nvidia-h200"):
        select_meter("simulated", gpu_class="nvidia-h20")


def test_simulated_kind_is_chosen_without_touching_nvml(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)

    assert isinstance(select_meter("simulated", gpu_class="nvidia-a100"), SimulatedMeter)


def test_reading_meter_kinds_are_the_sdk_record_kinds_by_name() -> None:
    kinds = set(get_args(MeterKindName))

    assert kinds == {kind.label for kind in MeterKind}
    assert {record_meter_kind(kind) for kind in kinds} == set(MeterKind)
    assert (MeterKind.SIMULATED, MeterKind.NVML) == (0, 1)  # signed into records: fixed
