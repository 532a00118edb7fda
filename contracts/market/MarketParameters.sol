// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";

/// @title The market's roles and settable parameters
/// @notice Each admin power has its own role: PARAMS_ROLE sets parameters and attestors,
/// PAUSER_ROLE pauses, ARBITER_ROLE decides disputes. Every setter emits.
abstract contract MarketParameters is IJobMarket, AccessControl, Pausable {
    bytes32 public constant PARAMS_ROLE = keccak256("PARAMS_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");

    uint256 public constant MAX_FEE_BPS = 1_000;
    uint256 public constant MAX_TREASURY_SHARE_BPS = 5_000;
    uint256 private constant _BPS = 10_000;

    uint256 internal _feeBps;
    uint256 internal _disputeBond;
    uint256 internal _disputeSlashBps = 5_000;
    uint256 internal _expirePenaltyBps = 1_000;
    uint256 internal _treasuryShareBps = 1_000;
    address internal _treasury;
    uint256 internal _attestorThreshold;
    address[] private _attestors;
    mapping(address attestor => bool) internal _isAttestor;

    constructor(address treasury, address admin) {
        if (treasury == address(0) || admin == address(0)) revert MarketZeroAddress();
        _treasury = treasury;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PARAMS_ROLE, admin);
        _grantRole(PAUSER_ROLE, admin);
        _grantRole(ARBITER_ROLE, admin);
    }

    /// @inheritdoc IJobMarket
    function parameters() external view returns (Parameters memory) {
        return Parameters({
            feeBps: _feeBps,
            disputeBond: _disputeBond,
            disputeSlashBps: _disputeSlashBps,
            expirePenaltyBps: _expirePenaltyBps,
            treasuryShareBps: _treasuryShareBps,
            treasury: _treasury,
            attestorThreshold: _attestorThreshold,
            attestors: _attestors
        });
    }

    /// @inheritdoc IJobMarket
    function setFeeBps(uint256 feeBps) external onlyRole(PARAMS_ROLE) {
        if (feeBps > MAX_FEE_BPS) revert MarketInvalidParameter("feeBps", feeBps);
        _feeBps = feeBps;
        emit ParameterUpdated("feeBps", feeBps);
    }

    /// @inheritdoc IJobMarket
    function setDisputeBond(uint256 bond) external onlyRole(PARAMS_ROLE) {
        if (bond > type(uint96).max) revert MarketInvalidParameter("disputeBond", bond);
        _disputeBond = bond;
        emit ParameterUpdated("disputeBond", bond);
    }

    /// @inheritdoc IJobMarket
    function setDisputeSlashBps(uint256 bps) external onlyRole(PARAMS_ROLE) {
        if (bps > _BPS) revert MarketInvalidParameter("disputeSlashBps", bps);
        _disputeSlashBps = bps;
        emit ParameterUpdated("disputeSlashBps", bps);
    }

    /// @inheritdoc IJobMarket
    function setExpirePenaltyBps(uint256 bps) external onlyRole(PARAMS_ROLE) {
        if (bps > _BPS) revert MarketInvalidParameter("expirePenaltyBps", bps);
        _expirePenaltyBps = bps;
        emit ParameterUpdated("expirePenaltyBps", bps);
    }

    /// @inheritdoc IJobMarket
    function setTreasuryShareBps(uint256 bps) external onlyRole(PARAMS_ROLE) {
        if (bps == 0 || bps > MAX_TREASURY_SHARE_BPS) revert MarketInvalidParameter("treasuryShareBps", bps);
        _treasuryShareBps = bps;
        emit ParameterUpdated("treasuryShareBps", bps);
    }

    /// @inheritdoc IJobMarket
    function setTreasury(address treasury) external onlyRole(PARAMS_ROLE) {
        if (treasury == address(0)) revert MarketZeroAddress();
        _treasury = treasury;
        emit TreasuryUpdated(treasury);
    }

    /// @inheritdoc IJobMarket
    function setAttestors(address[] calldata attestors, uint256 threshold) external onlyRole(PARAMS_ROLE) {
        if (threshold > attestors.length) revert MarketInvalidParameter("attestorThreshold", threshold);
        uint256 previousCount = _attestors.length;
        for (uint256 i; i < previousCount; ++i) {
            delete _isAttestor[_attestors[i]];
        }
        delete _attestors;
        for (uint256 i; i < attestors.length; ++i) {
            address attestor = attestors[i];
            if (attestor == address(0)) revert MarketZeroAddress();
            if (_isAttestor[attestor]) revert MarketDuplicateAttestor(attestor);
            _isAttestor[attestor] = true;
            _attestors.push(attestor);
        }
        _attestorThreshold = threshold;
        emit AttestorsUpdated(attestors, threshold);
    }

    /// @inheritdoc IJobMarket
    function pause() external onlyRole(PAUSER_ROLE) {
        _pause();
    }

    /// @inheritdoc IJobMarket
    function unpause() external onlyRole(PAUSER_ROLE) {
        _unpause();
    }
}
