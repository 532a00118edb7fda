// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {NANO} from "../libraries/Units.sol";
import {MarketState} from "./MarketState.sol";

/// @title Priority book: queues of open jobs by priority level
/// @notice One queue per GPU class for jobs open to every provider, and one per (provider,
/// class) for jobs designated to a provider, so that nobody's designated jobs stand in
/// anybody else's way. A queue is a bitmap of its non-empty priority levels plus a FIFO
/// per level: posting appends to a level's tail in O(1) with no hint (so concurrent posts
/// never invalidate each other), and a claim finds the best level with one bit scan.
/// Levels follow the priority (bid + boost, nano-CPT) on a log scale, four per doubling
/// (about 19% apart), like a price tick: within a level, first posted is first served.
/// Each queued job's node carries its deadline and price, so passing a job the claimant
/// cannot take (expired, priced below its ask) costs one storage read.
abstract contract JobQueue is MarketState {
    /// @dev Levels per doubling of the priority are 2**_STEP_BITS: the bits after the
    /// leading one that pick the level within a doubling.
    uint256 private constant _STEP_BITS = 2;
    uint256 private constant _STEPS = 1 << _STEP_BITS;

    /// @dev 0 for 0; else 1 + 4·log2(p) + the two bits after the leading one, capped.
    function _levelOf(uint256 priority) internal pure returns (uint8) {
        if (priority == 0) return 0;
        uint256 e = Math.log2(priority);
        uint256 m = e >= _STEP_BITS
            ? (priority >> (e - _STEP_BITS)) & (_STEPS - 1)
            : (priority << (_STEP_BITS - e)) & (_STEPS - 1);
        uint256 level = 1 + _STEPS * e + m;
        return uint8(level > MAX_LEVEL ? MAX_LEVEL : level);
    }

    /// @dev Appends `jobId` to the tail of its level. `priority` and `price` in nano-CPT.
    function _enqueue(
        uint256 jobId,
        bytes4 gpuClass,
        uint24 designated,
        uint256 priority,
        uint32 deadline,
        uint48 price
    ) internal returns (uint8 level) {
        level = _levelOf(priority);
        Queue storage q = _queues[gpuClass][designated];
        Fifo storage fifo = _fifos[gpuClass][designated][level];
        uint40 id = uint40(jobId);
        uint40 tail = fifo.tail;
        _nodes[jobId] = Node({
            prev: tail,
            next: 0,
            deadline: deadline,
            price: price,
            level: level,
            gpuClass: gpuClass,
            designated: designated
        });
        if (tail == 0) {
            fifo.head = id;
            q.levels |= uint224(1 << level);
        } else {
            _nodes[tail].next = id;
        }
        fifo.tail = id;
        // Cannot overflow: posting more than 2**32 jobs would cost more gas than exists.
        unchecked {
            q.count += 1;
        }
    }

    /// @dev Popping the head leaves its successor's `prev` pointing at it: that write (a
    /// cold read and a store on every claim) buys nothing, because a FIFO's head is known
    /// by `fifo.head`, never by `prev`, and a node only ever moves towards the head. The
    /// `prev` of every node but the head stays exact.
    function _dequeue(uint256 jobId) internal {
        Node memory node = _nodes[jobId];
        Fifo storage fifo = _fifos[node.gpuClass][node.designated][node.level];
        Queue storage q = _queues[node.gpuClass][node.designated];
        Fifo memory f = fifo;
        bool isHead = f.head == jobId;
        bool isTail = f.tail == jobId;
        if (isHead) f.head = node.next;
        else _nodes[node.prev].next = node.next;
        if (isTail) f.tail = isHead ? 0 : node.prev;
        else if (!isHead) _nodes[node.next].prev = node.prev;
        if (isHead || isTail) {
            fifo.head = f.head;
            fifo.tail = f.tail;
        }
        if (f.head == 0) q.levels &= ~uint224(1 << node.level);
        // Cannot underflow: the job is in this queue.
        unchecked {
            q.count -= 1;
        }
        delete _nodes[jobId];
    }

    /// @dev The first job of a queue, from its highest level down to `minLevel`, that is not
    /// past its deadline and pays at least `ask` (nano-CPT per GPU-second); 0 if none.
    function _firstEligible(bytes4 gpuClass, uint24 designated, uint256 minLevel, uint256 ask)
        internal
        view
        returns (uint256 jobId, uint256 level)
    {
        uint256 levels = _queues[gpuClass][designated].levels;
        mapping(uint256 => Fifo) storage fifos = _fifos[gpuClass][designated];
        while (levels != 0) {
            level = Math.log2(levels);
            if (level < minLevel) break;
            for (jobId = fifos[level].head; jobId != 0;) {
                Node storage node = _nodes[jobId];
                if (node.deadline > block.timestamp && node.price >= ask) return (jobId, level);
                jobId = node.next;
            }
            levels &= ~(uint256(1) << level);
        }
        return (0, 0);
    }

    /// @dev The best job `provider` (id `index`, class `gpuClass`) can take: the best of
    /// its designated queue, unless the class queue has one at a strictly higher level.
    function _bestFor(bytes4 gpuClass, uint24 index, uint256 ask) internal view returns (uint256 jobId) {
        uint256 level;
        (jobId, level) = _firstEligible(gpuClass, index, 0, ask);
        if (jobId == 0) {
            (jobId,) = _firstEligible(gpuClass, 0, 0, ask);
        } else if (level < MAX_LEVEL) {
            (uint256 open,) = _firstEligible(gpuClass, 0, level + 1, ask);
            if (open != 0) jobId = open;
        }
    }

    /// @dev Whether `jobId` is queued where `index` (class `gpuClass`) may take it now.
    function _takeable(uint256 jobId, bytes4 gpuClass, uint24 index, uint256 ask) internal view returns (bool) {
        Node storage node = _nodes[jobId];
        return node.deadline > block.timestamp && node.gpuClass == gpuClass
            && (node.designated == 0 || node.designated == index) && node.price >= ask;
    }

    function _queuedLevel(uint256 jobId) internal view returns (uint8) {
        return _nodes[jobId].level;
    }

    function _openCount(bytes4 gpuClass) internal view returns (uint256) {
        return _queues[gpuClass][0].count;
    }

    /// @dev Priority of an open job in nano-CPT: its bid plus its boost.
    function _priorityOf(uint256 jobId) internal view returns (uint256) {
        return _core[jobId].bid() + _clients[jobId].boost;
    }

    function _list(bytes4 gpuClass, uint24 designated, uint256 start, uint256 limit)
        internal
        view
        returns (uint256[] memory jobIds, uint256[] memory priorities)
    {
        jobIds = new uint256[](limit);
        uint256 levels = _queues[gpuClass][designated].levels;
        uint256 id;
        if (start == 0) {
            id = levels == 0 ? 0 : _fifos[gpuClass][designated][Math.log2(levels)].head;
        } else {
            Node storage from = _nodes[start];
            if (from.deadline == 0 || from.gpuClass != gpuClass || from.designated != designated) {
                return (new uint256[](0), new uint256[](0));
            }
            id = from.next;
            levels &= (uint256(1) << from.level) - 1; // levels below start's
            if (id == 0 && levels != 0) id = _fifos[gpuClass][designated][Math.log2(levels)].head;
        }
        uint256 count;
        while (id != 0 && count < limit) {
            jobIds[count++] = id;
            Node storage node = _nodes[id];
            id = node.next;
            if (id == 0) {
                levels &= (uint256(1) << node.level) - 1;
                if (levels != 0) id = _fifos[gpuClass][designated][Math.log2(levels)].head;
            }
        }
        priorities = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            priorities[i] = _priorityOf(jobIds[i]) * NANO;
        }
        assembly ("memory-safe") {
            mstore(jobIds, count)
        }
    }
}
