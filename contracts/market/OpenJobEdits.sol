// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IJobMarketExtension} from "../interfaces/IJobMarketExtension.sol";
import {JobLifecycle} from "../libraries/JobLifecycle.sol";
import {JobWord, JobWordLibrary} from "../libraries/JobWord.sol";
import {NANO} from "../libraries/Units.sol";
import {JobQueue} from "./JobQueue.sol";

/// @title A client's changes to its open jobs: raising a bid, cancelling
/// @notice Part of {JobMarketExtension}: it runs by delegatecall in the market's storage,
/// as the market, and reads the market's immutables through it.
abstract contract OpenJobEdits is IJobMarketExtension, JobQueue {
    using JobLifecycle for JobWord;
    using SafeERC20 for IERC20;

    /// @inheritdoc IJobMarketExtension
    function raiseBid(uint256 jobId, uint256 newBid) external whenNotPaused nonReentrant {
        IJobMarket m = _market();
        JobWord word = _openJobOfClient(jobId);
        uint256 oldBid = word.bid() * NANO;
        if (newBid <= oldBid) revert MarketBidNotHigher(jobId, oldBid, newBid);
        uint256 bidUnits = JobLifecycle.toUnits(newBid, JobWordLibrary.MAX_AMOUNT, JobLifecycle.NO_INDEX);
        JobLifecycle.checkEscrow(word.maxPayment() * NANO + newBid, m.COLLATERAL_BPS(), m.COLLATERAL_CAP(), JobLifecycle.NO_INDEX);
        uint256 priority = bidUnits + _groups[jobId - word.offset()].boost;
        uint256 level = _levelOf(priority);
        if (level != word.level()) {
            _requeue(jobId, word, level);
            word = word.requeuedAt(level);
        }
        _core[jobId] = word.withBid(bidUnits);
        emit BidRaised(jobId, newBid, priority * NANO);
        IERC20(m.TOKEN()).safeTransferFrom(msg.sender, address(this), newBid - oldBid);
    }

    /// @inheritdoc IJobMarketExtension
    function cancelJob(uint256 jobId) external nonReentrant {
        JobWord word = _openJobOfClient(jobId);
        _leave(_groups[jobId - word.offset()].gpuClass, word.provider());
        _core[jobId] = word.withState(JobState.Cancelled);
        uint256 refund = (word.maxPayment() + word.bid()) * NANO;
        _credits[msg.sender] += refund;
        emit JobCancelled(jobId, refund);
    }

    function _openJobOfClient(uint256 jobId) private view returns (JobWord word) {
        word = _core[jobId];
        word.expect(jobId, JobState.Open);
        if (_clientOf(jobId, word) != msg.sender) revert MarketNotJobClient(jobId, msg.sender);
    }
}
