"""JouleLedger SDK: settle GPU compute jobs on any EVM chain from Python.

Start here::

    from jouleledger import JobRequest, JouleLedger, deploy_protocol, start_devnet

    with start_devnet() as net:
        deployment = deploy_protocol(net.w3, net.accounts[0])
        client = JouleLedger(net.w3, deployment, net.accounts[0])
        job_id = client.post_job(JobRequest("nvidia-h100", 10**15, 10**18))
"""

from .abi import contract_errors, decode_revert, error_class
from .artifacts import Artifact, available_artifacts, load_artifact
from .client import JobRequest, JouleLedger
from .deployment import Deployment, ProtocolConfig, deploy_protocol, load_deployment
from .eip712 import (
    MarketDomain,
    MeterKind,
    PermitSignature,
    UsageRecord,
    sign_permit,
    spec_hash,
)
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
)
from .transport import ChainKind, Devnet, RetryPolicy, connect, dev_accounts, start_devnet
from .tx import FeeQuote, NonceManager, Sender, TxResult, deploy, send

__version__ = "0.1.0"

__all__ = [
    "Artifact",
    "ArtifactError",
    "ChainKind",
    "ContractRevert",
    "Deployment",
    "Devnet",
    "DevnetError",
    "DevnetPortInUse",
    "FeeQuote",
    "InsufficientFunds",
    "JobRequest",
    "JouleLedger",
    "JouleLedgerError",
    "MarketDomain",
    "MeterKind",
    "NodeUnreachable",
    "NonceManager",
    "Panic",
    "PermitSignature",
    "ProtocolConfig",
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
    "UsageRecord",
    "WrongChain",
    "available_artifacts",
    "connect",
    "contract_errors",
    "decode_revert",
    "deploy",
    "deploy_protocol",
    "dev_accounts",
    "error_class",
    "load_artifact",
    "load_deployment",
    "send",
    "sign_permit",
    "spec_hash",
    "start_devnet",
]
