// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IJobMarketExtension} from "../interfaces/IJobMarketExtension.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {JobWord} from "../libraries/JobWord.sol";
import {UsageRecords} from "../libraries/UsageRecords.sol";
import {BPS, NANO} from "../libraries/Units.sol";
import {JobQueue} from "./JobQueue.sol";
import {JobRemedies} from "./JobRemedies.sol";
import {OpenJobEdits} from "./OpenJobEdits.sol";
import {ProviderSync} from "./ProviderSync.sol";

/// @title The job market's views and administration
/// @notice See {IJobMarketExtension}. Deployed once, then named in the market's
/// constructor; it runs only by delegatecall from the market, in the market's storage.
/// Called directly it sees its own, empty storage, and holds no roles and no funds.
/// Each admin power has its own role: PARAMS_ROLE sets parameters and attestors,
/// PAUSER_ROLE pauses, ARBITER_ROLE decides disputes (in the market). Every setter is
/// bounded and emits. The terms that decide what a job's parties gain or lose are
/// versioned: a setter writes a new version for the jobs posted from then on, and each
/// job keeps the version it was posted under.
contract JobMarketExtension is IJobMarketExtension, JobQueue, JobRemedies, OpenJobEdits, ProviderSync {
    using EnumerableSet for EnumerableSet.AddressSet;

    // --- views -----------------------------------------------------------------------------

    /// @inheritdoc IJobMarketExtension
    function job(uint256 jobId) external view returns (JobView memory view_) {
        JobWord word = _core[jobId];
        JobState state = _stateOf(jobId, word);
        if (state == JobState.None) return view_;
        Group memory group = _groups[jobId - word.offset()];
        view_.state = state;
        view_.client = _clientAccounts[group.client];
        view_.provider = _accountOf[word.provider()];
        view_.gpuClass = group.gpuClass;
        view_.pricePerGpuSecond = word.price() * NANO;
        view_.feeBps = _termsAt[word.termsVersion()].feeBps;
        view_.termsVersion = uint16(word.termsVersion());
        view_.refundWithdrawn = word.refundWithdrawn();
        view_.boost = uint256(group.boost) * NANO;
        if (state == JobState.Open || state == JobState.Claimed) {
            view_.maxPayment = word.maxPayment() * NANO;
            view_.bid = word.bid() * NANO;
            view_.deadline = uint32(word.deadline());
            uint256 priority = word.bid() + group.boost;
            view_.priority = priority * NANO;
            view_.level = uint8(word.level());
        } else if (state >= JobState.Settled && state <= JobState.Finalized) {
            view_.payment = word.payment() * NANO;
            view_.refund = word.refund() * NANO;
            view_.settledAt = uint32(word.settledAt());
        }
    }

    /// @inheritdoc IJobMarketExtension
    function dispute(uint256 jobId) external view returns (DisputeView memory) {
        Dispute storage d = _disputes[jobId];
        uint256 openedAt = d.openedAt;
        return DisputeView({
            client: openedAt == 0 ? address(0) : _clientOf(jobId, _core[jobId]),
            bond: d.bond,
            openedAt: openedAt,
            arbiterDeadline: openedAt == 0 ? 0 : openedAt + _market().ARBITER_TIMEOUT()
        });
    }

    /// @inheritdoc IJobMarketExtension
    function queue(bytes4 gpuClass, uint256 start, uint256 limit)
        external
        view
        returns (uint256[] memory jobIds, uint256[] memory priorities)
    {
        return _list(gpuClass, 0, start, limit);
    }

    /// @inheritdoc IJobMarketExtension
    function designatedQueue(address provider, bytes4 gpuClass, uint256 start, uint256 limit)
        external
        view
        returns (uint256[] memory jobIds, uint256[] memory priorities)
    {
        uint24 index = _profiles[provider].index;
        if (index == 0) return (new uint256[](0), new uint256[](0));
        return _list(gpuClass, index, start, limit);
    }

    /// @inheritdoc IJobMarketExtension
    function classStatus(bytes4 gpuClass) external view returns (uint256 openJobs, bool busy) {
        openJobs = _openCount(gpuClass);
        busy = openJobs >= _config.busyThreshold;
    }

    /// @inheritdoc IJobMarketExtension
    function priorityLevel(uint256 priority) external pure returns (uint8) {
        return _levelOf(priority / NANO);
    }

    /// @inheritdoc IJobMarketExtension
    function lockedStake(address provider) external view returns (uint256) {
        return uint256(_profiles[provider].locked) * NANO;
    }

    /// @inheritdoc IJobMarketExtension
    function credit(address account) external view returns (uint256) {
        return _credits[account];
    }

    /// @inheritdoc IJobMarketExtension
    function jobCount() external view returns (uint256) {
        return _config.jobCount;
    }

    /// @inheritdoc IJobMarketExtension
    function parameters() external view returns (Parameters memory) {
        Config memory config = _config;
        Terms memory t = _termsAt[config.termsVersion];
        return Parameters({
            feeBps: t.feeBps,
            disputeBond: t.disputeBond,
            disputeSlashBps: t.disputeSlashBps,
            expirePenaltyBps: t.expirePenaltyBps,
            treasuryShareBps: t.treasuryShareBps,
            treasury: _treasury,
            attestorThreshold: t.attestorThreshold,
            attestors: _attestorSets[t.attestorSetId].values(),
            termsVersion: config.termsVersion,
            busyThreshold: config.busyThreshold
        });
    }

    /// @inheritdoc IJobMarketExtension
    function terms(uint256 version) external view returns (Terms memory t, address[] memory attestors) {
        t = _termsAt[version];
        attestors = _attestorSets[t.attestorSetId].values();
    }

    /// @inheritdoc IJobMarketExtension
    function isAttestor(address account) external view returns (bool) {
        return _attestorSets[_termsAt[_config.termsVersion].attestorSetId].contains(account);
    }

    /// @inheritdoc IJobMarketExtension
    function recordDigest(UsageRecord calldata record) external view returns (bytes32) {
        return _hashTypedDataV4(UsageRecords.hash(record));
    }

    /// @inheritdoc IJobMarketExtension
    function batchDigest(address provider, BatchRecord[] calldata records) external view returns (bytes32) {
        bytes32[] memory hashes = new bytes32[](records.length);
        for (uint256 i; i < records.length; ++i) {
            hashes[i] = UsageRecords.hash(records[i], provider);
        }
        return _hashTypedDataV4(UsageRecords.hashBatch(hashes));
    }

    // --- administration ----------------------------------------------------------------

    /// @inheritdoc IJobMarketExtension
    function setFeeBps(uint256 feeBps) external onlyRole(PARAMS_ROLE) {
        _nextTermsWith("feeBps", feeBps, 0, MAX_FEE_BPS).feeBps = uint16(feeBps);
    }

    /// @inheritdoc IJobMarketExtension
    function setDisputeBond(uint256 bond) external onlyRole(PARAMS_ROLE) {
        _nextTermsWith("disputeBond", bond, MIN_DISPUTE_BOND, MAX_DISPUTE_BOND).disputeBond = uint96(bond);
    }

    /// @inheritdoc IJobMarketExtension
    function setDisputeSlashBps(uint256 bps) external onlyRole(PARAMS_ROLE) {
        _nextTermsWith("disputeSlashBps", bps, 0, BPS).disputeSlashBps = uint16(bps);
    }

    /// @inheritdoc IJobMarketExtension
    function setExpirePenaltyBps(uint256 bps) external onlyRole(PARAMS_ROLE) {
        _nextTermsWith("expirePenaltyBps", bps, 0, BPS).expirePenaltyBps = uint16(bps);
    }

    /// @inheritdoc IJobMarketExtension
    function setTreasuryShareBps(uint256 bps) external onlyRole(PARAMS_ROLE) {
        _nextTermsWith("treasuryShareBps", bps, 1, MAX_TREASURY_SHARE_BPS).treasuryShareBps = uint16(bps);
    }

    /// @inheritdoc IJobMarketExtension
    function setTreasury(address treasury) external onlyRole(PARAMS_ROLE) {
        if (treasury == address(0)) revert MarketZeroAddress();
        _treasury = treasury;
        emit TreasuryUpdated(treasury);
    }

    /// @inheritdoc IJobMarketExtension
    function setAttestors(address[] calldata attestors, uint256 threshold) external onlyRole(PARAMS_ROLE) {
        uint256 count = attestors.length;
        if (count > MAX_ATTESTORS) revert MarketTooManyAttestors(count, MAX_ATTESTORS);
        _bounded("attestorThreshold", threshold, 0, count);
        IProviderStaking staking = IProviderStaking(_market().STAKING());
        uint32 setId = ++_attestorSetCount;
        EnumerableSet.AddressSet storage set = _attestorSets[setId];
        for (uint256 i; i < count; ++i) {
            address attestor = attestors[i];
            if (attestor == address(0)) revert MarketZeroAddress();
            address provider = staking.signerOwner(attestor);
            if (provider != address(0)) revert MarketAttestorIsSigner(attestor, provider);
            if (!set.add(attestor)) revert MarketDuplicateAttestor(attestor);
        }
        (Terms storage t, uint256 version) = _nextTerms();
        t.attestorSetId = setId;
        t.attestorThreshold = uint16(threshold);
        emit AttestorsUpdated(attestors, threshold, version);
    }

    /// @inheritdoc IJobMarketExtension
    function setBusyThreshold(uint256 threshold) external onlyRole(PARAMS_ROLE) {
        _bounded("busyThreshold", threshold, 1, MAX_BUSY_THRESHOLD);
        _config.busyThreshold = uint32(threshold);
        emit ParameterUpdated("busyThreshold", threshold, _config.termsVersion);
    }

    /// @inheritdoc IJobMarketExtension
    function pause() external onlyRole(PAUSER_ROLE) {
        if (_config.paused) revert EnforcedPause();
        _config.paused = true;
        emit Paused(msg.sender);
    }

    /// @inheritdoc IJobMarketExtension
    function unpause() external onlyRole(PAUSER_ROLE) {
        if (!_config.paused) revert ExpectedPause();
        _config.paused = false;
        emit Unpaused(msg.sender);
    }

    /// @dev A copy of the current terms as the next version, which new jobs get from now.
    function _nextTerms() private returns (Terms storage next, uint256 version) {
        version = uint256(_config.termsVersion) + 1;
        _bounded("termsVersion", version, 1, type(uint16).max);
        _termsAt[version] = _termsAt[version - 1];
        _config.termsVersion = uint16(version);
        next = _termsAt[version];
    }

    /// @dev What every terms setter does but the write itself: bounds `value`, opens the
    /// next terms version and announces it; the caller writes `value` into that version.
    function _nextTermsWith(bytes32 name, uint256 value, uint256 min, uint256 max)
        private
        returns (Terms storage next)
    {
        _bounded(name, value, min, max);
        uint256 version;
        (next, version) = _nextTerms();
        emit ParameterUpdated(name, value, version);
    }

    function _bounded(bytes32 name, uint256 value, uint256 min, uint256 max) private pure {
        if (value < min || value > max) revert MarketInvalidParameter(name, value);
    }
}
