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

    /// @dev A posting call in progress: the config it will write back, and the group it is
    /// filling, which is queued when a job does not fit it or the call ends.
    struct Posting {
        Config config;
        uint32 client;
        uint256 key; // the open group's key, 0 before the first job
        Group group;
        uint24 designated;
        uint256 level;
        uint256 escrow; // wei to collect
        bool noBoost; // the vault granted nothing: it will grant nothing more in this call
    }

    /// @inheritdoc IJobMarket
    function postJob(JobRequest calldata request) external nonReentrant returns (uint256 jobId) {
        Posting memory p = _startPosting();
        jobId = _post(request, JobLifecycle.NO_INDEX, p);
        _endPosting(p);
    }

    /// @inheritdoc IJobMarket
    function postJobWithPermit(JobRequest calldata request, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
        returns (uint256 jobId)
    {
        Posting memory p = _startPosting();
        jobId = _post(request, JobLifecycle.NO_INDEX, p);
        _permit(p.escrow, permitDeadline, v, r, s);
        _endPosting(p);
    }

    /// @inheritdoc IJobMarket
    function postJobs(JobRequest[] calldata requests) external nonReentrant returns (uint256 firstJobId) {
        Posting memory p = _startPosting();
        firstJobId = _postAll(requests, p);
        _endPosting(p);
    }

    /// @inheritdoc IJobMarket
    function postJobsWithPermit(
        JobRequest[] calldata requests,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (uint256 firstJobId) {
        Posting memory p = _startPosting();
        firstJobId = _postAll(requests, p);
        _permit(p.escrow, permitDeadline, v, r, s);
        _endPosting(p);
    }

    function _postAll(JobRequest[] calldata requests, Posting memory p) private returns (uint256 firstJobId) {
        uint256 count = requests.length;
        if (count == 0) revert MarketEmptyBatch();
        if (count > MAX_BATCH) revert MarketBatchTooLarge(count, MAX_BATCH);
        firstJobId = _post(requests[0], 0, p);
        for (uint256 i = 1; i < count; ++i) {
            _post(requests[i], i, p);
        }
    }

    function _permit(uint256 value, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s) private {
        // A front-runner may have used the permit already; the allowance then suffices.
        try IERC20Permit(TOKEN).permit(msg.sender, address(this), value, permitDeadline, v, r, s) {} catch {}
    }

    function _startPosting() private returns (Posting memory p) {
        p.config = _config;
        if (p.config.paused) revert EnforcedPause();
        uint32 client = _clientIds[msg.sender];
        if (client == 0) {
            client = ++p.config.clientCount;
            _clientIds[msg.sender] = client;
            _clientAccounts[client] = msg.sender;
        }
        p.client = client;
    }

    /// @dev Queues the last group, writes the counters back and collects the escrow.
    function _endPosting(Posting memory p) private {
        _enqueue(p.key, p.group, p.designated, p.level);
        _config = p.config;
        IERC20(TOKEN).safeTransferFrom(msg.sender, address(this), p.escrow);
    }

    /// @dev Posts one job of a call (element `index` of a batch; see {JobLifecycle-fail}).
    function _post(JobRequest calldata request, uint256 index, Posting memory p) private returns (uint256 jobId) {
        (uint256 maxPayment, uint256 bid, uint256 price) =
            JobLifecycle.checkRequest(request, COLLATERAL_BPS, COLLATERAL_CAP, index);
        bytes4 gpuClass = request.gpuClass;
        uint24 designated = request.provider == address(0) ? 0 : _designated(request.provider, gpuClass, index);
        uint256 boost = p.noBoost ? 0 : _boost(gpuClass, designated, request.deadline, p);
        uint256 level = _levelOf(bid + boost);
        jobId = ++p.config.jobCount;
        Group memory group = p.group;
        if (
            p.key == 0 || group.size == _MAX_GROUP || p.level != level || p.designated != designated
                || group.gpuClass != gpuClass || group.boost != boost || group.price != price
                || group.deadline != request.deadline
        ) {
            if (p.key != 0) _enqueue(p.key, group, p.designated, p.level);
            p.key = jobId;
            p.group = group = Group({
                client: p.client,
                gpuClass: gpuClass,
                boost: uint48(boost),
                next: 0,
                start: 0,
                size: 0,
                price: uint48(price),
                deadline: request.deadline
            });
            p.designated = designated;
            p.level = level;
        }
        _core[jobId] = JobWordLibrary.open(
            designated, request.deadline, p.config.termsVersion, group.size, level, price, maxPayment, bid
        );
        // Cannot overflow: a group holds at most _MAX_GROUP jobs and a call MAX_BATCH escrows
        // of at most MAX_AMOUNT nano-CPT each.
        unchecked {
            group.size += 1;
            p.escrow += (maxPayment + bid) * NANO;
        }
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
    }

    /// @dev The boost (nano-CPT, at most 48 bits) of the client's next job while its class
    /// is busy, counting the jobs of this call that are not queued yet.
    function _boost(bytes4 gpuClass, uint24 designated, uint256 deadline, Posting memory p)
        private
        returns (uint256 boost)
    {
        uint256 open = _openCount(gpuClass);
        if (p.key != 0 && p.designated == 0 && p.group.gpuClass == gpuClass) open += p.group.size;
        if (designated != 0 || open < p.config.busyThreshold) return 0;
        // The vault is immutable protocol code that only updates its own books and never
        // calls back; the posting functions are nonReentrant.
        // slither-disable-next-line reentrancy-no-eth,reentrancy-benign,calls-loop
        boost = IHoldingsVault(VAULT).useBoost(msg.sender, deadline) / NANO;
        if (boost == 0) p.noBoost = true;
        else if (boost > type(uint48).max) boost = type(uint48).max;
    }

    // --- claiming ------------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function claimJob(uint256 jobId) external whenNotPaused {
        (Profile memory profile, uint256 ask,) = _claimant(1);
        _core[jobId].expect(jobId, JobState.Open);
        if (!_takeable(jobId, profile.gpuClass, profile.index, ask)) {
            revert MarketProviderNotEligible(jobId, msg.sender);
        }
        Spot memory best = _bestFor(profile.gpuClass, profile.index, ask);
        if (best.jobId != jobId) revert MarketHigherPriorityEligible(jobId, best.jobId);
        _claimFrom(best, profile, ask, 1, new uint256[](1));
    }

    /// @inheritdoc IJobMarket
    function claimNext() external whenNotPaused returns (uint256 jobId) {
        (Profile memory profile, uint256 ask,) = _claimant(1);
        Spot memory best = _bestFor(profile.gpuClass, profile.index, ask);
        jobId = best.jobId;
        if (jobId == 0) revert MarketNoEligibleJob(msg.sender, profile.gpuClass);
        _claimFrom(best, profile, ask, 1, new uint256[](1));
    }

    /// @inheritdoc IJobMarket
    function claimNextJobs(uint256 maxJobs) external whenNotPaused returns (uint256[] memory jobIds) {
        if (maxJobs == 0) revert MarketEmptyBatch();
        if (maxJobs > MAX_BATCH) revert MarketBatchTooLarge(maxJobs, MAX_BATCH);
        (Profile memory profile, uint256 ask, uint256 limit) = _claimant(maxJobs);
        Spot memory best = _bestFor(profile.gpuClass, profile.index, ask);
        if (best.jobId == 0) revert MarketNoEligibleJob(msg.sender, profile.gpuClass);
        jobIds = new uint256[](limit);
        uint256 count = _claimFrom(best, profile, ask, limit, jobIds);
        assembly ("memory-safe") {
            mstore(jobIds, count)
        }
    }

    /// @dev The caller's profile and ask now, once it is known to afford a job, and how many
    /// of up to `wanted` jobs its free stake covers (each locks at most the cap).
    function _claimant(uint256 wanted) private view returns (Profile memory profile, uint256 ask, uint256 limit) {
        profile = _profiles[msg.sender];
        if (profile.index == 0) revert MarketProviderNotRegistered(msg.sender);
        uint256 cap = COLLATERAL_CAP / NANO;
        uint256 minStake = _config.minStake;
        uint256 needed = uint256(profile.locked) + cap;
        if (needed < minStake) needed = minStake;
        if (profile.stake < needed) {
            revert MarketInsufficientStake(msg.sender, uint256(profile.stake) * NANO, needed * NANO);
        }
        limit = wanted;
        if (cap != 0) {
            // At least 1: the stake covers locked + cap.
            uint256 affordable = (profile.stake - profile.locked) / cap;
            if (affordable < limit) limit = affordable;
        }
        ask = profile.ask;
        if (profile.askPending) {
            PendingAsk memory pending = _pendingAsks[msg.sender];
            if (block.timestamp >= pending.at) ask = pending.ask;
        }
    }

    /// @dev Claims up to `limit` jobs for `profile`, from `best` on, into `jobIds`; returns
    /// how many. Nothing is posted meanwhile, so after a job come the jobs after it in its
    /// group that are still queued there: each run is claimed in one pass, then the queues
    /// are searched again.
    function _claimFrom(Spot memory best, Profile memory profile, uint256 ask, uint256 limit, uint256[] memory jobIds)
        private
        returns (uint256 count)
    {
        Spot memory spot = best;
        while (true) {
            uint256 first = spot.key & _ID_MASK;
            uint256 size = _groups[spot.key].size;
            uint256 i = spot.index;
            uint256 taken;
            for (; i < size && count < limit; ++i) {
                uint256 jobId = first + i;
                JobWord word = _core[jobId];
                if (word.state() != JobState.Open || word.level() != spot.level) continue;
                uint256 lock = _lockFor(word.maxPayment() + word.bid());
                _core[jobId] = word.claimed(profile.index, profile.signerEpoch);
                // Cannot overflow: the stake check bounds locked + lock by the stake (a uint64).
                profile.locked = uint64(profile.locked + lock);
                emit JobClaimed(jobId, msg.sender, lock * NANO);
                jobIds[count++] = jobId;
                ++taken;
            }
            _takeRun(profile.gpuClass, spot, i, size, taken);
            if (count == limit) break;
            spot = _bestFor(profile.gpuClass, profile.index, ask);
            if (spot.jobId == 0) break;
        }
        _profiles[msg.sender].locked = profile.locked;
    }

    /// @dev Stake (nano-CPT) locked for a job of `escrow` (nano-CPT).
    function _lockFor(uint256 escrow) private view returns (uint256) {
        return JobLifecycle.lockFor(escrow, COLLATERAL_BPS);
    }

    // --- withdrawals -----------------------------------------------------------------------

    /// @inheritdoc IJobMarket
    function withdraw(uint256[] calldata jobIds) external nonReentrant returns (uint256 amount) {
        uint256 count = jobIds.length;
        if (count > MAX_BATCH) revert MarketBatchTooLarge(count, MAX_BATCH);
        amount = _credits[msg.sender];
        if (amount != 0) _credits[msg.sender] = 0;
        Withdrawal memory w = Withdrawal({
            provider: _profiles[msg.sender].index,
            client: _clientIds[msg.sender],
            unlock: 0,
            fees: 0,
            bitsKey: type(uint256).max,
            bits: 0
        });
        for (uint256 i; i < count; ++i) {
            uint256 jobId = jobIds[i];
            uint256 index = count == 1 ? JobLifecycle.NO_INDEX : i;
            JobWord word = _core[jobId];
            (bool paid, uint256 payout) = _takePayout(jobId, word, index, w);
            amount += payout;
            if (w.client != 0 && word.refundDue() && _groups[jobId - word.offset()].client == w.client) {
                amount += word.refund() * NANO;
                _core[jobId] = word.withRefundWithdrawn();
            } else if (!paid) {
                JobLifecycle.fail(index, abi.encodeWithSelector(MarketNotWithdrawable.selector, jobId, msg.sender));
            }
        }
        if (w.bitsKey != type(uint256).max) _paidOut[w.bitsKey] = w.bits;
        if (w.fees != 0) _credits[_treasury] += w.fees;
        if (w.unlock != 0) _profiles[msg.sender].locked -= uint64(w.unlock);
        // A job that earned nothing (no GPU time, no bid) still finalizes and frees its lock.
        if (amount == 0 && w.unlock == 0) revert MarketNothingToWithdraw(msg.sender);
        emit Withdrawn(msg.sender, amount);
        if (amount != 0) IERC20(TOKEN).safeTransfer(msg.sender, amount);
    }

    /// @dev A withdrawal in progress: who the caller is, what it frees and pays in fees, and
    /// the word of {_paidOut} it is marking (written back when it moves on, and at the end).
    struct Withdrawal {
        uint24 provider;
        uint32 client;
        uint256 unlock;
        uint256 fees;
        uint256 bitsKey;
        uint256 bits;
    }

    /// @dev Whether the caller is owed the payout of settled job `jobId` as its provider,
    /// and the payout (wei), now marked paid. The job's word stays Settled: it counts as
    /// Finalized from then on (see {_paidOut}), which costs a bit instead of a word write.
    function _takePayout(uint256 jobId, JobWord word, uint256 index, Withdrawal memory w)
        private
        returns (bool paid, uint256 payout)
    {
        if (word.state() != JobState.Settled || word.provider() != w.provider || w.provider == 0) {
            return (false, 0);
        }
        uint256 key = jobId >> 8;
        if (key != w.bitsKey) {
            if (w.bitsKey != type(uint256).max) _paidOut[w.bitsKey] = w.bits;
            w.bitsKey = key;
            w.bits = _paidOut[key];
        }
        uint256 bit = uint256(1) << (jobId & 255);
        if (w.bits & bit != 0) return (false, 0);
        w.bits |= bit;
        paid = true;
        uint256 fee;
        (payout, fee) = word.payout(jobId, DISPUTE_WINDOW, _termsAt[word.termsVersion()].feeBps, index);
        w.fees += fee;
        w.unlock += _lockFor(word.escrow());
        emit JobFinalized(jobId, msg.sender, payout, fee);
    }
}
