// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IAccessControl} from "@openzeppelin/contracts/access/IAccessControl.sol";

import {IComputePowerToken} from "../../contracts/interfaces/IComputePowerToken.sol";
import {IHoldingsVault} from "../../contracts/interfaces/IHoldingsVault.sol";
import {IJobMarketTypes} from "../../contracts/interfaces/IJobMarketTypes.sol";
import {IProviderStaking} from "../../contracts/interfaces/IProviderStaking.sol";
import {BatchActions} from "./handlers/BatchActions.sol";
import {ProtocolHandler} from "./handlers/ProtocolHandler.sol";
import {IMarket} from "./utils/IMarket.sol";
import {InvariantBase} from "./utils/InvariantBase.sol";

/// @notice The money invariants of DESIGN.md over the whole protocol (token, staking,
/// holdings vault, market and its extension), checked after every random handler call.
/// The contracts are deployed from the SDK's artifacts (the bytecode we ship), so
/// this suite compiles only itself and its handler.
contract ProtocolInvariants is InvariantBase, IJobMarketTypes {
    uint256 internal constant SUPPLY = 1_000_000e18;
    address internal constant ADMIN = address(0xAD);
    address internal constant TREASURY = address(0x7E1);
    bytes4 internal constant CLASS_A = bytes4(keccak256("nvidia-h100")); // as in the handler
    bytes4 internal constant CLASS_B = bytes4(keccak256("nvidia-a100"));

    IComputePowerToken internal token;
    IProviderStaking internal staking;
    IHoldingsVault internal vault;
    IMarket internal market;
    ProtocolHandler internal handler;

    function setUp() public {
        vm.warp(1_700_000_000);
        token = IComputePowerToken(deployShipped("ComputePowerToken", abi.encode(SUPPLY)));
        // unbonding delay 4 h (> dispute window + arbiter timeout), minimum stake 100 CPT,
        // ask increases wait 1 h
        staking = IProviderStaking(
            deployShipped("ProviderStaking", abi.encode(token, 4 hours, 100e18, 1 hours, ADMIN))
        );
        // warm-up 1 h, epoch 1 day; boost 10% of warm holdings up to 20 CPT, one boosted job
        // per 10 CPT held, at most 3 per epoch
        IHoldingsVault.BoostParams memory boost = IHoldingsVault.BoostParams(1_000, 20e18, 10e18, 3);
        vault = IHoldingsVault(deployShipped("HoldingsVault", abi.encode(token, 1 hours, 1 days, boost, ADMIN)));
        address extension = deployShipped("JobMarketExtension", "");
        // dispute window 1 h, arbiter timeout 2 h, 10% of the escrow locked, at most 100 CPT
        market = IMarket(
            deployShipped("JobMarket",
                abi.encode(token, staking, vault, extension, 1 hours, 2 hours, 1_000, 100e18, TREASURY, ADMIN)
            )
        );
        vm.startPrank(ADMIN);
        staking.setMarket(address(market));
        vault.setMarket(address(market));
        market.setBusyThreshold(2); // two open jobs of a class make it busy: boosts apply
        vm.stopPrank();

        handler = new ProtocolHandler(address(token), staking, vault, market, ADMIN);
        IAccessControl(address(token)).grantRole(token.MINTER_ROLE(), address(handler));
        handler.bootstrap();

        bytes4[] memory selectors = new bytes4[](24);
        selectors[0] = ProtocolHandler.postJob.selector;
        selectors[1] = ProtocolHandler.postJob.selector; // posting twice as often as the rest
        selectors[2] = ProtocolHandler.postJunk.selector;
        selectors[3] = ProtocolHandler.lockHoldings.selector;
        selectors[4] = ProtocolHandler.unlockHoldings.selector;
        selectors[5] = ProtocolHandler.raiseBid.selector;
        selectors[6] = ProtocolHandler.cancelJob.selector;
        selectors[7] = ProtocolHandler.stake.selector;
        selectors[8] = ProtocolHandler.updateProvider.selector;
        selectors[9] = ProtocolHandler.claimNext.selector;
        selectors[10] = ProtocolHandler.claimJob.selector;
        selectors[11] = ProtocolHandler.settle.selector;
        selectors[12] = ProtocolHandler.settleBatch.selector;
        selectors[13] = ProtocolHandler.requestUnbond.selector;
        selectors[14] = ProtocolHandler.withdrawUnbonded.selector;
        selectors[15] = ProtocolHandler.expireJob.selector;
        selectors[16] = ProtocolHandler.openDispute.selector;
        selectors[17] = ProtocolHandler.resolveDispute.selector;
        selectors[18] = ProtocolHandler.withdraw.selector;
        selectors[19] = ProtocolHandler.togglePause.selector;
        selectors[20] = ProtocolHandler.warp.selector;
        selectors[21] = ProtocolHandler.setParameter.selector;
        selectors[22] = BatchActions.postJobs.selector;
        selectors[23] = BatchActions.claimNextJobs.selector;
        targetContract(address(handler));
        targetSelector(FuzzSelector({addr: address(handler), selectors: selectors}));
    }

    /// @notice One campaign checks everything: forge runs a campaign per invariant function.
    /// (Kept to few calls: it runs after every handler call.) The handler only makes calls
    /// that must succeed, so a revert fails the run too: it would be a valid operation the
    /// protocol refused (a withdrawal of what is owed, a settlement, a claim, ...).
    /// forge-config: default.invariant.fail-on-revert = true
    function invariant_protocol() public view {
        if (handler.violations() != 0) {
            revert AssertionFailed(handler.firstViolation(), handler.violationAmounts(0), handler.violationAmounts(1));
        }
        (address[] memory actors, uint256[] memory escrow, uint256[] memory lock, uint256[] memory released) =
            handler.ghosts();
        uint256[3] memory locked = _checkMarket(actors, escrow, lock, released);
        _checkStaking(actors, locked);
        _checkVault(actors);
        assertEq(token.totalSupply(), SUPPLY + handler.ghostMinted(), "totalSupply != initial supply + ghost mints");
    }

    /// @notice Forge calls this at the end of every run: the costlier whole-ledger checks.
    function afterInvariant() public view {
        (address[] memory actors,,,) = handler.ghosts();
        _checkSupply(actors);
        uint256 listed;
        for (uint256 i; i < 4; ++i) {
            listed += _checkQueue(CLASS_A, i == 3 ? address(0) : actors[i]);
            listed += _checkQueue(CLASS_B, i == 3 ? address(0) : actors[i]);
        }
        uint256 open;
        for (uint256 id = 1; id <= market.jobCount(); ++id) {
            JobView memory v = market.job(id);
            if (v.state == JobState.Open && v.deadline > block.timestamp) ++open;
        }
        assertEq(listed, open, "the queues do not list exactly the open jobs before their deadline");
    }

    /// @dev One queue of the priority book (open to all, or designated to `provider`):
    /// only open jobs of its class and designation, by priority level, highest first.
    function _checkQueue(bytes4 gpuClass, address provider) internal view returns (uint256) {
        (uint256[] memory ids, uint256[] memory priorities) = provider == address(0)
            ? market.queue(gpuClass, 0, 1_000)
            : market.designatedQueue(provider, gpuClass, 0, 1_000);
        uint256 last = type(uint256).max;
        for (uint256 j; j < ids.length; ++j) {
            JobView memory v = market.job(ids[j]);
            bool belongs = v.state == JobState.Open && v.deadline > block.timestamp && v.gpuClass == gpuClass
                && v.provider == provider;
            assertTrue(belongs, "a queue lists a job that is not open, expired, or not of its class or designation");
            assertEq(priorities[j], v.priority, "a queue lists a priority other than the job's");
            assertLe(v.level, last, "a queue is out of priority order");
            last = v.level;
        }
        return ids.length;
    }

    /// @dev The market holds exactly: escrows of open and claimed jobs; payments held for
    /// settled and disputed jobs; refunds not pulled yet; bonds of open disputes; credits.
    /// Per job: its amounts add up to what its client paid in, its payment never exceeds
    /// that (maxPayment + every bid), it is released at most once; per provider: the stake
    /// locked is the sum of the locks of its claimed, settled and disputed jobs.
    /// `actors`: providers 0-2, clients 3-5, junk 6, treasuries 7-8, admin 9.
    function _checkMarket(
        address[] memory actors,
        uint256[] memory escrow,
        uint256[] memory lock,
        uint256[] memory released
    ) internal view returns (uint256[3] memory locked) {
        uint256 expected;
        uint256[2] memory openToAll; // per class: what classStatus must count
        for (uint256 id = 1; id < escrow.length; ++id) {
            JobView memory v = market.job(id);
            if (v.state == JobState.Open && v.provider == address(0)) ++openToAll[v.gpuClass == CLASS_A ? 0 : 1];
            if (v.state == JobState.Open || v.state == JobState.Claimed) {
                assertEq(v.maxPayment + v.bid, escrow[id], "open job's escrow != maxPayment + bids paid in");
                expected += escrow[id];
            } else if (v.state >= JobState.Settled && v.state <= JobState.Finalized) {
                assertLe(v.payment, escrow[id], "payment > maxPayment + bid");
                assertEq(v.payment + v.refund, escrow[id], "payment + refund != maxPayment + bids paid in");
                if (v.state != JobState.Finalized) expected += v.payment;
                if (!v.refundWithdrawn) expected += v.refund;
                if (v.state == JobState.Disputed) expected += market.dispute(id).bond;
            }
            assertLe(released[id], 1, "a job's payment was released twice");
            if (v.state == JobState.Claimed || v.state == JobState.Settled || v.state == JobState.Disputed) {
                for (uint256 i; i < 3; ++i) {
                    if (actors[i] == v.provider) locked[i] += lock[id];
                }
            }
        }
        for (uint256 i; i < actors.length; ++i) expected += market.credit(actors[i]);
        assertEq(token.balanceOf(address(market)), expected, "market balance != escrows + payments + refunds + bonds + credits");
        (uint256 openA,) = market.classStatus(CLASS_A);
        (uint256 openB,) = market.classStatus(CLASS_B);
        assertEq(openA, openToAll[0], "classStatus counts other than the open jobs of class A");
        assertEq(openB, openToAll[1], "classStatus counts other than the open jobs of class B");
    }

    /// @dev Staking holds exactly totalBonded, the providers' stakes and unbonding amounts;
    /// a provider's locked stake is the sum of its jobs' locks and within its stake.
    function _checkStaking(address[] memory actors, uint256[3] memory locked) internal view {
        uint256 sum;
        for (uint256 i; i < 3; ++i) {
            IProviderStaking.ProviderView memory info = staking.providerInfo(actors[i]);
            sum += info.stake + info.unbonding;
            assertEq(info.locked, locked[i], "lockedStake != sum of the locks of the provider's jobs");
            assertLe(info.locked, info.stake, "lockedStake > stake");
        }
        uint256 bonded = staking.totalBonded();
        assertEq(token.balanceOf(address(staking)), bonded, "staking balance != totalBonded");
        assertEq(bonded, sum, "totalBonded != sum of stakes and unbonding");
    }

    /// @dev The vault holds exactly totalLocked, the holders' (clients', junk's) locked amounts.
    function _checkVault(address[] memory actors) internal view {
        uint256 sum;
        for (uint256 i = 3; i < 7; ++i) sum += vault.holding(actors[i]).locked;
        uint256 total = vault.totalLocked();
        assertEq(token.balanceOf(address(vault)), total, "vault balance != totalLocked");
        assertEq(total, sum, "totalLocked != sum of holdings");
    }

    /// @dev Every token sits with a known holder.
    function _checkSupply(address[] memory actors) internal view {
        uint256 supply = token.totalSupply();
        uint256 sum = token.balanceOf(address(this)) + token.balanceOf(address(handler));
        sum += token.balanceOf(address(market)) + token.balanceOf(address(staking)) + token.balanceOf(address(vault));
        for (uint256 i; i < actors.length; ++i) sum += token.balanceOf(actors[i]);
        assertEq(sum, supply, "tokens left the known accounts");
    }
}
