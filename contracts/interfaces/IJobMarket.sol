// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Job market and escrow
/// @notice Clients escrow payment for GPU jobs and bid for priority; providers claim jobs
/// in priority order, run them and settle them with usage records signed by their oracle
/// node (EIP-712). The unused escrow is refundable at once; the payment is held through a
/// dispute window and then pulled by the provider. Lifecycle:
/// Open -claim-> Claimed -settle-> Settled -window-> Finalized (on withdrawal);
/// Settled -dispute-> Disputed -resolve/timeout-> Finalized; Claimed -deadline-> Expired;
/// Open -cancel-> Cancelled (or -deadline-> Expired).
interface IJobMarket {
    enum JobState {
        None,
        Open,
        Claimed,
        Settled,
        Disputed,
        Finalized,
        Expired,
        Cancelled
    }

    /// @notice What a client asks for when posting. Amounts are in wei and must be whole
    /// nano-CPT (multiples of 1e9 wei), the unit the market stores them in.
    struct JobRequest {
        bytes32 specHash; // what to run (the spec itself travels off chain)
        bytes4 gpuClass; // bytes4(keccak256(lower-case class name))
        uint256 pricePerGpuSecond; // the most the client pays per GPU-second (wei)
        uint256 maxPayment; // cap on the usage payment, escrowed
        uint256 bid; // priority bid, escrowed, paid to the provider that runs the job
        uint32 deadline; // unix time by which the job must be settled
        address provider; // a designated provider, or zero for any eligible one
    }

    /// @notice What the oracle node measured; signed with EIP-712 (domain binds chain and
    /// market). Replay is impossible because a job settles once.
    struct UsageRecord {
        uint256 jobId;
        address provider;
        uint64 gpuMillis; // GPU-milliseconds (GPU-seconds x 1000)
        uint64 energyMj; // NVML energy counter delta over the job window, millijoules
        uint64 aiTokens; // AI tokens produced (or another work unit)
        bytes32 resultHash; // commits to the job's output
        uint64 startTime;
        uint64 endTime;
        uint8 meterKind; // 0 = simulated meter, 1 = NVML
        bytes32 gpuIdHash; // keccak256 of the GPU's UUID
    }

    /// @notice A usage record inside a batch: the provider is named once for the batch
    /// (the signed EIP-712 UsageRecord still includes it).
    struct BatchRecord {
        uint256 jobId;
        uint64 gpuMillis;
        uint64 energyMj;
        uint64 aiTokens;
        bytes32 resultHash;
        uint64 startTime;
        uint64 endTime;
        uint8 meterKind;
        bytes32 gpuIdHash;
    }

    struct JobView {
        JobState state;
        address client;
        address provider; // assigned provider, or the designated one while Open
        bytes4 gpuClass;
        uint256 pricePerGpuSecond;
        uint256 maxPayment; // while Open or Claimed
        uint256 bid; // while Open or Claimed
        uint256 payment; // once Settled: usage payment plus bid
        uint256 refund; // once Settled: the unused escrow, owed to the client
        bool refundWithdrawn;
        uint32 deadline; // while Open or Claimed
        uint32 settledAt; // once Settled
        uint16 feeBps; // protocol fee fixed when the job was posted
    }

    struct DisputeView {
        address client;
        uint256 bond;
        uint256 openedAt;
        uint256 arbiterDeadline;
    }

    /// @notice The settable parameters (PARAMS_ROLE), read in one call.
    struct Parameters {
        uint256 feeBps; // protocol fee on payments, fixed per job at posting
        uint256 disputeBond; // what a client posts to dispute
        uint256 disputeSlashBps; // share of the job's locked stake slashed when the client wins
        uint256 expirePenaltyBps; // share of the job's locked stake paid to the client on expiry
        uint256 treasuryShareBps; // share of forfeited bonds and slashes that goes to the treasury
        address treasury;
        uint256 attestorThreshold; // attestor signatures needed besides the oracle's (k of n)
        address[] attestors;
    }

