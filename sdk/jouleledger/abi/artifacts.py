"""Compiled contracts shipped inside the package (written by `scripts/build_contracts.py`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from ..errors import ArtifactError

#: The package whose ``artifacts/`` folder holds the JSON files.
_PACKAGE = "jouleledger"
_MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Artifact:
    """ABI, bytecode and NatSpec of one deployable contract.

    Attributes:
        name: the contract's name, e.g. ``"JobMarket"``.
        abi: its ABI entries.
        bytecode: creation code (0x-hex).
        deployed_bytecode: runtime code (0x-hex).
        userdoc: solc's user documentation; ``userdoc["errors"][signature][0]["notice"]``
            is the hint for that custom error.
        devdoc: solc's developer documentation.
    """

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str
    userdoc: dict[str, Any] = field(default_factory=dict)
    devdoc: dict[str, Any] = field(default_factory=dict)


@cache
def load_artifact(name: str) -> Artifact:
    """Load the compiled contract `name` (e.g. ``"ComputePowerToken"``).

    Args:
        name: the contract's name.

    Raises:
        ArtifactError: no such contract was compiled into this package.
    """
    path = resources.files(_PACKAGE).joinpath("artifacts", f"{name}.json")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        known = ", ".join(available_artifacts()) or "none"
        raise ArtifactError(
            f"no compiled contract named {name!r} in the SDK (available: {known}); "
            "run `make build` in a source checkout"
        ) from None
    return Artifact(
        name=data["contractName"],
        abi=data["abi"],
        bytecode=data["bytecode"],
        deployed_bytecode=data["deployedBytecode"],
        userdoc=data.get("userdoc", {}),
        devdoc=data.get("devdoc", {}),
    )


def available_artifacts() -> list[str]:
    """Names of every contract shipped in the package."""
    folder = resources.files(_PACKAGE).joinpath("artifacts")
    return sorted(
        p.name.removesuffix(".json")
        for p in folder.iterdir()
        if p.name.endswith(".json") and p.name != _MANIFEST
    )
