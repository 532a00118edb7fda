"""JouleLedger SDK: settle GPU compute jobs on any EVM chain from Python."""

from .artifacts import Artifact, available_artifacts, load_artifact
from .devnet import ChainKind, Devnet, dev_accounts, start_devnet
from .errors import (
    ArtifactError,
    ContractRevert,
    DevnetError,
    DevnetPortInUse,
    InsufficientFunds,
    JouleLedgerError,
    NodeUnreachable,
    Panic,
    ReceiptTimeout,
    RevertReason,
    RpcError,
    RpcTimeout,
    RpcUnavailable,
    TransactionFailed,
    TransactionRejected,
    UnknownErrorName,
    UnknownRevert,
    WrongChain,
    contract_errors,
    decode_revert,
    error_class,
)
from .nonce import NonceManager
from .permit import PermitSignature, sign_permit
from .rpc import RetryPolicy, connect
from .tx import FeeQuote, Sender, TxResult, deploy, send

__version__ = "0.1.0"

__all__ = [
    "Artifact",
    "ArtifactError",
    "ChainKind",
    "ContractRevert",
    "Devnet",
    "DevnetError",
    "DevnetPortInUse",
    "FeeQuote",
    "InsufficientFunds",
    "JouleLedgerError",
    "NodeUnreachable",
    "NonceManager",
    "Panic",
    "PermitSignature",
    "ReceiptTimeout",
    "RetryPolicy",
    "RevertReason",
    "RpcError",
    "RpcTimeout",
    "RpcUnavailable",
    "Sender",
    "TransactionFailed",
    "TransactionRejected",
    "TxResult",
    "UnknownErrorName",
    "UnknownRevert",
    "WrongChain",
    "available_artifacts",
    "connect",
    "contract_errors",
    "decode_revert",
    "deploy",
    "dev_accounts",
    "error_class",
    "load_artifact",
    "send",
    "sign_permit",
    "start_devnet",
]
