// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarketTypes} from "./IJobMarketTypes.sol";

/// @title The job market's views and administration
/// @notice Served at the market's address: the market delegates every call it does not
/// implement itself to the extension, which shares its storage layout.
interface IJobMarketExtension is IJobMarketTypes {
    /// @notice Staking tells the market a provider's id, oracle signer, class, stake and ask
    /// (with an ask increase that is still pending and when it applies) whenever they
    /// change, so that claiming and settling need no external call. A new signer keeps the
    /// previous one valid for the jobs claimed before the rotation.
    function syncProvider(
        address account,
        uint24 index,
        address signer,
        bytes4 gpuClass,
        uint256 stake,
        uint256 ask,
        uint256 pendingAsk,
        uint256 pendingAskAt
    ) external;

    /// @notice Staking reports a registered provider's new active stake.
    function syncStake(address account, uint256 stake) external;

    /// @notice Staking reports a new minimum stake for taking jobs.
    function syncMinStake(uint256 minStake) external;

    /// @notice Closes a job whose deadline passed: an open one is refunded; a claimed one
    /// is refunded and part of its locked stake goes to the client. Anyone may call.
    function expireJob(uint256 jobId) external;

    /// @notice The EIP-712 digest of one usage record.
    function recordDigest(UsageRecord calldata record) external view returns (bytes32);

    /// @notice The EIP-712 digest of a batch of usage records of `provider`.
    function batchDigest(address provider, BatchRecord[] calldata records) external view returns (bytes32);

    /// @notice Raises an open job's bid to `newBid`, escrowing the difference; if its
    /// priority level rises, it joins the tail of the new level.
    function raiseBid(uint256 jobId, uint256 newBid) external;

    /// @notice Cancels an open job; its whole escrow becomes withdrawable by the client.
    function cancelJob(uint256 jobId) external;

    /// @notice Opens a dispute on a settled job within the window, posting the bond.
    function openDispute(uint256 jobId) external;

    /// @notice The arbiter's decision, before its timeout.
    function resolveDispute(uint256 jobId, bool clientWins) external;

    /// @notice After the arbiter timeout, anyone applies the fixed default: the signed
    /// record stands (the provider wins).
    function finalizeDispute(uint256 jobId) external;

    /// @notice Up to `limit` jobs of `gpuClass` open to every provider that can still be
    /// claimed (open, before their deadline), in priority order, after `start` (0: from the
    /// head), with their priorities (bid + boost, wei).
    function queue(bytes4 gpuClass, uint256 start, uint256 limit)
        external
        view
        returns (uint256[] memory jobIds, uint256[] memory priorities);

    /// @notice Like {queue}, for the jobs of `gpuClass` designated to `provider`.
    function designatedQueue(address provider, bytes4 gpuClass, uint256 start, uint256 limit)
        external
        view
        returns (uint256[] memory jobIds, uint256[] memory priorities);

    function job(uint256 jobId) external view returns (JobView memory);

    function dispute(uint256 jobId) external view returns (DisputeView memory);

    /// @notice Open jobs of `gpuClass` (open to all) and whether the class is busy, i.e.
    /// whether holdings boost the jobs posted now.
    function classStatus(bytes4 gpuClass) external view returns (uint256 openJobs, bool busy);

    /// @notice The level a priority of `priority` wei is queued at: 0 for zero, then four
    /// levels per doubling of the priority in nano-CPT, at most 223.
    function priorityLevel(uint256 priority) external pure returns (uint8);

    /// @notice The {Terms} of `version` and its attestors.
    function terms(uint256 version) external view returns (Terms memory, address[] memory attestors);

    /// @notice Whether `account` is in the current attestor set.
    function isAttestor(address account) external view returns (bool);

    /// @notice Stake of `provider` backing its claimed and settled jobs.
    function lockedStake(address provider) external view returns (uint256);

    /// @notice Tokens credited to `account` (expiries, disputes, fees), withdrawable now.
    function credit(address account) external view returns (uint256);

    function jobCount() external view returns (uint256);

    function parameters() external view returns (Parameters memory);

    /// @notice At most MAX_FEE_BPS (10%). Like every terms setter, applies to jobs posted
    /// from now on only.
    function setFeeBps(uint256 feeBps) external;

    /// @notice Between MIN_DISPUTE_BOND and MAX_DISPUTE_BOND: never zero, so that
    /// disputing oneself always costs the treasury's share of the bond.
    function setDisputeBond(uint256 bond) external;

    function setDisputeSlashBps(uint256 bps) external;

    function setExpirePenaltyBps(uint256 bps) external;

    /// @notice Between 1 and 5,000: never zero, so that disputing oneself never profits.
    function setTreasuryShareBps(uint256 bps) external;

    function setTreasury(address treasury) external;

    /// @notice Replaces the attestor set (at most MAX_ATTESTORS, none a provider's signer)
    /// for jobs posted from now on; `threshold` of them must co-sign their settlements.
    function setAttestors(address[] calldata attestors, uint256 threshold) external;

    /// @notice Open jobs (open to all) at which a class counts as busy; at least 1.
    function setBusyThreshold(uint256 threshold) external;

    /// @notice Stops posting, raising bids and claiming. Withdrawals, settlement, expiry
    /// and disputes go on.
    function pause() external;

    function unpause() external;
}
