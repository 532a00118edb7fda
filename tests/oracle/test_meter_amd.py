"""The AMD SMI meter, against a fake ``amdsmi`` (CI has no AMD GPU, nor ROCm)."""

from __future__ import annotations

import sys

import pytest

from jouleledger_oracle.errors import MeterError, MeterUnavailable
from jouleledger_oracle.metering import AmdSmiMeter, CounterWentBackwards, Reading, select_meter
from jouleledger_oracle.metering.base import gpu_id_hash

from .conftest import FakeClock, on_fake_clock
from .fake_devices import (
    AMDSMI_STATUS_DRIVER_NOT_LOADED,
    AMDSMI_STATUS_NOT_SUPPORTED,
    AmdSmiLibraryException,
    FakeAmdGpu,
    FakeAmdSmi,
)

WATTS_500_MJ_PER_S = 500_000


def meter(clock: FakeClock, **options: object) -> AmdSmiMeter:
    return on_fake_clock(AmdSmiMeter, clock, **({"environ": {}} | options))


def measure(clock: FakeClock, seconds: float) -> Reading:
    """Job 4, whose work takes `seconds`, on a fresh meter."""
    amd = meter(clock)
    try:
        session = amd.start(4)
        clock.advance(seconds)
        return session.stop()
    finally:
        amd.close()


def test_energy_is_the_accumulator_times_its_resolution_in_millijoules(
    fake_amdsmi: FakeAmdSmi, clock: FakeClock
) -> None:
    reading = measure(clock, 5.0)

    assert reading.meter_kind == "amd-smi"
    assert reading.energy_source == "counter"
    assert reading.energy_mj == pytest.approx(5 * WATTS_500_MJ_PER_S, abs=1)
    assert reading.power_integral_mj == 5 * WATTS_500_MJ_PER_S
    assert {(s.gpu_pct, s.memory_pct) for s in reading.utilisation_samples} == {(88, 35)}
    assert reading.gpu_uuid == "GPU-8aff740f-0000-1000-80ea-9e1d5a1b6c9c"
    assert reading.gpu_id_hash == gpu_id_hash(reading.gpu_uuid)


def test_rocm_before_6_2_names_the_accumulator_power(
    fake_amdsmi: FakeAmdSmi, clock: FakeClock
) -> None:
    fake_amdsmi.gpus[0].old_api = True

    assert measure(clock, 2.0).energy_mj == pytest.approx(2 * WATTS_500_MJ_PER_S, abs=1)


def test_describe_names_the_model_and_the_driver(fake_amdsmi: FakeAmdSmi, clock: FakeClock) -> None:
    with meter(clock) as amd:
        (gpu,) = amd.describe()

    assert (gpu.name, gpu.driver_version) == ("AMD Instinct MI300X", "6.8.5")


def test_missing_amdsmi_says_rocm_is_needed(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    monkeypatch.setitem(sys.modules, "amdsmi", None)  # import amdsmi -> ImportError

    with pytest.raises(MeterUnavailable, match="needs ROCm") as raised:
        meter(clock)
    assert "pip install amdsmi" in str(raised.value)
    assert "--meter simulated" in str(raised.value)


def test_driver_not_loaded_is_unavailable_with_the_status_name(
    fake_amdsmi: FakeAmdSmi, clock: FakeClock
) -> None:
    fake_amdsmi.init_error = AMDSMI_STATUS_DRIVER_NOT_LOADED

    with pytest.raises(MeterUnavailable, match="AMDSMI_STATUS_DRIVER_NOT_LOADED"):
        meter(clock)


def test_a_die_without_an_energy_counter_is_refused(
    fake_amdsmi: FakeAmdSmi, clock: FakeClock
) -> None:
    def unsupported(t: float) -> int:
        raise AmdSmiLibraryException(AMDSMI_STATUS_NOT_SUPPORTED)

    fake_amdsmi.gpus = [FakeAmdGpu(market_name="AMD Instinct MI250X", accumulator=unsupported)]
    with meter(clock) as amd, pytest.raises(MeterUnavailable, match="MI250X only the even die"):
        amd.start(1)


def test_a_gpu_that_disappears_mid_job_is_refused_and_freed(
    fake_amdsmi: FakeAmdSmi, clock: FakeClock
) -> None:
    with meter(clock) as amd:
        session = amd.start(1)
        clock.advance(2.0)
        fake_amdsmi.gpus[0].lost = True
        with pytest.raises(MeterError, match=r"AMDSMI_STATUS_NOT_FOUND.*cannot be attested"):
            session.stop()
        fake_amdsmi.gpus[0].lost = False
        amd.start(2).abort()


def test_an_accumulator_reset_refuses_the_window(fake_amdsmi: FakeAmdSmi, clock: FakeClock) -> None:
    start = clock()
    fake_amdsmi.gpus[0].accumulator = lambda t: 10**9 if t < start + 1 else 10

    with meter(clock) as amd:
        session = amd.start(1)
        clock.advance(3.0)
        with pytest.raises(CounterWentBackwards):
            session.stop()


def test_hip_visible_devices_picks_gpus_by_index_or_uuid(
    fake_amdsmi: FakeAmdSmi, clock: FakeClock
) -> None:
    fake_amdsmi.gpus = [
        FakeAmdGpu(uuid=f"{n}aff740f-0000-1000-80ea-9e1d5a1b6c9c") for n in range(4)
    ]

    with meter(clock, environ={"HIP_VISIBLE_DEVICES": "3,GPU-1aff"}) as amd:
        listed = [(g.index, g.uuid[:8]) for g in amd.describe()]

    assert listed == [(3, "GPU-3aff"), (1, "GPU-1aff")]


def test_auto_uses_amd_smi_for_an_amd_class(
    fake_amdsmi: FakeAmdSmi, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("HIP_VISIBLE_DEVICES", raising=False)
    monkeypatch.delenv("CUDA_VISIBLE_DEVICES", raising=False)

    with select_meter("auto", gpu_class="amd-mi300x", clock=clock) as chosen:
        assert isinstance(chosen, AmdSmiMeter)
