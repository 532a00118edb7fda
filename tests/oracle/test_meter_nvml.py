"""The NVML meter, against a fake ``pynvml`` (CI has no GPU)."""

from __future__ import annotations

import logging
import sys
import threading

import pytest
from eth_utils.crypto import keccak

from jouleledger_oracle.errors import ConfigError, MeterError, MeterUnavailable, OracleError
from jouleledger_oracle.metering import (
    CounterWentBackwards,
    NvmlMeter,
    Reading,
    SimulatedMeter,
    WindowTooShort,
    select_meter,
)

from .conftest import (
    FakeClock,
    FakeNvml,
    NVMLError_DriverNotLoaded,
    NVMLError_GpuIsLost,
    NVMLError_LibraryNotFound,
    NVMLError_NotSupported,
    on_fake_clock,
)

WATTS_300_MJ_PER_S = 300_000


def meter(clock: FakeClock, **options: object) -> NvmlMeter:
    return on_fake_clock(NvmlMeter, clock, **options)


def measure(clock: FakeClock, job_id: int, seconds: float, **options: object) -> Reading:
    """One job whose work takes `seconds` on a fresh meter, without a sampler thread."""
    with meter(clock, **options) as nvml:
        session = nvml.start(job_id)
        clock.advance(seconds)
        return session.stop()


def reset_counter_after_one_second(fake_nvml: FakeNvml, clock: FakeClock) -> None:
    """The counter reads 9 kJ, then restarts from 500 J a second into the window."""
    start = clock()
    fake_nvml.gpus[0].counter = lambda t: 9_000_000 if t < start + 1 else 500_000


def sampler_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("jouleledger-meter-sampler")]


def test_energy_is_the_counter_delta_over_the_window(fake_nvml: FakeNvml, clock: FakeClock) -> None:
    reading = measure(clock, 42, 5.0)

    assert reading.meter_kind == "nvml"
    assert reading.job_id == 42
    assert reading.energy_source == "counter"
    assert reading.energy_mj == 5 * WATTS_300_MJ_PER_S
    assert reading.gpu_millis == reading.work_millis == 5000
    assert (reading.start_time, reading.end_time) == (1_700_000_000, 1_700_000_005)
    assert reading.power_integral_mj == 5 * WATTS_300_MJ_PER_S
    assert not reading.coarse
    assert not reading.counter_reset


