// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarketTypes} from "../interfaces/IJobMarketTypes.sol";

/// @title The hot word of a job
/// @notice Everything that claim, settle and withdraw read lives in one storage word, so
/// that settling a job costs one cold read and one write. To fit, a job's amounts and
/// price are kept in nano-CPT (see {NANO}). Two fields change meaning at settlement,
/// so each meaning has its own accessor, valid only in the states named below.
/// Layout, low bits first:
///
/// | bits    | Open / Claimed                            | Settled and after           |
/// | ------- | ----------------------------------------- | --------------------------- |
/// | 0-2     | `state`                                   | same                        |
/// | 3       | 0                                         | `refundWithdrawn`           |
/// | 4-6     | `signerEpoch`: the provider's at claim    | same                        |
/// | 7       | `requeued`: queued outside its group      | same                        |
/// | 8-31    | `provider`: designated / assigned id      | same                        |
/// | 32-63   | `deadline`                                | `settledAt`                 |
/// | 64-79   | `termsVersion`: {IJobMarketTypes-Terms}   | same                        |
/// | 80-87   | `offset`: position in its posting group   | same                        |
/// | 88-95   | `level`: the priority level it is queued at | same                      |
/// | 96-143  | `price`: nano-CPT per GPU-second          | same                        |
/// | 144-199 | `maxPayment`                              | `payment`: usage + bid      |
/// | 200-255 | `bid`                                     | `escrow`: maxPayment + bid  |
///
/// A job's posting group (client, class, boost; see {MarketState-Group}) is the group
/// keyed `jobId - offset`.
type JobWord is uint256;

using JobWordLibrary for JobWord global;

