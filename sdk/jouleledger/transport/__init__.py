"""Talking to the node, in one place: typed transport failures, retries (tenacity),
JSON-RPC requests and batches, node facts ("is this a devnet"), devnet control, and the
launcher of local chains with their processes.

Modules, from the bottom up:

- `failures`: classify a transport failure and turn it into a typed exception.
- `provider`: what a provider is, without asking the node (endpoint, batching, locks).
- `retry`: `RetryPolicy` and `call`, bounded retries of idempotent requests.
- `nodes`: which node answers (`node_kind`, `is_devnet`), cached per provider.
- `jsonrpc`: `connect`, `check_chain`, raw requests and batches; web3's request cache.
- `control`: `DevnetControl`, one implementation per backend (anvil, ganache, hardhat,
  eth-tester).
- `processes`: child processes in their own session, stopped as a group.
- `chains`, `launcher`: the local chains and `start_devnet` (`chains.find_program` and
  `chains.node_args`, the program and arguments of each chain, are imported from there).
"""

from .chains import (
    CHAIN_IDS,
    DEFAULT_ACCOUNTS,
    DEFAULT_BALANCE_ETH,
    DEV_MNEMONIC,
    ChainKind,
    dev_accounts,
)
from .control import (
    AnvilControl,
    DevnetControl,
    EthTesterControl,
    GanacheControl,
    HardhatControl,
    advance_time,
    control,
    mine,
    set_balance,
)
from .failures import (
    START_NODE_HINT,
    Failure,
    classify,
    is_transient,
    rpc_error_message,
    translate,
)
from .jsonrpc import CACHED_REQUESTS, batch, check_chain, connect, http_provider, raw_request
from .launcher import Devnet, start_devnet, wait_until_ready
from .nodes import (
    DEVNET_CHAIN_IDS,
    DEVNET_KINDS,
    SYNCHRONOUS_MINERS,
    chain_key,
    is_devnet,
    is_devnet_chain_id,
    mines_synchronously,
    mining_lock,
    node_kind,
)
from .processes import (
    HOST,
    free_port,
    log_tail,
    process_alive,
    spawn_logged,
    stop_process_group,
)
from .provider import endpoint, in_process, inproc_lock, supports_batch
from .retry import DEFAULT_RETRY, NO_RETRY, RetryPolicy, call

__all__ = [
    "CACHED_REQUESTS",
    "CHAIN_IDS",
    "DEFAULT_ACCOUNTS",
    "DEFAULT_BALANCE_ETH",
    "DEFAULT_RETRY",
    "DEVNET_CHAIN_IDS",
    "DEVNET_KINDS",
    "DEV_MNEMONIC",
    "HOST",
    "NO_RETRY",
    "START_NODE_HINT",
    "SYNCHRONOUS_MINERS",
    "AnvilControl",
    "ChainKind",
    "Devnet",
    "DevnetControl",
    "EthTesterControl",
    "Failure",
    "GanacheControl",
    "HardhatControl",
    "RetryPolicy",
    "advance_time",
    "batch",
    "call",
    "chain_key",
    "check_chain",
    "classify",
    "connect",
    "control",
    "dev_accounts",
    "endpoint",
    "free_port",
    "http_provider",
    "in_process",
    "inproc_lock",
    "is_devnet",
    "is_devnet_chain_id",
    "is_transient",
    "log_tail",
    "mine",
    "mines_synchronously",
    "mining_lock",
    "node_kind",
    "process_alive",
    "raw_request",
    "rpc_error_message",
    "set_balance",
    "spawn_logged",
    "start_devnet",
    "stop_process_group",
    "supports_batch",
    "translate",
    "wait_until_ready",
]
