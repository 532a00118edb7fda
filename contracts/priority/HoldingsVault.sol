// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";

import {IHoldingsVault} from "../interfaces/IHoldingsVault.sol";
import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {BPS, NANO, bpsOf} from "../libraries/Units.sol";

/// @title Locked holdings that buy priority in busy periods
/// @notice See {IHoldingsVault}.
contract HoldingsVault is IHoldingsVault, AccessControl, ReentrancyGuard {
    using SafeERC20 for IERC20;

    bytes32 public constant PARAMS_ROLE = keccak256("PARAMS_ROLE");
    uint256 public constant MAX_JOBS_PER_EPOCH = 1_000_000;

    struct Holding {
        uint96 warm;
        uint96 warming;
        uint40 warmAt; // when `warming` joins `warm`
    }

    struct Usage {
        uint40 backedUntil;
        uint40 epoch;
        uint32 used;
    }

    IERC20 private immutable _token;
    /// @inheritdoc IHoldingsVault
    uint256 public immutable WARMUP;
    /// @inheritdoc IHoldingsVault
    uint256 public immutable EPOCH;

    address private _market;
    uint256 private _totalLocked;
    BoostParams private _params;
    mapping(address holder => Holding) private _holdings;
    mapping(address holder => Usage) private _usage;

    constructor(IERC20 token_, uint256 warmup, uint256 epoch, BoostParams memory params, address admin) {
        if (address(token_) == address(0) || admin == address(0)) revert HoldingsZeroAddress();
        if (epoch == 0) revert HoldingsInvalidParameter("epoch", epoch);
        _token = token_;
        WARMUP = warmup;
        EPOCH = epoch;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(PARAMS_ROLE, admin);
        _setBoostParams(params);
    }

    // --- holders -------------------------------------------------------------------------

    /// @inheritdoc IHoldingsVault
    function lock(uint256 amount) external nonReentrant {
        _lock(amount);
    }

    /// @inheritdoc IHoldingsVault
    function lockWithPermit(uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) external nonReentrant {
        // A front-runner may have used the permit already; the allowance then suffices.
        try IERC20Permit(address(_token)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _lock(amount);
    }

    function _lock(uint256 amount) private {
        if (amount == 0) revert HoldingsZeroAmount();
        Holding memory h = _matured(_holdings[msg.sender]);
        uint256 warming = h.warming + amount;
        if (uint256(h.warm) + warming > type(uint96).max) revert HoldingsTooLarge(amount, type(uint96).max - h.warm);
        h.warming = uint96(warming);
        h.warmAt = uint40(block.timestamp + WARMUP);
        _holdings[msg.sender] = h;
        _totalLocked += amount;
        emit HoldingsLocked(msg.sender, amount, uint256(h.warm) + warming, h.warmAt);
        _token.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @inheritdoc IHoldingsVault
    function unlock(uint256 amount) external nonReentrant {
        if (amount == 0) revert HoldingsZeroAmount();
        uint256 backedUntil = _usage[msg.sender].backedUntil;
        if (block.timestamp < backedUntil) revert HoldingsBacking(msg.sender, backedUntil);
        Holding memory h = _matured(_holdings[msg.sender]);
        uint256 locked = uint256(h.warm) + h.warming;
        if (amount > locked) revert HoldingsInsufficient(msg.sender, locked, amount);
        uint256 fromWarming = amount < h.warming ? amount : h.warming;
        // Cannot underflow: fromWarming <= warming and amount - fromWarming <= warm.
        unchecked {
            h.warming -= uint96(fromWarming);
            h.warm -= uint96(amount - fromWarming);
            locked -= amount;
        }
        // slither-disable-next-line incorrect-equality
        if (h.warming == 0) h.warmAt = 0;
        _holdings[msg.sender] = h;
        _totalLocked -= amount;
        emit HoldingsUnlocked(msg.sender, amount, locked);
        _token.safeTransfer(msg.sender, amount);
    }

    // --- market --------------------------------------------------------------------------

    /// @inheritdoc IHoldingsVault
    function useBoost(address holder, uint256 deadline) external returns (uint256 boost) {
        if (msg.sender != _market) revert HoldingsOnlyMarket(msg.sender);
        uint256 warm = _matured(_holdings[holder]).warm;
        // slither-disable-next-line incorrect-equality
        if (warm == 0) return 0;
        BoostParams memory params = _params;
        uint256 capacity = _capacity(warm, params);
        Usage memory usage = _usage[holder];
        uint256 epoch = block.timestamp / EPOCH;
        // Epoch numbers are compared, not balances: equality is the point.
        // slither-disable-next-line incorrect-equality
        uint256 used = usage.epoch == epoch ? usage.used : 0;
        if (used >= capacity) return 0;
        boost = _boostOf(warm, params);
        if (deadline > usage.backedUntil) usage.backedUntil = uint40(deadline);
        usage.epoch = uint40(epoch);
        // Cannot overflow: used < capacity <= MAX_JOBS_PER_EPOCH.
        unchecked {
            usage.used = uint32(used + 1);
        }
        _usage[holder] = usage;
        emit BoostUsed(holder, boost, usage.used, capacity, usage.backedUntil);
    }

    // --- admin ---------------------------------------------------------------------------

    /// @inheritdoc IHoldingsVault
    function setBoostParams(BoostParams calldata params) external onlyRole(PARAMS_ROLE) {
        _setBoostParams(params);
    }

    function _setBoostParams(BoostParams memory params) private {
        if (params.boostBps > BPS) revert HoldingsInvalidParameter("boostBps", params.boostBps);
        if (params.holdingPerJob < NANO) revert HoldingsInvalidParameter("holdingPerJob", params.holdingPerJob);
        if (params.maxJobsPerEpoch == 0 || params.maxJobsPerEpoch > MAX_JOBS_PER_EPOCH) {
            revert HoldingsInvalidParameter("maxJobsPerEpoch", params.maxJobsPerEpoch);
        }
        _params = params;
        emit BoostParamsUpdated(params.boostBps, params.maxBoost, params.holdingPerJob, params.maxJobsPerEpoch);
    }

    /// @inheritdoc IHoldingsVault
    function setMarket(address newMarket) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (_market != address(0)) revert HoldingsMarketAlreadySet(_market);
        if (newMarket == address(0)) revert HoldingsZeroAddress();
        address marketToken = IJobMarket(newMarket).TOKEN();
        if (marketToken != address(_token)) revert HoldingsWiringMismatch(address(_token), marketToken);
        address marketVault = IJobMarket(newMarket).VAULT();
        if (marketVault != address(this)) revert HoldingsWiringMismatch(address(this), marketVault);
        _market = newMarket;
        emit MarketSet(newMarket);
    }

    // --- views ---------------------------------------------------------------------------

    /// @inheritdoc IHoldingsVault
    function holding(address holder) external view returns (HoldingView memory view_) {
        Holding memory h = _matured(_holdings[holder]);
        BoostParams memory params = _params;
        Usage memory usage = _usage[holder];
        uint256 epoch = block.timestamp / EPOCH;
        view_.warm = h.warm;
        view_.warming = h.warming;
        view_.locked = uint256(h.warm) + h.warming;
        view_.warmAt = h.warmAt;
        view_.backedUntil = usage.backedUntil;
        view_.boostPerJob = _boostOf(h.warm, params);
        view_.capacity = _capacity(h.warm, params);
        // slither-disable-next-line incorrect-equality
        view_.used = usage.epoch == epoch ? usage.used : 0;
        view_.epochEndsAt = (epoch + 1) * EPOCH;
    }

    /// @inheritdoc IHoldingsVault
    function boostParams() external view returns (BoostParams memory) {
        return _params;
    }

    /// @inheritdoc IHoldingsVault
    function token() external view returns (address) {
        return address(_token);
    }

    /// @inheritdoc IHoldingsVault
    function market() external view returns (address) {
        return _market;
    }

    /// @inheritdoc IHoldingsVault
    function totalLocked() external view returns (uint256) {
        return _totalLocked;
    }

    /// @dev `h` with its warming part moved to warm once its warm-up has passed.
    function _matured(Holding memory h) private view returns (Holding memory) {
        if (h.warming != 0 && block.timestamp >= h.warmAt) {
            h.warm += h.warming;
            h.warming = 0;
            h.warmAt = 0;
        }
        return h;
    }

    function _capacity(uint256 warm, BoostParams memory params) private pure returns (uint256) {
        uint256 jobs = warm / params.holdingPerJob;
        return jobs < params.maxJobsPerEpoch ? jobs : params.maxJobsPerEpoch;
    }

    function _boostOf(uint256 warm, BoostParams memory params) private pure returns (uint256) {
        uint256 boost = bpsOf(warm, params.boostBps);
        if (boost > params.maxBoost) boost = params.maxBoost;
        // Rounds down to whole nano-CPT, the unit the market stores priorities in.
        // slither-disable-next-line weak-prng
        return boost - boost % NANO;
    }
}
