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

    /// @dev Written once at posting.
    struct Terms {
        address client;
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
    // Mirrors of staking's provider keys (see {syncProvider}).
    mapping(uint24 index => address account) private _accountOf;
    mapping(uint24 index => address signer) private _signerOf;
    mapping(address account => uint24 index) private _indexOf;

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
        uint256 maxPayment = _toUnits(request.maxPayment, PackedJob.MAX_AMOUNT);
        uint256 bid = _toUnits(request.bid, PackedJob.MAX_AMOUNT);
        _toUnits(escrow, PackedJob.MAX_AMOUNT);
        uint256 price = _toUnits(request.pricePerGpuSecond, PackedJob.MAX_PRICE);
        uint24 designated = 0;
        if (request.provider != address(0)) {
            designated = _indexOf[request.provider];
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
                price: uint48(price),
                amountA: uint64(maxPayment),
                amountB: uint64(bid)
            })
        );
        _terms[jobId] = Terms({client: msg.sender, gpuClass: request.gpuClass});
        _enqueue(request.gpuClass, jobId, bid, queueHint);
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

    /// @dev `amount` wei as whole nano-CPT, at most `max` of them.
    function _toUnits(uint256 amount, uint256 max) private pure returns (uint256 units) {
        if (amount % PackedJob.UNIT != 0) revert MarketAmountNotAligned(amount, PackedJob.UNIT);
        units = amount / PackedJob.UNIT;
        if (units > max) revert MarketAmountTooLarge(amount, max * PackedJob.UNIT);
    }

    /// @inheritdoc IJobMarket
    function raiseBid(uint256 jobId, uint256 newBid, uint256 queueHint) external whenNotPaused nonReentrant {
        PackedJob.Core memory core = _openJobOfClient(jobId);
        uint256 oldBid = uint256(core.amountB) * PackedJob.UNIT;
        if (newBid <= oldBid) revert MarketBidNotHigher(jobId, oldBid, newBid);
        uint256 bidUnits = _toUnits(newBid, PackedJob.MAX_AMOUNT);
        _toUnits(uint256(core.amountA) * PackedJob.UNIT + newBid, PackedJob.MAX_AMOUNT);
        _dequeue(jobId);
        core.amountB = uint64(bidUnits);
        _core[jobId] = PackedJob.pack(core);
        _enqueue(_terms[jobId].gpuClass, jobId, bidUnits, queueHint);
        emit BidRaised(jobId, newBid);
        TOKEN.safeTransferFrom(msg.sender, address(this), newBid - oldBid);
    }

    /// @inheritdoc IJobMarket
    function cancelJob(uint256 jobId) external nonReentrant {
        PackedJob.Core memory core = _openJobOfClient(jobId);
        _dequeue(jobId);
        core.state = JobState.Cancelled;
        _core[jobId] = PackedJob.pack(core);
        uint256 refund = (uint256(core.amountA) + core.amountB) * PackedJob.UNIT;
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
        JobState state = _core[jobId].state();
        if (state != JobState.Open) revert MarketInvalidJobState(jobId, state);
        if (_terms[jobId].gpuClass != who.gpuClass || !_eligible(jobId, who)) {
            revert MarketProviderNotEligible(jobId, msg.sender);
        }
        uint256 skipped = 0;
        for (uint256 ahead = _queueHead(who.gpuClass); ahead != jobId; ahead = _queueNext(ahead)) {
            if (_eligible(ahead, who)) revert MarketHigherBidEligible(jobId, ahead);
            if (++skipped > MAX_SKIP) revert MarketSkipLimitReached(jobId, skipped);
        }
        _claim(jobId, who);
    }

    /// @inheritdoc IJobMarket
    function claimNext() external whenNotPaused returns (uint256 jobId) {
        Claimant memory who = _claimant();
        uint256 skipped = 0;
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
        // Jobs in the walked queue are open and of the provider's class by construction.
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        if (block.timestamp >= core.time) return false;
        if (core.provider != 0 && core.provider != who.index) return false;
        return uint256(core.price) * PackedJob.UNIT >= who.ask;
    }

    function _claim(uint256 jobId, Claimant memory who) private {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        uint256 lock = _lockFor(core.amountA, core.amountB);
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

    /// @dev Stake (wei) locked for a job of `maxPayment + bid` (nano) escrow.
    function _lockFor(uint256 maxPayment, uint256 bid) private view returns (uint256) {
        return (maxPayment + bid) * PackedJob.UNIT * COLLATERAL_BPS / BPS;
    }

    // --- settlement ----------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function settle(UsageRecord calldata record, bytes calldata signature, bytes[] calldata attestorSignatures)
        external
    {
        uint256 word = _core[record.jobId];
        uint24 index = word.provider();
        address account = _accountOf[index];
        address signer = _signerOf[index];
        bytes32 digest = _hashTypedDataV4(UsageRecords.hash(record));
        _verify(digest, signer, signature, attestorSignatures);
        if (record.provider != account) revert MarketWrongProvider(record.jobId, record.provider, account);
        _settleOne(
            record.jobId, word, index, account, record.gpuMillis, record.energyMj, record.aiTokens, record.startTime,
            record.endTime
        );
        emit UsageAttested(account, signer, digest, 1);
    }

    /// @inheritdoc IJobMarket
    function settleBatch(
        address provider,
        BatchRecord[] calldata records,
        bytes calldata signature,
        bytes[] calldata attestorSignatures
    ) external {
        uint256 count = records.length;
        if (count == 0) revert MarketEmptyBatch();
        uint24 index = _indexOf[provider];
        address signer = _signerOf[index];
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            BatchRecord calldata record = records[i];
            hashes[i] = UsageRecords.hash(record, provider);
            _settleOne(
                record.jobId,
                _core[record.jobId],
                index,
                provider,
                record.gpuMillis,
                record.energyMj,
                record.aiTokens,
                record.startTime,
                record.endTime
            );
        }
        // Checked after the loop so that each record is read once. Safe: nothing above
        // calls out, and a bad signature reverts every write of the loop.
        bytes32 digest = _hashTypedDataV4(UsageRecords.hashBatch(hashes));
        _verify(digest, signer, signature, attestorSignatures);
        emit UsageAttested(provider, signer, digest, count);
    }

    /// @dev Pays the usage at the job's price, capped at its maxPayment, plus its bid; the
    /// rest of the escrow becomes the client's refund. Works on the packed word directly:
    /// this runs once per job of every batch.
    function _settleOne(
        uint256 jobId,
        uint256 word,
        uint24 index,
        address account,
        uint256 gpuMillis,
        uint256 energyMj,
        uint256 aiTokens,
        uint256 startTime,
        uint256 endTime
    ) private {
        JobState state = word.state();
        if (state != JobState.Claimed) revert MarketInvalidJobState(jobId, state);
        if (word.provider() != index || index == 0) {
            revert MarketWrongProvider(jobId, account, _accountOf[word.provider()]);
        }
        if (block.timestamp > word.time()) revert MarketDeadlinePassed(jobId, word.time());
        if (energyMj == 0 || startTime > endTime || endTime > block.timestamp) revert MarketInvalidUsage(jobId);
        uint256 maxPayment = word.amountA();
        uint256 bid = word.bid();
        uint256 usageCost = word.price() * gpuMillis / 1000;
        uint256 paid = usageCost < maxPayment ? usageCost : maxPayment;
        // paid + bid <= maxPayment + bid, which posting checked against MAX_AMOUNT.
        _core[jobId] = word.settled(paid + bid, maxPayment + bid);
        emit JobSettled(jobId, (paid + bid) * PackedJob.UNIT, energyMj, aiTokens, aiTokens * 1e9 / energyMj);
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
        address previous = address(0);
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
        uint256 escrow = (uint256(core.amountA) + core.amountB) * PackedJob.UNIT;
        address client = _terms[jobId].client;
        core.state = JobState.Expired;
        _core[jobId] = PackedJob.pack(core);

        address account = address(0);
        uint256 lock = 0;
        if (state == JobState.Open) {
            _dequeue(jobId);
        } else {
            account = _accountOf[core.provider];
            lock = _lockFor(core.amountA, core.amountB);
            _locked[account] -= lock;
        }
        _credits[client] += escrow;
        uint256 penalty = lock * _expirePenaltyBps / BPS;
        if (penalty != 0) {
            // The client is credited what staking actually slashed, so the write follows the
            // call. Safe: STAKING is immutable protocol code whose slash() only moves tokens
            // (CPT has no transfer hooks) and never calls back; this function is nonReentrant.
            // slither-disable-next-line reentrancy-no-eth
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
        JobState state = _core[jobId].state();
        if (state != JobState.Disputed) revert MarketInvalidJobState(jobId, state);
        return uint256(_disputes[jobId].openedAt) + ARBITER_TIMEOUT;
    }

    /// @dev The loser pays: a client that loses forfeits its bond to the provider; a
    /// provider that loses forfeits the payment and part of the job's locked stake to the
    /// client. The protocol fee on the payment is due either way, and a share of what the
    /// loser forfeits goes to the treasury: disputing oneself always costs more than not.
    function _resolve(uint256 jobId, bool clientWins, bool byDefault) private {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        uint256 payment = uint256(core.amountA) * PackedJob.UNIT;
        uint256 bond = _disputes[jobId].bond;
        address client = _terms[jobId].client;
        address account = _accountOf[core.provider];
        core.state = JobState.Finalized;
        _core[jobId] = PackedJob.pack(core);
        delete _disputes[jobId];
        // After settlement amountB holds the whole escrow, which is what the lock backs.
        uint256 lock = _lockFor(core.amountB, 0);
        _locked[account] -= lock;

        uint256 slashed = 0;
        uint256 toTreasury;
        uint256 fee = payment * core.feeBps / BPS;
        if (clientWins) {
            uint256 slashAmount = lock * _disputeSlashBps / BPS;
            if (slashAmount != 0) slashed = STAKING.slash(account, slashAmount, address(this));
            uint256 slashShare = slashed * _treasuryShareBps / BPS;
            toTreasury = fee + slashShare;
            _credits[client] += payment - fee + bond + slashed - slashShare;
        } else {
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
        uint24 myIndex = _indexOf[msg.sender];
        uint256 unlock = 0;
        uint256 fees = 0;
        for (uint256 i; i < jobIds.length; ++i) {
            uint256 jobId = jobIds[i];
            PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
            bool paid = false;
            if (core.state == JobState.Settled && core.provider == myIndex && myIndex != 0) {
                uint256 windowEnd = uint256(core.time) + DISPUTE_WINDOW;
                if (block.timestamp < windowEnd) revert MarketDisputeWindowOpen(jobId, windowEnd);
                uint256 payment = uint256(core.amountA) * PackedJob.UNIT;
                uint256 fee = payment * core.feeBps / BPS;
                amount += payment - fee;
                fees += fee;
                unlock += _lockFor(core.amountB, 0);
                core.state = JobState.Finalized;
                paid = true;
                emit JobFinalized(jobId, msg.sender, payment - fee, fee);
            }
            if (
                core.state >= JobState.Settled && core.state <= JobState.Finalized && !core.refundWithdrawn
                    && core.amountB > core.amountA && _terms[jobId].client == msg.sender
            ) {
                amount += uint256(core.amountB - core.amountA) * PackedJob.UNIT;
                core.refundWithdrawn = true;
                paid = true;
            }
            if (!paid) revert MarketNotWithdrawable(jobId, msg.sender);
            _core[jobId] = PackedJob.pack(core);
        }
        if (fees != 0) _credits[_treasury] += fees;
        if (unlock != 0) _locked[msg.sender] -= unlock;
        // A job that earned nothing (no GPU time, no bid) still finalizes and frees its lock.
        if (amount == 0 && unlock == 0) revert MarketNothingToWithdraw(msg.sender);
        emit Withdrawn(msg.sender, amount);
        if (amount != 0) TOKEN.safeTransfer(msg.sender, amount);
    }

    // --- providers -------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function syncProvider(uint24 index, address account, address signer) external {
        if (msg.sender != address(STAKING)) revert MarketOnlyStaking(msg.sender);
        _accountOf[index] = account;
        _signerOf[index] = signer;
        _indexOf[account] = index;
    }

    // --- views -----------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function job(uint256 jobId) external view returns (JobView memory view_) {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        Terms storage terms = _terms[jobId];
        view_.state = core.state;
        view_.client = terms.client;
        view_.provider = _accountOf[core.provider];
        view_.gpuClass = terms.gpuClass;
        view_.pricePerGpuSecond = uint256(core.price) * PackedJob.UNIT;
        view_.feeBps = core.feeBps;
        view_.refundWithdrawn = core.refundWithdrawn;
        if (core.state == JobState.Open || core.state == JobState.Claimed) {
            view_.maxPayment = uint256(core.amountA) * PackedJob.UNIT;
            view_.bid = uint256(core.amountB) * PackedJob.UNIT;
            view_.deadline = core.time;
        } else if (core.state >= JobState.Settled && core.state <= JobState.Finalized) {
            view_.payment = uint256(core.amountA) * PackedJob.UNIT;
            view_.refund = uint256(core.amountB - core.amountA) * PackedJob.UNIT;
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
    function batchDigest(address provider, BatchRecord[] calldata records) external view returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](records.length);
        for (uint256 i; i < records.length; ++i) {
            hashes[i] = UsageRecords.hash(records[i], provider);
        }
        return _hashTypedDataV4(UsageRecords.hashBatch(hashes));
    }

    /// @inheritdoc IJobMarket
    function jobCount() external view returns (uint256) {
        return _jobCount;
    }

    /// @dev Bids are compared in nano-CPT; {queue} reports them in wei.
    function _bidOf(uint256 jobId) internal view override returns (uint256) {
        return _core[jobId].bid();
    }
}
