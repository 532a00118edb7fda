"""JouleLedger SDK: settle GPU compute jobs on any EVM chain from Python."""

from .artifacts import Artifact, available_artifacts, load_artifact
from .devnet import ChainKind, Devnet, dev_accounts, start_devnet
from .errors import ArtifactError, DevnetError, JouleLedgerError, TransactionFailed
from .permit import PermitSignature, sign_permit
from .tx import deploy, send

__version__ = "0.1.0"

__all__ = [
    "Artifact",
    "ArtifactError",
    "ChainKind",
    "Devnet",
    "DevnetError",
    "JouleLedgerError",
    "PermitSignature",
    "TransactionFailed",
    "available_artifacts",
    "deploy",
    "dev_accounts",
    "load_artifact",
    "send",
    "sign_permit",
    "start_devnet",
]
