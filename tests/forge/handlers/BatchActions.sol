// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {bound} from "../utils/InvariantBase.sol";
import {VM} from "../utils/Vm.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @notice The batch calls, as {ProtocolHandler} drives them: postJobs (groups of equal
/// requests and odd ones, sometimes one bad element or while paused), claimNextJobs
/// (checked against the single-claim rule, job by job) and withdrawals of many jobs with a
/// duplicate in them. A batch that must fail must change nothing.
abstract contract BatchActions is HandlerBase {
    /// @notice Posts 1..8 jobs in one call: runs of the same request (which share a group)
    /// and a few different ones; with `attack % 4 == 0`, one element locks more than the
    /// cap and the whole call must revert.
    function postJobs(uint256 who, uint256 count, uint256 seed, uint256 attack) external step {
        uint256 n = bound(count, 1, 8);
        address client = clients[who % 3];
        JobRequest[] memory rs = new JobRequest[](n);
        uint256 total;
        for (uint256 k; k < n; ++k) {
            uint256 s = (k == 0 || (seed >> k) & 3 != 0) ? seed : uint256(keccak256(abi.encode(seed, k)));
            rs[k] = _request(s, s >> 8, s >> 16, s >> 24);
            rs[k].gpuClass = s & 1 == 0 ? CLASS_A : CLASS_B;
            total += rs[k].maxPayment + rs[k].bid;
        }
        bool bad = attack % 4 == 0;
        if (bad) rs[attack % n].maxPayment = maxEscrow + BPS * NANO; // locks at least 1 nano-CPT over the cap
        _fund(client, total + maxEscrow + BPS * NANO);
        uint256 before = market.jobCount();
        if (bad || market.paused()) {
            VM.prank(client);
            try market.postJobs(rs) {
                _fail(bad ? "a batch with a job above the cap was posted" : "a batch was posted while paused");
            } catch {}
            _expectEq(market.jobCount(), before, "a refused batch posted jobs");
            return;
        }
        VM.prank(client);
        uint256 first = market.postJobs(rs);
        _expectEq(first, before + 1, "postJobs did not number its jobs from the next id");
        _expectEq(market.jobCount(), before + n, "postJobs posted other than every request");
        for (uint256 k; k < n; ++k) {
            uint256 id = first + k;
            (ghostEscrow[id], ghostSeq[id]) = (rs[k].maxPayment + rs[k].bid, ++seq);
            _expectEq(market.job(id).maxPayment, rs[k].maxPayment, "a batched job differs from its request");
        }
    }

    /// @notice Claims up to 1..6 jobs in one call: they must be, in order, the jobs that as
    /// many claimNext calls would take, as far as the provider's free stake goes.
    function claimNextJobs(uint256 who, uint256 count, uint256 seed) external step {
        uint256 i = who % 3;
        if (!_registered(i)) return _stake(i, seed);
        address p = providers[i];
        _ensureStake(p);
        uint256 n = bound(count, 1, 6);
        uint256 free = staking.providerInfo(p).stake - market.lockedStake(p);
        uint256 affordable = free / cap;
        if (affordable < n) n = affordable;
        uint256[] memory expected = _expectedClaims(p, i, n);
        if (market.paused() || expected.length == 0) {
            VM.prank(p);
            try market.claimNextJobs(n) {
                _fail(expected.length == 0 ? "claimNextJobs took a job nobody may take" : "a batch claimed while paused");
            } catch {}
            return;
        }
        uint256 lockedBefore = market.lockedStake(p);
        VM.prank(p);
        uint256[] memory got = market.claimNextJobs(n);
        _expectEq(got.length, expected.length, "claimNextJobs claimed other than the jobs it may take");
        uint256 locked;
        for (uint256 k; k < got.length && k < expected.length; ++k) {
            _expectEq(got[k], expected[k], "claimNextJobs left the order of single claims");
            uint256 lock = ghostEscrow[got[k]] / NANO * lockBps / BPS * NANO;
            (ghostLock[got[k]], claimKey[got[k]]) = (lock, signerKey[p]);
            locked += lock;
        }
        _expectEq(market.lockedStake(p), lockedBefore + locked, "a batch claim locked other than its jobs' collateral");
    }

    /// @dev The first `n` jobs that single claims by provider `i` would take, by the rule.
    function _expectedClaims(address p, uint256 i, uint256 n) internal view returns (uint256[] memory ids) {
        ids = new uint256[](n);
        uint256 ask = staking.providerInfo(p).askPricePerGpuSecond;
        uint256 count;
        while (count < n) {
            (uint256 best,) = _bestExcept(p, providerClass[i], ask, ids, count);
            if (best == 0) break;
            ids[count++] = best;
        }
        assembly ("memory-safe") {
            mstore(ids, count)
        }
    }

    /// @dev Withdraws a list with its first job twice: the call must fail as a whole.
    function _withdrawDuplicate(address a, uint256[] memory ids) internal {
        if (ids.length == 0) return;
        uint256[] memory twice = new uint256[](ids.length + 1);
        for (uint256 j; j < ids.length; ++j) twice[j] = ids[j];
        twice[ids.length] = ids[0];
        uint256 balance = token.balanceOf(a);
        VM.prank(a);
        try market.withdraw(twice) {
            _fail("a withdrawal with a job twice went through");
        } catch {}
        _expectEq(token.balanceOf(a), balance, "a refused withdrawal paid something");
    }
}