library JobWordLibrary {
    /// @notice The largest escrow (maxPayment + bid) of a job, in nano-CPT (~72 million CPT).
    uint256 internal constant MAX_AMOUNT = type(uint56).max;
    /// @notice The largest price, in nano-CPT per GPU-second (~281,000 CPT).
    uint256 internal constant MAX_PRICE = type(uint48).max;
    /// @notice Signer epochs are kept mod 8: a job only needs to tell the current signer
    /// from the one before it.
    uint256 internal constant SIGNER_EPOCH_MASK = 7;

    uint256 private constant _STATE_MASK = 7;
    uint256 private constant _REFUND_WITHDRAWN = 1 << 3;
    uint256 private constant _EPOCH_SHIFT = 4;
    uint256 private constant _REQUEUED = 1 << 7;
    uint256 private constant _PROVIDER_SHIFT = 8;
    uint256 private constant _TIME_SHIFT = 32;
    uint256 private constant _TERMS_SHIFT = 64;
    uint256 private constant _OFFSET_SHIFT = 80;
    uint256 private constant _LEVEL_SHIFT = 88;
    uint256 private constant _PRICE_SHIFT = 96;
    uint256 private constant _AMOUNT_A_SHIFT = 144;
    uint256 private constant _AMOUNT_B_SHIFT = 200;

    /// @dev What the jobs of one settlement batch must share: one signature covers them.
    uint256 private constant _SIGNER_AND_TERMS =
        (SIGNER_EPOCH_MASK << _EPOCH_SHIFT) | (uint256(type(uint16).max) << _TERMS_SHIFT);
    /// @dev What a claim rewrites: state, signer epoch and provider.
    uint256 private constant _CLAIM_BITS =
        _STATE_MASK | (SIGNER_EPOCH_MASK << _EPOCH_SHIFT) | (uint256(type(uint24).max) << _PROVIDER_SHIFT);
    /// @dev What settlement keeps: signer epoch, requeued, provider, terms version, offset,
    /// level and price.
    uint256 private constant _KEPT_AT_SETTLEMENT = (SIGNER_EPOCH_MASK << _EPOCH_SHIFT) | _REQUEUED
        | (uint256(type(uint24).max) << _PROVIDER_SHIFT) | (uint256(type(uint80).max) << _TERMS_SHIFT);

    // --- every state -------------------------------------------------------------------

    function state(JobWord word) internal pure returns (IJobMarketTypes.JobState) {
        return IJobMarketTypes.JobState(JobWord.unwrap(word) & _STATE_MASK);
    }

    function signerEpoch(JobWord word) internal pure returns (uint256) {
        return (JobWord.unwrap(word) >> _EPOCH_SHIFT) & SIGNER_EPOCH_MASK;
    }

    function provider(JobWord word) internal pure returns (uint24) {
        return uint24(JobWord.unwrap(word) >> _PROVIDER_SHIFT);
    }

    function termsVersion(JobWord word) internal pure returns (uint256) {
        return uint16(JobWord.unwrap(word) >> _TERMS_SHIFT);
    }

    function price(JobWord word) internal pure returns (uint256) {
        return uint48(JobWord.unwrap(word) >> _PRICE_SHIFT);
    }

    /// @notice The job's position in its posting group, whose key is `jobId - offset`.
    function offset(JobWord word) internal pure returns (uint256) {
        return uint8(JobWord.unwrap(word) >> _OFFSET_SHIFT);
    }

    /// @notice The priority level the job is (or was last) queued at.
    function level(JobWord word) internal pure returns (uint256) {
        return uint8(JobWord.unwrap(word) >> _LEVEL_SHIFT);
    }

    /// @notice Whether a raised bid moved the job out of its posting group into a group of
    /// its own (see {JobQueue}).
    function requeued(JobWord word) internal pure returns (bool) {
        return JobWord.unwrap(word) & _REQUEUED != 0;
    }

    /// @notice Whether two jobs were claimed at the same signer epoch under the same terms
    /// version: one comparison, where a batch's settlement checks each job against the first.
    function sameSignerAndTerms(JobWord a, JobWord b) internal pure returns (bool) {
        return (JobWord.unwrap(a) ^ JobWord.unwrap(b)) & _SIGNER_AND_TERMS == 0;
    }

    // --- Open and Claimed ----------------------------------------------------------------

    function deadline(JobWord word) internal pure returns (uint256) {
        return uint32(JobWord.unwrap(word) >> _TIME_SHIFT);
    }

    function maxPayment(JobWord word) internal pure returns (uint256) {
        return uint56(JobWord.unwrap(word) >> _AMOUNT_A_SHIFT);
    }

    function bid(JobWord word) internal pure returns (uint256) {
        return JobWord.unwrap(word) >> _AMOUNT_B_SHIFT;
    }

    // --- Settled and after: the bits of deadline, maxPayment and bid, read anew -----------

    function settledAt(JobWord word) internal pure returns (uint256) {
        return deadline(word);
    }

    /// @notice What the provider earned: usage at the job's price, capped, plus the bid.
    function payment(JobWord word) internal pure returns (uint256) {
        return maxPayment(word);
    }

    /// @notice The whole escrow (maxPayment + bid): what the provider's lock backs.
    function escrow(JobWord word) internal pure returns (uint256) {
        return bid(word);
    }

    /// @notice What the client gets back: the escrow less the payment.
    function refund(JobWord word) internal pure returns (uint256) {
        return escrow(word) - payment(word);
    }

    function refundWithdrawn(JobWord word) internal pure returns (bool) {
        return JobWord.unwrap(word) & _REFUND_WITHDRAWN != 0;
    }

    // --- transitions ----------------------------------------------------------------------

    /// @notice A job as posted, at `offset_` in its posting group and queued at `level_`.
    /// The caller bounds `price` by MAX_PRICE, the amounts by MAX_AMOUNT and the offset and
    /// level by 255.
    function open(
        uint24 designated,
        uint256 deadline_,
        uint256 termsVersion_,
        uint256 offset_,
        uint256 level_,
        uint256 price_,
        uint256 maxPayment_,
        uint256 bid_
    ) internal pure returns (JobWord) {
        return JobWord.wrap(
            uint256(IJobMarketTypes.JobState.Open) | (uint256(designated) << _PROVIDER_SHIFT)
                | (deadline_ << _TIME_SHIFT) | (termsVersion_ << _TERMS_SHIFT) | (offset_ << _OFFSET_SHIFT)
                | (level_ << _LEVEL_SHIFT) | (price_ << _PRICE_SHIFT) | (maxPayment_ << _AMOUNT_A_SHIFT)
                | (bid_ << _AMOUNT_B_SHIFT)
        );
    }

    function withState(JobWord word, IJobMarketTypes.JobState next) internal pure returns (JobWord) {
        return JobWord.wrap((JobWord.unwrap(word) & ~_STATE_MASK) | uint256(next));
    }

    /// @notice An open job's new bid (nano-CPT, at most MAX_AMOUNT).
    function withBid(JobWord word, uint256 bid_) internal pure returns (JobWord) {
        return JobWord.wrap((JobWord.unwrap(word) & ~(MAX_AMOUNT << _AMOUNT_B_SHIFT)) | (bid_ << _AMOUNT_B_SHIFT));
    }

    /// @notice An open job queued anew at `level_` (at most 255), in a group of its own.
    function requeuedAt(JobWord word, uint256 level_) internal pure returns (JobWord) {
        return JobWord.wrap(
            (JobWord.unwrap(word) & ~(uint256(type(uint8).max) << _LEVEL_SHIFT)) | _REQUEUED | (level_ << _LEVEL_SHIFT)
        );
    }

    /// @notice An open job taken by provider `index`, whose signer is at `epoch` now.
    function claimed(JobWord word, uint24 index, uint256 epoch) internal pure returns (JobWord) {
        return JobWord.wrap(
            (JobWord.unwrap(word) & ~_CLAIM_BITS) | uint256(IJobMarketTypes.JobState.Claimed)
                | ((epoch & SIGNER_EPOCH_MASK) << _EPOCH_SHIFT) | (uint256(index) << _PROVIDER_SHIFT)
        );
    }

    /// @notice A claimed job settled now, for `payment_` out of `escrow_` (nano-CPT, at most
    /// MAX_AMOUNT).
    function settled(JobWord word, uint256 payment_, uint256 escrow_) internal view returns (JobWord) {
        return JobWord.wrap(
            (JobWord.unwrap(word) & _KEPT_AT_SETTLEMENT) | uint256(IJobMarketTypes.JobState.Settled)
                | (block.timestamp << _TIME_SHIFT) | (payment_ << _AMOUNT_A_SHIFT) | (escrow_ << _AMOUNT_B_SHIFT)
        );
    }

    function withRefundWithdrawn(JobWord word) internal pure returns (JobWord) {
        return JobWord.wrap(JobWord.unwrap(word) | _REFUND_WITHDRAWN);
    }
}
