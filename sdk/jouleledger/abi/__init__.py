"""The contracts' ABIs as the SDK uses them: shipped artifacts, the custom-error registry
with each error's NatSpec hint, revert decoding into typed exceptions, and revert data out
of every node's exceptions.

- `artifacts`: `load_artifact`, `available_artifacts` (ABI, bytecode, userdoc, devdoc).
- `registry`: `error_registry`, `register_abi` (selector -> error and its hint).
- `hints`: how a hint's ``{name:unit}`` placeholders render (`SDK_UNITS`).
- `decode`: `decode_revert`, `error_class`, `contract_errors`, `revert_hint`.
- `node_reverts`: `revert_data_from_exception`, `revert_from_exception`.
"""

from .artifacts import Artifact, available_artifacts, load_artifact
from .decode import (
    ERROR_STRING_SELECTOR,
    PANIC_SELECTOR,
    contract_errors,
    decode_revert,
    error_class,
    revert_hint,
)
from .hints import GENERIC_HINT, SDK_UNITS, Unit, placeholders
from .node_reverts import revert_data_from_exception, revert_from_exception
from .registry import ErrorRegistry, ErrorSpec, error_registry, register_abi

__all__ = [
    "ERROR_STRING_SELECTOR",
    "GENERIC_HINT",
    "PANIC_SELECTOR",
    "SDK_UNITS",
    "Artifact",
    "ErrorRegistry",
    "ErrorSpec",
    "Unit",
    "available_artifacts",
    "contract_errors",
    "decode_revert",
    "error_class",
    "error_registry",
    "load_artifact",
    "placeholders",
    "register_abi",
    "revert_data_from_exception",
    "revert_from_exception",
    "revert_hint",
]
