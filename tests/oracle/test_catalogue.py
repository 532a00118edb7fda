"""The device catalogue the simulated meter models, and the meter kinds records carry."""

from __future__ import annotations

from pathlib import Path

import pytest
from eth_account import Account

from jouleledger.gpu import GPU_CLASSES
from jouleledger.records import MeterKind
from jouleledger_oracle.attestation import Measurement
from jouleledger_oracle.errors import MeterError
from jouleledger_oracle.metering import SimulatedMeter, auto_order
from jouleledger_oracle.node import OracleNode
from jouleledger_oracle.signer import OracleSigner
from jouleledger_oracle.specs import SpecRegistry
from jouleledger_oracle.store import OracleStore
from jouleledger_oracle.workloads import run_job

from .conftest import SMALL_SPEC
from .fake_chain import FakeChain

REQUIRED = {
    "nvidia-a100": "nvidia",
    "nvidia-h100": "nvidia",
    "nvidia-h200": "nvidia",
    "nvidia-b200": "nvidia",
    "nvidia-l40s": "nvidia",
    "rtx-4090": "nvidia",
    "amd-mi250x": "amd",
    "amd-mi300x": "amd",
    "cpu-x86": "cpu",
}


def test_the_catalogue_has_the_chips_of_every_vendor() -> None:
    assert {name: GPU_CLASSES[name].vendor for name in REQUIRED} == REQUIRED


def test_no_class_shares_a_power_profile_so_none_simulates_another() -> None:
    profiles = [(g.idle_w, g.peak_w, g.tokens_per_second) for g in GPU_CLASSES.values()]
    models = [g.model_name for g in GPU_CLASSES.values()]

    assert len(set(profiles)) == len(profiles)
    assert len(set(models)) == len(models)


@pytest.mark.parametrize("name", sorted(REQUIRED))
def test_each_class_simulates_its_own_model(name: str) -> None:
    meter = SimulatedMeter(name)
    (gpu,) = meter.describe()

    assert meter.profile is GPU_CLASSES[name]
    assert gpu.name == f"{GPU_CLASSES[name].model_name} (simulated)"


def test_auto_tries_the_real_meter_of_the_class_vendor() -> None:
    assert auto_order("nvidia-b200") == ("nvml",)
    assert auto_order("amd-mi250x") == ("amd-smi",)
    assert auto_order("cpu-x86") == ("rapl",)
    assert auto_order("acme-x1") == ("nvml", "amd-smi")


def test_meter_kinds_keep_their_numbers_and_labels() -> None:
    assert [(k.value, k.label) for k in MeterKind] == [
        (0, "simulated"),
        (1, "nvml"),
        (2, "amd-smi"),
        (3, "rapl"),
    ]
    assert MeterKind.from_label("amd_smi") is MeterKind.from_label("AMD-SMI") is MeterKind.AMD_SMI
    with pytest.raises(ValueError, match="known: simulated, nvml, amd-smi, rapl"):
        MeterKind.from_label("zeus")


def test_a_simulated_record_is_signed_as_simulated_and_never_as_a_real_kind(
    tmp_path: Path,
) -> None:
    oracle = OracleSigner(Account.create().key)
    chain = FakeChain(Account.create().address, oracle.address)
    with OracleStore(tmp_path / "node.sqlite") as store:
        node = OracleNode(
            chain=chain,
            store=store,
            meter=SimulatedMeter("amd-mi300x"),
            signer=oracle,
            specs=SpecRegistry(tmp_path / "specs.json"),
        )
        result = run_job(SMALL_SPEC, node.meter, job_id=3)
        measurement = Measurement.from_result(
            result, provider=chain.provider, job_spec_hash=b"\0" * 32, spec_source="default"
        )
        assert measurement.usage_record().meter_kind is MeterKind.SIMULATED
        for real in ("nvml", "amd-smi", "rapl"):
            claimed = Measurement.from_fields(measurement.to_fields() | {"meter_kind": real})
            with pytest.raises(MeterError, match="cannot carry a simulated GPU"):
                node.worker.sign(3, claimed)
        assert store.get_attestation(3) is None
        store.mark_claimed(3)
        store.save_measurement(3, measurement.to_fields())
        node.worker.sign(3, measurement)
        assert store.get_attestation(3) is not None