    error MarketZeroAddress();
    error MarketUnbondingTooShort(uint256 unbondingDelay, uint256 needed);
    error MarketInvalidParameter(bytes32 name, uint256 value);
    error MarketInvalidJobState(uint256 jobId, JobState state);
    error MarketNotJobClient(uint256 jobId, address caller);
    error MarketInvalidDeadline(uint256 deadline, uint256 nowTime);
    error MarketInvalidGpuClass();
    error MarketZeroPayment();
    error MarketAmountTooLarge(uint256 amount, uint256 max);
    error MarketAmountNotAligned(uint256 amount, uint256 unit);
    error MarketOnlyStaking(address caller);
    error MarketInvalidQueueHint(uint256 jobId, uint256 hint);
    error MarketBidNotHigher(uint256 jobId, uint256 bid, uint256 newBid);
    error MarketProviderNotRegistered(address provider);
    error MarketProviderNotEligible(uint256 jobId, address provider);
    error MarketHigherBidEligible(uint256 jobId, uint256 higherJobId);
    error MarketNoEligibleJob(address provider, bytes4 gpuClass);
    error MarketSkipLimitReached(uint256 jobId, uint256 skipped);
    error MarketInsufficientStake(address provider, uint256 stake, uint256 needed);
    error MarketDeadlinePassed(uint256 jobId, uint256 deadline);
    error MarketDeadlineNotPassed(uint256 jobId, uint256 deadline);
    error MarketWrongProvider(uint256 jobId, address recordProvider, address jobProvider);
    error MarketInvalidSigner(address recovered, address expected);
    error MarketInvalidUsage(uint256 jobId);
    error MarketEmptyBatch();
    error MarketUnknownAttestor(address signer);
    error MarketDuplicateAttestor(address signer);
    error MarketAttestorsUnsorted(address previous, address next);
    error MarketAttestorThresholdNotMet(uint256 signatures, uint256 threshold);
    error MarketDisputeWindowClosed(uint256 jobId, uint256 windowEnd);
    error MarketDisputeWindowOpen(uint256 jobId, uint256 windowEnd);
    error MarketArbiterTimeoutPassed(uint256 jobId, uint256 arbiterDeadline);
    error MarketArbiterTimeoutNotPassed(uint256 jobId, uint256 arbiterDeadline);
    error MarketNothingToWithdraw(address account);
    error MarketNotWithdrawable(uint256 jobId, address caller);

    event JobPosted(
        uint256 indexed jobId,
        address indexed client,
        bytes4 indexed gpuClass,
        bytes32 specHash,
        uint256 maxPayment,
        uint256 bid,
        uint256 pricePerGpuSecond,
        uint32 deadline,
        address provider
    );
    event BidRaised(uint256 indexed jobId, uint256 bid);
    event JobCancelled(uint256 indexed jobId, uint256 refund);
    event JobClaimed(uint256 indexed jobId, address indexed provider, uint256 lockedStake);
    /// @notice One per job. Tokens per joule = aiTokens / (energyMj / 1000), scaled by 1e6.
    /// Kept to what an indexer cannot derive, because a batch emits one per job: the
    /// provider is in the same transaction's {UsageAttested} (and in {JobClaimed}), the
    /// refund is the escrow less `payment`, GPU time and result hash are in the records.
    event JobSettled(uint256 indexed jobId, uint256 payment, uint256 energyMj, uint256 aiTokens, uint256 tokensPerJouleE6);
    /// @notice One per settle or settleBatch call: the EIP-712 digest that was signed.
    event UsageAttested(address indexed provider, address indexed signer, bytes32 digest, uint256 jobs);
    event JobExpired(uint256 indexed jobId, uint256 refund, uint256 penalty);
    event JobFinalized(uint256 indexed jobId, address indexed provider, uint256 payout, uint256 fee);
    event DisputeOpened(uint256 indexed jobId, address indexed client, uint256 bond);
    event DisputeResolved(
        uint256 indexed jobId, bool clientWins, bool byDefault, uint256 slashed, uint256 toTreasury
    );
    event Withdrawn(address indexed account, uint256 amount);
    event ParameterUpdated(bytes32 indexed name, uint256 value);
    event TreasuryUpdated(address indexed treasury);
    event AttestorsUpdated(address[] attestors, uint256 threshold);

