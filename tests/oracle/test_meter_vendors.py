"""What the GPU meters of every vendor (NVML, AMD SMI) do alike when they cannot meter: the
vendor library is shut down before `MeterUnavailable` reaches the caller, who never gets a
meter to close. Each test runs once per vendor, against that vendor's fake library."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from jouleledger_oracle.errors import MeterUnavailable
from jouleledger_oracle.metering import AmdSmiMeter, CounterMeter, NvmlMeter

from .conftest import FakeClock, on_fake_clock
from .fake_devices import FakeAmdSmi, FakeNvml

MIG_SLICE = "MIG-4f1c0e2a-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Vendor:
    """A vendor's meter, the fixture that fakes its library, and its visibility variable."""

    meter: type[CounterMeter]
    fake_fixture: str
    visible_variable: str


VENDORS = {
    "nvml": Vendor(NvmlMeter, "fake_nvml", "CUDA_VISIBLE_DEVICES"),
    "amd-smi": Vendor(AmdSmiMeter, "fake_amdsmi", "HIP_VISIBLE_DEVICES"),
}


@pytest.fixture(params=list(VENDORS.values()), ids=list(VENDORS))
def vendor(request: pytest.FixtureRequest) -> Vendor:
    vendor: Vendor = request.param
    return vendor


@pytest.fixture
def fake(request: pytest.FixtureRequest, vendor: Vendor) -> FakeNvml | FakeAmdSmi:
    """The vendor's fake library, installed for the test."""
    library: FakeNvml | FakeAmdSmi = request.getfixturevalue(vendor.fake_fixture)
    return library


def test_no_gpu_is_unavailable_and_the_library_shut_down(
    vendor: Vendor, fake: FakeNvml | FakeAmdSmi, clock: FakeClock
) -> None:
    fake.gpus = []

    with pytest.raises(MeterUnavailable, match="found no GPU"):
        on_fake_clock(vendor.meter, clock, environ={})
    assert fake.shutdowns == 1


@pytest.mark.parametrize(("visible", "why"), [("", "hides every GPU"), (MIG_SLICE, "MIG slice")])
def test_a_visible_list_that_leaves_no_gpu_is_unavailable_and_the_library_shut_down(
    vendor: Vendor, fake: FakeNvml | FakeAmdSmi, clock: FakeClock, visible: str, why: str
) -> None:
    with pytest.raises(MeterUnavailable, match=why):
        on_fake_clock(vendor.meter, clock, environ={vendor.visible_variable: visible})
    assert fake.shutdowns == 1
