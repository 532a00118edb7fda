// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarket} from "../interfaces/IJobMarket.sol";

/// @title The hot word of a job
/// @notice Everything settle, claim and withdraw touch lives in one storage word, so that
/// settling a job costs one cold read and one write of it. Layout, low bits first:
///
/// | bits    | field           | Open / Claimed          | Settled and after        |
/// | ------- | --------------- | ----------------------- | ------------------------ |
/// | 0-6     | state           | JobState                | JobState                 |
/// | 7       | refundWithdrawn | 0                       | client pulled its refund |
/// | 8-31    | provider        | designated/assigned idx | provider index           |
/// | 32-63   | time            | deadline                | settled at               |
/// | 64-79   | feeBps          | protocol fee at posting | same                     |
/// | 80-167  | amountA         | maxPayment              | payment (usage + bid)    |
/// | 168-255 | amountB         | bid                     | escrow (maxPayment+bid)  |
///
/// The refund owed to the client after settlement is `escrow - payment`.
library PackedJob {
    struct Core {
        IJobMarket.JobState state;
        bool refundWithdrawn;
        uint24 provider;
        uint32 time;
        uint16 feeBps;
        uint88 amountA;
        uint88 amountB;
    }

    /// @notice The largest escrow (maxPayment + bid) a job can hold: about 309 million CPT.
    uint256 internal constant MAX_AMOUNT = type(uint88).max;

    function unpack(uint256 word) internal pure returns (Core memory core) {
        core.state = IJobMarket.JobState(word & 0x7f);
        core.refundWithdrawn = (word >> 7) & 1 == 1;
        core.provider = uint24(word >> 8);
        core.time = uint32(word >> 32);
        core.feeBps = uint16(word >> 64);
        core.amountA = uint88(word >> 80);
        core.amountB = uint88(word >> 168);
    }

    function pack(Core memory core) internal pure returns (uint256 word) {
        word = uint256(uint8(core.state)) | (core.refundWithdrawn ? 1 << 7 : 0) | (uint256(core.provider) << 8)
            | (uint256(core.time) << 32) | (uint256(core.feeBps) << 64) | (uint256(core.amountA) << 80)
            | (uint256(core.amountB) << 168);
    }

    function state(uint256 word) internal pure returns (IJobMarket.JobState) {
        return IJobMarket.JobState(word & 0x7f);
    }

    /// @notice The bid of an Open job (amountB).
    function bid(uint256 word) internal pure returns (uint256) {
        return uint88(word >> 168);
    }
}
