// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarketExtension} from "../interfaces/IJobMarketExtension.sol";
import {JobWordLibrary} from "../libraries/JobWord.sol";
import {NANO} from "../libraries/Units.sol";
import {MarketState} from "./MarketState.sol";

/// @title The market's mirror of the providers registered in staking: the writes
/// @notice Staking pushes every change of a provider here, so that a claim reads one word of
/// the market's own storage instead of calling staking ({ProviderMirror}). Amounts are kept
/// in nano-CPT, rounded the way that keeps the market safe. Part of {JobMarketExtension}:
/// it runs by delegatecall in the market's storage, as the market.
abstract contract ProviderSync is IJobMarketExtension, MarketState {
    /// @inheritdoc IJobMarketExtension
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

    /// @inheritdoc IJobMarketExtension
    function syncStake(address account, uint256 stake) external {
        _onlyStaking();
        _profiles[account].stake = _nanoDown(stake);
    }

    /// @inheritdoc IJobMarketExtension
    function syncMinStake(uint256 minStake) external {
        _onlyStaking();
        // Rounded up: a stake that meets the mirror meets staking's own minimum.
        uint256 units = (minStake + NANO - 1) / NANO;
        _config.minStake = units > type(uint64).max ? type(uint64).max : uint64(units);
    }

    function _onlyStaking() private view {
        if (msg.sender != _market().STAKING()) revert MarketOnlyStaking(msg.sender);
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
