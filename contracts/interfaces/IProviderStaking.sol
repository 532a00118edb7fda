// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

/// @title Provider staking
/// @notice Providers deposit CPT as a security deposit, register their GPU class, price,
/// endpoint and oracle signer, and leave through an unbonding request. Stake that backs
/// claimed jobs is locked (the market reports how much); stake in unbonding stays
/// slashable until its delay ends. Only the market may slash.
interface IProviderStaking {
    /// @notice What the market needs to know about a provider, in one read.
    struct ProviderView {
        uint24 index; // 1-based id used in job storage; 0 when not registered
        uint256 stake; // active stake (locked part included)
        uint256 locked; // part of `stake` backing claimed or settled jobs (from the market)
        uint256 unbonding; // on its way out, still slashable
        uint256 unbondingReadyAt; // unix time when `unbonding` becomes withdrawable
        address signer; // the oracle node's key that signs usage records
        bytes4 gpuClass; // bytes4(keccak256(lower-case class name)), e.g. "nvidia-h100"
        uint64 askPricePerGpuSecond; // lowest price (wei per GPU-second) it accepts
        string endpoint; // where its oracle node answers, e.g. https://gpu.example:8700
    }

    error StakingZeroAmount();
    error StakingInsufficientStake(address provider, uint256 stake, uint256 needed);
    error StakingInsufficientUnlockedStake(address provider, uint256 unlocked, uint256 requested);
    error StakingNotRegistered(address provider);
    error StakingAlreadyRegistered(address provider);
    error StakingInvalidSigner(address signer);
    error StakingSignerInUse(address signer, address provider);
    error StakingInvalidGpuClass();
    error StakingNothingUnbonding(address provider);
    error StakingUnbondingNotReady(address provider, uint256 readyAt);
    error StakingMarketAlreadySet(address market);
    error StakingMarketNotSet();
    error StakingOnlyMarket(address caller);
    error StakingZeroAddress();

    event Staked(address indexed provider, uint256 amount, uint256 stake);
    event ProviderRegistered(
        address indexed provider,
        uint24 indexed index,
        address signer,
        bytes4 gpuClass,
        uint64 askPricePerGpuSecond,
        string endpoint
    );
    event ProviderUpdated(
        address indexed provider, address signer, bytes4 gpuClass, uint64 askPricePerGpuSecond, string endpoint
    );
    event UnbondingRequested(address indexed provider, uint256 amount, uint256 unbonding, uint256 readyAt);
    event UnbondedWithdrawn(address indexed provider, uint256 amount);
    event Slashed(address indexed provider, uint256 amount, address indexed recipient);
    event MarketSet(address indexed market);
    event MinStakeUpdated(uint256 minStake);

    /// @notice Deposits `amount` CPT (approved beforehand) as stake of the caller.
    function stake(uint256 amount) external;

    /// @notice Like {stake}, approving through an EIP-2612 permit in the same transaction.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Registers the caller as a provider. Requires at least {minStake} staked and
    /// the market to be set (the market is told of every provider).
    /// @param signer The oracle node's address; one signer serves one provider.
    /// @param gpuClass bytes4(keccak256(class name)); jobs of this class are its queue.
    /// @param askPricePerGpuSecond The lowest job price it takes (wei per GPU-second).
    function registerProvider(address signer, bytes4 gpuClass, uint64 askPricePerGpuSecond, string calldata endpoint)
        external;

    /// @notice Changes a registered provider's signer, class, price or endpoint. Jobs
    /// already claimed keep the terms they were claimed with.
    function updateProvider(address signer, bytes4 gpuClass, uint64 askPricePerGpuSecond, string calldata endpoint)
        external;

    /// @notice Moves `amount` of unlocked stake into unbonding; restarts the delay for
    /// everything in unbonding.
    function requestUnbond(uint256 amount) external;

    /// @notice Withdraws everything in unbonding once its delay has passed.
    function withdrawUnbonded() external returns (uint256 amount);

    /// @notice Takes up to `amount` from `provider` (active stake first, then unbonding)
    /// and sends it to `recipient`. Only the market calls it.
    /// @return slashed What was actually taken (less than `amount` only if the provider
    /// holds less in all).
    function slash(address provider, uint256 amount, address recipient) external returns (uint256 slashed);

    /// @notice Binds the market once; it alone may slash and it reports locked stake.
    function setMarket(address newMarket) external;

    function setMinStake(uint256 newMinStake) external;

    /// @notice Delay between {requestUnbond} and {withdrawUnbonded}, fixed at deployment.
    function UNBONDING_DELAY() external view returns (uint256);

    function token() external view returns (address);

    function market() external view returns (address);

    function minStake() external view returns (uint256);

    /// @notice Total active stake plus unbonding: what this contract's balance backs.
    function totalBonded() external view returns (uint256);

    function providerInfo(address account) external view returns (ProviderView memory);

    /// @notice The market's read at claim time: index, active stake, class, ask price and
    /// the minimum stake a provider must hold to take jobs.
    function claimProfile(address account)
        external
        view
        returns (uint24 index, uint256 activeStake, bytes4 gpuClass, uint64 askPricePerGpuSecond, uint256 minimum);

    /// @notice The provider with `index` and its current oracle signer.
    function providerAt(uint24 index) external view returns (address account, address signer);
}
