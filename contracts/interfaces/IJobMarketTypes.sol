// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title The job market's types, errors and events
/// @notice Shared by {IJobMarket} (the market's own functions) and {IJobMarketExtension}
/// (views and administration, served by the market through its fallback).
interface IJobMarketTypes {
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
        uint8 meterKind; // 0 = simulated, 1 = NVML, 2 = AMD SMI, 3 = RAPL (jouleledger.MeterKind)
        bytes32 gpuIdHash; // keccak256 of the GPU's UUID
    }

    /// @notice What decides a job's parties' gains and losses, fixed when it is posted: an
    /// admin change makes a new version and never reaches jobs already posted.
    struct Terms {
        uint16 feeBps; // protocol fee on payments
        uint96 disputeBond; // what a client posts to dispute (at least MIN_DISPUTE_BOND)
        uint16 disputeSlashBps; // share of the job's locked stake slashed when the client wins
        uint16 expirePenaltyBps; // share of the job's locked stake paid to the client on expiry
        uint16 treasuryShareBps; // share of every dispute bond and slash that goes to the treasury
        uint16 attestorThreshold; // attestor signatures needed besides the oracle's (k of n)
        uint32 attestorSetId; // the attestor set those signatures come from
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
        uint256 boost; // priority from the client's holdings, fixed at posting (wei)
        uint256 priority; // bid + boost (wei): what orders the job
        uint8 level; // the priority level it is queued at (see {priorityLevel})
        uint16 termsVersion; // the {Terms} that apply to it
    }

    struct DisputeView {
        address client;
        uint256 bond;
        uint256 openedAt;
        uint256 arbiterDeadline;
    }

    /// @notice The settable parameters (PARAMS_ROLE), read in one call: the current
    /// {Terms} (those new jobs get) and the market-wide settings.
    struct Parameters {
        uint256 feeBps;
        uint256 disputeBond;
        uint256 disputeSlashBps;
        uint256 expirePenaltyBps;
        uint256 treasuryShareBps;
        address treasury;
        uint256 attestorThreshold;
        address[] attestors;
        uint256 termsVersion; // the version new jobs get
        uint256 busyThreshold; // open jobs of a class at which holdings start to count
    }

    /// @notice an address must not be zero
    error MarketZeroAddress();
    /// @notice the staking unbonding delay {unbondingDelay} must be at least {needed} seconds
    /// (dispute window + arbiter timeout + 1)
    error MarketUnbondingTooShort(uint256 unbondingDelay, uint256 needed);
    /// @notice {value} is out of range for {name}: see the bounds in `jl params show` (MAX_*/MIN_*
    /// constants of the market)
    error MarketInvalidParameter(bytes32 name, uint256 value);
    /// @notice job {jobId} is {state:state}, which does not allow that
    error MarketInvalidJobState(uint256 jobId, JobState state);
    /// @notice only the client that posted job {jobId} can do that, not {caller}
    error MarketNotJobClient(uint256 jobId, address caller);
    /// @notice the deadline {deadline:time} is not after the chain's time {nowTime:time}: give a
    /// later deadline (`--deadline-in`)
    error MarketInvalidDeadline(uint256 deadline, uint256 nowTime);
    /// @notice the GPU class is empty: name one, e.g. nvidia-h100
    error MarketInvalidGpuClass();
    /// @notice a job needs a max payment above zero
    error MarketZeroPayment();
    /// @notice {amount:cpt} is above the market's limit {max:cpt}
    error MarketAmountTooLarge(uint256 amount, uint256 max);
    /// @notice {amount:cpt} is not a whole nano-CPT (a multiple of {unit} wei): use at most 9
    /// decimals of CPT
    error MarketAmountNotAligned(uint256 amount, uint256 unit);
    /// @notice only the staking contract may call this, not {caller}
    error MarketOnlyStaking(address caller);
    /// @notice job {jobId}'s bid is already {bid:cpt}: a new bid must be higher than that, got
    /// {newBid:cpt}
    error MarketBidNotHigher(uint256 jobId, uint256 bid, uint256 newBid);
    /// @notice {provider} is not a registered provider: stake and register it first (`jl provider
    /// register`)
    error MarketProviderNotRegistered(address provider);
    /// @notice {provider} cannot take job {jobId}: another GPU class, a price below its ask,
    /// designated to someone else, or past its deadline
    error MarketProviderNotEligible(uint256 jobId, address provider);
    /// @notice job {higherJobId} comes before job {jobId} and this provider could take it: claim in
    /// priority order (claimNext, `jl job claim`)
    error MarketHigherPriorityEligible(uint256 jobId, uint256 higherJobId);
    /// @notice no open job of class {gpuClass} that {provider} can take right now
    error MarketNoEligibleJob(address provider, bytes4 gpuClass);
    /// @notice an escrow of {escrow:cpt} would lock more stake than the market's collateral cap
    /// allows (at most {maxEscrow:cpt} per job): split the work into smaller jobs
    error MarketJobTooLarge(uint256 escrow, uint256 maxEscrow);
    /// @notice {provider} serves class {providerClass}, not {jobClass}: designate a provider of the
    /// job's class, or post it to the class queue
    error MarketDesignatedClassMismatch(address provider, bytes4 providerClass, bytes4 jobClass);
    /// @notice record {index} (job {jobId}) of the batch was claimed under another signer or
    /// attestor set than the first: settle it in a separate batch
    error MarketMixedTerms(uint256 index, uint256 jobId);
    /// @notice {attestor} is the oracle signer of provider {provider}: an attestor must be
    /// independent of every provider
    error MarketAttestorIsSigner(address attestor, address provider);
    /// @notice {count} attestors given, at most {max} are allowed
    error MarketTooManyAttestors(uint256 count, uint256 max);
    /// @notice the contracts are wired to different addresses (expected {expected}, found
    /// {actual}): deploy token, staking, vault and market together
    error MarketWiringMismatch(address expected, address actual);
    /// @notice {provider} has {stake:cpt} staked but claiming needs {needed:cpt} (its locked stake
    /// plus the market's collateral cap, and at least the minimum stake): stake more with `jl
    /// stake` or settle claimed jobs first
    error MarketInsufficientStake(address provider, uint256 stake, uint256 needed);
    /// @notice job {jobId}'s deadline {deadline:time} has passed: it can only be expired now
    error MarketDeadlinePassed(uint256 jobId, uint256 deadline);
    /// @notice job {jobId}'s deadline {deadline:time} has not passed yet: it cannot expire before
    /// then
    error MarketDeadlineNotPassed(uint256 jobId, uint256 deadline);
    /// @notice the record for job {jobId} names {recordProvider}, but the job belongs to
    /// {jobProvider}
    error MarketWrongProvider(uint256 jobId, address recordProvider, address jobProvider);
    /// @notice the record's signature recovers to {recovered}, not the provider's oracle signer
    /// {expected}: sign with the bound key, for this market and chain, over this exact record
    error MarketInvalidSigner(address recovered, address expected);
    /// @notice the usage record of job {jobId} is not plausible (zero energy, start after end, or
    /// end in the future)
    error MarketInvalidUsage(uint256 jobId);
    /// @notice a batch needs at least one element
    error MarketEmptyBatch();
    /// @notice a batch of {size} elements is more than the {max} one call takes: split it (the SDK
    /// splits by gas)
    error MarketBatchTooLarge(uint256 size, uint256 max);
    /// @notice element {index} of the batch was refused (the reason follows); nothing in the batch
    /// took effect
    error MarketBatchItemInvalid(uint256 index, bytes reason);
    /// @notice {signer} is not one of the market's attestors
    error MarketUnknownAttestor(address signer);
    /// @notice {signer} signed twice: each attestor counts once
    error MarketDuplicateAttestor(address signer);
    /// @notice attestor signatures must be sorted by signer address ({previous} came before {next})
    error MarketAttestorsUnsorted(address previous, address next);
    /// @notice {signatures} attestor signatures given, the market needs {threshold}
    error MarketAttestorThresholdNotMet(uint256 signatures, uint256 threshold);
    /// @notice the dispute window of job {jobId} closed at {windowEnd:time}
    error MarketDisputeWindowClosed(uint256 jobId, uint256 windowEnd);
    /// @notice job {jobId}'s payment is held until its dispute window closes at {windowEnd:time}:
    /// withdraw after that
    error MarketDisputeWindowOpen(uint256 jobId, uint256 windowEnd);
    /// @notice the arbiter's time for job {jobId} ended at {arbiterDeadline:time}: anyone can now
    /// finalize the dispute (the record stands)
    error MarketArbiterTimeoutPassed(uint256 jobId, uint256 arbiterDeadline);
    /// @notice the arbiter may still decide job {jobId} until {arbiterDeadline:time}
    error MarketArbiterTimeoutNotPassed(uint256 jobId, uint256 arbiterDeadline);
    /// @notice the market owes {account} nothing to withdraw right now
    error MarketNothingToWithdraw(address account);
    /// @notice {caller} has nothing to take from job {jobId} now (not its client with a refund, nor
    /// its provider after the dispute window)
    error MarketNotWithdrawable(uint256 jobId, address caller);

    event JobPosted(
        uint256 indexed jobId,
        address indexed client,
        bytes4 indexed gpuClass,
        bytes32 specHash,
        uint256 maxPayment,
        uint256 bid,
        uint256 boost,
        uint256 pricePerGpuSecond,
        uint32 deadline,
        address provider
    );
    /// @notice `priority` is the new bid plus the boost the job got at posting.
    event BidRaised(uint256 indexed jobId, uint256 bid, uint256 priority);
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
    /// @notice `termsVersion` is the version new jobs get from now on (unchanged for the
    /// market-wide settings).
    event ParameterUpdated(bytes32 indexed name, uint256 value, uint256 termsVersion);
    event TreasuryUpdated(address indexed treasury);
    event AttestorsUpdated(address[] attestors, uint256 threshold, uint256 termsVersion);
}
