"""Logs and settlement calldata decoded with the ABIs that ship in the SDK's artifacts.

Nothing here names a topic or a selector by hand: every event of every contract's ABI is
decoded, so events the market gains later are stored as soon as the SDK ships their ABI.
Values come out in the index's stored forms: addresses lowercase hex, ``bytesN`` as 0x-hex,
integers as `int`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_abi.abi import decode
from eth_utils.abi import collapse_if_tuple, event_abi_to_log_topic, function_abi_to_4byte_selector

from jouleledger import load_artifact

#: The artifacts whose ABIs name each indexed contract's events. The market's views and
#: administration live in its extension (reached through the fallback): both ABIs count.
ARTIFACTS: Mapping[str, tuple[str, ...]] = {
    "token": ("ComputePowerToken",),
    "staking": ("ProviderStaking",),
    "vault": ("HoldingsVault",),
    "market": ("JobMarket", "JobMarketExtension"),
}
UNKNOWN_EVENT = "UnknownEvent"


@dataclass(frozen=True, slots=True)
class DecodedLog:
    """One log, decoded: which contract, which event, its arguments by name."""

    contract: str
    name: str
    args: dict[str, Any]
    block_number: int
    block_hash: str
    log_index: int
    tx_hash: str

    @property
    def job_id(self) -> int | None:
        """The ``jobId`` argument, when the event has one."""
        value = self.args.get("jobId")
        return value if isinstance(value, int) else None

    def args_json(self) -> str:
        """The arguments as JSON text (integers as decimal strings: JSON readers lose
        precision above 2**53)."""
        flat = {k: str(v) if type(v) is int else _jsonable(v) for k, v in self.args.items()}
        return json.dumps(flat, separators=(",", ":"))


WordDecoder = Callable[[bytes], Any]


@dataclass(frozen=True, slots=True)
class _EventAbi:
    name: str
    indexed: tuple[tuple[str, str], ...]  # (name, type) in topic order
    data_names: tuple[str, ...]
    data_types: tuple[str, ...]
    # One decoder per 32-byte word when every data field is a static word type (the fast
    # path: eth_abi's general decoder costs ~50 us a log); None: use eth_abi.
    data_words: tuple[WordDecoder, ...] | None
    topic_words: tuple[WordDecoder | None, ...]  # None: kept as the topic (hashed type)


class EventDecoder:
    """Decodes the raw JSON-RPC logs of the indexed contracts.

    Args:
        addresses: contract role (``token``, ``staking``, ``vault``, ``market``) -> address.
    """

    def __init__(self, addresses: Mapping[str, str]) -> None:
        self._roles = {addr.lower(): role for role, addr in addresses.items()}
        self._events: dict[str, dict[str, _EventAbi]] = {}
        for role in addresses:
            table: dict[str, _EventAbi] = {}
            for artifact in ARTIFACTS[role]:
                for entry in load_artifact(artifact).abi:
                    if entry.get("type") == "event" and not entry.get("anonymous"):
                        topic = "0x" + event_abi_to_log_topic(entry).hex()  # type: ignore[arg-type]
                        table.setdefault(topic, _event_abi(entry))
            self._events[role] = table

    def event_names(self, role: str) -> set[str]:
        """The names of the events the ABI of `role` declares.

        Args:
            role: ``token``, ``staking``, ``vault`` or ``market``.
        """
        return {e.name for e in self._events[role].values()}

    def decode(self, log: Mapping[str, Any]) -> DecodedLog:
        """One raw log (as ``eth_getLogs`` answers it), decoded.

        A log whose topic no ABI declares is kept as `UNKNOWN_EVENT` with its raw topics
        and data, so that nothing the contracts emit is lost.

        Args:
            log: a JSON-RPC log object.

        Raises:
            KeyError: the log is not from one of the indexed contracts.
        """
        role = self._roles[str(log["address"]).lower()]
        topics = [str(t).lower() for t in log["topics"]]
        found = self._events[role].get(topics[0]) if topics else None
        if found is None or len(topics) != len(found.indexed) + 1:
            args: dict[str, Any] = {"topics": topics, "data": str(log["data"]).lower()}
            name = UNKNOWN_EVENT
        else:
            name = found.name
            args = {}
            for (arg, _), word, topic in zip(
                found.indexed, found.topic_words, topics[1:], strict=True
            ):
                args[arg] = topic if word is None else word(bytes.fromhex(topic[2:]))
            data = bytes.fromhex(str(log["data"])[2:])
            if found.data_words is not None and len(data) == 32 * len(found.data_words):
                values: Sequence[Any] = [
                    word(data[32 * i : 32 * i + 32]) for i, word in enumerate(found.data_words)
                ]
            else:
                values = [_stored(v) for v in decode(found.data_types, data)]
            args.update(zip(found.data_names, values, strict=True))
        return DecodedLog(
            contract=role,
            name=name,
            args=args,
            block_number=int(log["blockNumber"], 16),
            block_hash=str(log["blockHash"]).lower(),
            log_index=int(log["logIndex"], 16),
            tx_hash=str(log["transactionHash"]).lower(),
        )


class UsageDecoder:
    """Finds the usage records in a settlement transaction's calldata, by job id.

    Any market function whose arguments hold structs with ``jobId`` and ``gpuMillis`` is a
    settlement (``settle``, ``settleBatch`` and batch forms added later alike); a
    ``provider`` argument beside the records fills the records that do not name one.
    """

    def __init__(self) -> None:
        self._functions: dict[str, tuple[list[str], list[dict[str, Any]]]] = {}
        for artifact in ARTIFACTS["market"]:
            for entry in load_artifact(artifact).abi:
                if entry.get("type") != "function":
                    continue
                selector = "0x" + function_abi_to_4byte_selector(entry).hex()  # type: ignore[arg-type]
                inputs = list(entry.get("inputs", []))
                if any(_mentions_usage(i) for i in inputs):
                    types = [collapse_if_tuple(i) for i in inputs]
                    self._functions.setdefault(selector, (types, inputs))

    def records(self, calldata: str) -> dict[int, dict[str, Any]]:
        """The usage records in `calldata`, by job id (empty when it settles nothing).

        Args:
            calldata: a transaction's ``input`` as 0x-hex.
        """
        found = self._functions.get(calldata[:10].lower())
        if found is None:
            return {}
        types, inputs = found
        values = decode(types, bytes.fromhex(calldata[10:]))
        named = {i["name"]: _named(i, v) for i, v in zip(inputs, values, strict=True)}
        provider = named.get("provider") if isinstance(named.get("provider"), str) else None
        out: dict[int, dict[str, Any]] = {}
        for record in _structs_with_usage(named.values()):
            if provider is not None:
                record.setdefault("provider", provider)
            out[int(record["jobId"])] = record
        return out


def _event_abi(entry: Mapping[str, Any]) -> _EventAbi:
    inputs: Sequence[Mapping[str, Any]] = entry.get("inputs", [])
    indexed = tuple((i["name"], collapse_if_tuple(dict(i))) for i in inputs if i["indexed"])
    data = [i for i in inputs if not i["indexed"]]
    data_types = tuple(collapse_if_tuple(dict(i)) for i in data)
    words = [_word_decoder(t) for t in data_types]
    return _EventAbi(
        name=str(entry["name"]),
        indexed=indexed,
        data_names=tuple(i["name"] for i in data),
        data_types=data_types,
        data_words=None if None in words else tuple(w for w in words if w is not None),
        # Dynamic types (and arrays, tuples) are indexed by their hash: the topic is kept.
        topic_words=tuple(_word_decoder(t) for _, t in indexed),
    )


def _word_decoder(typ: str) -> WordDecoder | None:
    """A decoder of one ABI word of static type `typ`, in the stored form; None if `typ`
    is not a one-word static type."""
    if typ.startswith("uint"):
        return lambda w: int.from_bytes(w, "big")
    if typ.startswith("int"):
        return lambda w: int.from_bytes(w, "big", signed=True)
    if typ == "address":
        return lambda w: "0x" + w[12:].hex()
    if typ == "bool":
        return lambda w: any(w)
    if typ.startswith("bytes") and typ[5:].isdigit():
        size = int(typ[5:])
        return lambda w: "0x" + w[:size].hex()
    return None


def _stored(value: Any) -> Any:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return value.lower()
    if isinstance(value, list | tuple):
        return [_stored(v) for v in value]
    return value


def _jsonable(value: Any) -> Any:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return str(value)


def _mentions_usage(abi_input: Mapping[str, Any]) -> bool:
    components = abi_input.get("components") or []
    names = {c.get("name") for c in components}
    return {"jobId", "gpuMillis"} <= names or any(_mentions_usage(c) for c in components)


def _named(abi_input: Mapping[str, Any], value: Any) -> Any:
    """A decoded ABI value with its tuples turned into dicts by component name."""
    typ = str(abi_input["type"])
    if typ.startswith("tuple"):
        if typ.endswith("]"):
            inner = dict(abi_input, type=typ[: typ.rindex("[")])
            return [_named(inner, v) for v in value]
        return {
            c["name"]: _named(c, v) for c, v in zip(abi_input["components"], value, strict=True)
        }
    if typ.endswith("]"):
        inner = dict(abi_input, type=typ[: typ.rindex("[")])
        return [_named(inner, v) for v in value]
    return _stored(value)


def _structs_with_usage(values: Iterable[Any]) -> Iterable[dict[str, Any]]:
    for value in values:
        if isinstance(value, dict):
            if "jobId" in value and "gpuMillis" in value:
                yield value
            else:
                yield from _structs_with_usage(value.values())
        elif isinstance(value, list):
            yield from _structs_with_usage(value)
