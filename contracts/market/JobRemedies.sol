// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IJobMarketExtension} from "../interfaces/IJobMarketExtension.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {JobLifecycle} from "../libraries/JobLifecycle.sol";
import {JobWord} from "../libraries/JobWord.sol";
import {NANO, bpsOf} from "../libraries/Units.sol";
import {JobQueue} from "./JobQueue.sol";

/// @title A client's remedies: expiry of late jobs, disputes over settled ones
/// @notice Part of {JobMarketExtension}: it runs by delegatecall in the market's storage,
/// as the market, and reads the market's immutables through it. Both are rare, so their
/// code lives outside the market's hot paths (and its size limit).
abstract contract JobRemedies is IJobMarketExtension, JobQueue {
    using JobLifecycle for JobWord;
    using SafeERC20 for IERC20;

    /// @inheritdoc IJobMarketExtension
    function expireJob(uint256 jobId) external nonReentrant {
        JobWord word = _core[jobId];
        (JobWord next, JobState previous, uint256 escrow) = word.expire(jobId);
        Group storage group = _groups[jobId - word.offset()];
        address client = _clientAccounts[group.client];
        _core[jobId] = next;

        address account = address(0);
        uint256 lock = 0;
        if (previous == JobState.Open) {
            _leave(group.gpuClass, word.provider());
        } else {
            account = _accountOf[word.provider()];
            lock = JobLifecycle.lockFor(escrow, _market().COLLATERAL_BPS());
            _profiles[account].locked -= uint64(lock);
        }
        _credits[client] += escrow * NANO;
        uint256 penalty = bpsOf(lock * NANO, _termsAt[word.termsVersion()].expirePenaltyBps);
        if (penalty != 0) {
            // The client is credited what staking actually slashed, so the write follows the
            // call. Safe: staking is immutable protocol code whose slash() only moves tokens
            // (CPT has no transfer hooks) and calls back only syncStake; this function is
            // nonReentrant.
            // slither-disable-next-line reentrancy-no-eth,reentrancy-benign
            penalty = IProviderStaking(_market().STAKING()).slash(account, penalty, address(this));
            _credits[client] += penalty;
        }
        emit JobExpired(jobId, escrow * NANO, penalty);
    }

    /// @inheritdoc IJobMarketExtension
    function openDispute(uint256 jobId) external nonReentrant {
        JobWord word = _core[jobId];
        JobState state = _stateOf(jobId, word);
        if (state != JobState.Settled) revert MarketInvalidJobState(jobId, state);
        if (_clientOf(jobId, word) != msg.sender) revert MarketNotJobClient(jobId, msg.sender);
        uint256 windowEnd = word.disputeWindowEnd(_market().DISPUTE_WINDOW());
        if (block.timestamp >= windowEnd) revert MarketDisputeWindowClosed(jobId, windowEnd);
        uint256 bond = _termsAt[word.termsVersion()].disputeBond;
        _core[jobId] = word.withState(JobState.Disputed);
        _disputes[jobId] = Dispute({bond: uint96(bond), openedAt: uint32(block.timestamp)});
        emit DisputeOpened(jobId, msg.sender, bond);
        IERC20(_market().TOKEN()).safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IJobMarketExtension
    function resolveDispute(uint256 jobId, bool clientWins) external onlyRole(ARBITER_ROLE) nonReentrant {
        uint256 deadline = _arbiterDeadline(jobId);
        if (block.timestamp > deadline) revert MarketArbiterTimeoutPassed(jobId, deadline);
        _resolve(jobId, clientWins, false);
    }

    /// @inheritdoc IJobMarketExtension
    function finalizeDispute(uint256 jobId) external nonReentrant {
        uint256 deadline = _arbiterDeadline(jobId);
        if (block.timestamp <= deadline) revert MarketArbiterTimeoutNotPassed(jobId, deadline);
        _resolve(jobId, false, true);
    }

    function _arbiterDeadline(uint256 jobId) private view returns (uint256) {
        _core[jobId].expect(jobId, JobState.Disputed);
        return uint256(_disputes[jobId].openedAt) + _market().ARBITER_TIMEOUT();
    }

    /// @dev Ends a dispute: the job's stake is unlocked, part of it slashed when the client
    /// wins, and the shares go where {JobLifecycle-resolve} says.
    function _resolve(uint256 jobId, bool clientWins, bool byDefault) private {
        JobWord word = _core[jobId];
        Terms memory t = _termsAt[word.termsVersion()];
        uint256 payment = word.payment() * NANO;
        uint256 bond = _disputes[jobId].bond;
        address client = _clientOf(jobId, word);
        address account = _accountOf[word.provider()];
        _core[jobId] = word.withState(JobState.Finalized);
        delete _disputes[jobId];
        uint256 lock = JobLifecycle.lockFor(word.escrow(), _market().COLLATERAL_BPS());
        _profiles[account].locked -= uint64(lock);

        uint256 slashed = 0;
        if (clientWins) {
            uint256 slashAmount = bpsOf(lock * NANO, t.disputeSlashBps);
            // slither-disable-next-line reentrancy-no-eth,reentrancy-benign
            if (slashAmount != 0) slashed = IProviderStaking(_market().STAKING()).slash(account, slashAmount, address(this));
        }
        (uint256 toWinner, uint256 fee, uint256 toTreasury) =
            JobLifecycle.resolve(payment, bond, slashed, clientWins, t);
        if (clientWins) {
            _credits[client] += toWinner;
        } else {
            _credits[account] += toWinner;
            emit JobFinalized(jobId, account, payment - fee, fee);
        }
        _credits[_treasury] += toTreasury;
        emit DisputeResolved(jobId, clientWins, byDefault, slashed, toTreasury);
    }
}
