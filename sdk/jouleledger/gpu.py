"""GPU classes: a job's class is bytes4(keccak256(lower-case name)) on chain."""

from __future__ import annotations

from eth_hash.auto import keccak

KNOWN_CLASSES = ("nvidia-h100", "nvidia-h200", "nvidia-a100", "nvidia-l40s", "rtx-4090")


def gpu_class_id(name: str) -> bytes:
    """The on-chain id of a GPU class name, e.g. ``gpu_class_id("nvidia-h100")``.

    Raises:
        ValueError: an empty name.
    """
    cleaned = name.strip().lower()
    if not cleaned:
        raise ValueError("a GPU class name must not be empty, e.g. nvidia-h100")
    return keccak(cleaned.encode())[:4]


def gpu_class_name(class_id: bytes) -> str:
    """The known name of `class_id`, or its hex when it is not a known class."""
    for name in KNOWN_CLASSES:
        if gpu_class_id(name) == bytes(class_id):
            return name
    return "0x" + bytes(class_id).hex()
