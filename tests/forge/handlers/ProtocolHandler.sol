// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IHoldingsVault} from "../../../contracts/interfaces/IHoldingsVault.sol";
import {IProviderStaking} from "../../../contracts/interfaces/IProviderStaking.sol";
import {IMarket} from "../utils/IMarket.sol";
import {bound} from "../utils/InvariantBase.sol";
import {VM} from "../utils/Vm.sol";
import {BatchActions} from "./BatchActions.sol";
import {HandlerBase} from "./HandlerBase.sol";

/// @notice Drives the whole protocol: clients, junk posters, holders, providers, the
/// arbiter and the admin, with inputs bounded so that its calls succeed. An action with
/// nothing to act on does the step before it instead (claim instead of settle, ...).
/// Every call it makes must succeed (the suite fails on a revert) except the attempts
/// wrapped in try, which must fail. Each action checks its own outcome (claim order,
/// amounts locked, credited, paid and slashed) and records a violation for the suite.
contract ProtocolHandler is BatchActions {
    constructor(address token_, IProviderStaking staking_, IHoldingsVault vault_, IMarket market_, address admin_)
        HandlerBase(token_, staking_, vault_, market_, admin_)
    {}

    // --- clients and holders -----------------------------------------------------------

    function postJob(uint256 who, uint256 price, uint256 pay, uint256 bid, uint256 dl, uint256 desig) external step {
        JobRequest memory r = _request(price, pay, bid, dl);
        r.gpuClass = who & 256 == 0 ? CLASS_A : CLASS_B;
        uint256 i = desig % 3;
        if ((desig >> 8) % 3 == 0 && _registered(i) && providerClass[i] == r.gpuClass) r.provider = providers[i];
        _post(clients[who % 3], r);
    }

    /// @notice Jobs that must never get in an eligible provider's way, or never be posted.
    function postJunk(uint256 kind, uint256 seed, uint256 dl) external step {
        JobRequest memory r = _request(seed, seed >> 16, seed >> 32, dl);
        uint256 i = (seed >> 48) % 3;
        kind %= 4;
        if (kind <= 1) {
            if (kind == 0 && _registered(i)) {
                // designated to a provider, priced below its ask: only that queue holds it
                uint256 ask = staking.providerInfo(providers[i]).askPricePerGpuSecond;
                r.pricePerGpuSecond = ask > NANO ? (ask - 1) / NANO * NANO : 0;
                r.provider = providers[i];
                r.gpuClass = providerClass[i];
            } else {
                r.deadline = uint32(now_ + bound(dl, 1, 300)); // expires before anyone runs it
            }
            _post(junk, r);
            return;
        }
        if (kind == 2) {
            r.maxPayment = maxEscrow + bound(dl, 10, 1e12) * NANO; // locks more than the cap
        } else {
            if (!_registered(i)) return _stake(i, seed);
            r.provider = providers[i];
            r.gpuClass = providerClass[i] == CLASS_A ? CLASS_B : CLASS_A; // not its class
        }
        _fund(junk, r.maxPayment + r.bid);
        VM.prank(junk);
        try market.postJob(r) {
            _fail(kind == 2 ? "a job above the collateral cap was posted" : "a designated job of another class was posted");
        } catch {}
    }

    function lockHoldings(uint256 who, uint256 amount) external step {
        address holder = who % 4 == 3 ? junk : clients[who % 4];
        amount = bound(amount, 1, 300 * CPT);
        _fund(holder, amount);
        VM.prank(holder);
        vault.lock(amount);
    }

    function unlockHoldings(uint256 who, uint256 amount) external step {
        address holder = who % 4 == 3 ? junk : clients[who % 4];
        IHoldingsVault.HoldingView memory h = vault.holding(holder);
        if (h.locked == 0 || now_ < h.backedUntil) return _advance(amount);
        VM.prank(holder);
        vault.unlock(bound(amount, 1, h.locked));
    }

    function raiseBid(uint256 seed, uint256 amount) external step {
        uint256 id = _find(seed, JobState.Open);
        if (id == 0) return _postPlain(seed);
        JobView memory v = market.job(id);
        uint256 room = (maxEscrow - v.maxPayment - v.bid) / NANO;
        if (room == 0) return _postPlain(seed);
        uint256 raise = bound(_logish(amount, 38), 1, room) * NANO;
        _fund(v.client, raise);
        if (market.paused()) {
            VM.prank(v.client);
            try market.raiseBid(id, v.bid + raise) {
                _fail("a bid was raised while paused");
            } catch {}
            return;
        }
        VM.prank(v.client);
        market.raiseBid(id, v.bid + raise);
        ghostEscrow[id] += raise;
        if (market.job(id).level != v.level) ghostSeq[id] = ++seq; // joins the new level's tail
    }

    function cancelJob(uint256 seed) external step {
        uint256 id = _find(seed, JobState.Open);
        if (id == 0) return _postPlain(seed);
        address client = market.job(id).client;
        uint256 before = market.credit(client);
        VM.prank(client);
        market.cancelJob(id);
        _expectEq(market.credit(client), before + ghostEscrow[id], "cancel credited other than the escrow");
    }

    // --- providers ----------------------------------------------------------------------

    function stake(uint256 who, uint256 amount) external step {
        _stake(who % 3, amount);
    }

    function updateProvider(uint256 who, uint256 ask, uint256 rotate) external step {
        uint256 i = who % 3;
        if (!_registered(i)) return _stake(i, ask);
        address p = providers[i];
        uint256 key = signerKey[p];
        bytes memory proof;
        if (rotate % 2 == 1) {
            key = _newKey();
            proof = _sign(key, staking.signerBindingDigest(p, VM.addr(key)));
        }
        // sometimes not whole nano-CPT: the market must round the ask up
        uint256 newAsk = bound(ask, 1, 8) * 1e12 + (rotate % 3 == 0 ? (ask >> 64) % NANO : 0);
        address signer = VM.addr(key);
        VM.prank(p);
        staking.updateProvider(signer, proof, providerClass[i], uint64(newAsk), "https://gpu.example");
        if (key != signerKey[p]) (prevKey[p], signerKey[p]) = (signerKey[p], key);
    }

    function claimNext(uint256 who, uint256 seed) external step {
        _claim(who % 3, false, seed);
    }

    function claimJob(uint256 who, uint256 seed) external step {
        _claim(who % 3, true, seed);
    }

    function settle(uint256 seed, uint256 gpuMillis, uint256 energy, uint256 forged) external step {
        _settle(seed, gpuMillis, energy, forged);
    }

    function _settle(uint256 seed, uint256 gpuMillis, uint256 energy, uint256 forged) internal {
        uint256 id = _findSettleable(seed);
        if (id == 0) return _claim(seed % 3, false, seed);
        JobView memory v = market.job(id);
        UsageRecord memory rec = UsageRecord({
            jobId: id,
            provider: v.provider,
            gpuMillis: uint64(bound(gpuMillis, 0, 2e10)),
            energyMj: uint64(bound(energy, 1, 1e12)),
            aiTokens: uint64(energy >> 64),
            resultHash: keccak256(abi.encode(seed)),
            startTime: uint64(now_ - bound(gpuMillis >> 64, 0, 600)),
            endTime: uint64(now_),
            meterKind: 1,
            gpuIdHash: keccak256("GPU-0")
        });
        bytes32 digest = market.recordDigest(rec);
        bytes[] memory attestations = _attest(v.termsVersion, digest);
        if (forged % 5 == 0) {
            // signed by a key that is not the job's oracle signer
            try market.settle(rec, _sign(_keyFrom(forged), digest), attestations) {
                _fail("a record signed by a stranger settled a job");
            } catch {}
        }
        market.settle(rec, _sign(claimKey[id], digest), attestations);
        _checkSettled(id, v, rec.gpuMillis);
    }

    function settleBatch(uint256 who, uint256 gpuMillis) external step {
        (address p, uint256[] memory ids, uint256 key, uint256 version) = _batchOf(who % 3);
        if (ids.length < 2) {
            _claim(who % 3, false, gpuMillis);
            (p, ids, key, version) = _batchOf(who % 3);
            if (ids.length == 0) return;
        }
        BatchRecord[] memory recs = new BatchRecord[](ids.length);
        JobView[] memory before = new JobView[](ids.length);
        for (uint256 j; j < ids.length; ++j) {
            before[j] = market.job(ids[j]);
            uint256 millis = bound(uint256(keccak256(abi.encode(gpuMillis, j))), 0, 2e10);
            recs[j] = BatchRecord(ids[j], uint64(millis), uint64(j + 1), 7, bytes32(j), uint64(now_), uint64(now_), 0, 0);
        }
        bytes32 digest = market.batchDigest(p, recs);
        market.settleBatch(p, recs, _sign(key, digest), _attest(version, digest));
        for (uint256 j; j < ids.length; ++j) {
            _checkSettled(ids[j], before[j], recs[j].gpuMillis);
        }
    }

    function requestUnbond(uint256 who, uint256 amount) external step {
        address p = providers[who % 3];
        uint256 active = staking.providerInfo(p).stake;
        uint256 locked = market.lockedStake(p);
        if (active <= locked) return _stake(who % 3, amount);
        VM.prank(p);
        staking.requestUnbond(bound(amount, 1, active - locked));
    }

    function withdrawUnbonded(uint256 who) external step {
        address p = providers[who % 3];
        IProviderStaking.ProviderView memory info = staking.providerInfo(p);
        if (info.unbonding == 0) return _stake(who % 3, who >> 8);
        if (now_ < info.unbondingReadyAt) _warpTo(info.unbondingReadyAt);
        uint256 balance = token.balanceOf(p);
        VM.prank(p);
        staking.withdrawUnbonded();
        _expectEq(token.balanceOf(p), balance + info.unbonding, "withdrawUnbonded paid other than the unbonding");
    }

    // --- expiry, disputes, withdrawals --------------------------------------------------

    function expireJob(uint256 seed) external step {
        uint256 id = _findExpirable(seed, true);
        if (id == 0) id = _findExpirable(seed, false);
        if (id == 0) return _postPlain(seed);
        JobView memory v = market.job(id);
        if (now_ <= v.deadline) _warpTo(uint256(v.deadline) + 1);
        uint256 bonded = staking.totalBonded();
        uint256 credit = market.credit(v.client);
        market.expireJob(id);
        uint256 slashed = _drop(bonded, staking.totalBonded(), "expiry raised totalBonded");
        (Terms memory t,) = market.terms(v.termsVersion);
        uint256 lockShare = v.state == JobState.Claimed ? ghostLock[id] * t.expirePenaltyBps / BPS : 0;
        _expectLe(slashed, lockShare, "expiry slashed more than the penalty share of the job's lock");
        _expectEq(market.credit(v.client), credit + ghostEscrow[id] + slashed, "expiry credited other than escrow + slash");
    }

    function openDispute(uint256 seed) external step {
        uint256 id = _findDisputable(seed);
        if (id == 0) return _settle(seed, seed >> 8, seed >> 40, 1);
        JobView memory v = market.job(id);
        (Terms memory t,) = market.terms(v.termsVersion);
        _fund(v.client, t.disputeBond);
        VM.prank(v.client);
        market.openDispute(id);
        _expectEq(market.dispute(id).bond, t.disputeBond, "dispute holds the wrong bond");
    }

    function resolveDispute(uint256 seed, bool clientWins) external step {
        uint256 id = _find(seed, JobState.Disputed);
        if (id == 0) return _settle(seed, seed >> 8, seed >> 40, 1);
        bool late = now_ > market.dispute(id).arbiterDeadline;
        if (late || seed % 4 == 0) {
            if (!late) _warpTo(market.dispute(id).arbiterDeadline + 1);
            _resolve(id, false, true);
        } else {
            _resolve(id, clientWins, false);
        }
    }

    function withdraw(uint256 who, uint256 attack) external step {
        address a;
        (uint256[] memory ids, uint256 expected, uint256 unlock, uint256 payments) = (new uint256[](0), 0, 0, 0);
        for (uint256 k; k < 9 && expected == 0 && unlock == 0; ++k) {
            a = actors[(who % 9 + k) % 9]; // providers, clients, junk, treasuries: the first one owed
            (ids, expected, unlock, payments) = _owed(a);
        }
        if (attack % 3 == 0) {
            uint256 paid = _findFinalizedOf(a, attack);
            if (paid != 0) {
                uint256[] memory again = new uint256[](1);
                again[0] = paid;
                VM.prank(a);
                try market.withdraw(again) {
                    _fail("a finalized job paid out again");
                } catch {}
            }
        }
        if (expected == 0 && unlock == 0) return _advance(attack);
        if (attack % 5 == 1) _withdrawDuplicate(a, ids);
        uint256 balance = token.balanceOf(a);
        VM.prank(a);
        market.withdraw(ids);
        _expectEq(token.balanceOf(a), balance + expected, "withdraw paid other than what was owed");
        _expectEq(market.credit(a), 0, "withdraw left a credit behind");
        for (uint256 j; j < ids.length; ++j) {
            if (payments & (1 << j) != 0) ghostReleased[ids[j]] += 1;
        }
    }

    // --- admin and time -----------------------------------------------------------------

    function togglePause(uint256 seed) external step {
        if (market.paused()) {
            VM.prank(admin);
            market.unpause();
        } else if (seed % 32 == 0) {
            VM.prank(admin);
            market.pause();
        } else {
            _setParameter(seed >> 8, seed >> 16);
        }
    }

    function setParameter(uint256 which, uint256 value) external step {
        _setParameter(which, value);
    }

    function warp(uint256 secs) external step {
        _advance(secs);
    }

    // --- internals ----------------------------------------------------------------------

    function _claim(uint256 i, bool byId, uint256 seed) internal {
        if (!_registered(i)) return _stake(i, seed);
        (address p, uint256 best, uint256 other) = (address(0), 0, 0);
        for (uint256 k; k < 3 && best == 0; ++k) {
            uint256 j = (i + k) % 3; // provider i, else the first one that has a job to take
            if (!_registered(j)) continue;
            p = providers[j];
            (best, other) = _best(p, providerClass[j], staking.providerInfo(p).askPricePerGpuSecond);
        }
        _ensureStake(p);
        if (market.paused() || best == 0) {
            VM.prank(p);
            try market.claimNext() {
                _fail(best == 0 ? "claimNext took a job nobody may take" : "a job was claimed while paused");
            } catch {}
            return _postPlain(seed);
        }
        if (byId && other != 0) {
            VM.prank(p);
            try market.claimJob(other) {
                _fail("claimJob passed over a job that comes first");
            } catch {}
        }
        uint256 lockedBefore = market.lockedStake(p);
        uint256 id = best;
        VM.prank(p);
        if (byId) market.claimJob(best);
        else id = market.claimNext();
        _expectEq(id, best, "claimNext took other than the first takeable job (level, designated, FIFO)");
        uint256 lock = ghostEscrow[id] / NANO * lockBps / BPS * NANO; // COLLATERAL_BPS of the escrow
        _expectEq(market.lockedStake(p), lockedBefore + lock, "claim locked other than COLLATERAL_BPS of the escrow");
        (ghostLock[id], claimKey[id]) = (lock, signerKey[p]);
    }

    function _resolve(uint256 id, bool clientWins, bool byDefault) internal {
        JobView memory v = market.job(id);
        uint256 bond = market.dispute(id).bond;
        (uint256 bonded, uint256 credits) = (staking.totalBonded(), _sumCredits());
        if (byDefault) {
            market.finalizeDispute(id);
        } else {
            VM.prank(admin);
            market.resolveDispute(id, clientWins);
        }
        uint256 slashed = _drop(bonded, staking.totalBonded(), "dispute raised totalBonded");
        (Terms memory t,) = market.terms(v.termsVersion);
        uint256 lockShare = clientWins && !byDefault ? ghostLock[id] * t.disputeSlashBps / BPS : 0;
        _expectLe(slashed, lockShare, "dispute slashed more than the slash share of the job's lock");
        _expectEq(_sumCredits(), credits + v.payment + bond + slashed, "dispute credited other than payment + bond + slash");
        ghostReleased[id] += 1;
    }

    /// @dev What `a` may withdraw now: its credit, payments of its settled jobs whose window
    /// passed (bit j of `payments` set when ids[j] is one) and its jobs' refunds.
    function _owed(address a)
        internal
        view
        returns (uint256[] memory ids, uint256 expected, uint256 unlock, uint256 payments)
    {
        ids = new uint256[](8);
        uint256 count;
        expected = market.credit(a);
        for (uint256 id = 1; id <= market.jobCount() && count < 8; ++id) {
            JobView memory v = market.job(id);
            bool take = false;
            if (v.state == JobState.Settled && v.provider == a && now_ >= v.settledAt + window) {
                expected += v.payment - v.payment * v.feeBps / BPS;
                unlock += ghostLock[id];
                payments |= 1 << count;
                take = true;
            }
            if (v.state >= JobState.Settled && v.state <= JobState.Finalized && v.client == a) {
                if (!v.refundWithdrawn && v.refund != 0) (expected, take) = (expected + v.refund, true);
            }
            if (take) ids[count++] = id;
        }
        assembly ("memory-safe") {
            mstore(ids, count)
        }
    }

    function _checkSettled(uint256 id, JobView memory v, uint256 gpuMillis) internal {
        JobView memory w = market.job(id);
        uint256 usage = v.pricePerGpuSecond / NANO * gpuMillis / 1000;
        uint256 most = v.maxPayment / NANO;
        uint256 payment = ((usage < most ? usage : most) + v.bid / NANO) * NANO;
        _expectEq(uint256(w.state), uint256(JobState.Settled), "settled job is not Settled");
        _expectEq(w.payment, payment, "settlement charged other than usage (capped at maxPayment) + bid");
        _expectEq(w.payment + w.refund, ghostEscrow[id], "settlement lost part of the escrow");
    }
}
