// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IProviderStaking} from "../interfaces/IProviderStaking.sol";

/// @notice Test double of the market for ProviderStaking's unit tests: no locked stake,
/// and a pass-through to `slash` so tests can slash arbitrary amounts.
contract MockMarket {
    IProviderStaking private immutable _staking;

    constructor(IProviderStaking staking) {
        _staking = staking;
    }

    function lockedStake(address) external pure returns (uint256) {
        return 0;
    }

    function syncProvider(uint24, address, address) external {}

    function slash(address provider, uint256 amount, address recipient) external returns (uint256) {
        return _staking.slash(provider, amount, recipient);
    }
}
