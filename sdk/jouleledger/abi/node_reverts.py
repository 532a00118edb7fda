"""Revert data out of whatever a node (through web3.py) raised: each node reports it its way.

- anvil: ``ContractCustomError`` / ``ContractLogicError`` / ``ContractPanicError`` whose
  ``data`` is the hex revert data, for ``eth_call`` and ``eth_estimateGas`` alike.
- ganache 7: ``eth_estimateGas`` gives ``ContractLogicError`` whose ``data`` is a dict
  ``{"result": "0x...", "reason": ..., "programCounter": ...}``; ``eth_call`` gives
  ``ContractCustomError``/``ContractPanicError`` with hex data, or, for ``Error(string)`` and
  empty reverts, a plain ``Web3RPCError`` whose ``rpc_response["error"]["data"]`` is the hex.
- eth-tester (py-evm): its own ``eth_tester.exceptions.TransactionFailed`` whose message is
  ``"execution reverted: b'...'"`` (a Python bytes literal of the revert data) or, for
  ``Error(string)``, ``"execution reverted: <reason>"``; panics from ``eth_call`` come as
  ``ContractPanicError`` with hex data.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator, Mapping

from eth_abi.abi import encode as abi_encode
from web3.exceptions import ContractLogicError, Web3RPCError

from ..errors import ContractRevert
from .decode import ERROR_STRING_SELECTOR, decode_revert, to_bytes


def revert_data_from_exception(exc: BaseException) -> bytes | None:
    """The revert data carried by an exception from web3.py, a node, or eth-tester.

    Looks through the exception, its ``__cause__`` and ``__context__``.

    Args:
        exc: what ``estimate_gas``, ``call`` or ``send_raw_transaction`` raised.

    Returns:
        The raw revert data (possibly empty), or None when `exc` is not a revert.
    """
    for err in _chain(exc):
        found = _revert_data_of(err)
        if found is not None:
            return found
    return None


def revert_from_exception(exc: BaseException) -> ContractRevert | None:
    """`decode_revert` of `revert_data_from_exception`; None when `exc` is not a revert.

    Args:
        exc: what a contract call, gas estimate or send raised.
    """
    data = revert_data_from_exception(exc)
    return None if data is None else decode_revert(data)


def _revert_data_of(err: BaseException) -> bytes | None:
    """The revert data of one exception in the chain, or None."""
    if isinstance(err, ContractRevert):
        return err.data
    if isinstance(err, ContractLogicError):
        found = _data_from_payload(err.data)
        if found is not None:
            return found
        reason = _reason_after(str(err.message or ""), "execution reverted:")
        return _error_string(reason) if reason else b""
    if isinstance(err, Web3RPCError) and isinstance(err.rpc_response, Mapping):
        found = _revert_from_rpc_error(err.rpc_response.get("error"))
        if found is not None:
            return found
    if isinstance(err, ValueError) and err.args and isinstance(err.args[0], Mapping):
        found = _revert_from_rpc_error(err.args[0])  # web3 < 7 style payloads
        if found is not None:
            return found
    if type(err).__name__ == "TransactionFailed" and type(err).__module__.startswith("eth_tester"):
        return _revert_from_eth_tester(err)
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _data_from_payload(payload: object, depth: int = 0) -> bytes | None:
    """Hex revert data from an RPC ``error.data`` of any node's shape."""
    if depth > 4:
        return None
    direct = to_bytes(payload)
    if direct is not None:
        return direct
    if isinstance(payload, Mapping):
        # ganache: {"result": "0x..", "reason": ..}; hardhat: {"data": "0x.."}; some
        # proxies nest the node's error: {"originalError": {"data": ..}}.
        for key in ("data", "result", "originalError", "error"):
            if key in payload:
                found = _data_from_payload(payload[key], depth + 1)
                if found is not None:
                    return found
    return None


def _revert_from_rpc_error(error: object) -> bytes | None:
    if not isinstance(error, Mapping):
        return None
    message = str(error.get("message", ""))
    found = _data_from_payload(error.get("data"))
    if found is not None and ("revert" in message.lower() or error.get("code") == 3):
        return found
    if "revert" not in message.lower():
        return None
    if found is not None:
        return found
    # ganache without data: "VM Exception while processing transaction: revert <reason>"
    reason = _reason_after(message, "revert ")
    return _error_string(reason) if reason else b""


def _revert_from_eth_tester(err: BaseException) -> bytes:
    first = err.args[0] if err.args else ""
    if isinstance(first, bytes | bytearray):
        return bytes(first)
    text = str(first)
    rest = text.split("execution reverted:", 1)[1].strip() if "execution reverted:" in text else ""
    if rest.startswith(("b'", 'b"')):
        try:
            literal = ast.literal_eval(rest)
        except (ValueError, SyntaxError):
            literal = None
        if isinstance(literal, bytes):
            return literal
    # eth-tester decoded Error(string) for us; encode it back so every chain decodes alike.
    return _error_string(rest) if rest else b""


def _reason_after(message: str, marker: str) -> str:
    index = message.find(marker)
    return message[index + len(marker) :].strip() if index >= 0 else ""


def _error_string(reason: str) -> bytes:
    return ERROR_STRING_SELECTOR + abi_encode(["string"], [reason])
