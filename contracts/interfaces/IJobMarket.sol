// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarketTypes} from "./IJobMarketTypes.sol";

/// @title Job market and escrow
/// @notice Clients escrow payment for GPU jobs and bid for priority; providers claim jobs
/// in priority order, run them and settle them with usage records signed by their oracle
/// node (EIP-712). The unused escrow is refundable at once; the payment is held through a
/// dispute window and then pulled by the provider. Lifecycle:
/// Open -claim-> Claimed -settle-> Settled -window-> Finalized (on withdrawal);
/// Settled -dispute-> Disputed -resolve/timeout-> Finalized; Claimed -deadline-> Expired;
/// Open -cancel-> Cancelled (or -deadline-> Expired).
/// Priority is the bid plus, when the class is busy at posting, a boost from the client's
/// locked holdings (see {IHoldingsVault}); jobs are ordered by priority level (four levels
/// per doubling), then designated before open to all, then first in first out. Nothing
/// anybody posts can stop an eligible provider from claiming: designated jobs wait in
/// per-provider queues, every job's collateral fits under one cap, and jobs a provider
/// cannot take (expired, priced below its ask) cost one storage read each to pass.
/// The market also answers everything in {IJobMarketExtension}: views and administration
/// live in a second contract that the market delegates unknown calls to, to stay under
/// the contract size limit; the SDK ships one ABI with both.
interface IJobMarket is IJobMarketTypes {
    /// @notice Posts a job, escrowing `maxPayment + bid` (approved beforehand). Needs no
    /// hint: a job joins the tail of its priority level, so concurrent posts never clash.
    /// While the class is busy the client's warm holdings add a boost (fixed from now on).
    function postJob(JobRequest calldata request) external returns (uint256 jobId);

    /// @notice {postJob} with an EIP-2612 permit for the escrow, in one transaction.
    function postJobWithPermit(
        JobRequest calldata request,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 jobId);

    /// @notice Posts many jobs in one call, collecting their escrows in one transfer (approved
    /// beforehand). They get consecutive ids from `firstJobId`, in order, and are queued
    /// exactly as the same {postJob} calls one after another would queue them. At most
    /// MAX_BATCH; an invalid request reverts the whole call with
    /// `MarketBatchItemInvalid(index, reason)`.
    function postJobs(JobRequest[] calldata requests) external returns (uint256 firstJobId);

    /// @notice {postJobs} with one EIP-2612 permit for the sum of the escrows.
    function postJobsWithPermit(
        JobRequest[] calldata requests,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 firstJobId);

    /// @notice Claims `jobId`. Reverts if any open job the caller could take comes before
    /// it (the ordering is enforced on chain).
    function claimJob(uint256 jobId) external;

    /// @notice Claims the highest-priority job the caller can take: of its class, open to
    /// all or designated to it, not expired, priced at or above its ask. Jobs it cannot
    /// take cost one storage read each to pass; there is no skip limit.
    function claimNext() external returns (uint256 jobId);

    /// @notice Claims up to `maxJobs` (1..MAX_BATCH) jobs, each the one {claimNext} would
    /// claim next, stopping early when none is left or the caller's free stake no longer
    /// covers the collateral cap. Reverts MarketNoEligibleJob when it claims none.
    function claimNextJobs(uint256 maxJobs) external returns (uint256[] memory jobIds);

    /// @notice Settles one job from a usage record signed by the provider's oracle signer
    /// (and by `threshold` attestors when the market requires them, sorted by address).
    function settle(UsageRecord calldata record, bytes calldata signature, bytes[] calldata attestorSignatures)
        external;

    /// @notice Settles many jobs of `provider` with one signature over the list (EIP-712
    /// `UsageBatch(UsageRecord[] records)`, each record naming `provider`).
    function settleBatch(
        address provider,
        BatchRecord[] calldata records,
        bytes calldata signature,
        bytes[] calldata attestorSignatures
    ) external;

    /// @notice Pulls what the caller is owed: refunds of its jobs, payments of its settled
    /// jobs whose window has passed (listed in `jobIds`, at most MAX_BATCH), and its
    /// credited balance, in one transfer. Works while paused. A job with nothing for the
    /// caller reverts the call; in a list of several, as `MarketBatchItemInvalid(index, reason)`.
    function withdraw(uint256[] calldata jobIds) external returns (uint256 amount);

    /// @notice The settlement token.
    function TOKEN() external view returns (address);

    /// @notice The staking contract this market slashes and mirrors.
    function STAKING() external view returns (address);

    /// @notice The holdings vault whose boosts order jobs in busy periods.
    function VAULT() external view returns (address);

    /// @notice Seconds after settlement during which the client may dispute.
    function DISPUTE_WINDOW() external view returns (uint256);

    /// @notice Seconds the arbiter has to decide before the default applies.
    function ARBITER_TIMEOUT() external view returns (uint256);

    /// @notice Stake locked per claimed job, in basis points of its escrow.
    function COLLATERAL_BPS() external view returns (uint256);

    /// @notice The most stake one job locks (wei). Posting refuses larger jobs, and a
    /// provider needs this much free stake to claim: whether it can afford a job never
    /// depends on the job, so no job can stand in the way of one it can take.
    function COLLATERAL_CAP() external view returns (uint256);

    /// @notice The contract that serves {IJobMarketExtension} for this market.
    function EXTENSION() external view returns (address);
}
