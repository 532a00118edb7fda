// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarketTypes} from "../interfaces/IJobMarketTypes.sol";

/// @title The hot word of a job
/// @notice Everything that claim, settle and withdraw read lives in one storage word, so
/// that settling a job costs one cold read and one write. To fit, a job's amounts and
/// price are kept in nano-CPT (1e9 wei): the market takes and pays only whole nano-CPT.
/// Layout, low bits first:
///
/// | bits    | field           | Open / Claimed           | Settled and after       |
/// | ------- | --------------- | ------------------------ | ----------------------- |
/// | 0-2     | state           | JobState                 | JobState                |
/// | 3       | refundWithdrawn | 0                        | client pulled refund    |
/// | 4-6     | signerEpoch     | provider's signer epoch at claim (mod 8) | same    |
/// | 8-31    | provider        | designated / assigned id | provider id             |
/// | 32-63   | time            | deadline                 | settled at              |
/// | 64-79   | termsVersion    | {IJobMarket-Terms} at posting | same               |
/// | 80-127  | price           | nano-CPT per GPU-second  | same                    |
/// | 128-191 | amountA         | maxPayment (nano)        | payment: usage + bid    |
/// | 192-255 | amountB         | bid (nano)               | escrow: maxPayment+bid  |
///
/// The refund owed to the client after settlement is `escrow - payment`.
library PackedJob {
    struct Core {
        IJobMarketTypes.JobState state;
        bool refundWithdrawn;
        uint8 signerEpoch;
        uint24 provider;
        uint32 time;
        uint16 termsVersion;
        uint48 price;
        uint64 amountA;
        uint64 amountB;
    }

    /// @notice Wei per stored unit (nano-CPT).
    uint256 internal constant UNIT = 1e9;
    /// @notice The largest escrow (maxPayment + bid) of a job, in nano-CPT (~18.4e9 CPT).
    uint256 internal constant MAX_AMOUNT = type(uint64).max;
    /// @notice The largest price, in nano-CPT per GPU-second (~281,000 CPT).
    uint256 internal constant MAX_PRICE = type(uint48).max;

    function unpack(uint256 word) internal pure returns (Core memory core) {
        core.state = IJobMarketTypes.JobState(word & 7);
        core.refundWithdrawn = (word >> 3) & 1 == 1;
        core.signerEpoch = uint8((word >> 4) & 7);
        core.provider = uint24(word >> 8);
        core.time = uint32(word >> 32);
        core.termsVersion = uint16(word >> 64);
        core.price = uint48(word >> 80);
        core.amountA = uint64(word >> 128);
        core.amountB = uint64(word >> 192);
    }

    function pack(Core memory core) internal pure returns (uint256 word) {
        word = uint256(uint8(core.state)) | (core.refundWithdrawn ? 1 << 3 : 0) | (uint256(core.signerEpoch & 7) << 4)
            | (uint256(core.provider) << 8) | (uint256(core.time) << 32) | (uint256(core.termsVersion) << 64)
            | (uint256(core.price) << 80)
            | (uint256(core.amountA) << 128) | (uint256(core.amountB) << 192);
    }

    /// @dev Bits kept when a claimed job settles: signer epoch, provider id, terms version
    /// and price.
    uint256 private constant _KEPT_AT_SETTLEMENT =
        (uint256(7) << 4) | (uint256(type(uint24).max) << 8) | (uint256(type(uint64).max) << 64);

    /// @notice The word of a claimed job once settled now: state Settled, time = now,
    /// amountA = `payment`, amountB = `escrow` (both nano-CPT, at most MAX_AMOUNT).
    function settled(uint256 word, uint256 payment, uint256 escrow) internal view returns (uint256) {
        return (word & _KEPT_AT_SETTLEMENT) | uint256(uint8(IJobMarketTypes.JobState.Settled))
            | (block.timestamp << 32) | (payment << 128) | (escrow << 192);
    }

    function time(uint256 word) internal pure returns (uint256) {
        return uint32(word >> 32);
    }

    function price(uint256 word) internal pure returns (uint256) {
        return uint48(word >> 80);
    }

    function amountA(uint256 word) internal pure returns (uint256) {
        return uint64(word >> 128);
    }

    function state(uint256 word) internal pure returns (IJobMarketTypes.JobState) {
        return IJobMarketTypes.JobState(word & 7);
    }

    function signerEpoch(uint256 word) internal pure returns (uint256) {
        return (word >> 4) & 7;
    }

    function termsVersion(uint256 word) internal pure returns (uint256) {
        return uint16(word >> 64);
    }

    function provider(uint256 word) internal pure returns (uint24) {
        return uint24(word >> 8);
    }

    /// @notice The bid of an Open job, in nano-CPT.
    function bid(uint256 word) internal pure returns (uint256) {
        return uint64(word >> 192);
    }
}
