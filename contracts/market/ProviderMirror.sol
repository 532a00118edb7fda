// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IProviderStaking} from "../interfaces/IProviderStaking.sol";
import {JobLifecycle} from "../libraries/JobLifecycle.sol";
import {JobWordLibrary} from "../libraries/JobWord.sol";
import {MarketState} from "./MarketState.sol";

/// @title The market's reads of its mirror of the providers registered in staking
/// @notice Staking pushes every change of a provider to the market ({ProviderSync}), so
/// that a claim reads one word of the market's own storage instead of calling staking.
abstract contract ProviderMirror is IJobMarket, MarketState {
    IProviderStaking internal immutable _staking;

    constructor(IProviderStaking staking) {
        _staking = staking;
    }

    /// @inheritdoc IJobMarket
    function STAKING() external view returns (address) {
        return address(_staking);
    }

    /// @dev The id of the provider a job names (0 for none), which must serve its class.
    /// `index`: see {JobLifecycle-fail}.
    function _designated(address provider, bytes4 gpuClass, uint256 index) internal view returns (uint24 id) {
        if (provider == address(0)) return 0;
        Profile storage profile = _profiles[provider];
        id = profile.index;
        if (id == 0) {
            JobLifecycle.fail(index, abi.encodeWithSelector(MarketProviderNotRegistered.selector, provider));
        }
        bytes4 providerClass = profile.gpuClass;
        if (providerClass != gpuClass) {
            JobLifecycle.fail(
                index,
                abi.encodeWithSelector(MarketDesignatedClassMismatch.selector, provider, providerClass, gpuClass)
            );
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
}