    /// @notice Posts a job, escrowing `maxPayment + bid` (approved beforehand).
    /// @param queueHint The job after which it goes in its class queue (0: at the head);
    /// the SDK computes it off chain, the contract only checks it (O(1)).
    function postJob(JobRequest calldata request, uint256 queueHint) external returns (uint256 jobId);

    /// @notice {postJob} with an EIP-2612 permit for the escrow, in one transaction.
    function postJobWithPermit(
        JobRequest calldata request,
        uint256 queueHint,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external returns (uint256 jobId);

    /// @notice Raises an open job's bid to `newBid`, escrowing the difference, and moves it
    /// to `queueHint`'s place.
    function raiseBid(uint256 jobId, uint256 newBid, uint256 queueHint) external;

    /// @notice Cancels an open job; its whole escrow becomes withdrawable by the client.
    function cancelJob(uint256 jobId) external;

    /// @notice Claims `jobId`. Reverts if a job ahead of it in the queue is one the caller
    /// could take (the ordering is enforced on chain).
    function claimJob(uint256 jobId) external;

    /// @notice Claims the highest-priority job of the caller's class that it can take.
    function claimNext() external returns (uint256 jobId);

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

    /// @notice Closes a job whose deadline passed: an open one is refunded; a claimed one
    /// is refunded and part of its locked stake goes to the client. Anyone may call.
    function expireJob(uint256 jobId) external;

    /// @notice Opens a dispute on a settled job within the window, posting the bond.
    function openDispute(uint256 jobId) external;

    /// @notice The arbiter's decision, before its timeout.
    function resolveDispute(uint256 jobId, bool clientWins) external;

    /// @notice After the arbiter timeout, anyone applies the fixed default: the signed
    /// record stands (the provider wins).
    function finalizeDispute(uint256 jobId) external;

    /// @notice Pulls what the caller is owed: refunds of its jobs, payments of its settled
    /// jobs whose window has passed (listed in `jobIds`), and its credited balance.
    /// Works while paused.
    function withdraw(uint256[] calldata jobIds) external returns (uint256 amount);

    function job(uint256 jobId) external view returns (JobView memory);

    function dispute(uint256 jobId) external view returns (DisputeView memory);

    /// @notice Up to `limit` open jobs of `gpuClass` in priority order, after `start` (0:
    /// from the head), with their bids: what the SDK needs to compute queue hints.
    function queue(bytes4 gpuClass, uint256 start, uint256 limit)
        external
        view
        returns (uint256[] memory jobIds, uint256[] memory bids);

    /// @notice Stake of `provider` backing its claimed and settled jobs.
    function lockedStake(address provider) external view returns (uint256);

    /// @notice Tokens credited to `account` (expiries, disputes, fees), withdrawable now.
    function credit(address account) external view returns (uint256);

    /// @notice The EIP-712 digest of one usage record.
    function recordDigest(UsageRecord calldata record) external view returns (bytes32);

    /// @notice The EIP-712 digest of a batch of usage records of `provider`.
    function batchDigest(address provider, BatchRecord[] calldata records) external view returns (bytes32);

    /// @notice Staking tells the market a provider's id, account and current oracle signer
    /// whenever they are registered or change, so that settling needs no external call.
    function syncProvider(uint24 index, address account, address signer) external;

    function jobCount() external view returns (uint256);

    function parameters() external view returns (Parameters memory);

    /// @notice At most MAX_FEE_BPS (10%).
    function setFeeBps(uint256 feeBps) external;

    function setDisputeBond(uint256 bond) external;

    function setDisputeSlashBps(uint256 bps) external;

    function setExpirePenaltyBps(uint256 bps) external;

    /// @notice Between 1 and 5,000: never zero, so that disputing oneself never profits.
    function setTreasuryShareBps(uint256 bps) external;

    function setTreasury(address treasury) external;

    /// @notice Replaces the attestor set; `threshold` of them must co-sign every settlement.
    function setAttestors(address[] calldata attestors, uint256 threshold) external;

    /// @notice Stops posting, raising bids and claiming. Withdrawals, settlement, expiry
    /// and disputes go on.
    function pause() external;

    function unpause() external;
}
