// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {PackedJob} from "../libraries/PackedJob.sol";
import {UsageRecords} from "../libraries/UsageRecords.sol";
import {JobQueue} from "./JobQueue.sol";
import {MarketParameters} from "./MarketParameters.sol";

/// @title Job market and escrow
/// @notice See {IJobMarket}.
contract JobMarket is JobQueue, MarketParameters, EIP712, ReentrancyGuard {
    using PackedJob for uint256;
    using SafeERC20 for IERC20;

    /// @dev Written once at posting; the client and the job's price.
    struct Terms {
        address client;
        uint64 pricePerGpuSecond;
        bytes4 gpuClass;
    }

    struct Dispute {
        uint96 bond;
        uint32 openedAt;
    }

    uint256 private constant BPS = 10_000;
    /// @notice How many jobs ahead of the claimed one a claim may walk past (jobs the
    /// provider cannot take); bounds the gas a crowd of unreachable jobs can cost.
    uint256 public constant MAX_SKIP = 32;

    IERC20 public immutable TOKEN;
    IProviderStaking public immutable STAKING;
    /// @notice Seconds after settlement during which the client may dispute.
    uint256 public immutable DISPUTE_WINDOW;
    /// @notice Seconds the arbiter has to decide before the default applies.
    uint256 public immutable ARBITER_TIMEOUT;
    /// @notice Stake locked per claimed job, in basis points of its escrow.
    uint256 public immutable COLLATERAL_BPS;

    uint256 private _jobCount;
    mapping(uint256 jobId => uint256 word) private _core;
    mapping(uint256 jobId => Terms) private _terms;
    mapping(uint256 jobId => Dispute) private _disputes;
    mapping(address provider => uint256 amount) private _locked;
    mapping(address account => uint256 amount) private _credits;

    constructor(
        IERC20 token,
        IProviderStaking staking,
        uint256 disputeWindow,
        uint256 arbiterTimeout,
        uint256 collateralBps,
        address treasury,
        address admin
    ) EIP712("JouleLedger JobMarket", "1") MarketParameters(treasury, admin) {
        if (address(token) == address(0) || address(staking) == address(0)) revert MarketZeroAddress();
        uint256 needed = disputeWindow + arbiterTimeout;
        if (staking.UNBONDING_DELAY() <= needed) revert MarketUnbondingTooShort(staking.UNBONDING_DELAY(), needed + 1);
        if (collateralBps > BPS) revert MarketInvalidParameter("collateralBps", collateralBps);
        TOKEN = token;
        STAKING = staking;
        DISPUTE_WINDOW = disputeWindow;
        ARBITER_TIMEOUT = arbiterTimeout;
        COLLATERAL_BPS = collateralBps;
    }

    // --- posting -------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function postJob(JobRequest calldata request, uint256 queueHint)
        external
        whenNotPaused
        nonReentrant
        returns (uint256 jobId)
    {
        jobId = _post(request, queueHint);
    }

    /// @inheritdoc IJobMarket
    function postJobWithPermit(
        JobRequest calldata request,
        uint256 queueHint,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external whenNotPaused nonReentrant returns (uint256 jobId) {
        // A front-runner may have used the permit already; the allowance then suffices.
        try IERC20Permit(address(TOKEN)).permit(
            msg.sender, address(this), request.maxPayment + request.bid, permitDeadline, v, r, s
        ) {} catch {}
        jobId = _post(request, queueHint);
    }

    function _post(JobRequest calldata request, uint256 queueHint) private returns (uint256 jobId) {
        if (request.gpuClass == bytes4(0)) revert MarketInvalidGpuClass();
        if (request.deadline <= block.timestamp) revert MarketInvalidDeadline(request.deadline, block.timestamp);
        if (request.maxPayment == 0) revert MarketZeroPayment();
        uint256 escrow = request.maxPayment + request.bid;
        if (escrow > PackedJob.MAX_AMOUNT) revert MarketAmountTooLarge(escrow, PackedJob.MAX_AMOUNT);
        uint24 designated;
        if (request.provider != address(0)) {
            (designated,,,,) = STAKING.claimProfile(request.provider);
            if (designated == 0) revert MarketProviderNotRegistered(request.provider);
        }

        jobId = ++_jobCount;
        _core[jobId] = PackedJob.pack(
            PackedJob.Core({
                state: JobState.Open,
                refundWithdrawn: false,
                provider: designated,
                time: request.deadline,
                feeBps: uint16(_feeBps),
                amountA: uint88(request.maxPayment),
                amountB: uint88(request.bid)
            })
        );
        _terms[jobId] =
            Terms({client: msg.sender, pricePerGpuSecond: request.pricePerGpuSecond, gpuClass: request.gpuClass});
        _enqueue(request.gpuClass, jobId, request.bid, queueHint);
        emit JobPosted(
            jobId,
            msg.sender,
            request.gpuClass,
            request.specHash,
            request.maxPayment,
            request.bid,
            request.pricePerGpuSecond,
            request.deadline,
            request.provider
        );
        TOKEN.safeTransferFrom(msg.sender, address(this), escrow);
    }

    /// @inheritdoc IJobMarket
    function raiseBid(uint256 jobId, uint256 newBid, uint256 queueHint) external whenNotPaused nonReentrant {
        PackedJob.Core memory core = _openJobOfClient(jobId);
        if (newBid <= core.amountB) revert MarketBidNotHigher(jobId, core.amountB, newBid);
        uint256 escrow = uint256(core.amountA) + newBid;
        if (escrow > PackedJob.MAX_AMOUNT) revert MarketAmountTooLarge(escrow, PackedJob.MAX_AMOUNT);
        uint256 extra = newBid - core.amountB;
        _dequeue(jobId);
        core.amountB = uint88(newBid);
        _core[jobId] = PackedJob.pack(core);
        _enqueue(_terms[jobId].gpuClass, jobId, newBid, queueHint);
        emit BidRaised(jobId, newBid);
        TOKEN.safeTransferFrom(msg.sender, address(this), extra);
    }

    /// @inheritdoc IJobMarket
    function cancelJob(uint256 jobId) external {
        PackedJob.Core memory core = _openJobOfClient(jobId);
        _dequeue(jobId);
        core.state = JobState.Cancelled;
        _core[jobId] = PackedJob.pack(core);
        uint256 refund = uint256(core.amountA) + core.amountB;
        _credits[msg.sender] += refund;
        emit JobCancelled(jobId, refund);
    }

    function _openJobOfClient(uint256 jobId) private view returns (PackedJob.Core memory core) {
        core = PackedJob.unpack(_core[jobId]);
        if (core.state != JobState.Open) revert MarketInvalidJobState(jobId, core.state);
        if (_terms[jobId].client != msg.sender) revert MarketNotJobClient(jobId, msg.sender);
    }

    // --- claiming ------------------------------------------------------------------------

    /// @dev What a claim needs to know about the provider, read once from staking.
    struct Claimant {
        uint24 index;
        uint256 stake;
        bytes4 gpuClass;
        uint64 ask;
        uint256 minStake;
    }

    /// @inheritdoc IJobMarket
    function claimJob(uint256 jobId) external whenNotPaused {
        Claimant memory who = _claimant();
        if (!_eligible(jobId, who)) revert MarketProviderNotEligible(jobId, msg.sender);
        uint256 skipped;
        for (uint256 ahead = _queueHead(who.gpuClass); ahead != jobId; ahead = _queueNext(ahead)) {
            if (_eligible(ahead, who)) revert MarketHigherBidEligible(jobId, ahead);
            if (++skipped > MAX_SKIP) revert MarketSkipLimitReached(jobId, skipped);
        }
        _claim(jobId, who);
    }

    /// @inheritdoc IJobMarket
    function claimNext() external whenNotPaused returns (uint256 jobId) {
        Claimant memory who = _claimant();
        uint256 skipped;
        for (jobId = _queueHead(who.gpuClass); jobId != 0; jobId = _queueNext(jobId)) {
            if (_eligible(jobId, who)) break;
            if (++skipped > MAX_SKIP) revert MarketSkipLimitReached(jobId, skipped);
        }
        if (jobId == 0) revert MarketNoEligibleJob(msg.sender, who.gpuClass);
        _claim(jobId, who);
    }

    function _claimant() private view returns (Claimant memory who) {
        (who.index, who.stake, who.gpuClass, who.ask, who.minStake) = STAKING.claimProfile(msg.sender);
        if (who.index == 0) revert MarketProviderNotRegistered(msg.sender);
    }

    /// @dev An open job of the provider's class that is not past its deadline, not
    /// designated to someone else, and priced at or above the provider's ask.
    function _eligible(uint256 jobId, Claimant memory who) private view returns (bool) {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        if (core.state != JobState.Open || block.timestamp >= core.time) return false;
        if (core.provider != 0 && core.provider != who.index) return false;
        Terms storage terms = _terms[jobId];
        return terms.gpuClass == who.gpuClass && terms.pricePerGpuSecond >= who.ask;
    }

    function _claim(uint256 jobId, Claimant memory who) private {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        uint256 lock = _lockFor(uint256(core.amountA) + core.amountB);
        uint256 needed = _locked[msg.sender] + lock;
        if (who.minStake > needed) needed = who.minStake;
        if (who.stake < needed) revert MarketInsufficientStake(msg.sender, who.stake, needed);
        _dequeue(jobId);
        core.state = JobState.Claimed;
        core.provider = who.index;
        _core[jobId] = PackedJob.pack(core);
        _locked[msg.sender] += lock;
        emit JobClaimed(jobId, msg.sender, lock);
    }

    function _lockFor(uint256 escrow) private view returns (uint256) {
        return escrow * COLLATERAL_BPS / BPS;
    }

    // --- settlement ----------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function settle(UsageRecord calldata record, bytes calldata signature, bytes[] calldata attestorSignatures)
        external
    {
        uint256 word = _core[record.jobId];
        (address account, address signer) = STAKING.providerAt(PackedJob.unpack(word).provider);
        bytes32 digest = _hashTypedDataV4(UsageRecords.hash(record));
        _verify(digest, signer, signature, attestorSignatures);
        _settleOne(record, word, account);
        emit UsageAttested(account, signer, digest, 1);
    }

    /// @inheritdoc IJobMarket
    function settleBatch(
        UsageRecord[] calldata records,
        bytes calldata signature,
        bytes[] calldata attestorSignatures
    ) external {
        uint256 count = records.length;
        if (count == 0) revert MarketEmptyBatch();
        (address account, address signer) = STAKING.providerAt(PackedJob.unpack(_core[records[0].jobId]).provider);
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            UsageRecord calldata record = records[i];
            hashes[i] = UsageRecords.hash(record);
            _settleOne(record, _core[record.jobId], account);
        }
        // Checked after the loop so that each record is read once. Safe: nothing above
        // calls out, and a bad signature reverts every write of the loop.
        bytes32 digest = _hashTypedDataV4(UsageRecords.hashBatch(hashes));
        _verify(digest, signer, signature, attestorSignatures);
        emit UsageAttested(account, signer, digest, count);
    }

    function _settleOne(UsageRecord calldata record, uint256 word, address account) private {
        uint256 jobId = record.jobId;
        PackedJob.Core memory core = PackedJob.unpack(word);
        if (core.state != JobState.Claimed) revert MarketInvalidJobState(jobId, core.state);
        if (record.provider != account) revert MarketWrongProvider(jobId, record.provider, account);
        if (block.timestamp > core.time) revert MarketDeadlinePassed(jobId, core.time);
        if (record.energyMj == 0 || record.startTime > record.endTime || record.endTime > block.timestamp) {
            revert MarketInvalidUsage(jobId);
        }
        uint256 usageCost = uint256(_terms[jobId].pricePerGpuSecond) * record.gpuMillis / 1000;
        uint256 maxPayment = core.amountA;
        uint256 paid = usageCost < maxPayment ? usageCost : maxPayment;
        uint256 payment = paid + core.amountB;
        core.state = JobState.Settled;
        core.time = uint32(block.timestamp);
        core.amountB = uint88(maxPayment + core.amountB); // escrow, fits: checked at posting
        core.amountA = uint88(payment); // at most the escrow
        _core[jobId] = PackedJob.pack(core);
        emit JobSettled(
            jobId,
            account,
            payment,
            maxPayment - paid,
            record.gpuMillis,
            record.energyMj,
            record.aiTokens,
            uint256(record.aiTokens) * 1e9 / record.energyMj
        );
    }

    /// @dev The provider's oracle signature, then the attestors' (sorted by address, each
    /// in the market's set, no duplicates, at least the threshold).
    function _verify(bytes32 digest, address signer, bytes calldata signature, bytes[] calldata attestorSignatures)
        private
        view
    {
        address recovered = ECDSA.recover(digest, signature);
        if (recovered != signer || signer == address(0)) revert MarketInvalidSigner(recovered, signer);
        uint256 count = attestorSignatures.length;
        if (count < _attestorThreshold) revert MarketAttestorThresholdNotMet(count, _attestorThreshold);
        address previous;
        for (uint256 i; i < count; ++i) {
            address attestor = ECDSA.recover(digest, attestorSignatures[i]);
            if (!_isAttestor[attestor]) revert MarketUnknownAttestor(attestor);
            if (attestor == previous) revert MarketDuplicateAttestor(attestor);
            if (attestor < previous) revert MarketAttestorsUnsorted(previous, attestor);
            previous = attestor;
        }
    }

    // --- expiry ----------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function expireJob(uint256 jobId) external nonReentrant {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        JobState state = core.state;
        if (state != JobState.Open && state != JobState.Claimed) revert MarketInvalidJobState(jobId, state);
        if (block.timestamp <= core.time) revert MarketDeadlineNotPassed(jobId, core.time);
        uint256 escrow = uint256(core.amountA) + core.amountB;
        address client = _terms[jobId].client;
        core.state = JobState.Expired;
        _core[jobId] = PackedJob.pack(core);

        address account;
        uint256 lock;
        if (state == JobState.Open) {
            _dequeue(jobId);
        } else {
            (account,) = STAKING.providerAt(core.provider);
            lock = _lockFor(escrow);
            _locked[account] -= lock;
        }
        _credits[client] += escrow;
        uint256 penalty = lock * _expirePenaltyBps / BPS;
        if (penalty != 0) {
            penalty = STAKING.slash(account, penalty, address(this));
            _credits[client] += penalty;
        }
        emit JobExpired(jobId, escrow, penalty);
    }

    // --- disputes --------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function openDispute(uint256 jobId) external nonReentrant {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        if (core.state != JobState.Settled) revert MarketInvalidJobState(jobId, core.state);
        if (_terms[jobId].client != msg.sender) revert MarketNotJobClient(jobId, msg.sender);
        uint256 windowEnd = uint256(core.time) + DISPUTE_WINDOW;
        if (block.timestamp >= windowEnd) revert MarketDisputeWindowClosed(jobId, windowEnd);
        uint256 bond = _disputeBond;
        core.state = JobState.Disputed;
        _core[jobId] = PackedJob.pack(core);
        _disputes[jobId] = Dispute({bond: uint96(bond), openedAt: uint32(block.timestamp)});
        emit DisputeOpened(jobId, msg.sender, bond);
        if (bond != 0) TOKEN.safeTransferFrom(msg.sender, address(this), bond);
    }

    /// @inheritdoc IJobMarket
    function resolveDispute(uint256 jobId, bool clientWins) external onlyRole(ARBITER_ROLE) nonReentrant {
        uint256 deadline = _disputedJobArbiterDeadline(jobId);
        if (block.timestamp > deadline) revert MarketArbiterTimeoutPassed(jobId, deadline);
        _resolve(jobId, clientWins, false);
    }

    /// @inheritdoc IJobMarket
    function finalizeDispute(uint256 jobId) external nonReentrant {
        uint256 deadline = _disputedJobArbiterDeadline(jobId);
        if (block.timestamp <= deadline) revert MarketArbiterTimeoutNotPassed(jobId, deadline);
        _resolve(jobId, false, true);
    }

    function _disputedJobArbiterDeadline(uint256 jobId) private view returns (uint256) {
        JobState state = _core[jobId].state();
        if (state != JobState.Disputed) revert MarketInvalidJobState(jobId, state);
        return uint256(_disputes[jobId].openedAt) + ARBITER_TIMEOUT;
    }

    /// @dev The loser pays: a client that loses forfeits its bond to the provider; a
    /// provider that loses forfeits the payment and part of the job's locked stake to the
    /// client. Either way a share goes to the treasury, so disputing oneself never profits.
    function _resolve(uint256 jobId, bool clientWins, bool byDefault) private {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        uint256 payment = core.amountA;
        uint256 bond = _disputes[jobId].bond;
        address client = _terms[jobId].client;
        (address account,) = STAKING.providerAt(core.provider);
        core.state = JobState.Finalized;
        _core[jobId] = PackedJob.pack(core);
        delete _disputes[jobId];
        uint256 lock = _lockFor(core.amountB);
        _locked[account] -= lock;

        uint256 slashed;
        uint256 toTreasury;
        if (clientWins) {
            uint256 slashAmount = lock * _disputeSlashBps / BPS;
            if (slashAmount != 0) slashed = STAKING.slash(account, slashAmount, address(this));
            toTreasury = slashed * _treasuryShareBps / BPS;
            _credits[client] += payment + bond + slashed - toTreasury;
        } else {
            uint256 fee = payment * core.feeBps / BPS;
            uint256 bondShare = bond * _treasuryShareBps / BPS;
            toTreasury = fee + bondShare;
            _credits[account] += payment - fee + bond - bondShare;
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
        uint24 myIndex;
        uint256 unlock;
        uint256 fees;
        for (uint256 i; i < jobIds.length; ++i) {
            uint256 jobId = jobIds[i];
            PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
            bool paid;
            if (core.state == JobState.Settled) {
                if (myIndex == 0) (myIndex,,,,) = STAKING.claimProfile(msg.sender);
                if (core.provider == myIndex) {
                    uint256 windowEnd = uint256(core.time) + DISPUTE_WINDOW;
                    if (block.timestamp < windowEnd) revert MarketDisputeWindowOpen(jobId, windowEnd);
                    uint256 fee = uint256(core.amountA) * core.feeBps / BPS;
                    amount += core.amountA - fee;
                    fees += fee;
                    unlock += _lockFor(core.amountB);
                    core.state = JobState.Finalized;
                    paid = true;
                    emit JobFinalized(jobId, msg.sender, core.amountA - fee, fee);
                }
            }
            if (
                core.state >= JobState.Settled && core.state <= JobState.Finalized && !core.refundWithdrawn
                    && core.amountB > core.amountA && _terms[jobId].client == msg.sender
            ) {
                amount += core.amountB - core.amountA;
                core.refundWithdrawn = true;
                paid = true;
            }
            if (!paid) revert MarketNotWithdrawable(jobId, msg.sender);
            _core[jobId] = PackedJob.pack(core);
        }
        if (fees != 0) _credits[_treasury] += fees;
        if (unlock != 0) _locked[msg.sender] -= unlock;
        if (amount == 0) revert MarketNothingToWithdraw(msg.sender);
        emit Withdrawn(msg.sender, amount);
        TOKEN.safeTransfer(msg.sender, amount);
    }

    // --- views -----------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function job(uint256 jobId) external view returns (JobView memory view_) {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        Terms storage terms = _terms[jobId];
        view_.state = core.state;
        view_.client = terms.client;
        view_.gpuClass = terms.gpuClass;
        view_.pricePerGpuSecond = terms.pricePerGpuSecond;
        view_.feeBps = core.feeBps;
        view_.refundWithdrawn = core.refundWithdrawn;
        if (core.provider != 0) (view_.provider,) = STAKING.providerAt(core.provider);
        if (core.state == JobState.Open || core.state == JobState.Claimed) {
            view_.maxPayment = core.amountA;
            view_.bid = core.amountB;
            view_.deadline = core.time;
        } else if (core.state >= JobState.Settled && core.state <= JobState.Finalized) {
            view_.payment = core.amountA;
            view_.refund = core.amountB - core.amountA;
            view_.settledAt = core.time;
        }
    }

    /// @inheritdoc IJobMarket
    function dispute(uint256 jobId) external view returns (DisputeView memory) {
        Dispute storage d = _disputes[jobId];
        uint256 openedAt = d.openedAt;
        return DisputeView({
            client: openedAt == 0 ? address(0) : _terms[jobId].client,
            bond: d.bond,
            openedAt: openedAt,
            arbiterDeadline: openedAt == 0 ? 0 : openedAt + ARBITER_TIMEOUT
        });
    }

    /// @inheritdoc IJobMarket
    function lockedStake(address provider) external view returns (uint256) {
        return _locked[provider];
    }

    /// @inheritdoc IJobMarket
    function credit(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @inheritdoc IJobMarket
    function recordDigest(UsageRecord calldata record) external view returns (bytes32) {
        return _hashTypedDataV4(UsageRecords.hash(record));
    }

    /// @inheritdoc IJobMarket
    function batchDigest(UsageRecord[] calldata records) external view returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](records.length);
        for (uint256 i; i < records.length; ++i) {
            hashes[i] = UsageRecords.hash(records[i]);
        }
        return _hashTypedDataV4(UsageRecords.hashBatch(hashes));
    }

    /// @inheritdoc IJobMarket
    function jobCount() external view returns (uint256) {
        return _jobCount;
    }

    function _bidOf(uint256 jobId) internal view override returns (uint256) {
        return _core[jobId].bid();
    }
}
