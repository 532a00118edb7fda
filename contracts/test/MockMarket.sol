// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IProviderStaking} from "../interfaces/IProviderStaking.sol";

/// @notice Test double of the market for ProviderStaking's unit tests: it answers what
/// staking calls on its market (the wiring getters, the provider mirror, the attestor and
/// locked-stake views) with no jobs and no attestors, and passes `slash` through so that
/// tests can slash arbitrary amounts. The token, staking and vault it reports are set at
/// deployment, so that tests can also wire it wrongly on purpose.
contract MockMarket {
    address public immutable STAKING;
    address public immutable TOKEN;
    address public immutable VAULT;

    constructor(IProviderStaking staking, address token, address vault) {
        STAKING = address(staking);
        TOKEN = token;
        VAULT = vault;
    }

    function lockedStake(address) external pure returns (uint256) {
        return 0;
    }

    function isAttestor(address) external pure returns (bool) {
        return false;
    }

    function syncProvider(address, uint24, address, bytes4, uint256, uint256, uint256, uint256) external {}

    function syncStake(address, uint256) external {}

    function syncMinStake(uint256) external {}

    function slash(address provider, uint256 amount, address recipient) external returns (uint256) {
        return IProviderStaking(STAKING).slash(provider, amount, recipient);
    }
}
