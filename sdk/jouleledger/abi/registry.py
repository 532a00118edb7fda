"""Every custom error the SDK knows, by selector, with its hint.

Built once from the ABIs and userdocs shipped in the package (`artifacts`); contracts the
SDK does not ship can be added with `register_abi`.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from functools import cache
from typing import Any

from eth_utils.abi import collapse_if_tuple
from eth_utils.crypto import keccak

from .artifacts import available_artifacts, load_artifact


@dataclass(frozen=True)
class ErrorSpec:
    """One custom error from an ABI.

    Attributes:
        name: e.g. ``"ERC20InsufficientBalance"``.
        signature: canonical, e.g. ``"ERC20InsufficientBalance(address,uint256,uint256)"``.
        selector: first 4 bytes of keccak(signature).
        inputs: the ABI entry's inputs (names, types, struct components).
        sources: the artifacts that define it.
        hint: its NatSpec notice, a template over the inputs (`jouleledger.abi.hints`);
            empty when no userdoc documents it.
    """

    name: str
    signature: str
    selector: bytes
    inputs: tuple[Mapping[str, Any], ...]
    sources: tuple[str, ...]
    hint: str = ""

    @property
    def types(self) -> list[str]:
        """The canonical ABI types of the arguments."""
        return [collapse_if_tuple(dict(i)) for i in self.inputs]


class ErrorRegistry:
    """Selector -> custom error, built from ABIs. Thread-safe; first definition wins."""

    def __init__(self) -> None:
        self._by_selector: dict[bytes, ErrorSpec] = {}
        self._names: set[str] = set()
        self._roles: dict[bytes, str] = {bytes(32): "DEFAULT_ADMIN_ROLE"}
        self._lock = threading.Lock()

    def add_abi(
        self,
        abi: Iterable[Mapping[str, Any]],
        source: str,
        userdoc: Mapping[str, Any] | None = None,
    ) -> None:
        """Register every error (and every ``*_ROLE`` constant) of `abi`.

        Args:
            abi: a contract ABI (list of entries).
            source: a name for messages, e.g. the contract name.
            userdoc: the contract's NatSpec user documentation, whose error notices become
                the hints.
        """
        notices = _error_notices(userdoc or {})
        with self._lock:
            for entry in abi:
                if entry.get("type") == "function" and _is_role_constant(entry):
                    name = str(entry["name"])
                    self._roles.setdefault(keccak(text=name), name)
                if entry.get("type") == "error":
                    self._add_error(entry, source, notices)

    def _add_error(self, entry: Mapping[str, Any], source: str, notices: Mapping[str, str]) -> None:
        inputs = tuple(entry.get("inputs", ()))
        name = str(entry["name"])
        signature = f"{name}({','.join(collapse_if_tuple(dict(i)) for i in inputs)})"
        selector = keccak(text=signature)[:4]
        hint = notices.get(signature, "")
        known = self._by_selector.get(selector)
        if known is None:
            self._by_selector[selector] = ErrorSpec(
                name, signature, selector, inputs, (source,), hint
            )
            self._names.add(name)
        elif known.signature == signature and source not in known.sources:
            self._by_selector[selector] = replace(
                known, sources=(*known.sources, source), hint=known.hint or hint
            )

    def lookup(self, selector: bytes) -> ErrorSpec | None:
        """The error with this selector, or None.

        Args:
            selector: 4 bytes (longer data is cut to its first 4).
        """
        return self._by_selector.get(bytes(selector[:4]))

    def specs(self) -> list[ErrorSpec]:
        """Every registered error, sorted by signature."""
        return sorted(self._by_selector.values(), key=lambda spec: spec.signature)

    def names(self) -> list[str]:
        """Every registered error name, sorted."""
        return sorted(self._names)

    def role_name(self, role: bytes) -> str | None:
        """``"MINTER_ROLE"`` for keccak("MINTER_ROLE") when some ABI has that constant.

        Args:
            role: a 32-byte role id.
        """
        return self._roles.get(bytes(role))

    def __contains__(self, name: object) -> bool:
        return name in self._names


def _error_notices(userdoc: Mapping[str, Any]) -> dict[str, str]:
    """Signature -> notice, from a userdoc's ``errors`` section."""
    notices: dict[str, str] = {}
    for signature, docs in (userdoc.get("errors") or {}).items():
        notice = next((str(d["notice"]) for d in docs if d.get("notice")), None)
        if notice:
            notices[str(signature)] = notice
    return notices


def _is_role_constant(entry: Mapping[str, Any]) -> bool:
    outputs = entry.get("outputs") or []
    return (
        str(entry.get("name", "")).endswith("_ROLE")
        and not entry.get("inputs")
        and len(outputs) == 1
        and outputs[0].get("type") == "bytes32"
    )


@cache
def error_registry() -> ErrorRegistry:
    """The registry of every error in the ABIs shipped with the SDK (built once)."""
    registry = ErrorRegistry()
    for name in available_artifacts():
        artifact = load_artifact(name)
        registry.add_abi(artifact.abi, source=name, userdoc=artifact.userdoc)
    return registry


def register_abi(
    abi: Iterable[Mapping[str, Any]],
    *,
    source: str,
    userdoc: Mapping[str, Any] | None = None,
) -> None:
    """Teach the decoder the errors of a contract the SDK does not ship (a mock, a bridge).

    Args:
        abi: the contract's ABI.
        source: a name for it in messages.
        userdoc: its solc userdoc, whose error notices become the hints.
    """
    error_registry().add_abi(abi, source, userdoc)
