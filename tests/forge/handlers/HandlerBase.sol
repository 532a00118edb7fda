// SPDX-License-Identifier: MIT
pragma solidity 0.8.37;

import {IComputePowerToken} from "../../../contracts/interfaces/IComputePowerToken.sol";
import {IHoldingsVault} from "../../../contracts/interfaces/IHoldingsVault.sol";
import {IJobMarketTypes} from "../../../contracts/interfaces/IJobMarketTypes.sol";
import {IProviderStaking} from "../../../contracts/interfaces/IProviderStaking.sol";
import {IMarket} from "../utils/IMarket.sol";
import {bound} from "../utils/InvariantBase.sol";
import {VM} from "../utils/Vm.sol";

/// @notice The actors, ghost variables and helpers of {ProtocolHandler}.
/// Actors: three providers (two of class A, one of B; provider 1 registers during the run),
/// three clients (also holders), a junk poster (also a holder), two treasuries and the
/// admin (arbiter, pauser, parameters). Ghosts, per job: what its client paid in, the stake
/// its claim locked, the signer key at its claim, how often its payment was released and
/// its place in the FIFO order of its priority level.
abstract contract HandlerBase is IJobMarketTypes {
    uint256 internal constant NANO = 1e9;
    uint256 internal constant CPT = 1e18;
    uint256 internal constant BPS = 10_000;
    uint256 internal constant SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141;
    bytes4 internal constant CLASS_A = bytes4(keccak256("nvidia-h100"));
    bytes4 internal constant CLASS_B = bytes4(keccak256("nvidia-a100"));

    IComputePowerToken public immutable token;
    IProviderStaking public immutable staking;
    IHoldingsVault public immutable vault;
    IMarket public immutable market;
    address public immutable admin;
    address public constant junk = address(0xBAD);
    uint256 internal immutable window;
    uint256 internal immutable lockBps;
    uint256 internal immutable cap;
    uint256 internal immutable maxEscrow;

    address[3] public providers = [address(0xB0), address(0xB1), address(0xB2)];
    bytes4[3] public providerClass = [CLASS_A, CLASS_A, CLASS_B];
    address[3] public clients = [address(0xC0), address(0xC1), address(0xC2)];
    address[2] public treasuries;
    /// @dev Providers, clients, junk, treasuries, admin: everyone that can hold a credit.
    address[] public actors;
    uint256[2] internal attestorKeys = [uint256(keccak256("attestor 0")), uint256(keccak256("attestor 1"))];

    uint256 public now_;
    uint256 public ghostMinted;
    uint256 public violations;
    string public firstViolation; // with the two amounts it compared (got, wanted)
    uint256[2] public violationAmounts;
    uint256 internal seq;
    uint256 internal keyNonce;
    mapping(address provider => uint256) internal signerKey;
    mapping(address provider => uint256) internal prevKey;
    mapping(address attestor => uint256) internal keyOf;
    mapping(uint256 jobId => uint256) public ghostEscrow; // maxPayment + every bid paid in
    mapping(uint256 jobId => uint256) public ghostLock; // stake its claim locked (wei)
    mapping(uint256 jobId => uint256) public ghostReleased; // payment released (0 or 1)
    mapping(uint256 jobId => uint256) internal ghostSeq; // enqueue order
    mapping(uint256 jobId => uint256) internal claimKey; // provider's signer key at claim

    constructor(address token_, IProviderStaking staking_, IHoldingsVault vault_, IMarket market_, address admin_) {
        (token, staking, vault, market, admin) = (IComputePowerToken(token_), staking_, vault_, market_, admin_);
        window = market_.DISPUTE_WINDOW();
        lockBps = market_.COLLATERAL_BPS();
        cap = market_.COLLATERAL_CAP();
        maxEscrow = cap * BPS / lockBps;
        treasuries = [market_.parameters().treasury, address(0x7E2)];
        for (uint256 i; i < 3; ++i) actors.push(providers[i]);
        for (uint256 i; i < 3; ++i) actors.push(clients[i]);
        actors.push(junk);
        actors.push(treasuries[0]);
        actors.push(treasuries[1]);
        actors.push(admin_);
        for (uint256 i; i < actors.length; ++i) {
            VM.startPrank(actors[i]);
            token.approve(address(market_), type(uint256).max);
            token.approve(address(staking_), type(uint256).max);
            token.approve(address(vault_), type(uint256).max);
            VM.stopPrank();
        }
        for (uint256 i; i < 2; ++i) keyOf[VM.addr(attestorKeys[i])] = attestorKeys[i];
        now_ = block.timestamp;
    }

    /// @notice Called once by the suite's setUp (the handler must hold MINTER_ROLE first).
    function bootstrap() external {
        _stake(0, 500 * CPT);
        _stake(2, 500 * CPT);
    }

    /// @notice Everything the invariants need from the handler, in one call (they run
    /// after every call, so calls count): the actors and each job's ghosts.
    function ghosts()
        external
        view
        returns (address[] memory actors_, uint256[] memory escrow, uint256[] memory lock, uint256[] memory released)
    {
        uint256 n = market.jobCount();
        (actors_, escrow, lock, released) = (actors, new uint256[](n + 1), new uint256[](n + 1), new uint256[](n + 1));
        for (uint256 id = 1; id <= n; ++id) (escrow[id], lock[id], released[id]) = (ghostEscrow[id], ghostLock[id], ghostReleased[id]);
    }

    /// @dev The clock lives in a ghost: every action starts at the handler's time.
    modifier step() {
        VM.warp(now_);
        _;
    }

    /// @dev Records a failed expectation; the suite reports the first, with its amounts.
    function _fail(string memory why, uint256 got, uint256 wanted) internal {
        if (violations++ == 0) (firstViolation, violationAmounts) = (why, [got, wanted]);
    }

    function _fail(string memory why) internal {
        _fail(why, 1, 0);
    }

    function _expectEq(uint256 got, uint256 wanted, string memory why) internal {
        if (got != wanted) _fail(why, got, wanted);
    }

    function _expectLe(uint256 got, uint256 most, string memory why) internal {
        if (got > most) _fail(why, got, most);
    }

    /// @dev How much `before` fell to `now`; a rise is a violation.
    function _drop(uint256 before, uint256 after_, string memory why) internal returns (uint256) {
        _expectLe(after_, before, why);
        return after_ < before ? before - after_ : 0;
    }

    function _advance(uint256 secs) internal {
        _warpTo(now_ + bound(secs, 1, 6 hours));
    }

    function _warpTo(uint256 time) internal {
        now_ = time;
        VM.warp(time);
    }

    /// @dev Mints what `who` lacks of `amount` (the only mints there are).
    function _fund(address who, uint256 amount) internal {
        uint256 balance = token.balanceOf(who);
        if (balance >= amount) return;
        ghostMinted += amount - balance;
        token.mint(who, amount - balance);
    }

    /// @dev 0, or a number of up to `bits` bits, spread over orders of magnitude.
    function _logish(uint256 x, uint256 bits) internal pure returns (uint256) {
        uint256 b = x % (bits + 8);
        return b > bits ? 0 : (x >> 8) % (1 << b);
    }

    function _request(uint256 price, uint256 pay, uint256 bid, uint256 dl) internal view returns (JobRequest memory r) {
        r.specHash = keccak256(abi.encode(pay, bid));
        r.gpuClass = CLASS_A;
        r.pricePerGpuSecond = bound(price, 1, 8) * 1e12;
        r.maxPayment = bound(pay, 1e3, 5e11) * NANO; // up to 500 CPT
        r.bid = _logish(bid, 38) * NANO; // up to ~275 CPT: escrows stay under the cap
        r.deadline = uint32(now_ + bound(dl, 10 minutes, 1 days));
    }

    function _post(address client, JobRequest memory r) internal {
        _fund(client, r.maxPayment + r.bid);
        if (market.paused()) {
            VM.prank(client);
            try market.postJob(r) {
                _fail("a job was posted while paused");
            } catch {}
            return;
        }
        VM.prank(client);
        uint256 id = market.postJob(r);
        (ghostEscrow[id], ghostSeq[id]) = (r.maxPayment + r.bid, ++seq);
    }

    function _postPlain(uint256 seed) internal {
        JobRequest memory r = _request(seed, seed >> 8, seed >> 16, seed >> 24);
        r.gpuClass = seed & 1 == 0 ? CLASS_A : CLASS_B;
        _post(clients[(seed >> 32) % 3], r);
    }

    function _registered(uint256 i) internal view returns (bool) {
        return signerKey[providers[i]] != 0;
    }

    /// @dev Stakes (any amount of wei); registers once the stake reaches the minimum.
    function _stake(uint256 i, uint256 amount) internal {
        address p = providers[i];
        amount = bound(amount, 1, 1_000 * CPT);
        _fund(p, amount);
        VM.prank(p);
        staking.stake(amount);
        if (_registered(i) || staking.providerInfo(p).stake < staking.minStake()) return;
        uint256 key = _newKey();
        address signer = VM.addr(key);
        bytes memory proof = _sign(key, staking.signerBindingDigest(p, signer));
        VM.prank(p);
        staking.registerProvider(signer, proof, providerClass[i], 2e12, "https://gpu.example");
        signerKey[p] = key;
    }

    /// @dev Tops the stake up to what a claim needs: the minimum and COLLATERAL_CAP free.
    function _ensureStake(address p) internal {
        uint256 need = market.lockedStake(p) + cap;
        uint256 minStake = staking.minStake();
        if (need < minStake) need = minStake;
        uint256 active = staking.providerInfo(p).stake;
        if (active >= need + NANO) return;
        uint256 amount = need + NANO - active + 50 * CPT;
        _fund(p, amount);
        VM.prank(p);
        staking.stake(amount);
    }

    function _newKey() internal returns (uint256) {
        return _keyFrom(uint256(keccak256(abi.encode("signer", ++keyNonce))));
    }

    function _keyFrom(uint256 seed) internal pure returns (uint256) {
        return uint256(keccak256(abi.encode(seed))) % (SECP256K1_N - 1) + 1;
    }

    function _sign(uint256 key, bytes32 digest) internal pure returns (bytes memory) {
        (uint8 v, bytes32 r, bytes32 s) = VM.sign(key, digest);
        return abi.encodePacked(r, s, v);
    }

    /// @dev The attestor signatures a job of terms `version` needs, sorted by address.
    function _attest(uint256 version, bytes32 digest) internal view returns (bytes[] memory sigs) {
        (Terms memory t, address[] memory set) = market.terms(version);
        sigs = new bytes[](t.attestorThreshold);
        if (set.length == 2 && set[1] < set[0]) (set[0], set[1]) = (set[1], set[0]);
        for (uint256 i; i < sigs.length; ++i) sigs[i] = _sign(keyOf[set[i]], digest);
    }

    function _setParameter(uint256 which, uint256 value) internal {
        which %= 10;
        VM.startPrank(admin);
        if (which == 0) market.setFeeBps(bound(value, 0, 1_000));
        else if (which == 1) market.setDisputeBond(bound(value, 1e15, 100 * CPT));
        else if (which == 2) market.setDisputeSlashBps(bound(value, 0, BPS));
        else if (which == 3) market.setExpirePenaltyBps(bound(value, 0, BPS));
        else if (which == 4) market.setTreasuryShareBps(bound(value, 1, 5_000));
        else if (which == 5) market.setTreasury(treasuries[value % 2]);
        else if (which == 6) market.setBusyThreshold(bound(value, 1, 4));
        else if (which == 7) {
            address[] memory set = new address[](value % 3);
            for (uint256 i; i < set.length; ++i) set[i] = VM.addr(attestorKeys[i]);
            market.setAttestors(set, bound(value >> 8, set.length == 0 ? 0 : 1, set.length));
        } else if (which == 8) {
            vault.setBoostParams(
                IHoldingsVault.BoostParams({
                    boostBps: uint16(bound(value, 0, BPS)),
                    maxBoost: uint96(bound(value >> 16, 0, 50 * CPT)),
                    holdingPerJob: uint96(bound(value >> 112, NANO, 50 * CPT)),
                    maxJobsPerEpoch: uint32(bound(value >> 208, 1, 5))
                })
            );
        } else {
            staking.setMinStake(bound(value, 0, 300 * CPT));
        }
        VM.stopPrank();
    }

    function _sumCredits() internal view returns (uint256 sum) {
        for (uint256 i; i < actors.length; ++i) sum += market.credit(actors[i]);
    }

    // --- finding jobs (ids 1..jobCount, scanned from a random start) ------------------

    function _scan(uint256 seed, function (uint256, JobView memory) internal view returns (bool) wanted)
        internal
        view
        returns (uint256)
    {
        uint256 n = market.jobCount();
        for (uint256 k; k < n; ++k) {
            uint256 id = (seed % n + k) % n + 1;
            if (wanted(id, market.job(id))) return id;
        }
        return 0;
    }

    uint256 private _state; // the state `_find` looks for
    address private _owner; // the provider `_findFinalizedOf` looks for

    function _find(uint256 seed, JobState state) internal returns (uint256) {
        _state = uint256(state);
        return _scan(seed, _isState);
    }

    function _isState(uint256, JobView memory v) internal view returns (bool) {
        return uint256(v.state) == _state;
    }

    function _findFinalizedOf(address provider, uint256 seed) internal returns (uint256) {
        _owner = provider;
        return _scan(seed, _isFinalizedOfOwner);
    }

    function _isFinalizedOfOwner(uint256, JobView memory v) internal view returns (bool) {
        return v.state == JobState.Finalized && v.provider == _owner;
    }

    function _findSettleable(uint256 seed) internal view returns (uint256) {
        return _scan(seed, _settleable);
    }

    /// @dev Claimed, before its deadline, by a signer the market still accepts for it.
    function _settleable(uint256 id, JobView memory v) internal view returns (bool) {
        uint256 key = claimKey[id];
        return v.state == JobState.Claimed && v.deadline >= now_
            && (key == signerKey[v.provider] || key == prevKey[v.provider]);
    }

    function _findExpirable(uint256 seed, bool due) internal view returns (uint256) {
        return _scan(seed, due ? _expirableNow : _expirableLater);
    }

    function _expirableNow(uint256, JobView memory v) internal view returns (bool) {
        return (v.state == JobState.Open || v.state == JobState.Claimed) && v.deadline < now_;
    }

    function _expirableLater(uint256, JobView memory v) internal pure returns (bool) {
        return v.state == JobState.Open || v.state == JobState.Claimed;
    }

    function _findDisputable(uint256 seed) internal view returns (uint256) {
        return _scan(seed, _disputable);
    }

    function _disputable(uint256, JobView memory v) internal view returns (bool) {
        return v.state == JobState.Settled && now_ < v.settledAt + window;
    }

    /// @dev Up to four claimed jobs of provider `i` that one batch can settle: same signer
    /// key at claim (one the market still accepts) and the same attestor terms.
    function _batchOf(uint256 i) internal view returns (address p, uint256[] memory ids, uint256 key, uint256 version) {
        p = providers[i];
        ids = new uint256[](4);
        uint256 count;
        for (uint256 id = 1; id <= market.jobCount() && count < 4; ++id) {
            JobView memory v = market.job(id);
            if (v.provider != p || !_settleable(id, v)) continue;
            if (count == 0) (key, version) = (claimKey[id], v.termsVersion);
            if (claimKey[id] != key || !_sameAttestors(version, v.termsVersion)) continue;
            ids[count++] = id;
        }
        assembly ("memory-safe") {
            mstore(ids, count)
        }
    }

    function _sameAttestors(uint256 a, uint256 b) internal view returns (bool) {
        (Terms memory ta,) = market.terms(a);
        (Terms memory tb,) = market.terms(b);
        return ta.attestorSetId == tb.attestorSetId && ta.attestorThreshold == tb.attestorThreshold;
    }

    /// @dev The job claimNext must give provider `p` (class `gpuClass`, ask `ask` wei), by
    /// the rule alone: of the open jobs it may take (its class, open to all or designated
    /// to it, before the deadline, priced at or above its ask), the highest priority level;
    /// at one level a designated job first; then first queued. `other`: another takeable one.
    function _best(address p, bytes4 gpuClass, uint256 ask) internal view returns (uint256 best, uint256 other) {
        return _bestExcept(p, gpuClass, ask, new uint256[](0), 0);
    }

    /// @dev {_best} among the jobs not in the first `taken` of `skip`.
    function _bestExcept(address p, bytes4 gpuClass, uint256 ask, uint256[] memory skip, uint256 taken)
        internal
        view
        returns (uint256 best, uint256 other)
    {
        uint256 bestKey;
        for (uint256 id = 1; id <= market.jobCount(); ++id) {
            if (_listed(skip, taken, id)) continue;
            JobView memory v = market.job(id);
            if (v.state != JobState.Open || v.gpuClass != gpuClass || v.deadline <= now_) continue;
            if (v.pricePerGpuSecond < ask || (v.provider != address(0) && v.provider != p)) continue;
            uint256 key = (uint256(v.level) << 128) | (v.provider == p ? 1 << 127 : 0) | (type(uint64).max - ghostSeq[id]);
            if (key > bestKey) (other, best, bestKey) = (best, id, key);
            else other = id;
        }
    }

    function _listed(uint256[] memory ids, uint256 count, uint256 id) internal pure returns (bool) {
        for (uint256 k; k < count; ++k) {
            if (ids[k] == id) return true;
        }
        return false;
    }
}
