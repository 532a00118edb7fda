"""Tokens per joule, derived in one place for the node, the CLI and the market's event."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from jouleledger.efficiency import from_e6, tokens_per_joule, tokens_per_joule_e6


def test_tokens_per_joule_counts_millijoules_as_thousandths() -> None:
    assert tokens_per_joule(64, 2_000) == pytest.approx(32.0)


def test_tokens_per_joule_is_zero_without_energy() -> None:
    assert tokens_per_joule(64, 0) == 0.0


@given(tokens=st.integers(0, 2**64 - 1), energy=st.integers(1, 2**64 - 1))
def test_event_value_is_the_float_rounded_down_to_six_decimals(tokens: int, energy: int) -> None:
    e6 = tokens_per_joule_e6(tokens, energy)

    assert e6 == tokens * 10**9 // energy
    assert from_e6(e6) == pytest.approx(tokens_per_joule(tokens, energy), rel=1e-9, abs=1e-6)
