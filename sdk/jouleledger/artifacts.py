"""Compiled contracts shipped inside the package (written by `scripts/build_contracts.py`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from .errors import ArtifactError


@dataclass(frozen=True)
class Artifact:
    """ABI and bytecode of one deployable contract."""

    name: str
    abi: list[dict[str, Any]]
    bytecode: str
    deployed_bytecode: str


@cache
def load_artifact(name: str) -> Artifact:
    """Load the compiled contract `name` (e.g. ``"ComputePowerToken"``).

    Raises:
        ArtifactError: no such contract was compiled into this package.
    """
    path = resources.files(__package__).joinpath("artifacts", f"{name}.json")
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
    )


def available_artifacts() -> list[str]:
    """Names of every contract shipped in the package."""
    folder = resources.files(__package__).joinpath("artifacts")
    return sorted(
        p.name.removesuffix(".json")
        for p in folder.iterdir()
        if p.name.endswith(".json") and p.name != "manifest.json"
    )
