"""Efficiency, the number the protocol exists to make comparable: AI tokens per joule.

Usage records carry energy in millijoules; the market's `JobSettled` event reports tokens per
joule with six decimals (`tokensPerJouleE6`, contracts/libraries/Units.sol). Every reader of
that number (node stats, CLI, dashboard, demo) derives it here, so they all agree.
"""

from __future__ import annotations

from typing import Final

MILLIJOULES_PER_JOULE: Final = 1_000
TOKENS_PER_JOULE_DECIMALS: Final = 6


def tokens_per_joule(ai_tokens: int, energy_mj: int) -> float:
    """AI tokens per joule of `energy_mj` millijoules (0.0 when no energy was recorded).

    Args:
        ai_tokens: tokens (or other work units) produced.
        energy_mj: energy used, in millijoules.
    """
    return ai_tokens * MILLIJOULES_PER_JOULE / energy_mj if energy_mj else 0.0


def tokens_per_joule_e6(ai_tokens: int, energy_mj: int) -> int:
    """Tokens per joule with six decimals, rounded down: the market's `tokensPerJouleE6`.

    Args:
        ai_tokens: tokens produced.
        energy_mj: energy used, in millijoules; the market never settles zero energy.

    Raises:
        ZeroDivisionError: `energy_mj` is 0 (the contract reverts such a settlement).
    """
    return ai_tokens * MILLIJOULES_PER_JOULE * 10**TOKENS_PER_JOULE_DECIMALS // energy_mj


def from_e6(tokens_per_joule_e6: int) -> float:
    """A `JobSettled` event's ``tokensPerJouleE6`` as tokens per joule.

    Args:
        tokens_per_joule_e6: the event's value, six decimals.
    """
    return tokens_per_joule_e6 / 10**TOKENS_PER_JOULE_DECIMALS
