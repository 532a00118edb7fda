// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Locked holdings that buy priority in busy periods
/// @notice A client locks CPT here. After a warm-up, its locked amount counts as holdings:
/// while a GPU class is busy, each job it posts there gets a priority boost (added to its
/// bid) of `boostBps` of its warm holdings, at most `maxBoost`, for at most one job per
/// `holdingPerJob` of warm holdings per epoch, and at most `maxJobsPerEpoch` jobs. Tokens
/// merely held (`balanceOf`) never count, so a flash loan buys nothing; holdings that backed
/// a boosted job stay locked until that job's deadline. Anchors: Solana's stake-weighted
/// QoS (a stake-proportional share of capacity, only under congestion) and Frequency's
/// Capacity (locked tokens become a per-epoch budget).
interface IHoldingsVault {
    /// @notice The rationing rule, set by PARAMS_ROLE within bounds.
    struct BoostParams {
        uint16 boostBps; // boost per job, in basis points of warm holdings
        uint96 maxBoost; // the largest boost one job gets (wei)
        uint96 holdingPerJob; // warm holdings per boosted job per epoch (wei)
        uint32 maxJobsPerEpoch; // boosted jobs per holder per epoch, whatever its holdings
    }

    struct HoldingView {
        uint256 locked; // everything locked: warm + warming
        uint256 warm; // what counts now
        uint256 warming; // locked less than WARMUP ago
        uint256 warmAt; // when `warming` starts to count (0: nothing warming)
        uint256 backedUntil; // holdings stay locked until then (latest boosted deadline)
        uint256 boostPerJob; // the boost a job posted now would get (wei)
        uint256 capacity; // boosted jobs per epoch at the current holdings
        uint256 used; // boosted jobs used in the current epoch
        uint256 epochEndsAt; // when `used` starts again from zero
    }

    /// @notice the amount must be above zero
    error HoldingsZeroAmount();
    /// @notice an address must not be zero
    error HoldingsZeroAddress();
    /// @notice {holder} has {locked:cpt} locked, cannot unlock {requested:cpt}
    error HoldingsInsufficient(address holder, uint256 locked, uint256 requested);
    /// @notice {holder}'s holdings back boosted jobs until {backedUntil:time}: unlock after that
    /// (`jl holdings show`)
    error HoldingsBacking(address holder, uint256 backedUntil);
    /// @notice only the market may spend boosts, not {caller}
    error HoldingsOnlyMarket(address caller);
    /// @notice the vault's market is already set to {market}
    error HoldingsMarketAlreadySet(address market);
    /// @notice the market is wired to other contracts (expected {expected}, found {actual}): deploy
    /// token, staking, vault and market together
    error HoldingsWiringMismatch(address expected, address actual);
    /// @notice {value} is out of range for {name}
    error HoldingsInvalidParameter(bytes32 name, uint256 value);
    /// @notice locking {amount:cpt} would exceed the largest holding; at most {max:cpt} more
    error HoldingsTooLarge(uint256 amount, uint256 max);

    event HoldingsLocked(address indexed holder, uint256 amount, uint256 locked, uint256 warmAt);
    event HoldingsUnlocked(address indexed holder, uint256 amount, uint256 locked);
    /// @notice A boost given to a job posted by `holder`; the job's JobPosted carries it.
    event BoostUsed(address indexed holder, uint256 boost, uint256 used, uint256 capacity, uint256 backedUntil);
    event BoostParamsUpdated(uint256 boostBps, uint256 maxBoost, uint256 holdingPerJob, uint256 maxJobsPerEpoch);
    event MarketSet(address indexed market);

    /// @notice Locks `amount` CPT (approved beforehand); it counts after WARMUP. Locking
    /// more while some is warming restarts the warm-up of the warming part.
    function lock(uint256 amount) external;

    /// @notice {lock} with an EIP-2612 permit, in one transaction.
    function lockWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Returns `amount` of the caller's locked CPT (warming first), once no boosted
    /// job it backs is still before its deadline.
    function unlock(uint256 amount) external;

    /// @notice Called by the market when `holder` posts a job, due by `deadline`, while its
    /// class is busy: spends one boosted job of the epoch and returns the boost (wei, whole
    /// nano-CPT), or 0 when the holder has no warm holdings or no capacity left.
    function useBoost(address holder, uint256 deadline) external returns (uint256 boost);

    function setBoostParams(BoostParams calldata params) external;

    /// @notice Binds the market once (it must use this vault and the same token).
    function setMarket(address market) external;

    function holding(address holder) external view returns (HoldingView memory);

    function boostParams() external view returns (BoostParams memory);

    function token() external view returns (address);

    function market() external view returns (address);

    /// @notice Seconds before locked CPT counts.
    function WARMUP() external view returns (uint256);

    /// @notice Seconds per rationing epoch.
    function EPOCH() external view returns (uint256);

    /// @notice Everything locked by everyone: what this contract's balance backs.
    function totalLocked() external view returns (uint256);
}
