// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";

import {IHoldingsVault} from "../interfaces/IHoldingsVault.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {JobLifecycle} from "../libraries/JobLifecycle.sol";
import {JobWord, JobWordLibrary} from "../libraries/JobWord.sol";
import {BPS, NANO, bpsOf} from "../libraries/Units.sol";
import {JobQueue} from "./JobQueue.sol";
import {JobSettlement} from "./JobSettlement.sol";
import {ProviderMirror} from "./ProviderMirror.sol";

/// @title Job market and escrow
/// @notice See {IJobMarket}. Calls to anything else (views, administration) are delegated
/// to {JobMarketExtension}, which shares {MarketState}'s layout. What each transition
/// requires of a job is in {JobLifecycle}; this contract checks callers, keeps the books
/// and moves tokens. Settlement, which moves none, is in {JobSettlement}; the providers'
/// profiles are in {ProviderMirror}; the queues of open jobs in {JobQueue}.
contract JobMarket is IJobMarket, JobQueue, JobSettlement {
    using JobLifecycle for JobWord;
    using SafeERC20 for IERC20;

    // Terms of version 0, until PARAMS_ROLE sets others: see {IJobMarketTypes-Terms}.
    uint16 private constant _DEFAULT_DISPUTE_SLASH_BPS = 5_000;
    uint16 private constant _DEFAULT_EXPIRE_PENALTY_BPS = 1_000;
    uint16 private constant _DEFAULT_TREASURY_SHARE_BPS = 1_000;
    uint32 private constant _DEFAULT_BUSY_THRESHOLD = 16;

    /// @inheritdoc IJobMarket
    address public immutable TOKEN;
    /// @inheritdoc IJobMarket
    address public immutable VAULT;
    /// @inheritdoc IJobMarket
    address public immutable EXTENSION;
    /// @inheritdoc IJobMarket
    uint256 public immutable DISPUTE_WINDOW;
    /// @inheritdoc IJobMarket
    uint256 public immutable ARBITER_TIMEOUT;
    /// @inheritdoc IJobMarket
    uint256 public immutable COLLATERAL_BPS;
    /// @inheritdoc IJobMarket
    uint256 public immutable COLLATERAL_CAP;

    constructor(
        IERC20 token,
        IProviderStaking staking,
        IHoldingsVault vault,
        address extension,
        uint256 disputeWindow,
        uint256 arbiterTimeout,
        uint256 collateralBps,
        uint256 collateralCap,
        address treasury,
        address admin
    ) ProviderMirror(staking) {
        if (
            address(token) == address(0) || address(staking) == address(0) || address(vault) == address(0)
                || extension == address(0) || treasury == address(0) || admin == address(0)
        ) revert MarketZeroAddress();
        if (staking.token() != address(token)) revert MarketWiringMismatch(address(token), staking.token());
        if (vault.token() != address(token)) revert MarketWiringMismatch(address(token), vault.token());
        uint256 needed = disputeWindow + arbiterTimeout;
        if (staking.UNBONDING_DELAY() <= needed) revert MarketUnbondingTooShort(staking.UNBONDING_DELAY(), needed + 1);
        if (collateralBps > BPS) revert MarketInvalidParameter("collateralBps", collateralBps);
        if (collateralCap % NANO != 0 || collateralCap / NANO > type(uint64).max) {
            revert MarketInvalidParameter("collateralCap", collateralCap);
        }
        TOKEN = address(token);
        VAULT = address(vault);
        EXTENSION = extension;
        _treasury = treasury;
        _termsAt[0] = Terms({
            feeBps: 0,
            disputeBond: uint96(MIN_DISPUTE_BOND),
            disputeSlashBps: _DEFAULT_DISPUTE_SLASH_BPS,
            expirePenaltyBps: _DEFAULT_EXPIRE_PENALTY_BPS,
            treasuryShareBps: _DEFAULT_TREASURY_SHARE_BPS,
            attestorThreshold: 0,
            attestorSetId: 0
        });
        _config.busyThreshold = _DEFAULT_BUSY_THRESHOLD;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PARAMS_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _grantRole(ARBITER_ROLE, admin);
        DISPUTE_WINDOW = disputeWindow;
        ARBITER_TIMEOUT = arbiterTimeout;
        COLLATERAL_BPS = collateralBps;
        COLLATERAL_CAP = collateralCap;
    }

    /// @notice Everything else (views and administration) runs in {JobMarketExtension},
    /// in this contract's storage. Like OpenZeppelin's `Proxy._delegate`, but not payable:
    /// the market never takes ether.
    fallback() external {
        address extension = EXTENSION;
        assembly ("memory-safe") {
            calldatacopy(0, 0, calldatasize())
            let ok := delegatecall(gas(), extension, 0, calldatasize(), 0, 0)
            returndatacopy(0, 0, returndatasize())
            if iszero(ok) { revert(0, returndatasize()) }
            return(0, returndatasize())
        }
    }

    // --- posting -------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function postJob(JobRequest calldata request) external whenNotPaused nonReentrant returns (uint256 jobId) {
        jobId = _post(request);
    }

    /// @inheritdoc IJobMarket
    function postJobWithPermit(JobRequest calldata request, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 jobId)
    {
        // A front-runner may have used the permit already; the allowance then suffices.
        try IERC20Permit(TOKEN)
            .permit(msg.sender, address(this), request.maxPayment + request.bid, permitDeadline, v, r, s) {}
            catch {}
        jobId = _post(request);
    }

    function _post(JobRequest calldata request) private returns (uint256 jobId) {
        (uint256 maxPayment, uint256 bid, uint256 price) =
            JobLifecycle.checkRequest(request, COLLATERAL_BPS, COLLATERAL_CAP);
        bytes4 gpuClass = request.gpuClass;
        uint24 designated = _designated(request.provider, gpuClass);
        Config memory config = _config;
        uint256 boost = 0;
        if (_openCount(gpuClass) >= config.busyThreshold) {
            // The vault is immutable protocol code that only updates its own books and never
            // calls back; this function is nonReentrant.
            // slither-disable-next-line reentrancy-no-eth,reentrancy-benign
            boost = IHoldingsVault(VAULT).useBoost(msg.sender, request.deadline) / NANO;
        }
        uint256 priority = bid + boost;

        jobId = ++_jobCount;
        _core[jobId] = JobWordLibrary.open(designated, request.deadline, config.termsVersion, price, maxPayment, bid);
        _clients[jobId] = Client({client: msg.sender, gpuClass: gpuClass, boost: uint64(boost)});
        _enqueue(jobId, gpuClass, designated, priority, request.deadline, uint48(price));
        emit JobPosted(
            jobId,
            msg.sender,
            gpuClass,
            request.specHash,
            request.maxPayment,
            request.bid,
            boost * NANO,
            request.pricePerGpuSecond,
            request.deadline,
            request.provider
        );
        IERC20(TOKEN).safeTransferFrom(msg.sender, address(this), request.maxPayment + request.bid);
    }

    /// @inheritdoc IJobMarket
    function raiseBid(uint256 jobId, uint256 newBid) external whenNotPaused nonReentrant {
        JobWord word = _openJobOfClient(jobId);
        uint256 oldBid = word.bid() * NANO;
        if (newBid <= oldBid) revert MarketBidNotHigher(jobId, oldBid, newBid);
        uint256 bidUnits = JobLifecycle.toUnits(newBid, JobWordLibrary.MAX_AMOUNT);
        JobLifecycle.checkEscrow(word.maxPayment() * NANO + newBid, COLLATERAL_BPS, COLLATERAL_CAP);
        Client storage client = _clients[jobId];
        uint256 priority = bidUnits + client.boost;
        if (_levelOf(priority) != _queuedLevel(jobId)) {
            _dequeue(jobId);
            _enqueue(jobId, client.gpuClass, word.provider(), priority, uint32(word.deadline()), uint48(word.price()));
        }
        _core[jobId] = word.withBid(bidUnits);
        emit BidRaised(jobId, newBid, priority * NANO);
        IERC20(TOKEN).safeTransferFrom(msg.sender, address(this), newBid - oldBid);
    }

    /// @inheritdoc IJobMarket
    function cancelJob(uint256 jobId) external nonReentrant {
        JobWord word = _openJobOfClient(jobId);
        _dequeue(jobId);
        _core[jobId] = word.withState(JobState.Cancelled);
        uint256 refund = (word.maxPayment() + word.bid()) * NANO;
        _credits[msg.sender] += refund;
        emit JobCancelled(jobId, refund);
    }

    function _openJobOfClient(uint256 jobId) private view returns (JobWord word) {
        word = _core[jobId];
        word.expect(jobId, JobState.Open);
        if (_clients[jobId].client != msg.sender) revert MarketNotJobClient(jobId, msg.sender);
    }

    // --- claiming ------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function claimJob(uint256 jobId) external whenNotPaused {
        (Profile memory profile, uint256 ask) = _claimant(COLLATERAL_CAP / NANO);
        _core[jobId].expect(jobId, JobState.Open);
        if (!_takeable(jobId, profile.gpuClass, profile.index, ask)) {
            revert MarketProviderNotEligible(jobId, msg.sender);
        }
        uint256 best = _bestFor(profile.gpuClass, profile.index, ask);
        if (best != jobId) revert MarketHigherPriorityEligible(jobId, best);
        _claim(jobId, profile);
    }

    /// @inheritdoc IJobMarket
    function claimNext() external whenNotPaused returns (uint256 jobId) {
        (Profile memory profile, uint256 ask) = _claimant(COLLATERAL_CAP / NANO);
        jobId = _bestFor(profile.gpuClass, profile.index, ask);
        if (jobId == 0) revert MarketNoEligibleJob(msg.sender, profile.gpuClass);
        _claim(jobId, profile);
    }

    function _claim(uint256 jobId, Profile memory profile) private {
        JobWord word = _core[jobId];
        uint256 lock = _lockFor(word.maxPayment() + word.bid());
        _dequeue(jobId);
        _core[jobId] = word.claimed(profile.index, profile.signerEpoch);
        // Cannot overflow: the stake check bounds locked + lock by the stake (a uint64).
        _profiles[msg.sender].locked = uint64(profile.locked + lock);
        emit JobClaimed(jobId, msg.sender, lock * NANO);
    }

    /// @dev Stake (nano-CPT) locked for a job of `escrow` (nano-CPT).
    function _lockFor(uint256 escrow) private view returns (uint256) {
        return JobLifecycle.lockFor(escrow, COLLATERAL_BPS);
    }

    // --- expiry ----------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function expireJob(uint256 jobId) external nonReentrant {
        JobWord word = _core[jobId];
        (JobWord next, JobState previous, uint256 escrow) = word.expire(jobId);
        address client = _clients[jobId].client;
        _core[jobId] = next;

        address account = address(0);
        uint256 lock = 0;
        if (previous == JobState.Open) {
            _dequeue(jobId);
        } else {
            account = _accountOf[word.provider()];
            lock = _lockFor(escrow);
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
            penalty = _staking.slash(account, penalty, address(this));
            _credits[client] += penalty;
        }
        emit JobExpired(jobId, escrow * NANO, penalty);
    }

    // --- disputes --------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function openDispute(uint256 jobId) external nonReentrant {
        JobWord word = _core[jobId];
        word.expect(jobId, JobState.Settled);
        if (_clients[jobId].client != msg.sender) revert MarketNotJobClient(jobId, msg.sender);
        uint256 windowEnd = word.disputeWindowEnd(DISPUTE_WINDOW);
        if (block.timestamp >= windowEnd) revert MarketDisputeWindowClosed(jobId, windowEnd);
        uint256 bond = _termsAt[word.termsVersion()].disputeBond;
        _core[jobId] = word.withState(JobState.Disputed);
        _disputes[jobId] = Dispute({bond: uint96(bond), openedAt: uint32(block.timestamp)});
        emit DisputeOpened(jobId, msg.sender, bond);
        IERC20(TOKEN).safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IJobMarket
    function resolveDispute(uint256 jobId, bool clientWins) external onlyRole(ARBITER_ROLE) nonReentrant {
        uint256 deadline = _arbiterDeadline(jobId);
        if (block.timestamp > deadline) revert MarketArbiterTimeoutPassed(jobId, deadline);
        _resolve(jobId, clientWins, false);
    }

    /// @inheritdoc IJobMarket
    function finalizeDispute(uint256 jobId) external nonReentrant {
        uint256 deadline = _arbiterDeadline(jobId);
        if (block.timestamp <= deadline) revert MarketArbiterTimeoutNotPassed(jobId, deadline);
        _resolve(jobId, false, true);
    }

    function _arbiterDeadline(uint256 jobId) private view returns (uint256) {
        _core[jobId].expect(jobId, JobState.Disputed);
        return uint256(_disputes[jobId].openedAt) + ARBITER_TIMEOUT;
    }

    /// @dev Ends a dispute: the job's stake is unlocked, part of it slashed when the client
    /// wins, and the shares go where {JobLifecycle-resolve} says.
    function _resolve(uint256 jobId, bool clientWins, bool byDefault) private {
        JobWord word = _core[jobId];
        Terms memory t = _termsAt[word.termsVersion()];
        uint256 payment = word.payment() * NANO;
        uint256 bond = _disputes[jobId].bond;
        address client = _clients[jobId].client;
        address account = _accountOf[word.provider()];
        _core[jobId] = word.withState(JobState.Finalized);
        delete _disputes[jobId];
        uint256 lock = _lockFor(word.escrow());
        _profiles[account].locked -= uint64(lock);

        uint256 slashed = 0;
        if (clientWins) {
            uint256 slashAmount = bpsOf(lock * NANO, t.disputeSlashBps);
            // slither-disable-next-line reentrancy-no-eth,reentrancy-benign
            if (slashAmount != 0) slashed = _staking.slash(account, slashAmount, address(this));
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

    // --- withdrawals -----------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function withdraw(uint256[] calldata jobIds) external nonReentrant returns (uint256 amount) {
        amount = _credits[msg.sender];
        if (amount != 0) _credits[msg.sender] = 0;
        uint24 myIndex = _profiles[msg.sender].index;
        uint256 unlock = 0;
        uint256 fees = 0;
        for (uint256 i; i < jobIds.length; ++i) {
            uint256 jobId = jobIds[i];
            JobWord word = _core[jobId];
            bool paid = false;
            if (word.state() == JobState.Settled && word.provider() == myIndex && myIndex != 0) {
                uint256 payout;
                uint256 fee;
                (word, payout, fee) = word.finalize(jobId, DISPUTE_WINDOW, _termsAt[word.termsVersion()].feeBps);
                amount += payout;
                fees += fee;
                unlock += _lockFor(word.escrow());
                paid = true;
                emit JobFinalized(jobId, msg.sender, payout, fee);
            }
            if (word.refundDue() && _clients[jobId].client == msg.sender) {
                amount += word.refund() * NANO;
                word = word.withRefundWithdrawn();
                paid = true;
            }
            if (!paid) revert MarketNotWithdrawable(jobId, msg.sender);
            _core[jobId] = word;
        }
        if (fees != 0) _credits[_treasury] += fees;
        if (unlock != 0) _profiles[msg.sender].locked -= uint64(unlock);
        // A job that earned nothing (no GPU time, no bid) still finalizes and frees its lock.
        if (amount == 0 && unlock == 0) revert MarketNothingToWithdraw(msg.sender);
        emit Withdrawn(msg.sender, amount);
        if (amount != 0) IERC20(TOKEN).safeTransfer(msg.sender, amount);
    }
}
