"""The ABI and bytecode shipped in the SDK are exactly what the sources compile to."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import build_contracts
import pytest

from jouleledger import ArtifactError, available_artifacts, load_artifact

pytestmark = pytest.mark.slow


def test_shipped_artifacts_match_a_fresh_compile() -> None:
    assert build_contracts.check() == []


def test_check_reports_an_artifact_that_differs(tmp_path: Path) -> None:
    shutil.copytree(build_contracts.ARTIFACTS_DIR, tmp_path, dirs_exist_ok=True)
    token = tmp_path / "ComputePowerToken.json"
    data = json.loads(token.read_text())
    data["bytecode"] = data["bytecode"][:-2] + "00"
    token.write_text(json.dumps(data))
    assert build_contracts.check(tmp_path) == ["ComputePowerToken.json"]


def test_build_skips_when_inputs_are_unchanged(tmp_path: Path) -> None:
    assert build_contracts.build(out_dir=tmp_path) is True
    assert build_contracts.build(out_dir=tmp_path) is False
    assert (tmp_path / "ComputePowerToken.json").read_text() == (
        build_contracts.ARTIFACTS_DIR / "ComputePowerToken.json"
    ).read_text()


def test_every_deployable_contract_is_shipped_and_loads() -> None:
    assert "ComputePowerToken" in available_artifacts()
    token = load_artifact("ComputePowerToken")
    assert token.bytecode.startswith("0x") and len(token.bytecode) > 2_000
    assert bytes.fromhex(token.deployed_bytecode[2:])
    assert any(item.get("name") == "permit" for item in token.abi)


def test_unknown_artifact_names_what_exists() -> None:
    with pytest.raises(ArtifactError, match="no compiled contract named 'Nope'.*ComputePowerToken"):
        load_artifact("Nope")
