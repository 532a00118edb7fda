"""Compile `contracts/` with solc-js and ship ABI, bytecode and NatSpec inside the SDK package.

The compiler is npm's `solc` (the official WebAssembly build) behind a small adapter that
speaks the native command line, driven through py-solc-x. An installed SDK therefore needs
no compiler: it reads `sdk/jouleledger/artifacts/*.json`.

Each artifact keeps solc's `userdoc` and `devdoc`. The `@notice` of every custom error is
the hint the SDK shows when a call reverts with it (`jouleledger.abi`). Errors declared
outside `contracts/` (OpenZeppelin's) get theirs from a declaration with the same signature
in `contracts/interfaces/` (`IOpenZeppelinErrors.sol`), merged into the userdoc of each
contract that can raise them.

Usage:
    python scripts/build_contracts.py            # compile if the inputs changed
    python scripts/build_contracts.py --force    # compile even if they did not
    python scripts/build_contracts.py --check    # compile to memory, fail if shipped differ
    python scripts/build_contracts.py --build-info build/slither
        # compile with ASTs and write a Hardhat-format build-info there, for slither
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

import solcx

ROOT = Path(__file__).resolve().parents[1]
CONTRACTS_DIR = ROOT / "contracts"
ARTIFACTS_DIR = ROOT / "sdk" / "jouleledger" / "artifacts"
ADAPTER = ROOT / "scripts" / "solc" / "solc-adapter.js"
NODE_MODULES = ROOT / "node_modules"
MANIFEST = "manifest.json"

# Pinned: the same bytecode must run on anvil, ganache 7.9 (shanghai at most) and py-evm.
SETTINGS: dict[str, Any] = {
    "evmVersion": "shanghai",
    "viaIR": True,
    "optimizer": {"enabled": True, "runs": 1000},
    # What the artifacts take, plus the ASTs and source maps slither reads: one output
    # serves both, so `make test` compiles once (see `compile_sources`).
    "outputSelection": {
        "*": {
            "": ["ast"],
            "*": ["abi", "userdoc", "devdoc", "evm.bytecode", "evm.deployedBytecode"],
        },
    },
}
# Compiler outputs by input hash: the same input compiles to the same output, so a second
# compile of unchanged sources (slither's, then the artifact check's) reads the first's.
CACHE_DIR = ROOT / "build" / "solc-cache"
CACHE_KEEP = 2
# Mocks used only by tests are compiled by the tests, never shipped in the SDK.
EXCLUDED_DIRS = ("test",)
# Contracts that answer, through their fallback, everything their extension implements: the
# SDK talks to one address with one ABI, so the extension's functions are merged into it.
EXTENDED_BY = {"JobMarket": "JobMarketExtension"}


class BuildError(Exception):
    """The compiler reported errors, or the shipped artifacts are stale."""


def source_files(include_tests: bool = False) -> list[Path]:
    """The Solidity files under `contracts/`, without the test doubles unless asked.

    Args:
        include_tests: also list `contracts/test/`.
    """
    return sorted(
        p
        for p in CONTRACTS_DIR.rglob("*.sol")
        if include_tests or p.relative_to(CONTRACTS_DIR).parts[0] not in EXCLUDED_DIRS
    )


def _package_version(name: str) -> str:
    package_json = NODE_MODULES / name / "package.json"
    if not package_json.exists():
        raise BuildError(f"{package_json} is missing: run `npm ci` (or `make setup`) first")
    return str(json.loads(package_json.read_text())["version"])


def standard_input(files: list[Path]) -> dict[str, Any]:
    """The solc standard-JSON input for `files`, with the pinned settings.

    Args:
        files: Solidity sources under the repository root.
    """
    sources = {
        p.relative_to(ROOT).as_posix(): {"content": p.read_text(encoding="utf-8")} for p in files
    }
    return {"language": "Solidity", "sources": sources, "settings": SETTINGS}


def input_hash(std_input: dict[str, Any]) -> str:
    """A hash of everything that decides the output: sources, settings, compiler, OpenZeppelin.

    Args:
        std_input: the standard-JSON input.

    Raises:
        BuildError: `node_modules` lacks solc or OpenZeppelin.
    """
    pinned = {
        "input": std_input,
        "solc": _package_version("solc"),
        "openzeppelin": _package_version("@openzeppelin/contracts"),
    }
    return hashlib.sha256(json.dumps(pinned, sort_keys=True).encode()).hexdigest()


def compile_sources(std_input: dict[str, Any]) -> dict[str, Any]:
    """Run solc-js on `std_input` and return its standard-JSON output.

    An output is kept under `CACHE_DIR` by the hash of everything that decides it (sources,
    settings, compiler and OpenZeppelin versions), and read back for the same input; only
    the newest `CACHE_KEEP` stay.

    Args:
        std_input: the standard-JSON input.

    Raises:
        BuildError: the compiler reported errors.
    """
    cached = CACHE_DIR / f"{input_hash(std_input)}.json"
    if cached.exists():
        kept: dict[str, Any] = json.loads(cached.read_text())
        return kept
    output = _run_solc(std_input)
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(".partial")
    partial.write_text(json.dumps(output))
    partial.replace(cached)
    for old in sorted(CACHE_DIR.glob("*.json"), key=lambda p: p.stat().st_mtime)[:-CACHE_KEEP]:
        old.unlink()
    return output


def _run_solc(std_input: dict[str, Any]) -> dict[str, Any]:
    try:
        output: dict[str, Any] = solcx.compile_standard(
            std_input, solc_binary=ADAPTER, allow_paths=[str(ROOT)], base_path=str(ROOT)
        )
    except solcx.exceptions.SolcError as exc:
        raise BuildError(exc.message) from None
    return output


def artifacts_from(output: dict[str, Any], std_input: dict[str, Any]) -> dict[str, str]:
    """Render one JSON file per deployable contract, plus a manifest; name -> text.

    Args:
        output: solc's standard-JSON output.
        std_input: the input it was compiled from (only its own sources are shipped).

    Raises:
        BuildError: two deployable contracts share a name.
    """
    files: dict[str, str] = {}
    names: list[str] = []
    notices = error_notices(output, std_input)
    for source_name, contracts in sorted(output["contracts"].items()):
        if source_name not in std_input["sources"]:
            continue  # OpenZeppelin and other imports
        for name, data in sorted(contracts.items()):
            bytecode = data["evm"]["bytecode"]["object"]
            if not bytecode or not data["abi"]:
                continue  # interfaces, abstract contracts, internal libraries
            if name in names:
                raise BuildError(f"two contracts are named {name}; artifact names must be unique")
            names.append(name)
            artifact = {
                "contractName": name,
                "sourceName": source_name,
                "abi": data["abi"],
                "bytecode": "0x" + bytecode,
                "deployedBytecode": "0x" + data["evm"]["deployedBytecode"]["object"],
                "userdoc": _with_error_notices(data["userdoc"], data["abi"], notices),
                "devdoc": data["devdoc"],
            }
            files[f"{name}.json"] = json.dumps(artifact, indent=1, sort_keys=True) + "\n"
    manifest = {
        "compiler": f"solc-js {_package_version('solc')}",
        "openzeppelin": _package_version("@openzeppelin/contracts"),
        "settings": SETTINGS,
        "inputHash": input_hash(std_input),
        "contracts": sorted(names),
    }
    files[MANIFEST] = json.dumps(manifest, indent=1, sort_keys=True) + "\n"
    for name, extension in EXTENDED_BY.items():
        files[f"{name}.json"] = _with_extension_abi(
            files[f"{name}.json"], files[f"{extension}.json"]
        )
    return files


def error_notices(output: dict[str, Any], std_input: dict[str, Any]) -> dict[str, str]:
    """The `@notice` of every error declared in the project's own sources, by signature.

    Interfaces count too, so that a declaration in `contracts/interfaces/` documents an
    error of the same signature declared elsewhere (OpenZeppelin's).

    Args:
        output: solc's standard-JSON output.
        std_input: the input it was compiled from.
    """
    notices: dict[str, str] = {}
    for source_name, contracts in sorted(output["contracts"].items()):
        if source_name not in std_input["sources"]:
            continue
        for data in contracts.values():
            for signature, docs in data.get("userdoc", {}).get("errors", {}).items():
                notice = next((d["notice"] for d in docs if d.get("notice")), None)
                if notice is not None:
                    notices.setdefault(signature, notice)
    return notices


def _error_signature(entry: dict[str, Any]) -> str:
    return f"{entry['name']}({','.join(_canonical_type(i) for i in entry.get('inputs', []))})"


def _canonical_type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if not kind.startswith("tuple"):
        return kind
    inner = ",".join(_canonical_type(c) for c in param.get("components", []))
    return f"({inner}){kind[len('tuple') :]}"


def _with_error_notices(
    userdoc: dict[str, Any], abi: list[dict[str, Any]], notices: dict[str, str]
) -> dict[str, Any]:
    """`userdoc` with a notice for each error of `abi` that has none but is documented."""
    errors: dict[str, list[dict[str, str]]] = dict(userdoc.get("errors", {}))
    for entry in abi:
        if entry["type"] != "error":
            continue
        signature = _error_signature(entry)
        if any(d.get("notice") for d in errors.get(signature, [])) or signature not in notices:
            continue
        errors[signature] = [{"notice": notices[signature]}]
    return {**userdoc, "errors": dict(sorted(errors.items()))} if errors else userdoc


def _abi_key(entry: dict[str, Any]) -> tuple[str, str, str]:
    inputs = ",".join(str(i["type"]) for i in entry.get("inputs", []))
    return (str(entry["type"]), str(entry.get("name", "")), inputs)


def _with_extension_abi(artifact_text: str, extension_text: str) -> str:
    """`artifact_text` with the extension's ABI entries it lacks (its `fallback` serves them),
    and the extension's NatSpec where the contract has none for an entry."""
    artifact = json.loads(artifact_text)
    extension = json.loads(extension_text)
    own = {_abi_key(entry) for entry in artifact["abi"]}
    extra = [e for e in extension["abi"] if _abi_key(e) not in own]
    artifact["abi"] = artifact["abi"] + extra
    for doc in ("userdoc", "devdoc"):
        artifact[doc] = _merged_doc(artifact[doc], extension[doc])
    return json.dumps(artifact, indent=1, sort_keys=True) + "\n"


def _merged_doc(own: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """NatSpec `own` completed with the methods, events and errors only `extra` documents."""
    merged = dict(own)
    for section in ("methods", "events", "errors"):
        entries = {**extra.get(section, {}), **own.get(section, {})}
        if entries:
            merged[section] = dict(sorted(entries.items()))
    return merged


def build(force: bool = False, out_dir: Path = ARTIFACTS_DIR) -> bool:
    """Compile into `out_dir` unless its manifest already matches the inputs.

    Args:
        force: compile even when the manifest matches.
        out_dir: where the artifacts go.

    Returns:
        True when it compiled, False when the artifacts were already up to date.

    Raises:
        BuildError: the compiler reported errors.
    """
    std_input = standard_input(source_files())
    manifest_path = out_dir / MANIFEST
    if not force and manifest_path.exists():
        shipped = json.loads(manifest_path.read_text())
        if shipped.get("inputHash") == input_hash(std_input):
            return False
    files = render(std_input)
    out_dir.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        (out_dir / name).write_text(text)
    return True


def render(std_input: dict[str, Any] | None = None) -> dict[str, str]:
    """Compile the current sources and return the artifact files they produce.

    Args:
        std_input: the standard-JSON input; by default that of every shipped source.

    Raises:
        BuildError: the compiler reported errors.
    """
    std_input = std_input or standard_input(source_files())
    return artifacts_from(compile_sources(std_input), std_input)


def write_build_info(folder: Path) -> Path:
    """Compile with ASTs and write `folder`/artifacts/build-info/<id>.json the way Hardhat
    does, next to an empty hardhat.config.js, so that slither (through crytic-compile's
    Hardhat support, `--hardhat-ignore-compile`) can analyse a solc-js build.

    Args:
        folder: where the build-info, config and source links go.

    Raises:
        BuildError: the compiler reported errors.
    """
    std_input = standard_input(source_files())
    output = compile_sources(std_input)
    version = _package_version("solc")
    info = {
        "_format": "hh-sol-build-info-1",
        "id": input_hash(std_input)[:32],
        "solcVersion": version,
        "solcLongVersion": version,
        "input": std_input,
        "output": output,
    }
    target = folder / "artifacts" / "build-info" / f"{info['id']}.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    for stale in target.parent.glob("*.json"):
        stale.unlink()
    target.write_text(json.dumps(info))
    (folder / "hardhat.config.js").write_text("module.exports = {};\n")
    # crytic-compile looks the sources up from the folder it analyses.
    for name in ("contracts", "node_modules"):
        link = folder / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    return target


def check(out_dir: Path = ARTIFACTS_DIR, fresh: dict[str, str] | None = None) -> list[str]:
    """Names of artifact files that differ from a fresh compile (empty when in sync).

    Args:
        out_dir: the shipped artifacts.
        fresh: the output of `render()`, when the caller already compiled.

    Raises:
        BuildError: the compiler reported errors (only when it has to compile).
    """
    fresh = fresh if fresh is not None else render()
    shipped = {p.name: p.read_text() for p in out_dir.glob("*.json")}
    return sorted(n for n in fresh.keys() | shipped.keys() if fresh.get(n) != shipped.get(n))


def main(argv: list[str] | None = None) -> int:
    """The command line: build, `--check` or `--build-info`; returns the exit status.

    Args:
        argv: the arguments (default: `sys.argv[1:]`).
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="compile even if up to date")
    parser.add_argument("--check", action="store_true", help="fail if shipped artifacts are stale")
    parser.add_argument("--build-info", type=Path, help="write a Hardhat build-info for slither")
    args = parser.parse_args(argv)
    try:
        if args.build_info:
            print(f"wrote {write_build_info(args.build_info)}")
        elif args.check:
            stale = check()
            if stale:
                print(f"stale artifacts: {', '.join(stale)}; run `make build`", file=sys.stderr)
                return 1
            print("artifacts match a fresh compile")
        elif build(force=args.force):
            print(f"compiled contracts into {ARTIFACTS_DIR.relative_to(ROOT)}")
        else:
            print("contracts up to date")
    except BuildError as exc:
        print(f"build failed:\n{exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
