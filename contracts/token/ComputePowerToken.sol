// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

import {IComputePowerToken} from "../interfaces/IComputePowerToken.sol";

/// @title Compute Power Token (CPT)
/// @notice See {IComputePowerToken}.
contract ComputePowerToken is IComputePowerToken, ERC20Permit, AccessControl {
    /// @inheritdoc IComputePowerToken
    bytes32 public constant MINTER_ROLE = keccak256("MINTER_ROLE");

    /// @param initialSupply Tokens (in wei units) minted to the deployer.
    /// @dev The deployer gets the admin and minter roles; production deployments renounce
    /// the minter role or hand it to a bridge.
    constructor(uint256 initialSupply) ERC20("Compute Power Token", "CPT") ERC20Permit("Compute Power Token") {
        _grantRole(DEFAULT_ADMIN_ROLE, msg.sender);
        _grantRole(MINTER_ROLE, msg.sender);
        _mint(msg.sender, initialSupply);
    }

    /// @inheritdoc IComputePowerToken
    function mint(address to, uint256 amount) external onlyRole(MINTER_ROLE) {
        _mint(to, amount);
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(IERC20Permit, ERC20Permit) returns (uint256) {
        return super.nonces(owner);
    }
}
