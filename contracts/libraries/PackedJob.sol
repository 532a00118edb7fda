// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarket} from "../interfaces/IJobMarket.sol";

/// @title The hot word of a job
/// @notice Everything that claim, settle and withdraw read lives in one storage word, so
/// that settling a job costs one cold read and one write. To fit, a job's amounts and
/// price are kept in nano-CPT (1e9 wei): the market takes and pays only whole nano-CPT.
/// Layout, low bits first:
///
/// | bits    | field           | Open / Claimed           | Settled and after       |
/// | ------- | --------------- | ------------------------ | ----------------------- |
/// | 0-6     | state           | JobState                 | JobState                |
/// | 7       | refundWithdrawn | 0                        | client pulled refund    |
/// | 8-31    | provider        | designated / assigned id | provider id             |
/// | 32-63   | time            | deadline                 | settled at              |
/// | 64-79   | feeBps          | protocol fee at posting  | same                    |
/// | 80-127  | price           | nano-CPT per GPU-second  | same                    |
/// | 128-191 | amountA         | maxPayment (nano)        | payment: usage + bid    |
/// | 192-255 | amountB         | bid (nano)               | escrow: maxPayment+bid  |
///
/// The refund owed to the client after settlement is `escrow - payment`.
library PackedJob {
    struct Core {
        IJobMarket.JobState state;
        bool refundWithdrawn;
        uint24 provider;
        uint32 time;
        uint16 feeBps;
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
        core.state = IJobMarket.JobState(word & 0x7f);
        core.refundWithdrawn = (word >> 7) & 1 == 1;
        core.provider = uint24(word >> 8);
        core.time = uint32(word >> 32);
        core.feeBps = uint16(word >> 64);
        core.price = uint48(word >> 80);
        core.amountA = uint64(word >> 128);
        core.amountB = uint64(word >> 192);
    }

    function pack(Core memory core) internal pure returns (uint256 word) {
        word = uint256(uint8(core.state)) | (core.refundWithdrawn ? 1 << 7 : 0) | (uint256(core.provider) << 8)
            | (uint256(core.time) << 32) | (uint256(core.feeBps) << 64) | (uint256(core.price) << 80)
            | (uint256(core.amountA) << 128) | (uint256(core.amountB) << 192);
    }

    /// @dev Bits kept when a claimed job settles: provider id, fee and price.
    uint256 private constant _KEPT_AT_SETTLEMENT = (uint256(type(uint24).max) << 8) | (uint256(type(uint64).max) << 64);

    /// @notice The word of a claimed job once settled now: state Settled, time = now,
    /// amountA = `payment`, amountB = `escrow` (both nano-CPT, at most MAX_AMOUNT).
    function settled(uint256 word, uint256 payment, uint256 escrow) internal view returns (uint256) {
        return (word & _KEPT_AT_SETTLEMENT) | uint256(uint8(IJobMarket.JobState.Settled))
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

    function state(uint256 word) internal pure returns (IJobMarket.JobState) {
        return IJobMarket.JobState(word & 0x7f);
    }

    function provider(uint256 word) internal pure returns (uint24) {
        return uint24(word >> 8);
    }

    /// @notice The bid of an Open job, in nano-CPT.
    function bid(uint256 word) internal pure returns (uint256) {
        return uint64(word >> 192);
    }
}
