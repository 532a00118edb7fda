// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarketTypes} from "../interfaces/IJobMarketTypes.sol";
import {JobWord, JobWordLibrary} from "./JobWord.sol";
import {BPS, E6, MILLI, NANO, bpsOf} from "./Units.sol";

/// @title A job's state machine, on its word
/// @notice Each transition checks what it needs of the job and returns the job's next
/// word with the amounts it moves; the market checks who calls, keeps the books
/// (credits, locks, queues) and moves tokens, as v4-core's `Pool` library does for
/// `PoolManager`. Nothing here touches storage, so it costs what the same code inline
/// would. Open -> Claimed (claim), Cancelled (cancel) or Expired (expire); Claimed ->
/// Settled (settle) or Expired (expire); Settled -> Disputed (openDispute, within the
/// dispute window) or Finalized (withdraw, after it: see {payout}); Disputed -> Finalized
/// (resolve).
library JobLifecycle {
    using JobLifecycle for JobWord;

    /// @notice The `index` of a call that is not a batch: its errors are raised as they are.
    uint256 internal constant NO_INDEX = type(uint256).max;

    /// @notice Reverts with `reason` (an encoded custom error) or, for element `index` of a
    /// batch, with `MarketBatchItemInvalid(index, reason)`.
    function fail(uint256 index, bytes memory reason) internal pure {
        if (index != NO_INDEX) revert IJobMarketTypes.MarketBatchItemInvalid(index, reason);
        assembly ("memory-safe") {
            revert(add(reason, 0x20), mload(reason))
        }
    }

    /// @notice A request's amounts in nano-CPT, once it is known to make a valid job whose
    /// escrow the market can collateralise (see {checkEscrow}). `index`: see {fail}.
    function checkRequest(
        IJobMarketTypes.JobRequest calldata request,
        uint256 collateralBps,
        uint256 collateralCap,
        uint256 index
    ) internal view returns (uint256 maxPayment, uint256 bid, uint256 price) {
        if (request.gpuClass == bytes4(0)) {
            fail(index, abi.encodeWithSelector(IJobMarketTypes.MarketInvalidGpuClass.selector));
        }
        if (request.deadline <= block.timestamp) {
            fail(
                index,
                abi.encodeWithSelector(
                    IJobMarketTypes.MarketInvalidDeadline.selector, request.deadline, block.timestamp
                )
            );
        }
        if (request.maxPayment == 0) fail(index, abi.encodeWithSelector(IJobMarketTypes.MarketZeroPayment.selector));
        maxPayment = toUnits(request.maxPayment, JobWordLibrary.MAX_AMOUNT, index);
        bid = toUnits(request.bid, JobWordLibrary.MAX_AMOUNT, index);
        _checkEscrowUnits(maxPayment + bid, collateralBps, collateralCap, index);
        price = toUnits(request.pricePerGpuSecond, JobWordLibrary.MAX_PRICE, index);
    }

    /// @notice `amount` wei as whole nano-CPT, at most `max` of them: the word stores no
    /// fractions of a nano-CPT. `index`: see {fail}.
    function toUnits(uint256 amount, uint256 max, uint256 index) internal pure returns (uint256 units) {
        if (amount % NANO != 0) {
            fail(index, abi.encodeWithSelector(IJobMarketTypes.MarketAmountNotAligned.selector, amount, NANO));
        }
        units = amount / NANO;
        if (units > max) {
            fail(index, abi.encodeWithSelector(IJobMarketTypes.MarketAmountTooLarge.selector, amount, max * NANO));
        }
    }

    /// @notice Refuses an escrow (wei) whose lock would exceed `collateralCap` (wei), so
    /// that whether a provider can afford a job never depends on the job. `index`: see
    /// {fail}.
    function checkEscrow(uint256 escrow, uint256 collateralBps, uint256 collateralCap, uint256 index)
        internal
        pure
    {
        _checkEscrowUnits(toUnits(escrow, JobWordLibrary.MAX_AMOUNT, index), collateralBps, collateralCap, index);
    }

    /// @dev {checkEscrow} of an escrow of `units` nano-CPT.
    function _checkEscrowUnits(uint256 units, uint256 collateralBps, uint256 collateralCap, uint256 index)
        private
        pure
    {
        if (units > JobWordLibrary.MAX_AMOUNT) {
            fail(
                index,
                abi.encodeWithSelector(
                    IJobMarketTypes.MarketAmountTooLarge.selector, units * NANO, JobWordLibrary.MAX_AMOUNT * NANO
                )
            );
        }
        if (lockFor(units, collateralBps) * NANO > collateralCap) {
            uint256 maxEscrow = collateralBps == 0 ? type(uint256).max : collateralCap * BPS / collateralBps;
            fail(index, abi.encodeWithSelector(IJobMarketTypes.MarketJobTooLarge.selector, units * NANO, maxEscrow));
        }
    }

    /// @notice Stake (nano-CPT) a provider locks for a job of `escrow` (nano-CPT).
    function lockFor(uint256 escrow, uint256 collateralBps) internal pure returns (uint256) {
        return bpsOf(escrow, collateralBps);
    }

    /// @notice Reverts unless the job is in state `expected`.
    function expect(JobWord word, uint256 jobId, IJobMarketTypes.JobState expected) internal pure {
        IJobMarketTypes.JobState state = word.state();
        if (state != expected) revert IJobMarketTypes.MarketInvalidJobState(jobId, state);
    }

    /// @notice Claimed -> Settled by a record of `gpuMillis`, before the deadline. The
    /// provider earns the usage at the job's price, capped at its maxPayment, plus its bid;
    /// the rest of the escrow becomes the client's refund.
    function settle(JobWord word, uint256 jobId, uint256 gpuMillis)
        internal
        view
        returns (JobWord next, uint256 payment)
    {
        if (block.timestamp > word.deadline()) revert IJobMarketTypes.MarketDeadlinePassed(jobId, word.deadline());
        uint256 maxPayment = word.maxPayment();
        uint256 bid = word.bid();
        // Cannot overflow: the price has 48 bits and `gpuMillis` 64 (the ABI decoder checks
        // a record's uint64 fields), the amounts 56 bits each. This runs once per job of
        // every batch. payment <= maxPayment + bid, which posting bounded by MAX_AMOUNT.
        unchecked {
            uint256 usageCost = word.price() * gpuMillis / MILLI;
            payment = (usageCost < maxPayment ? usageCost : maxPayment) + bid;
            next = word.settled(payment, maxPayment + bid);
        }
    }

    /// @notice Usage a settlement accepts: some energy, over a window that has ended.
    function checkUsage(uint256 jobId, uint256 energyMj, uint256 startTime, uint256 endTime) internal view {
        if (energyMj == 0 || startTime > endTime || endTime > block.timestamp) {
            revert IJobMarketTypes.MarketInvalidUsage(jobId);
        }
    }

    /// @notice AI tokens per joule with six decimals, from millijoules.
    function tokensPerJouleE6(uint256 aiTokens, uint256 energyMj) internal pure returns (uint256) {
        // Cannot overflow: aiTokens has 64 bits (a record's uint64 field). A zero energyMj
        // still reverts: division by zero is checked even here.
        unchecked {
            return aiTokens * (MILLI * E6) / energyMj;
        }
    }

    /// @notice Open or Claimed -> Expired, once past the deadline. Returns the state it
    /// left (a claimed job's provider pays a penalty) and the escrow, all of it the client's.
    function expire(JobWord word, uint256 jobId)
        internal
        view
        returns (JobWord next, IJobMarketTypes.JobState previous, uint256 escrow)
    {
        previous = word.state();
        if (previous != IJobMarketTypes.JobState.Open && previous != IJobMarketTypes.JobState.Claimed) {
            revert IJobMarketTypes.MarketInvalidJobState(jobId, previous);
        }
        if (block.timestamp <= word.deadline()) revert IJobMarketTypes.MarketDeadlineNotPassed(jobId, word.deadline());
        escrow = word.maxPayment() + word.bid();
        next = word.withState(IJobMarketTypes.JobState.Expired);
    }

    /// @notice When the client's time to dispute a settled job ends.
    function disputeWindowEnd(JobWord word, uint256 window) internal pure returns (uint256) {
        return word.settledAt() + window;
    }

    /// @notice What a settled job pays its provider once the dispute window has closed:
    /// the payout and the protocol's fee at `feeBps`, in wei (the fee rounds in wei). The
    /// market marks the job paid (Settled -> Finalized) itself. `index`: see {fail}.
    function payout(JobWord word, uint256 jobId, uint256 window, uint256 feeBps, uint256 index)
        internal
        view
        returns (uint256 amount, uint256 fee)
    {
        uint256 windowEnd = word.disputeWindowEnd(window);
        if (block.timestamp < windowEnd) {
            fail(index, abi.encodeWithSelector(IJobMarketTypes.MarketDisputeWindowOpen.selector, jobId, windowEnd));
        }
        uint256 payment = word.payment() * NANO;
        fee = bpsOf(payment, feeBps);
        amount = payment - fee;
    }

    /// @notice Who gets what (wei) when a dispute over a `payment` is decided: the loser
    /// pays. A client that loses forfeits its `bond` to the provider; a provider that
    /// loses forfeits the payment and the `slashed` stake to the client. The fee on the
    /// payment is due either way, and the treasury takes its share of the bond whoever
    /// wins, and of the slash: disputing oneself always costs.
    function resolve(uint256 payment, uint256 bond, uint256 slashed, bool clientWins, IJobMarketTypes.Terms memory t)
        internal
        pure
        returns (uint256 toWinner, uint256 fee, uint256 toTreasury)
    {
        fee = bpsOf(payment, t.feeBps);
        uint256 bondShare = bpsOf(bond, t.treasuryShareBps);
        toTreasury = fee + bondShare;
        toWinner = payment - fee + bond - bondShare;
        if (clientWins) {
            uint256 slashShare = bpsOf(slashed, t.treasuryShareBps);
            toTreasury += slashShare;
            toWinner += slashed - slashShare;
        }
    }

    /// @notice Whether the client may still pull the refund of a job (Settled, Disputed or
    /// Finalized) that left one.
    function refundDue(JobWord word) internal pure returns (bool) {
        IJobMarketTypes.JobState state = word.state();
        return state >= IJobMarketTypes.JobState.Settled && state <= IJobMarketTypes.JobState.Finalized
            && !word.refundWithdrawn() && word.escrow() > word.payment();
    }
}
