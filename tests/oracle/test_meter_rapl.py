"""The RAPL meter, against a fake powercap tree in a temporary folder (these VMs have none)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from jouleledger_oracle.errors import MeterError, MeterUnavailable
from jouleledger_oracle.metering import RaplMeter, select_meter
from jouleledger_oracle.metering import rapl as rapl_module

from .conftest import FakeClock, on_fake_clock
from .fake_devices import Powercap

PACKAGE = "intel-rapl:0"
DRAM = "intel-rapl:0/intel-rapl:0:1"


def meter(powercap: Powercap, clock: FakeClock) -> RaplMeter:
    return on_fake_clock(RaplMeter, clock, root=powercap.root, cpuinfo=powercap.root / "none")


def test_energy_is_package_plus_dram(powercap: Powercap, clock: FakeClock) -> None:
    with meter(powercap, clock) as rapl:
        (cpu,) = rapl.describe()  # psys is skipped: it overlaps the package
        session = rapl.start(1)
        clock.advance(2.0)
        powercap.set(PACKAGE, powercap.read(PACKAGE) + 90_000_000)  # 90 J
        powercap.set(DRAM, powercap.read(DRAM) + 10_000_000)  # 10 J
        reading = session.stop()

    assert reading.meter_kind == "rapl"
    assert reading.energy_mj == 100_000
    assert reading.power_integral_mj is None  # RAPL has no separate power reading
    assert reading.notes == ()  # unsupported readouts are not failures
    assert cpu.uuid.startswith("CPU-") and "package-0 + dram" in cpu.name


def test_wrap_around_is_undone_from_max_energy_range_uj(tmp_path: Path, clock: FakeClock) -> None:
    powercap = Powercap(tmp_path, max_range_uj=1_000_000_000)  # wraps every 1 kJ
    powercap.set(PACKAGE, 990_000_000)
    with meter(powercap, clock) as rapl:
        session = rapl.start(1)
        for _ in range(3):  # 3 x 20 J, wrapping once; the sampler sees each step
            clock.advance(1.0)
            powercap.set(PACKAGE, powercap.read(PACKAGE) + 20_000_000)
            session.sample_now()  # type: ignore[attr-defined]
        assert powercap.read(PACKAGE) < 990_000_000  # the raw counter did wrap
        reading = session.stop()

    assert reading.energy_mj == 60_000
    assert not reading.counter_reset


def test_root_only_energy_files_give_a_clear_error(
    powercap: Powercap, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_read_text = Path.read_text

    def root_only(path: Path, *args: object, **kwargs: object) -> str:
        if path.name == "energy_uj":  # as on Linux >= 5.10 for a non-root user
            raise PermissionError(13, "Permission denied", str(path))
        return real_read_text(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", root_only)
    with pytest.raises(MeterUnavailable, match="readable by root only") as raised:
        meter(powercap, clock)
    assert "run the oracle as root" in str(raised.value)


def test_a_zone_without_max_energy_range_is_refused(powercap: Powercap, clock: FakeClock) -> None:
    (powercap.root / PACKAGE / "max_energy_range_uj").unlink()

    with pytest.raises(MeterUnavailable, match="wrap-around cannot be undone"):
        meter(powercap, clock)


def test_no_rapl_zone_is_unavailable(tmp_path: Path, clock: FakeClock) -> None:
    with pytest.raises(MeterUnavailable, match="no RAPL package zone"):
        RaplMeter(root=tmp_path, sample_interval_s=None, clock=clock)


def test_a_package_whose_files_vanish_mid_job_is_refused(
    powercap: Powercap, clock: FakeClock
) -> None:
    with meter(powercap, clock) as rapl:
        session = rapl.start(1)
        clock.advance(2.0)
        (powercap.root / DRAM / "energy_uj").unlink()
        with pytest.raises(MeterError, match="cannot be attested"):
            session.stop()


def test_auto_uses_rapl_for_the_cpu_class_and_never_for_a_gpu_class(
    powercap: Powercap, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rapl_module, "POWERCAP_ROOT", powercap.root)

    with select_meter("auto", gpu_class="cpu-x86", clock=clock) as chosen:
        assert isinstance(chosen, RaplMeter)
    monkeypatch.setitem(sys.modules, "pynvml", None)  # no NVIDIA GPU: simulated, not RAPL
    assert select_meter("auto", gpu_class="nvidia-h100", clock=clock).kind == "simulated"
