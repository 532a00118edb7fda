"""The GPU catalogue: the one list of classes, each with its simulated power model."""

from __future__ import annotations

import pytest

from jouleledger.errors import JouleLedgerError
from jouleledger.gpu import (
    GPU_CLASSES,
    KNOWN_CLASSES,
    UnknownGpuClass,
    gpu_class,
    gpu_class_id,
    gpu_class_name,
)


def test_every_class_has_a_plausible_power_model_and_its_own_id() -> None:
    assert tuple(GPU_CLASSES) == KNOWN_CLASSES
    assert "nvidia-h200" in KNOWN_CLASSES
    for name, gpu in GPU_CLASSES.items():
        assert gpu.name == name == name.strip().lower()
        assert 0 < gpu.idle_w < gpu.peak_w and gpu.tokens_per_second > 0
        assert gpu.class_id == gpu_class_id(name) and gpu_class_name(gpu.class_id) == name
    assert len({gpu.class_id for gpu in GPU_CLASSES.values()}) == len(GPU_CLASSES)


def test_a_class_is_found_by_name_and_an_unknown_one_suggests_a_known_one() -> None:
    assert gpu_class(" NVIDIA-H200 ") is GPU_CLASSES["nvidia-h200"]
    with pytest.raises(UnknownGpuClass, match="did you mean nvidia-l40s") as raised:
        gpu_class("nvidia-l40")
    assert isinstance(raised.value, JouleLedgerError) and isinstance(raised.value, ValueError)
    assert "rtx-4090" in str(raised.value)


def test_an_unknown_class_id_reads_as_its_hex() -> None:
    assert gpu_class_name(gpu_class_id("acme-x1")) == "0x" + gpu_class_id("acme-x1").hex()
