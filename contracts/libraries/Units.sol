// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// The units every contract of the protocol agrees on, declared once.

/// @dev Basis points in a whole: every share and rate (fee, slash, penalty, boost) is in bps.
uint256 constant BPS = 10_000;

/// @dev Wei per nano-CPT. The market stores and pays only whole nano-CPT, so that a job's
/// amounts fit its one storage word (see {JobWord}); the vault's boosts follow.
uint256 constant NANO = 1e9;

/// @dev Usage records count GPU time in milliseconds and energy in millijoules.
uint256 constant MILLI = 1_000;

/// @dev Tokens per joule are reported with six decimals (`tokensPerJouleE6`).
uint256 constant E6 = 1e6;

/// @dev `bps` basis points of `amount`, rounded down.
function bpsOf(uint256 amount, uint256 bps) pure returns (uint256) {
    return amount * bps / BPS;
}
