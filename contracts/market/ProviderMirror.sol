// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {JobWordLibrary} from "../libraries/JobWord.sol";
import {NANO} from "../libraries/Units.sol";
import {MarketState} from "./MarketState.sol";

/// @title The market's mirror of the providers registered in staking
/// @notice Staking pushes every change of a provider here (see {IJobMarket-syncProvider}),
/// so that a claim reads one word of the market's own storage instead of calling staking.
/// Amounts are kept in nano-CPT, rounded the way that keeps the market safe.
abstract contract ProviderMirror is IJobMarket, MarketState {
    IProviderStaking internal immutable _staking;

    constructor(IProviderStaking staking) {
        _staking = staking;
    }

    /// @inheritdoc IJobMarket
    function syncProvider(
        address account,
        uint24 index,
        address signer,
        bytes4 gpuClass,
        uint256 stake,
        uint256 ask,
        uint256 pendingAsk,
        uint256 pendingAskAt
    ) external {
        _onlyStaking();
        Profile storage profile = _profiles[account];
        Signer storage current = _signers[index];
        if (current.current != signer) {
            _previousSigners[index] = current.current;
            current.current = signer;
            // Wraps: jobs record the epoch mod 8.
            unchecked {
                current.epoch += 1;
            }
        }
        _accountOf[index] = account;
        profile.index = index;
        profile.gpuClass = gpuClass;
        profile.stake = _nanoDown(stake);
        profile.ask = _askUnits(ask);
        profile.signerEpoch = uint8(current.epoch & JobWordLibrary.SIGNER_EPOCH_MASK);
        profile.askPending = pendingAskAt != 0;
        _pendingAsks[account] = PendingAsk({ask: _askUnits(pendingAsk), at: uint40(pendingAskAt)});
    }

    /// @inheritdoc IJobMarket
    function syncStake(address account, uint256 stake) external {
        _onlyStaking();
        _profiles[account].stake = _nanoDown(stake);
    }

    /// @inheritdoc IJobMarket
    function syncMinStake(uint256 minStake) external {
        _onlyStaking();
        // Rounded up: a stake that meets the mirror meets staking's own minimum.
        uint256 units = (minStake + NANO - 1) / NANO;
        _config.minStake = units > type(uint64).max ? type(uint64).max : uint64(units);
    }

    /// @inheritdoc IJobMarket
    function STAKING() external view returns (address) {
        return address(_staking);
    }

    /// @dev The id of the provider a job names (0 for none), which must serve its class.
    function _designated(address provider, bytes4 gpuClass) internal view returns (uint24 index) {
        if (provider == address(0)) return 0;
        Profile storage profile = _profiles[provider];
        index = profile.index;
        if (index == 0) revert MarketProviderNotRegistered(provider);
        if (profile.gpuClass != gpuClass) revert MarketDesignatedClassMismatch(provider, profile.gpuClass, gpuClass);
    }

    /// @dev The caller's profile and ask now, once it is known to afford any job: at least
    /// the minimum stake, and `collateralCap` (nano-CPT) free.
    function _claimant(uint256 collateralCap) internal view returns (Profile memory profile, uint256 ask) {
        profile = _profiles[msg.sender];
        if (profile.index == 0) revert MarketProviderNotRegistered(msg.sender);
        uint256 needed = uint256(profile.locked) + collateralCap;
        uint256 minStake = _config.minStake;
        if (needed < minStake) needed = minStake;
        if (profile.stake < needed) {
            revert MarketInsufficientStake(msg.sender, uint256(profile.stake) * NANO, needed * NANO);
        }
        ask = profile.ask;
        if (profile.askPending) {
            PendingAsk memory pending = _pendingAsks[msg.sender];
            if (block.timestamp >= pending.at) ask = pending.ask;
        }
    }

    /// @dev The signer whose records settle jobs claimed at signer epoch `epoch` (mod 8):
    /// the current one, or the one before it for jobs claimed before the last rotation.
    function _signerFor(uint24 index, uint256 epoch) internal view returns (address) {
        Signer memory signer = _signers[index];
        uint256 mask = JobWordLibrary.SIGNER_EPOCH_MASK;
        if (signer.epoch & mask == epoch) return signer.current;
        // (epoch + mask) & mask is epoch - 1, mod 8.
        if ((signer.epoch + mask) & mask == epoch) return _previousSigners[index];
        return address(0);
    }

    function _onlyStaking() private view {
        if (msg.sender != address(_staking)) revert MarketOnlyStaking(msg.sender);
    }

    /// @dev Wei as nano-CPT rounded down, capped at uint64 (conservative for stake checks).
    function _nanoDown(uint256 amount) private pure returns (uint64) {
        uint256 units = amount / NANO;
        return units > type(uint64).max ? type(uint64).max : uint64(units);
    }

    /// @dev An ask in wei per GPU-second as nano-CPT rounded up: a job's price (whole
    /// nano-CPT) meets the ask exactly when it meets this.
    function _askUnits(uint256 ask) private pure returns (uint48) {
        uint256 units = (ask + NANO - 1) / NANO;
        return units > type(uint48).max ? type(uint48).max : uint48(units);
    }
}
