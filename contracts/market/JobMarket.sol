// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

import {IHoldingsVault} from "../interfaces/IHoldingsVault.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {PackedJob} from "../libraries/PackedJob.sol";
import {UsageRecords} from "../libraries/UsageRecords.sol";
import {JobQueue} from "./JobQueue.sol";

/// @title Job market and escrow
/// @notice See {IJobMarket}. Calls to anything else (views, administration) are delegated
/// to {JobMarketExtension}, which shares {MarketState}'s layout.
contract JobMarket is IJobMarket, JobQueue {
    using EnumerableSet for EnumerableSet.AddressSet;
    using PackedJob for uint256;
    using SafeERC20 for IERC20;

    IERC20 private immutable _token;
    IProviderStaking private immutable _staking;
    IHoldingsVault private immutable _vault;
    address private immutable _extension;
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
    ) {
        if (
            address(token) == address(0) || address(staking) == address(0) || address(vault) == address(0)
                || extension == address(0) || treasury == address(0) || admin == address(0)
        ) revert MarketZeroAddress();
        if (staking.token() != address(token)) revert MarketWiringMismatch(address(token), staking.token());
        if (vault.token() != address(token)) revert MarketWiringMismatch(address(token), vault.token());
        uint256 needed = disputeWindow + arbiterTimeout;
        if (staking.UNBONDING_DELAY() <= needed) revert MarketUnbondingTooShort(staking.UNBONDING_DELAY(), needed + 1);
        if (collateralBps > BPS) revert MarketInvalidParameter("collateralBps", collateralBps);
        if (collateralCap % PackedJob.UNIT != 0 || collateralCap / PackedJob.UNIT > type(uint64).max) {
            revert MarketInvalidParameter("collateralCap", collateralCap);
        }
        _token = token;
        _staking = staking;
        _vault = vault;
        _extension = extension;
        _treasury = treasury;
        _termsAt[0] = Terms({
            feeBps: 0,
            disputeBond: uint96(MIN_DISPUTE_BOND),
            disputeSlashBps: 5_000,
            expirePenaltyBps: 1_000,
            treasuryShareBps: 1_000,
            attestorThreshold: 0,
            attestorSetId: 0
        });
        _config.busyThreshold = 16;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PARAMS_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _grantRole(ARBITER_ROLE, admin);
        DISPUTE_WINDOW = disputeWindow;
        ARBITER_TIMEOUT = arbiterTimeout;
        COLLATERAL_BPS = collateralBps;
        COLLATERAL_CAP = collateralCap;
    }

    /// @inheritdoc IJobMarket
    function TOKEN() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IJobMarket
    function STAKING() external view returns (address) {
        return address(_staking);
    }

    /// @inheritdoc IJobMarket
    function VAULT() external view returns (address) {
        return address(_vault);
    }

    /// @inheritdoc IJobMarket
    function EXTENSION() external view returns (address) {
        return _extension;
    }

    /// @notice Everything else (views and administration) runs in {JobMarketExtension},
    /// in this contract's storage. Like OpenZeppelin's `Proxy._delegate`, but not payable:
    /// the market never takes ether.
    fallback() external {
        address extension = _extension;
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
        try IERC20Permit(address(_token)).permit(
            msg.sender, address(this), request.maxPayment + request.bid, permitDeadline, v, r, s
        ) {} catch {}
        jobId = _post(request);
    }

    function _post(JobRequest calldata request) private returns (uint256 jobId) {
        bytes4 gpuClass = request.gpuClass;
        if (gpuClass == bytes4(0)) revert MarketInvalidGpuClass();
        if (request.deadline <= block.timestamp) revert MarketInvalidDeadline(request.deadline, block.timestamp);
        if (request.maxPayment == 0) revert MarketZeroPayment();
        uint256 escrow = request.maxPayment + request.bid;
        uint256 maxPayment = _toUnits(request.maxPayment, PackedJob.MAX_AMOUNT);
        uint256 bid = _toUnits(request.bid, PackedJob.MAX_AMOUNT);
        _checkEscrow(escrow);
        uint256 price = _toUnits(request.pricePerGpuSecond, PackedJob.MAX_PRICE);
        uint24 designated = 0;
        if (request.provider != address(0)) {
            Profile storage profile = _profiles[request.provider];
            designated = profile.index;
            if (designated == 0) revert MarketProviderNotRegistered(request.provider);
            if (profile.gpuClass != gpuClass) {
                revert MarketDesignatedClassMismatch(request.provider, profile.gpuClass, gpuClass);
            }
        }
        Config memory config = _config;
        uint256 boost = 0;
        if (_openCount(gpuClass) >= config.busyThreshold) {
            // The vault is immutable protocol code that only updates its own books and never
            // calls back; this function is nonReentrant.
            // slither-disable-next-line reentrancy-no-eth,reentrancy-benign
            boost = _vault.useBoost(msg.sender, request.deadline) / PackedJob.UNIT;
        }
        uint256 priority = bid + boost;

        jobId = ++_jobCount;
        _core[jobId] = PackedJob.pack(
            PackedJob.Core({
                state: JobState.Open,
                refundWithdrawn: false,
                signerEpoch: 0,
                provider: designated,
                time: request.deadline,
                termsVersion: config.termsVersion,
                price: uint48(price),
                amountA: uint64(maxPayment),
                amountB: uint64(bid)
            })
        );
        _clients[jobId] = Client({client: msg.sender, gpuClass: gpuClass, boost: uint64(boost)});
        _enqueue(jobId, gpuClass, designated, priority, request.deadline, uint48(price));
        emit JobPosted(
            jobId,
            msg.sender,
            gpuClass,
            request.specHash,
            request.maxPayment,
            request.bid,
            boost * PackedJob.UNIT,
            request.pricePerGpuSecond,
            request.deadline,
            request.provider
        );
        _token.safeTransferFrom(msg.sender, address(this), escrow);
    }

    /// @dev `amount` wei as whole nano-CPT, at most `max` of them.
    function _toUnits(uint256 amount, uint256 max) private pure returns (uint256 units) {
        if (amount % PackedJob.UNIT != 0) revert MarketAmountNotAligned(amount, PackedJob.UNIT);
        units = amount / PackedJob.UNIT;
        if (units > max) revert MarketAmountTooLarge(amount, max * PackedJob.UNIT);
    }

    /// @dev An escrow whose lock would exceed COLLATERAL_CAP is refused.
    function _checkEscrow(uint256 escrow) private view {
        uint256 units = _toUnits(escrow, PackedJob.MAX_AMOUNT);
        if (_lockFor(units) * PackedJob.UNIT > COLLATERAL_CAP) {
            uint256 maxEscrow = COLLATERAL_BPS == 0 ? type(uint256).max : COLLATERAL_CAP * BPS / COLLATERAL_BPS;
            revert MarketJobTooLarge(escrow, maxEscrow);
        }
    }

    /// @inheritdoc IJobMarket
    function raiseBid(uint256 jobId, uint256 newBid) external whenNotPaused nonReentrant {
        PackedJob.Core memory core = _openJobOfClient(jobId);
        uint256 oldBid = uint256(core.amountB) * PackedJob.UNIT;
        if (newBid <= oldBid) revert MarketBidNotHigher(jobId, oldBid, newBid);
        uint256 bidUnits = _toUnits(newBid, PackedJob.MAX_AMOUNT);
        _checkEscrow(uint256(core.amountA) * PackedJob.UNIT + newBid);
        Client storage client = _clients[jobId];
        uint256 priority = bidUnits + client.boost;
        if (_levelOf(priority) != _queuedLevel(jobId)) {
            _dequeue(jobId);
            _enqueue(jobId, client.gpuClass, core.provider, priority, core.time, core.price);
        }
        core.amountB = uint64(bidUnits);
        _core[jobId] = PackedJob.pack(core);
        emit BidRaised(jobId, newBid, priority * PackedJob.UNIT);
        _token.safeTransferFrom(msg.sender, address(this), newBid - oldBid);
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
        if (_clients[jobId].client != msg.sender) revert MarketNotJobClient(jobId, msg.sender);
    }

    // --- claiming ------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function claimJob(uint256 jobId) external whenNotPaused {
        (Profile memory profile, uint256 ask) = _claimant();
        JobState state = _core[jobId].state();
        if (state != JobState.Open) revert MarketInvalidJobState(jobId, state);
        if (!_takeable(jobId, profile.gpuClass, profile.index, ask)) revert MarketProviderNotEligible(jobId, msg.sender);
        uint256 best = _bestFor(profile.gpuClass, profile.index, ask);
        if (best != jobId) revert MarketHigherPriorityEligible(jobId, best);
        _claim(jobId, profile);
    }

    /// @inheritdoc IJobMarket
    function claimNext() external whenNotPaused returns (uint256 jobId) {
        (Profile memory profile, uint256 ask) = _claimant();
        jobId = _bestFor(profile.gpuClass, profile.index, ask);
        if (jobId == 0) revert MarketNoEligibleJob(msg.sender, profile.gpuClass);
        _claim(jobId, profile);
    }

    /// @dev The caller's profile and ask now, once it is known to afford any job: at least
    /// the minimum stake, and COLLATERAL_CAP free.
    function _claimant() private view returns (Profile memory profile, uint256 ask) {
        profile = _profiles[msg.sender];
        if (profile.index == 0) revert MarketProviderNotRegistered(msg.sender);
        uint256 needed = uint256(profile.locked) + COLLATERAL_CAP / PackedJob.UNIT;
        uint256 minStake = _config.minStake;
        if (needed < minStake) needed = minStake;
        if (profile.stake < needed) {
            revert MarketInsufficientStake(
                msg.sender, uint256(profile.stake) * PackedJob.UNIT, needed * PackedJob.UNIT
            );
        }
        ask = profile.ask;
        if (profile.askPending) {
            PendingAsk memory pending = _pendingAsks[msg.sender];
            if (block.timestamp >= pending.at) ask = pending.ask;
        }
    }

    function _claim(uint256 jobId, Profile memory profile) private {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        uint256 lock = _lockFor(uint256(core.amountA) + core.amountB);
        _dequeue(jobId);
        core.state = JobState.Claimed;
        core.provider = profile.index;
        core.signerEpoch = profile.signerEpoch;
        _core[jobId] = PackedJob.pack(core);
        // Cannot overflow: the stake check bounds locked + lock by the stake (a uint64).
        _profiles[msg.sender].locked = uint64(profile.locked + lock);
        emit JobClaimed(jobId, msg.sender, lock * PackedJob.UNIT);
    }

    /// @dev Stake (nano-CPT) locked for a job of `escrow` (nano-CPT).
    function _lockFor(uint256 escrow) private view returns (uint256) {
        return escrow * COLLATERAL_BPS / BPS;
    }

    // --- settlement ----------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function settle(UsageRecord calldata record, bytes calldata signature, bytes[] calldata attestorSignatures)
        external
    {
        uint256 word = _core[record.jobId];
        uint24 index = word.provider();
        address account = _accountOf[index];
        address signer = _signerFor(index, word.signerEpoch());
        bytes32 digest = _hashTypedDataV4(UsageRecords.hash(record));
        _verify(digest, signer, signature, attestorSignatures, _termsAt[word.termsVersion()]);
        if (record.provider != account) revert MarketWrongProvider(record.jobId, record.provider, account);
        _settleOne(record.jobId, word, index, account, record.gpuMillis, record.energyMj, record.aiTokens, record.startTime, record.endTime);
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
        uint24 index = _profiles[provider].index;
        uint256 first = _core[records[0].jobId];
        uint256 epoch = first.signerEpoch();
        uint256 version = first.termsVersion();
        Terms memory t = _termsAt[version];
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            BatchRecord calldata record = records[i];
            uint256 word = _core[record.jobId];
            if (
                word.signerEpoch() != epoch
                    || (word.termsVersion() != version && !_sameAttestors(word.termsVersion(), t))
            ) revert MarketMixedTerms(i, record.jobId);
            hashes[i] = UsageRecords.hash(record, provider);
            _settleOne(record.jobId, word, index, provider, record.gpuMillis, record.energyMj, record.aiTokens, record.startTime, record.endTime);
        }
        // Checked after the loop so that each record is read once. Safe: nothing above
        // calls out, and a bad signature reverts every write of the loop.
        address signer = _signerFor(index, epoch);
        bytes32 digest = _hashTypedDataV4(UsageRecords.hashBatch(hashes));
        _verify(digest, signer, signature, attestorSignatures, t);
        emit UsageAttested(provider, signer, digest, count);
    }

    function _sameAttestors(uint256 version, Terms memory t) private view returns (bool) {
        Terms storage other = _termsAt[version];
        return other.attestorSetId == t.attestorSetId && other.attestorThreshold == t.attestorThreshold;
    }

    /// @dev The signer whose records settle jobs claimed at signer epoch `epoch` (mod 8):
    /// the current one, or the one before it for jobs claimed before the last rotation.
    function _signerFor(uint24 index, uint256 epoch) private view returns (address) {
        Signer memory signer = _signers[index];
        if (signer.epoch & 7 == epoch) return signer.current;
        if ((signer.epoch + 7) & 7 == epoch) return _previousSigners[index];
        return address(0);
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

    /// @dev The provider's oracle signature, then the attestors' of the job's terms (sorted
    /// by address, each in the set, no duplicates, at least the threshold).
    function _verify(
        bytes32 digest,
        address signer,
        bytes calldata signature,
        bytes[] calldata attestorSignatures,
        Terms memory t
    ) private view {
        address recovered = ECDSA.recover(digest, signature);
        if (recovered != signer || signer == address(0)) revert MarketInvalidSigner(recovered, signer);
        uint256 count = attestorSignatures.length;
        if (count < t.attestorThreshold) revert MarketAttestorThresholdNotMet(count, t.attestorThreshold);
        address previous = address(0);
        for (uint256 i; i < count; ++i) {
            address attestor = ECDSA.recover(digest, attestorSignatures[i]);
            if (!_attestorSets[t.attestorSetId].contains(attestor)) revert MarketUnknownAttestor(attestor);
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
        address client = _clients[jobId].client;
        core.state = JobState.Expired;
        _core[jobId] = PackedJob.pack(core);

        address account = address(0);
        uint256 lock = 0;
        if (state == JobState.Open) {
            _dequeue(jobId);
        } else {
            account = _accountOf[core.provider];
            lock = _lockFor(escrow);
            _profiles[account].locked -= uint64(lock);
        }
        _credits[client] += escrow * PackedJob.UNIT;
        uint256 penalty = lock * PackedJob.UNIT * _termsAt[core.termsVersion].expirePenaltyBps / BPS;
        if (penalty != 0) {
            // The client is credited what staking actually slashed, so the write follows the
            // call. Safe: staking is immutable protocol code whose slash() only moves tokens
            // (CPT has no transfer hooks) and calls back only syncStake; this function is
            // nonReentrant.
            // slither-disable-next-line reentrancy-no-eth,reentrancy-benign
            penalty = _staking.slash(account, penalty, address(this));
            _credits[client] += penalty;
        }
        emit JobExpired(jobId, escrow * PackedJob.UNIT, penalty);
    }

    // --- disputes --------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function openDispute(uint256 jobId) external nonReentrant {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        if (core.state != JobState.Settled) revert MarketInvalidJobState(jobId, core.state);
        if (_clients[jobId].client != msg.sender) revert MarketNotJobClient(jobId, msg.sender);
        uint256 windowEnd = uint256(core.time) + DISPUTE_WINDOW;
        if (block.timestamp >= windowEnd) revert MarketDisputeWindowClosed(jobId, windowEnd);
        uint256 bond = _termsAt[core.termsVersion].disputeBond;
        core.state = JobState.Disputed;
        _core[jobId] = PackedJob.pack(core);
        _disputes[jobId] = Dispute({bond: uint96(bond), openedAt: uint32(block.timestamp)});
        emit DisputeOpened(jobId, msg.sender, bond);
        _token.safeTransferFrom(msg.sender, address(this), bond);
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
    /// client. The protocol fee on the payment is due either way, and the treasury takes its
    /// share of the bond whoever wins, and of the slash: disputing oneself always costs.
    function _resolve(uint256 jobId, bool clientWins, bool byDefault) private {
        PackedJob.Core memory core = PackedJob.unpack(_core[jobId]);
        Terms memory t = _termsAt[core.termsVersion];
        uint256 payment = uint256(core.amountA) * PackedJob.UNIT;
        uint256 bond = _disputes[jobId].bond;
        address client = _clients[jobId].client;
        address account = _accountOf[core.provider];
        core.state = JobState.Finalized;
        _core[jobId] = PackedJob.pack(core);
        delete _disputes[jobId];
        // After settlement amountB holds the whole escrow, which is what the lock backs.
        uint256 lock = _lockFor(core.amountB);
        _profiles[account].locked -= uint64(lock);

        uint256 fee = payment * t.feeBps / BPS;
        uint256 bondShare = bond * t.treasuryShareBps / BPS;
        uint256 slashed = 0;
        uint256 toTreasury = fee + bondShare;
        if (clientWins) {
            uint256 slashAmount = lock * PackedJob.UNIT * t.disputeSlashBps / BPS;
            // slither-disable-next-line reentrancy-no-eth,reentrancy-benign
            if (slashAmount != 0) slashed = _staking.slash(account, slashAmount, address(this));
            uint256 slashShare = slashed * t.treasuryShareBps / BPS;
            toTreasury += slashShare;
            _credits[client] += payment - fee + bond - bondShare + slashed - slashShare;
        } else {
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
        uint24 myIndex = _profiles[msg.sender].index;
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
                uint256 fee = payment * _termsAt[core.termsVersion].feeBps / BPS;
                amount += payment - fee;
                fees += fee;
                unlock += _lockFor(core.amountB);
                core.state = JobState.Finalized;
                paid = true;
                emit JobFinalized(jobId, msg.sender, payment - fee, fee);
            }
            if (
                core.state >= JobState.Settled && core.state <= JobState.Finalized && !core.refundWithdrawn
                    && core.amountB > core.amountA && _clients[jobId].client == msg.sender
            ) {
                amount += uint256(core.amountB - core.amountA) * PackedJob.UNIT;
                core.refundWithdrawn = true;
                paid = true;
            }
            if (!paid) revert MarketNotWithdrawable(jobId, msg.sender);
            _core[jobId] = PackedJob.pack(core);
        }
        if (fees != 0) _credits[_treasury] += fees;
        if (unlock != 0) _profiles[msg.sender].locked -= uint64(unlock);
        // A job that earned nothing (no GPU time, no bid) still finalizes and frees its lock.
        if (amount == 0 && unlock == 0) revert MarketNothingToWithdraw(msg.sender);
        emit Withdrawn(msg.sender, amount);
        if (amount != 0) _token.safeTransfer(msg.sender, amount);
    }

    // --- providers -------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function syncProvider(
        address account,
        uint24 index,
        address signer,
        bytes4 gpuClass,
        uint256 stake,
        uint256 ask,
        uint256 pendingAsk,
        uint256 pendingAskAt
    ) external {
        _onlyStaking();
        Profile storage profile = _profiles[account];
        Signer storage current = _signers[index];
        if (current.current != signer) {
            _previousSigners[index] = current.current;
            current.current = signer;
            // Wraps: jobs record the epoch mod 8.
            unchecked {
                current.epoch += 1;
            }
        }
        _accountOf[index] = account;
        profile.index = index;
        profile.gpuClass = gpuClass;
        profile.stake = _nanoDown(stake);
        profile.ask = _askUnits(ask);
        profile.signerEpoch = current.epoch & 7;
        profile.askPending = pendingAskAt != 0;
        _pendingAsks[account] = PendingAsk({ask: _askUnits(pendingAsk), at: uint40(pendingAskAt)});
    }

    /// @inheritdoc IJobMarket
    function syncStake(address account, uint256 stake) external {
        _onlyStaking();
        _profiles[account].stake = _nanoDown(stake);
    }

    /// @inheritdoc IJobMarket
    function syncMinStake(uint256 minStake) external {
        _onlyStaking();
        uint256 units = (minStake + PackedJob.UNIT - 1) / PackedJob.UNIT;
        _config.minStake = units > type(uint64).max ? type(uint64).max : uint64(units);
    }

    function _onlyStaking() private view {
        if (msg.sender != address(_staking)) revert MarketOnlyStaking(msg.sender);
    }

    /// @dev Wei as nano-CPT rounded down, capped at uint64 (conservative for stake checks).
    function _nanoDown(uint256 amount) private pure returns (uint64) {
        uint256 units = amount / PackedJob.UNIT;
        return units > type(uint64).max ? type(uint64).max : uint64(units);
    }

    /// @dev An ask in wei per GPU-second as nano-CPT rounded up: a job's price (whole
    /// nano-CPT) meets the ask exactly when it meets this.
    function _askUnits(uint256 ask) private pure returns (uint48) {
        uint256 units = (ask + PackedJob.UNIT - 1) / PackedJob.UNIT;
        return units > type(uint48).max ? type(uint48).max : uint48(units);
    }

    // --- views -----------------------------------------------------------------------------

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
}
