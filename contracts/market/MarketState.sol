// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";

import {IJobMarketTypes} from "../interfaces/IJobMarketTypes.sol";
import {JobWord} from "../libraries/JobWord.sol";

/// @title The job market's storage, shared by the market and its extension
/// @notice {JobMarket} and {JobMarketExtension} both inherit this contract and nothing else
/// with storage, so the extension, running by delegatecall in the market's context, sees
/// the same layout. Add state here only, and only at the end.
abstract contract MarketState is IJobMarketTypes, AccessControl, Pausable, ReentrancyGuard, EIP712 {
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

    /// @dev Written once at posting.
    struct Client {
        address client;
        bytes4 gpuClass;
        uint64 boost; // nano-CPT of priority from holdings
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

    /// @dev Read together at posting and claiming.
    struct Config {
        uint16 termsVersion;
        uint32 busyThreshold;
        uint64 minStake; // nano-CPT, mirrored from staking
    }

    /// @dev A queued job (see {JobQueue}). Job ids stay below 2**40.
    struct Node {
        uint40 prev;
        uint40 next;
        uint32 deadline;
        uint48 price; // nano-CPT per GPU-second
        uint8 level;
        bytes4 gpuClass;
        uint24 designated; // provider id, or 0 for the class queue
    }

    struct Queue {
        uint224 levels; // bit L set when level L holds a job
        uint32 count; // jobs in the queue
    }

    struct Fifo {
        uint40 head;
        uint40 tail;
    }

    // The market writes these and the extension reads them, by delegatecall in the market's
    // storage: slither sees the extension's reads without the market's writes.
    // slither-disable-start uninitialized-state
    Config internal _config;
    address internal _treasury;
    uint32 internal _attestorSetCount;
    uint256 internal _jobCount;
    mapping(uint256 version => Terms) internal _termsAt;
    mapping(uint256 setId => EnumerableSet.AddressSet) internal _attestorSets;
    mapping(uint256 jobId => JobWord word) internal _core;
    mapping(uint256 jobId => Client) internal _clients;
    mapping(uint256 jobId => Dispute) internal _disputes;
    mapping(address account => uint256 amount) internal _credits;
    mapping(address account => Profile) internal _profiles;
    mapping(address account => PendingAsk) internal _pendingAsks;
    mapping(uint24 index => address account) internal _accountOf;
    mapping(uint24 index => Signer) internal _signers;
    mapping(uint24 index => address signer) internal _previousSigners;
    mapping(bytes4 gpuClass => mapping(uint24 designated => Queue)) internal _queues;
    mapping(bytes4 gpuClass => mapping(uint24 designated => mapping(uint256 level => Fifo))) internal _fifos;
    mapping(uint256 jobId => Node) internal _nodes;
    // slither-disable-end uninitialized-state

    constructor() EIP712("JouleLedger JobMarket", "1") {}
}
