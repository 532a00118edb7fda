// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {Attestations} from "../libraries/Attestations.sol";
import {JobLifecycle} from "../libraries/JobLifecycle.sol";
import {JobWord} from "../libraries/JobWord.sol";
import {NANO} from "../libraries/Units.sol";
import {UsageRecords} from "../libraries/UsageRecords.sol";
import {ProviderMirror} from "./ProviderMirror.sol";

/// @title Settlement of claimed jobs from signed usage records
/// @notice A record settles a job once its provider's oracle signer (and the attestors of
/// the job's terms) signed it. Settlement only rewrites job words: the payment waits in
/// escrow until {JobMarket-withdraw}, after the dispute window. Records of one provider
/// settle in batches under one signature, the cheapest way per job.
abstract contract JobSettlement is IJobMarket, ProviderMirror {
    using JobLifecycle for JobWord;

    /// @inheritdoc IJobMarket
    function settle(UsageRecord calldata record, bytes calldata signature, bytes[] calldata attestorSignatures)
        external
    {
        uint256 jobId = record.jobId;
        JobWord word = _core[jobId];
        uint24 index = word.provider();
        address account = _accountOf[index];
        address signer = _signerFor(index, word.signerEpoch());
        bytes32 digest = _hashTypedDataV4(UsageRecords.hash(record));
        Attestations.verify(digest, signer, signature, attestorSignatures, _termsAt[word.termsVersion()], _attestorSets);
        if (record.provider != account) revert MarketWrongProvider(jobId, record.provider, account);
        uint256 payment = _settleOne(jobId, word, index, account, record.gpuMillis);
        _usageSettled(jobId, payment, record.energyMj, record.aiTokens, record.startTime, record.endTime);
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
        JobWord first = _core[records[0].jobId];
        uint256 epoch = first.signerEpoch();
        uint256 version = first.termsVersion();
        Terms memory t = _termsAt[version];
        bytes32[] memory hashes = new bytes32[](count);
        for (uint256 i; i < count; ++i) {
            BatchRecord calldata record = records[i];
            uint256 jobId = record.jobId;
            JobWord word = _core[jobId];
            if (
                !word.sameSignerAndTerms(first)
                    && (word.signerEpoch() != epoch || !_sameAttestors(word.termsVersion(), t))
            ) revert MarketMixedTerms(i, jobId);
            hashes[i] = UsageRecords.hash(record, provider);
            uint256 payment = _settleOne(jobId, word, index, provider, record.gpuMillis);
            _usageSettled(jobId, payment, record.energyMj, record.aiTokens, record.startTime, record.endTime);
        }
        // Checked after the loop so that each record is read once. Safe: nothing above
        // calls out, and a bad signature reverts every write of the loop.
        address signer = _signerFor(index, epoch);
        bytes32 digest = _hashTypedDataV4(UsageRecords.hashBatch(hashes));
        Attestations.verify(digest, signer, signature, attestorSignatures, t, _attestorSets);
        emit UsageAttested(provider, signer, digest, count);
    }

    function _sameAttestors(uint256 version, Terms memory t) private view returns (bool) {
        Terms storage other = _termsAt[version];
        return other.attestorSetId == t.attestorSetId && other.attestorThreshold == t.attestorThreshold;
    }

    /// @dev Settles a job claimed by provider `index` (`account`) for `gpuMillis` of GPU
    /// time. Works on the packed word directly: this runs once per job of every batch.
    function _settleOne(uint256 jobId, JobWord word, uint24 index, address account, uint256 gpuMillis)
        private
        returns (uint256 payment)
    {
        word.expect(jobId, JobState.Claimed);
        if (word.provider() != index || index == 0) {
            revert MarketWrongProvider(jobId, account, _accountOf[word.provider()]);
        }
        (_core[jobId], payment) = word.settle(jobId, gpuMillis);
    }

    /// @dev Checks a settled job's usage and reports it; the settlement's writes revert
    /// with it when the usage is invalid.
    function _usageSettled(
        uint256 jobId,
        uint256 payment,
        uint256 energyMj,
        uint256 aiTokens,
        uint256 startTime,
        uint256 endTime
    ) private {
        JobLifecycle.checkUsage(jobId, energyMj, startTime, endTime);
        emit JobSettled(jobId, payment * NANO, energyMj, aiTokens, JobLifecycle.tokensPerJouleE6(aiTokens, energyMj));
    }
}
