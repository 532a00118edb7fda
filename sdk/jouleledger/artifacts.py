"""Compiled contracts shipped inside the package; see `jouleledger.abi.artifacts`."""

from .abi.artifacts import Artifact, available_artifacts, load_artifact

__all__ = ["Artifact", "available_artifacts", "load_artifact"]