def test_energy_follows_the_counter_not_the_power_samples(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    start = clock()
    fake_nvml.gpus[0].counter = lambda t: 1_000_000 + round((t - start) * 200_000)

    reading = measure(clock, 1, 10.0)

    assert reading.energy_mj == 2_000_000  # counter: 200 W, power samples said 300 W
    assert reading.power_integral_mj == 3_000_000
    assert any("differs from the counter delta" in note for note in reading.notes)


def test_counter_reset_refuses_the_window_instead_of_signing_a_bridged_delta(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    reset_counter_after_one_second(fake_nvml, clock)

    with meter(clock) as nvml:
        session = nvml.start(7)
        clock.advance(5.0)
        with pytest.raises(CounterWentBackwards, match="measured again") as raised:
            session.stop()
        assert isinstance(raised.value, MeterError)  # the worker retries: re-measured
        nvml.start(8).abort()  # the GPU was released


def test_counter_reset_is_caught_by_samples_even_when_the_end_exceeds_the_start(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    start = clock()
    reset_at = start + 1.5

    def counter(t: float) -> int:
        if t < reset_at:
            return 1_000 + round((t - start) * WATTS_300_MJ_PER_S)
        return round((t - reset_at) * WATTS_300_MJ_PER_S)

    fake_nvml.gpus[0].counter = counter
    with meter(clock) as nvml:
        session = nvml.start(3)
        clock.advance(1.0)
        session.sample_now()  # type: ignore[attr-defined]
        clock.advance(1.0)
        session.sample_now()  # type: ignore[attr-defined]  # after the reset: went backwards
        clock.advance(3.0)
        assert counter(clock()) > counter(start)  # a plain end - start would look fine
        with pytest.raises(CounterWentBackwards, match="went backwards 1 time"):
            session.stop()


def test_a_window_shorter_than_the_counter_update_period_is_refused(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    with meter(clock, widen_short_windows=False) as nvml:
        session = nvml.start(5)
        clock.advance(0.05)
        with pytest.raises(WindowTooShort, match="shorter than the NVML counter's update period"):
            session.stop()


def test_short_window_is_widened_until_the_counter_has_advanced(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    reading = measure(clock, 5, 0.2)

    assert clock.slept == [pytest.approx(0.8)]
    assert reading.work_millis == 200
    assert reading.gpu_millis == 1000
    assert reading.energy_mj == WATTS_300_MJ_PER_S
    assert not reading.coarse
    assert any("widened from 200 ms to 1000 ms" in note for note in reading.notes)


def test_short_window_is_flagged_coarse_when_widening_is_off(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    reading = measure(clock, 5, 0.2, widen_short_windows=False)

    assert clock.slept == []
    assert reading.coarse
    assert reading.gpu_millis == 200
    assert reading.energy_mj == 2 * WATTS_300_MJ_PER_S // 10


def test_window_is_flagged_coarse_when_the_counter_never_advances(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    fake_nvml.gpus[0].counter = lambda t: 1_234_567

    reading = measure(clock, 5, 0.1, max_widen_s=2.0)

    assert reading.coarse
    assert reading.energy_mj == 0
    assert reading.gpu_millis == pytest.approx(2000, abs=1)
    assert any("did not advance within 2 s" in note for note in reading.notes)


def test_missing_driver_raises_meter_unavailable_that_says_what_to_do(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    fake_nvml.init_error = NVMLError_LibraryNotFound

    with pytest.raises(MeterUnavailable) as raised:
        meter(clock)

    message = str(raised.value)
    assert "Install the NVIDIA driver" in message
    assert "--meter simulated" in message
    assert isinstance(raised.value, OracleError)
    assert isinstance(raised.value, RuntimeError)


def test_any_nvml_init_error_becomes_meter_unavailable(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    fake_nvml.init_error = NVMLError_DriverNotLoaded

    with pytest.raises(MeterUnavailable, match="--meter simulated"):
        meter(clock)


def test_missing_nvidia_ml_py_raises_meter_unavailable(
    monkeypatch: pytest.MonkeyPatch, clock: FakeClock
) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml -> ImportError

    with pytest.raises(MeterUnavailable, match="nvidia-ml-py"):
        meter(clock)


def test_gpu_without_energy_counter_is_unavailable(fake_nvml: FakeNvml, clock: FakeClock) -> None:
    def unsupported(t: float) -> int:
        raise NVMLError_NotSupported()

    fake_nvml.gpus[0].counter = unsupported
    with meter(clock) as nvml:
        with pytest.raises(MeterUnavailable, match="Volta"):
            nvml.start(1)
        fake_nvml.gpus[0].counter = None
        nvml.start(1).stop()  # the GPU was released


def test_gpu_lost_during_a_job_raises_meter_error_and_frees_the_gpu(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    def lost(t: float) -> int:
        raise NVMLError_GpuIsLost()

    with meter(clock) as nvml:
        session = nvml.start(1)
        clock.advance(2.0)
        fake_nvml.gpus[0].counter = lost
        with pytest.raises(MeterError, match="cannot be attested"):
            session.stop()
        fake_nvml.gpus[0].counter = None
        nvml.start(2).abort()


def test_describe_lists_uuid_model_driver_and_index(fake_nvml: FakeNvml, clock: FakeClock) -> None:
    with meter(clock) as nvml:
        (gpu,) = nvml.describe()

    assert gpu.index == 0
    assert gpu.uuid == "GPU-6b1d54c4-7f3a-4a2e-9d1b-2c8e0f3a9b71"
    assert gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.driver_version == "550.54.15"
    assert gpu.gpu_id_hash == "0x" + keccak(text=gpu.uuid).hex()


def test_reading_carries_the_keccak_of_the_gpu_uuid(fake_nvml: FakeNvml, clock: FakeClock) -> None:
    reading = measure(clock, 1, 1.0)

    assert reading.gpu_uuid == fake_nvml.gpus[0].uuid
    assert reading.gpu_id_hash == "0x" + keccak(fake_nvml.gpus[0].uuid.encode()).hex()


def test_background_sampler_records_power_and_utilisation(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    with meter(clock, sample_interval_s=0.001) as nvml:
        session = nvml.start(1)
        assert fake_nvml.power_read_event.wait(timeout=10), "sampler thread took no samples"
        clock.advance(2.0)
        reading = session.stop()

    assert sampler_threads() == []
    assert len(reading.power_samples) >= 3  # start, at least two ticks, stop
    assert {sample.power_mw for sample in reading.power_samples} == {300_000}
    assert {(s.gpu_pct, s.memory_pct) for s in reading.utilisation_samples} == {(97, 41)}


def test_samples_are_thinned_but_the_integral_uses_all_of_them(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    with meter(clock, max_samples=8) as nvml:
        session = nvml.start(1)
        for _ in range(100):
            clock.advance(0.1)
            session.sample_now()  # type: ignore[attr-defined]
        reading = session.stop()

    assert len(reading.power_samples) < 8
    assert reading.power_integral_mj == pytest.approx(10 * WATTS_300_MJ_PER_S, abs=10)


def test_a_failing_job_aborts_its_session_and_frees_the_gpu(
    fake_nvml: FakeNvml, clock: FakeClock
) -> None:
    with meter(clock, sample_interval_s=0.001) as nvml:
        with pytest.raises(ZeroDivisionError), nvml.start(1):
            _ = 1 / 0
        assert sampler_threads() == []
        nvml.start(2).abort()


def test_jobs_on_one_gpu_must_not_overlap(fake_nvml: FakeNvml, clock: FakeClock) -> None:
    with meter(clock) as nvml:
        first = nvml.start(1)
        with pytest.raises(MeterError, match="already measuring"):
            nvml.start(2)
        clock.advance(1.0)
        first.stop()
        with pytest.raises(MeterError, match="already closed"):
            first.stop()
        nvml.start(2).abort()


def test_unknown_gpu_index_is_refused(fake_nvml: FakeNvml, clock: FakeClock) -> None:
    with meter(clock) as nvml, pytest.raises(MeterError, match="no GPU with index 3"):
        nvml.start(1, gpu_index=3)


def test_nvml_readings_cannot_carry_a_simulated_gpu(fake_nvml: FakeNvml, clock: FakeClock) -> None:
    with meter(clock) as nvml:
        session = nvml.start(1)
        clock.advance(1.0)
        fields = session.stop().model_dump()

    with pytest.raises(ValueError, match="simulated"):
        Reading.model_validate({**fields, "meter_kind": "simulated"})


def test_auto_selects_nvml_when_a_gpu_is_found(
    fake_nvml: FakeNvml, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="jouleledger_oracle.metering"):
        chosen = select_meter("auto", clock=clock)

    assert isinstance(chosen, NvmlMeter)
    assert "nvml on 1 device(s)" in caplog.text
    chosen.close()


def test_auto_falls_back_to_simulated_and_logs_why(
    fake_nvml: FakeNvml, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    fake_nvml.init_error = NVMLError_LibraryNotFound

    with caplog.at_level(logging.INFO, logger="jouleledger_oracle.metering"):
        chosen = select_meter("auto", gpu_class="nvidia-a100", seed=3, clock=clock)

    assert isinstance(chosen, SimulatedMeter)
    assert chosen.profile.name == "nvidia-a100"
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert "using the simulated meter" in warning.getMessage()
    assert "Install the NVIDIA driver" in warning.getMessage()


def test_nvml_kind_raises_when_nvml_does_not_work(fake_nvml: FakeNvml, clock: FakeClock) -> None:
    fake_nvml.init_error = NVMLError_LibraryNotFound

    with pytest.raises(MeterUnavailable, match="Install the NVIDIA driver"):
        select_meter("nvml", clock=clock)


def test_unknown_meter_kind_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="auto, nvml, amd-smi, rapl, simulated"):
        select_meter("gpu")  # type: ignore[arg-type]
