// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarket} from "../../../contracts/interfaces/IJobMarket.sol";
import {IJobMarketExtension} from "../../../contracts/interfaces/IJobMarketExtension.sol";

/// @notice The market as callers see it: its own functions, the extension's views and
/// administration (served through its fallback) and Pausable's view.
interface IMarket is IJobMarket, IJobMarketExtension {
    function paused() external view returns (bool);
}
