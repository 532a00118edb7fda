// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IJobMarketExtension} from "../interfaces/IJobMarketExtension.sol";
import {IJobMarketExtension} from "../interfaces/IJobMarketExtension.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";

/// @title Provider staking
/// @notice See {IProviderStaking}.
contract ProviderStaking is IProviderStaking, AccessControl, ReentrancyGuard, EIP712 {
    using SafeERC20 for IERC20;

    bytes32 public constant PARAMS_ROLE = keccak256("PARAMS_ROLE");
    /// @notice The largest minimum stake PARAMS_ROLE may set (a billion CPT).
    uint256 public constant MAX_MIN_STAKE = 1e27;
    bytes32 public constant SIGNER_BINDING_TYPEHASH =
        keccak256("SignerBinding(address provider,address signer,uint256 nonce)");

    /// @dev One slot of balances and one of job-facing terms per provider.
    struct Provider {
        uint96 stake;
        uint96 unbonding;
        uint40 unbondingReadyAt;
        uint24 index;
        address signer;
        bytes4 gpuClass;
        uint64 askPricePerGpuSecond;
        string endpoint;
        uint64 pendingAsk;
        uint40 pendingAskAt;
        uint64 signerNonce;
    }

    IERC20 private immutable _token;
    /// @inheritdoc IProviderStaking
    uint256 public immutable UNBONDING_DELAY;
    /// @inheritdoc IProviderStaking
    uint256 public immutable ASK_INCREASE_DELAY;

    address private _market;
    uint256 private _minStake;
    uint256 private _totalBonded;
    uint24 private _providerCount;

    mapping(address account => Provider) private _providers;
    mapping(uint24 index => address account) private _providerAt;
    mapping(address signer => address account) private _signerOwner;

    /// @param token_ The settlement token (CPT).
    /// @param unbondingDelay Seconds from an unbonding request to its withdrawal; the market
    /// refuses a delay not longer than its dispute window plus arbiter timeout.
    /// @param minStake_ Stake a provider needs to register and to take jobs.
    /// @param askIncreaseDelay Seconds before a raised ask applies.
    constructor(IERC20 token_, uint256 unbondingDelay, uint256 minStake_, uint256 askIncreaseDelay, address admin)
        EIP712("JouleLedger ProviderStaking", "1")
    {
        if (address(token_) == address(0) || admin == address(0)) revert StakingZeroAddress();
        _token = token_;
        UNBONDING_DELAY = unbondingDelay;
        ASK_INCREASE_DELAY = askIncreaseDelay;
        _minStake = minStake_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PARAMS_ROLE, admin);
        emit MinStakeUpdated(minStake_);
    }

    // --- stake -------------------------------------------------------------------------

    /// @inheritdoc IProviderStaking
    function stake(uint256 amount) external nonReentrant {
        _stake(amount);
    }

    /// @inheritdoc IProviderStaking
    function stakeWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
        nonReentrant
    {
        // A front-runner may have used the permit already; the allowance then suffices.
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _stake(amount);
    }

    function _stake(uint256 amount) private {
        if (amount == 0) revert StakingZeroAmount();
        Provider storage p = _providers[msg.sender];
        uint256 newStake = p.stake + amount;
        p.stake = SafeCast.toUint96(newStake);
        _totalBonded += amount;
        emit Staked(msg.sender, amount, newStake);
        _syncStake(msg.sender, p);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    // --- registration ------------------------------------------------------------------

    /// @inheritdoc IProviderStaking
    function registerProvider(
        address signer,
        bytes calldata signerProof,
        bytes4 gpuClass,
        uint64 askPricePerGpuSecond,
        string calldata endpoint
    ) external {
        if (_market == address(0)) revert StakingMarketNotSet();
        Provider storage p = _providers[msg.sender];
        if (p.index != 0) revert StakingAlreadyRegistered(msg.sender);
        if (p.stake < _minStake) revert StakingInsufficientStake(msg.sender, p.stake, _minStake);
        uint24 index = ++_providerCount;
        p.index = index;
        _providerAt[index] = msg.sender;
        p.askPricePerGpuSecond = askPricePerGpuSecond;
        _setTerms(p, signer, signerProof, gpuClass, askPricePerGpuSecond, endpoint);
        emit ProviderRegistered(msg.sender, index, signer, gpuClass, askPricePerGpuSecond, endpoint);
    }

    /// @inheritdoc IProviderStaking
    function updateProvider(
        address signer,
        bytes calldata signerProof,
        bytes4 gpuClass,
        uint64 askPricePerGpuSecond,
        string calldata endpoint
    ) external {
        Provider storage p = _providers[msg.sender];
        if (p.index == 0) revert StakingNotRegistered(msg.sender);
        _setTerms(p, signer, signerProof, gpuClass, askPricePerGpuSecond, endpoint);
        emit ProviderUpdated(msg.sender, signer, gpuClass, askPricePerGpuSecond, endpoint);
    }

    function _setTerms(
        Provider storage p,
        address signer,
        bytes calldata signerProof,
        bytes4 gpuClass,
        uint64 ask,
        string calldata endpoint
    ) private {
        if (signer == address(0)) revert StakingInvalidSigner(signer);
        if (gpuClass == bytes4(0)) revert StakingInvalidGpuClass();
        if (p.signer != signer) _bindSigner(p, signer, signerProof);
        p.gpuClass = gpuClass;
        p.endpoint = endpoint;
        _scheduleAsk(p, ask);
        IJobMarketExtension(_market).syncProvider(
            msg.sender, p.index, signer, gpuClass, p.stake, p.askPricePerGpuSecond, p.pendingAsk, p.pendingAskAt
        );
    }

    /// @dev Binds `signer` to the caller on the signer's proof of possession.
    function _bindSigner(Provider storage p, address signer, bytes calldata signerProof) private {
        address owner = _signerOwner[signer];
        if (owner != address(0)) revert StakingSignerInUse(signer, owner);
        if (IJobMarketExtension(_market).isAttestor(signer)) revert StakingSignerIsAttestor(signer);
        // A malformed proof reverts with StakingInvalidSignerProof like a wrong one; the
        // failure's detail (third value) adds nothing to that.
        // slither-disable-next-line unused-return
        (address recovered, ECDSA.RecoverError failure,) =
            ECDSA.tryRecover(_bindingDigest(msg.sender, signer, p.signerNonce), signerProof);
        if (failure != ECDSA.RecoverError.NoError || recovered != signer) {
            revert StakingInvalidSignerProof(signer, recovered);
        }
        if (p.signer != address(0)) delete _signerOwner[p.signer];
        _signerOwner[signer] = msg.sender;
        p.signer = signer;
        ++p.signerNonce;
    }

    /// @dev A lower ask applies at once; a higher one after ASK_INCREASE_DELAY.
    function _scheduleAsk(Provider storage p, uint64 ask) private {
        uint64 current = _currentAsk(p);
        p.askPricePerGpuSecond = current;
        if (ask > current && ASK_INCREASE_DELAY != 0) {
            uint256 effectiveAt = block.timestamp + ASK_INCREASE_DELAY;
            if (p.pendingAsk != ask) {
                p.pendingAsk = ask;
                p.pendingAskAt = uint40(effectiveAt);
                emit AskIncreaseScheduled(msg.sender, ask, effectiveAt);
            }
        } else {
            p.askPricePerGpuSecond = ask;
            p.pendingAsk = 0;
            p.pendingAskAt = 0;
        }
    }

    function _currentAsk(Provider storage p) private view returns (uint64) {
        uint256 at = p.pendingAskAt;
        return at != 0 && block.timestamp >= at ? p.pendingAsk : p.askPricePerGpuSecond;
    }

    function _bindingDigest(address provider, address signer, uint256 nonce) private view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(SIGNER_BINDING_TYPEHASH, provider, signer, nonce)));
    }

    // --- leaving -----------------------------------------------------------------------

    /// @inheritdoc IProviderStaking
    function requestUnbond(uint256 amount) external {
        if (amount == 0) revert StakingZeroAmount();
        Provider storage p = _providers[msg.sender];
        uint256 locked = _lockedOf(msg.sender);
        uint256 unlocked = p.stake > locked ? p.stake - locked : 0;
        if (amount > unlocked) revert StakingInsufficientUnlockedStake(msg.sender, unlocked, amount);
        // Cannot underflow: amount <= unlocked <= stake.
        p.stake -= uint96(amount);
        uint256 unbonding = p.unbonding + amount;
        p.unbonding = SafeCast.toUint96(unbonding);
        uint256 readyAt = block.timestamp + UNBONDING_DELAY;
        p.unbondingReadyAt = uint40(readyAt);
        emit UnbondingRequested(msg.sender, amount, unbonding, readyAt);
        _syncStake(msg.sender, p);
    }

    /// @inheritdoc IProviderStaking
    function withdrawUnbonded() external nonReentrant returns (uint256 amount) {
        Provider storage p = _providers[msg.sender];
        amount = p.unbonding;
        if (amount == 0) revert StakingNothingUnbonding(msg.sender);
        if (block.timestamp < p.unbondingReadyAt) revert StakingUnbondingNotReady(msg.sender, p.unbondingReadyAt);
        p.unbonding = 0;
        p.unbondingReadyAt = 0;
        _totalBonded -= amount;
        emit UnbondedWithdrawn(msg.sender, amount);
        _token.safeTransfer(msg.sender, amount);
    }

    // --- market ------------------------------------------------------------------------

    /// @inheritdoc IProviderStaking
    function slash(address account, uint256 amount, address recipient)
        external
        nonReentrant
        returns (uint256 slashed)
    {
        if (msg.sender != _market || _market == address(0)) revert StakingOnlyMarket(msg.sender);
        Provider storage p = _providers[account];
        uint256 fromStake = amount < p.stake ? amount : p.stake;
        uint256 rest = amount - fromStake;
        uint256 fromUnbonding = rest < p.unbonding ? rest : p.unbonding;
        // Both cannot underflow: each is at most the balance it is taken from.
        p.stake -= uint96(fromStake);
        p.unbonding -= uint96(fromUnbonding);
        slashed = fromStake + fromUnbonding;
        if (slashed == 0) return 0;
        _totalBonded -= slashed;
        emit Slashed(account, slashed, recipient);
        if (fromStake != 0) _syncStake(account, p);
        _token.safeTransfer(recipient, slashed);
    }

    /// @inheritdoc IProviderStaking
    function setMarket(address newMarket) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_market != address(0)) revert StakingMarketAlreadySet(_market);
        if (newMarket == address(0)) revert StakingZeroAddress();
        address marketStaking = IJobMarket(newMarket).STAKING();
        if (marketStaking != address(this)) revert StakingWiringMismatch(address(this), marketStaking);
        address marketToken = IJobMarket(newMarket).TOKEN();
        if (marketToken != address(_token)) revert StakingWiringMismatch(address(_token), marketToken);
        _market = newMarket;
        emit MarketSet(newMarket);
        IJobMarketExtension(newMarket).syncMinStake(_minStake);
    }

    /// @inheritdoc IProviderStaking
    function setMinStake(uint256 newMinStake) external onlyRole(PARAMS_ROLE) {
        if (newMinStake > MAX_MIN_STAKE) revert StakingInvalidParameter("minStake", newMinStake);
        _minStake = newMinStake;
        emit MinStakeUpdated(newMinStake);
        if (_market != address(0)) IJobMarketExtension(_market).syncMinStake(newMinStake);
    }

    /// @dev Tells the market a registered provider's active stake (it checks claims with it).
    function _syncStake(address account, Provider storage p) private {
        if (p.index != 0) IJobMarketExtension(_market).syncStake(account, p.stake);
    }

    // --- views -------------------------------------------------------------------------

    /// @inheritdoc IProviderStaking
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IProviderStaking
    function market() external view returns (address) {
        return _market;
    }

    /// @inheritdoc IProviderStaking
    function minStake() external view returns (uint256) {
        return _minStake;
    }

    /// @inheritdoc IProviderStaking
    function totalBonded() external view returns (uint256) {
        return _totalBonded;
    }

    /// @inheritdoc IProviderStaking
    function providerInfo(address account) external view returns (ProviderView memory) {
        Provider storage p = _providers[account];
        return ProviderView({
            index: p.index,
            stake: p.stake,
            locked: _lockedOf(account),
            unbonding: p.unbonding,
            unbondingReadyAt: p.unbondingReadyAt,
            signer: p.signer,
            gpuClass: p.gpuClass,
            askPricePerGpuSecond: _currentAsk(p),
            endpoint: p.endpoint,
            pendingAsk: block.timestamp >= p.pendingAskAt ? 0 : p.pendingAsk,
            pendingAskAt: block.timestamp >= p.pendingAskAt ? 0 : p.pendingAskAt,
            signerNonce: p.signerNonce
        });
    }

    /// @inheritdoc IProviderStaking
    function signerOwner(address signer) external view returns (address) {
        return _signerOwner[signer];
    }

    /// @inheritdoc IProviderStaking
    function signerBindingDigest(address provider, address signer) external view returns (bytes32) {
        return _bindingDigest(provider, signer, _providers[provider].signerNonce);
    }

    /// @inheritdoc IProviderStaking
    function providerAt(uint24 index) external view returns (address account, address signer) {
        account = _providerAt[index];
        signer = _providers[account].signer;
    }

    function _lockedOf(address account) private view returns (uint256) {
        return _market == address(0) ? 0 : IJobMarketExtension(_market).lockedStake(account);
    }
}
