// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IJobMarket} from "../interfaces/IJobMarket.sol";
import {IJobMarketTypes} from "../interfaces/IJobMarketTypes.sol";
import {JobWord} from "../libraries/JobWord.sol";

/// @title The job market's storage, shared by the market and its extension
/// @notice {JobMarket} and {JobMarketExtension} both inherit this contract and nothing else
/// with storage, so the extension, running by delegatecall in the market's context, sees
/// the same layout. Add state here only, and only at the end.
abstract contract MarketState is IJobMarketTypes, AccessControl, ReentrancyGuard, EIP712 {
    bytes32 public constant PARAMS_ROLE = keccak256("PARAMS_ROLE");
    bytes32 public constant PAUSER_ROLE = keccak256("PAUSER_ROLE");
    bytes32 public constant ARBITER_ROLE = keccak256("ARBITER_ROLE");

    uint256 public constant MAX_FEE_BPS = 1_000;
    uint256 public constant MAX_TREASURY_SHARE_BPS = 5_000;
    /// @notice The smallest dispute bond: with a treasury share of at least 1 bp, the
    /// treasury's cut of it is never zero, so a self-dispute always loses something.
    uint256 public constant MIN_DISPUTE_BOND = 1e15;
    uint256 public constant MAX_DISPUTE_BOND = 1e27;
    uint256 public constant MAX_ATTESTORS = 32;
    uint256 public constant MAX_BUSY_THRESHOLD = 1e6;
    /// @notice The highest priority level; larger priorities share it.
    uint256 public constant MAX_LEVEL = 223;
    /// @notice The most jobs one call posts, claims or withdraws (a call always fits a
    /// block: 256 posts take about 8 million gas).
    uint256 public constant MAX_BATCH = 256;
    /// @notice The most jobs in one posting group (a job's offset in it has 8 bits).
    uint256 internal constant _MAX_GROUP = 255;
    /// @notice Job ids stay below 2**40; group keys of requeued jobs are `level << 40 | id`.
    uint256 internal constant _ID_BITS = 40;
    uint256 internal constant _ID_MASK = (1 << 40) - 1;

    /// @dev Jobs posted by one call, one after the other, that share everything the queue
    /// orders and filters by: client, class, boost, price and deadline (and, by where the
    /// group is queued, designee and level). Keyed by the first job's id; its jobs are
    /// `key .. key + size - 1`. A raised bid moves a job to a group of its own, keyed
    /// `level << 40 | id`. One word: posting a job in a group costs the job's word alone.
    struct Group {
        uint32 client; // the client's id ({_clientIds})
        bytes4 gpuClass;
        uint48 boost; // nano-CPT of priority from holdings
        uint48 next; // key of the next group in the same FIFO, 0 at the tail
        uint8 start; // jobs before it are no longer queued here
        uint8 size;
        uint48 price; // nano-CPT per GPU-second
        uint32 deadline;
    }

    struct Dispute {
        uint96 bond;
        uint32 openedAt;
    }

    /// @dev The market's mirror of a provider (see {IJobMarket-syncProvider}); one word,
    /// read and written once per claim. Amounts in nano-CPT.
    struct Profile {
        uint24 index;
        bytes4 gpuClass;
        uint48 ask; // nano-CPT per GPU-second, rounded up
        uint64 locked;
        uint64 stake; // active stake, rounded down (capped)
        uint8 signerEpoch;
        bool askPending;
    }

    struct PendingAsk {
        uint48 ask;
        uint40 at;
    }

    struct Signer {
        address current;
        uint8 epoch;
    }

    /// @dev Read together at posting and claiming: one cold read for the pause flag, the
    /// counters and the settings.
    struct Config {
        uint16 termsVersion;
        uint32 busyThreshold;
        uint64 minStake; // nano-CPT, mirrored from staking
        uint40 jobCount;
        uint32 clientCount;
        bool paused;
    }

    struct Queue {
        uint224 levels; // bit L set when level L's FIFO holds a group
        uint32 count; // open jobs in the queue
    }

    /// @dev The groups queued at one level, oldest first.
    struct Fifo {
        uint48 head;
        uint48 tail;
    }

    // The market writes these and the extension reads them, by delegatecall in the market's
    // storage: slither sees the extension's reads without the market's writes.
    // slither-disable-start uninitialized-state
    Config internal _config;
    address internal _treasury;
    uint32 internal _attestorSetCount;
    mapping(uint256 version => Terms) internal _termsAt;
    mapping(uint256 setId => EnumerableSet.AddressSet) internal _attestorSets;
    mapping(uint256 jobId => JobWord word) internal _core;
    mapping(uint256 key => Group) internal _groups;
    mapping(address client => uint32 id) internal _clientIds;
    mapping(uint32 id => address client) internal _clientAccounts;
    mapping(uint256 jobId => Dispute) internal _disputes;
    mapping(address account => uint256 amount) internal _credits;
    mapping(address account => Profile) internal _profiles;
    mapping(address account => PendingAsk) internal _pendingAsks;
    mapping(uint24 index => address account) internal _accountOf;
    mapping(uint24 index => Signer) internal _signers;
    mapping(uint24 index => address signer) internal _previousSigners;
    mapping(bytes4 gpuClass => mapping(uint24 designated => Queue)) internal _queues;
    mapping(bytes4 gpuClass => mapping(uint24 designated => mapping(uint256 level => Fifo))) internal _fifos;
    /// @dev Bit `id & 255` of word `id >> 8`: the provider of Settled job `id` withdrew its
    /// payment, so the job is Finalized (its word stays Settled; see {_stateOf}). A bit
    /// costs a withdrawal far less than rewriting each job's word.
    mapping(uint256 => uint256) internal _paidOut;
    // slither-disable-end uninitialized-state

    /// @notice OpenZeppelin's `Pausable` events and errors; the flag lives in {Config}, which
    /// posting and claiming read anyway.
    event Paused(address account);
    event Unpaused(address account);

    error EnforcedPause();
    error ExpectedPause();

    constructor() EIP712("JouleLedger JobMarket", "1") {}

    modifier whenNotPaused() {
        if (_config.paused) revert EnforcedPause();
        _;
    }

    /// @notice Whether the market is paused: posting, claiming and raising bids wait;
    /// withdrawals, settlement, expiry and disputes go on.
    function paused() public view returns (bool) {
        return _config.paused;
    }

    /// @dev The market: `this`, also in {JobMarketExtension}'s code, which runs by
    /// delegatecall; the extension reads the market's immutables through it.
    function _market() internal view returns (IJobMarket) {
        return IJobMarket(address(this));
    }

    /// @dev A job's state as users see it: Settled and paid out is Finalized.
    function _stateOf(uint256 jobId, JobWord word) internal view returns (JobState state) {
        state = word.state();
        if (state == JobState.Settled && _paidOut[jobId >> 8] & (uint256(1) << (jobId & 255)) != 0) {
            state = JobState.Finalized;
        }
    }

    /// @dev The client who posted `jobId`.
    function _clientOf(uint256 jobId, JobWord word) internal view returns (address) {
        return _clientAccounts[_groups[jobId - word.offset()].client];
    }
}
