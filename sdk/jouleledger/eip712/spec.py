"""Job specs and the one rule that turns a spec into the hash a job is posted with.

A job spec is a JSON object ``{"workload": NAME, "inputs": {...}}``; ``inputs`` may be left
out and then means ``{}``. The chain holds only ``specHash``, keccak256 of the spec's
canonical JSON: keys sorted at every level, no whitespace, ASCII only (other characters as
``\\uXXXX`` escapes). The client who posts a job (`jl job post --spec FILE`) and the oracle
node that looks the spec up by that hash both use this module, so a spec written with other
whitespace or key order still hashes the same.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Final

from ..errors import JouleLedgerError
from .keccak import keccak

SPEC_KEYS: Final = frozenset({"workload", "inputs"})
EXAMPLE: Final = '{"workload": "token-generation", "inputs": {"max_new_tokens": 64}}'


class InvalidSpec(JouleLedgerError, ValueError):
    """A document that is not a job spec; the message says why and what one looks like."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def parse_spec(document: bytes | str) -> dict[str, Any]:
    """Parse a JSON document (a spec file's contents) into a job spec.

    Args:
        document: JSON text, or its UTF-8 bytes (a leading byte-order mark is ignored).

    Raises:
        InvalidSpec: not valid JSON (NaN and Infinity included), or not a job spec.
    """
    try:
        text = document.decode("utf-8-sig") if isinstance(document, bytes) else document
        parsed = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        raise InvalidSpec(f"not valid JSON ({exc}); a job spec looks like {EXAMPLE}") from exc
    return canonical_spec(parsed)


def canonical_spec(spec: Any) -> dict[str, Any]:
    """The spec with its defaults filled in (``inputs``), after checking its shape.

    Args:
        spec: a parsed job spec.

    Raises:
        InvalidSpec: not an object, no non-empty string ``workload``, ``inputs`` not an
            object, or keys other than those two.
    """
    if not isinstance(spec, Mapping):
        raise InvalidSpec(f"a job spec is a JSON object, like {EXAMPLE}")
    extra = sorted(str(key) for key in spec if key not in SPEC_KEYS)
    if extra:
        raise InvalidSpec(
            f"a job spec has only 'workload' and 'inputs', not {', '.join(extra)}; "
            f"put a workload's settings under 'inputs', like {EXAMPLE}"
        )
    workload = spec.get("workload")
    if not isinstance(workload, str) or not workload:
        raise InvalidSpec(f'a job spec names its "workload" (a non-empty string), like {EXAMPLE}')
    inputs = spec.get("inputs", {})
    if not isinstance(inputs, Mapping):
        raise InvalidSpec(f'a job spec\'s "inputs" is a JSON object, like {EXAMPLE}')
    return {"workload": workload, "inputs": dict(inputs)}


def canonical_spec_bytes(spec: Mapping[str, Any]) -> bytes:
    """The canonical JSON of a job spec: the bytes whose keccak256 is its hash.

    Args:
        spec: a job spec as parsed JSON.

    Raises:
        InvalidSpec: not a job spec, or a value JSON cannot hold (NaN, a set, ...).
    """
    try:
        text = json.dumps(
            canonical_spec(spec),
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=True,
            allow_nan=False,
        )
    except (TypeError, ValueError) as exc:
        if isinstance(exc, InvalidSpec):
            raise
        raise InvalidSpec(f"a job spec holds only JSON values: {exc}") from exc
    return text.encode("ascii")


def spec_hash(spec: Mapping[str, Any] | bytes | str) -> bytes:
    """keccak256 of a job spec's canonical JSON: the ``specHash`` a job is posted with.

    Args:
        spec: a job spec as parsed JSON, or a JSON document (a spec file's contents) that
            is parsed first, so its whitespace and key order do not matter.

    Raises:
        InvalidSpec: the document is not valid JSON, or not a job spec.
    """
    parsed = parse_spec(spec) if isinstance(spec, bytes | str) else spec
    return keccak(canonical_spec_bytes(parsed))
