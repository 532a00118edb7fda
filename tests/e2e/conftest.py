"""Fixtures for the end-to-end tests: the anvil devnet of the oracle tests (with the protocol
deployed by `tests.oracle.conftest.AnvilMarket`), shared rather than copied."""

from __future__ import annotations

from tests.oracle.conftest import anvil

__all__ = ["anvil"]
