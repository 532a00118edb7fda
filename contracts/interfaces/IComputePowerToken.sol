// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/// @title Compute Power Token (CPT)
/// @notice The ERC-20 settlement token of JouleLedger: clients pay for compute in it,
/// providers stake it. Supports EIP-2612 `permit`, so a client can approve and post a job
/// in one transaction.
/// @dev Errors come from OpenZeppelin: ERC-6093 (`ERC20InsufficientBalance`, ...),
/// `ERC2612ExpiredSignature`, `ERC2612InvalidSigner` and `AccessControlUnauthorizedAccount`.
interface IComputePowerToken is IERC20, IERC20Permit {
    /// @notice The role allowed to mint new tokens (devnet faucets, bridges).
    function MINTER_ROLE() external view returns (bytes32);

    /// @notice Mints `amount` tokens (18 decimals) to `to`.
    /// @dev Reverts with `AccessControlUnauthorizedAccount` unless the caller holds
    /// `MINTER_ROLE`. Emits {Transfer} from the zero address.
    function mint(address to, uint256 amount) external;
}
