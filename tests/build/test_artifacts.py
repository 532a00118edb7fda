"""The ABI and bytecode shipped in the SDK are exactly what the sources compile to."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import build_contracts
import pytest

from jouleledger import ArtifactError, available_artifacts, load_artifact

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fresh() -> dict[str, str]:
    """A compile of the current sources: about 20 s with solc-js and via-IR, or the output of
    the same input's compile earlier in `make test` (slither's), by its input hash."""
    return build_contracts.render()


def test_shipped_artifacts_match_a_fresh_compile(fresh: dict[str, str]) -> None:
    assert build_contracts.check(fresh=fresh) == []


def test_check_reports_an_artifact_that_differs(tmp_path: Path, fresh: dict[str, str]) -> None:
    shutil.copytree(build_contracts.ARTIFACTS_DIR, tmp_path, dirs_exist_ok=True)
    token = tmp_path / "ComputePowerToken.json"
    data = json.loads(token.read_text())
    data["bytecode"] = data["bytecode"][:-2] + "00"
    token.write_text(json.dumps(data))
    (tmp_path / "Leftover.json").write_text("{}")
    stale = build_contracts.check(tmp_path, fresh=fresh)
    assert stale == ["ComputePowerToken.json", "Leftover.json"]


def test_build_skips_when_the_inputs_match_the_manifest(tmp_path: Path) -> None:
    shutil.copytree(build_contracts.ARTIFACTS_DIR, tmp_path, dirs_exist_ok=True)
    assert build_contracts.build(out_dir=tmp_path) is False


def test_every_deployable_contract_is_shipped_and_loads() -> None:
    assert "ComputePowerToken" in available_artifacts()
    token = load_artifact("ComputePowerToken")
    assert token.bytecode.startswith("0x") and len(token.bytecode) > 2_000
    assert bytes.fromhex(token.deployed_bytecode[2:])
    assert any(item.get("name") == "permit" for item in token.abi)


def test_unknown_artifact_names_what_exists() -> None:
    with pytest.raises(ArtifactError, match=r"named 'Nope' in the SDK.*ComputePowerToken"):
        load_artifact("Nope")


def test_every_deployed_contract_fits_the_size_limit() -> None:
    """EIP-170: deployed code above 24,576 bytes cannot be deployed on mainnet-like chains."""
    sizes = {
        name: len(bytes.fromhex(load_artifact(name).deployed_bytecode[2:]))
        for name in available_artifacts()
    }
    assert set(sizes) >= {"ComputePowerToken", "ProviderStaking", "JobMarket"}
    too_big = {name: size for name, size in sizes.items() if size > 24_576}
    assert not too_big, f"over the EIP-170 limit: {too_big}"


def test_test_doubles_are_not_shipped() -> None:
    assert "MockMarket" not in available_artifacts()


def test_every_error_of_every_shipped_contract_ships_its_notice() -> None:
    """The hints are the errors' NatSpec: each artifact's userdoc has a notice for each error
    in its ABI (OpenZeppelin's from contracts/interfaces/IOpenZeppelinErrors.sol)."""
    for name in available_artifacts():
        artifact = load_artifact(name)
        documented = artifact.userdoc.get("errors", {})
        errors = [e for e in artifact.abi if e["type"] == "error"]
        assert errors, name
        for entry in errors:
            signature = f"{entry['name']}({','.join(i['type'] for i in entry['inputs'])})"
            assert any(doc.get("notice") for doc in documented.get(signature, [])), (
                f"{name}: {signature} has no @notice in contracts/interfaces"
            )
        assert artifact.devdoc.get("kind") == "dev", name


def test_an_error_documented_only_in_the_interfaces_gets_that_notice() -> None:
    output = {
        "contracts": {
            "contracts/interfaces/IDocs.sol": {
                "IDocs": {"userdoc": {"errors": {"Oops(uint256)": [{"notice": "{n} oops"}]}}}
            },
            "node_modules/lib/Lib.sol": {
                "Lib": {"userdoc": {"errors": {"Oops(uint256)": [{"notice": "other"}]}}}
            },
        }
    }
    std_input = {"sources": {"contracts/interfaces/IDocs.sol": {}}}
    abi = [{"type": "error", "name": "Oops", "inputs": [{"name": "n", "type": "uint256"}]}]

    notices = build_contracts.error_notices(output, std_input)
    userdoc = build_contracts._with_error_notices({"kind": "user"}, abi, notices)

    assert userdoc == {"kind": "user", "errors": {"Oops(uint256)": [{"notice": "{n} oops"}]}}


def test_the_error_docs_interface_is_not_shipped() -> None:
    assert "IOpenZeppelinErrors" not in available_artifacts()


def test_a_second_compile_of_the_same_input_reads_the_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs: list[str] = []

    def run(std_input: dict[str, object]) -> dict[str, object]:
        runs.append(str(std_input["sources"]))
        return {"contracts": {}, "n": len(runs)}

    monkeypatch.setattr(build_contracts, "CACHE_DIR", tmp_path)
    monkeypatch.setattr(build_contracts, "_run_solc", run)
    one = build_contracts.standard_input([])
    other = {**one, "sources": {"A.sol": {"content": "contract A {}"}}}
    assert build_contracts.compile_sources(one) == {"contracts": {}, "n": 1}
    assert build_contracts.compile_sources(one) == {"contracts": {}, "n": 1}
    assert build_contracts.compile_sources(other)["n"] == 2
    assert len(runs) == 2 and len(list(tmp_path.glob("*.json"))) == build_contracts.CACHE_KEEP
