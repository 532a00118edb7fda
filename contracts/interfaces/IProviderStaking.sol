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
        uint64 askPricePerGpuSecond; // lowest price (wei per GPU-second) it accepts now
        string endpoint; // where its oracle node answers, e.g. https://gpu.example:8700
        uint64 pendingAsk; // a raised ask that applies from `pendingAskAt` (0: none)
        uint256 pendingAskAt;
        uint256 signerNonce; // the nonce the next signer proof must sign
    }

    /// @notice the amount must be above zero
    error StakingZeroAmount();
    /// @notice {provider} has {stake:cpt} staked but needs at least {needed:cpt}: stake more first
    /// (`jl stake`)
    error StakingInsufficientStake(address provider, uint256 stake, uint256 needed);
    /// @notice {provider} can unbond at most {unlocked:cpt} now (its stake less what backs claimed
    /// jobs), not {requested:cpt}
    error StakingInsufficientUnlockedStake(address provider, uint256 unlocked, uint256 requested);
    /// @notice {provider} is not a registered provider: register it first (`jl provider register`)
    error StakingNotRegistered(address provider);
    /// @notice {provider} is already a registered provider: change its terms with updateProvider
    /// (`jl provider update`)
    error StakingAlreadyRegistered(address provider);
    /// @notice the oracle signer must be a non-zero address
    error StakingInvalidSigner(address signer);
    /// @notice the oracle signer {signer} already signs for provider {provider}: give each provider
    /// its own oracle key
    error StakingSignerInUse(address signer, address provider);
    /// @notice the GPU class is empty: name one, e.g. nvidia-h100
    error StakingInvalidGpuClass();
    /// @notice {provider} has nothing in unbonding: request it first (`jl unstake AMOUNT`)
    error StakingNothingUnbonding(address provider);
    /// @notice the unbonding stake of {provider} becomes withdrawable at {readyAt:time}: try again
    /// then
    error StakingUnbondingNotReady(address provider, uint256 readyAt);
    /// @notice the market is already set to {market}
    error StakingMarketAlreadySet(address market);
    /// @notice the staking contract has no market yet: an admin must call setMarket
    error StakingMarketNotSet();
    /// @notice only the market may slash, not {caller}
    error StakingOnlyMarket(address caller);
    /// @notice an address must not be zero
    error StakingZeroAddress();
    /// @notice the signer proof recovers to {recovered}, not {signer}: sign SignerBinding with the
    /// oracle's key for this provider and its current signer nonce (the SDK's register_provider
    /// does it when given the oracle account)
    error StakingInvalidSignerProof(address signer, address recovered);
    /// @notice {signer} is one of the market's attestors and cannot be a provider's oracle signer:
    /// use the node's own key
    error StakingSignerIsAttestor(address signer);
    /// @notice the market is wired to other contracts (expected {expected}, found {actual}): deploy
    /// token, staking, vault and market together
    error StakingWiringMismatch(address expected, address actual);
    /// @notice {value} is out of range for {name}
    error StakingInvalidParameter(bytes32 name, uint256 value);

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
    /// @notice A raised ask waits ASK_INCREASE_DELAY, so that a provider cannot raise it
    /// around a claim to pass over cheaper jobs ahead and lower it again.
    event AskIncreaseScheduled(address indexed provider, uint64 ask, uint256 effectiveAt);

    /// @notice Deposits `amount` CPT (approved beforehand) as stake of the caller.
    function stake(uint256 amount) external;

    /// @notice Like {stake}, approving through an EIP-2612 permit in the same transaction.
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external;

    /// @notice Registers the caller as a provider. Requires at least {minStake} staked and
    /// the market to be set (the market is told of every provider).
    /// @param signer The oracle node's address; one signer serves one provider and is never
    /// one of the market's attestors.
    /// @param signerProof The signer's EIP-712 signature of `SignerBinding(address provider,
    /// address signer, uint256 nonce)` with the caller as provider and its {signerNonce}:
    /// proof that the caller holds the node's key (nobody can bind another node's address).
    /// @param gpuClass bytes4(keccak256(class name)); jobs of this class are its queue.
    /// @param askPricePerGpuSecond The lowest job price it takes (wei per GPU-second).
    function registerProvider(
        address signer,
        bytes calldata signerProof,
        bytes4 gpuClass,
        uint64 askPricePerGpuSecond,
        string calldata endpoint
    ) external;

    /// @notice Changes a registered provider's signer (with a new proof; `signerProof` may be
    /// empty when the signer stays), class, ask or endpoint. A lower ask applies at once, a
    /// higher one after ASK_INCREASE_DELAY. Jobs claimed before a signer rotation still
    /// settle with records of the previous signer.
    function updateProvider(
        address signer,
        bytes calldata signerProof,
        bytes4 gpuClass,
        uint64 askPricePerGpuSecond,
        string calldata endpoint
    ) external;

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

    /// @notice The provider that `signer` is bound to (zero if none).
    function signerOwner(address signer) external view returns (address);

    /// @notice The EIP-712 digest a signer proof for binding `signer` to `provider` signs.
    function signerBindingDigest(address provider, address signer) external view returns (bytes32);

    /// @notice Seconds before a raised ask applies, fixed at deployment.
    function ASK_INCREASE_DELAY() external view returns (uint256);

    /// @notice The provider with `index` and its current oracle signer.
    function providerAt(uint24 index) external view returns (address account, address signer);
}
