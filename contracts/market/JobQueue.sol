// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

import {JobWord} from "../libraries/JobWord.sol";
import {NANO} from "../libraries/Units.sol";
import {MarketState} from "./MarketState.sol";

/// @title Priority book: queues of posting groups by priority level
/// @notice One queue per GPU class for jobs open to every provider, and one per (provider,
/// class) for jobs designated to a provider, so that nobody's designated jobs stand in
/// anybody else's way. A queue is a bitmap of its non-empty priority levels plus a FIFO
/// of groups per level: posting appends to a level's tail in O(1) with no hint (so
/// concurrent posts never invalidate each other), and a claim finds the best level with
/// one bit scan. Levels follow the priority (bid + boost, nano-CPT) on a log scale, four
/// per doubling (about 19% apart), like a price tick: within a level, first posted is
/// first served.
///
/// The FIFOs hold groups, not jobs: the jobs one call posts at one level with the same
/// price and deadline form one group (one storage word for all of them, see
/// {MarketState-Group}). Passing a group the claimant cannot take (expired, priced below
/// its ask) costs one storage read, however many jobs it holds. Jobs leave lazily: a job
/// that is claimed, cancelled or expired, or whose raised bid queued it at a higher level,
/// stays in its group until a claim walks past it; it is still queued where its word says
/// it is Open at the group's level. A claim moves its group's start past the jobs it
/// walked over and unlinks the groups it found empty (and expired ones at a FIFO's head),
/// so each such job is passed at most once by a claim that finds something behind it.
abstract contract JobQueue is MarketState {
    /// @dev Levels per doubling of the priority are 2**_STEP_BITS: the bits after the
    /// leading one that pick the level within a doubling.
    uint256 private constant _STEP_BITS = 2;
    uint256 private constant _STEPS = 1 << _STEP_BITS;

    // Where {MarketState-Group}'s fields sit in its word (Solidity packs them in order, from
    // the low bits): client 0, gpuClass 32, boost 64, then these.
    uint256 private constant _NEXT_SHIFT = 112;
    uint256 private constant _START_SHIFT = 160;
    uint256 private constant _SIZE_SHIFT = 168;
    uint256 private constant _PRICE_SHIFT = 176;
    uint256 private constant _DEADLINE_SHIFT = 224;

    /// @dev Where a claim found a job: `key` is its group, `prev` the group before that in
    /// the FIFO (0 at the head), `index` its place in the group.
    struct Spot {
        uint256 jobId;
        uint256 level;
        uint256 key;
        uint256 prev;
        uint256 index;
        uint24 designated;
    }

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

    /// @dev Writes `group` under `key` and appends it to the tail of its level's FIFO.
    function _enqueue(uint256 key, Group memory group, uint24 designated, uint256 level) internal {
        _groups[key] = group;
        Queue storage q = _queues[group.gpuClass][designated];
        Fifo storage fifo = _fifos[group.gpuClass][designated][level];
        uint256 tail = fifo.tail;
        Queue memory queue_ = q;
        if (tail == 0) {
            fifo.head = uint48(key);
            queue_.levels |= uint224(1 << level);
        } else {
            _groups[tail].next = uint48(key);
        }
        fifo.tail = uint48(key);
        // Cannot overflow: posting more than 2**32 jobs would cost more gas than exists.
        unchecked {
            queue_.count += group.size;
        }
        q.levels = queue_.levels;
        q.count = queue_.count;
    }

    /// @dev Queues open job `jobId` anew at `level`, in a group of its own (its raised bid
    /// lifted it out of its group; the old place is left behind, see the title).
    function _requeue(uint256 jobId, JobWord word, uint256 level) internal {
        Group memory group = _groups[jobId - word.offset()];
        group.next = 0;
        group.start = 0;
        group.size = 1;
        // The count stays: the job stays in the same queue.
        unchecked {
            _queues[group.gpuClass][word.provider()].count -= 1;
        }
        _enqueue((level << _ID_BITS) | jobId, group, word.provider(), level);
    }

    /// @dev One job left the queue `designated` of `gpuClass` (claimed, cancelled, expired).
    function _leave(bytes4 gpuClass, uint24 designated) internal {
        // Cannot underflow: the job was counted in this queue when it was posted.
        unchecked {
            _queues[gpuClass][designated].count -= 1;
        }
    }

    /// @dev The first job of a queue, from its highest level down to `minLevel`, whose
    /// group is not past its deadline and pays at least `ask` (nano-CPT per GPU-second);
    /// jobId 0 if none. Groups found empty leave their FIFO; so do expired groups at its
    /// head (their jobs can only be expired now, which needs no queue), with one write for
    /// the whole run. An expired group elsewhere is passed over like one priced below the
    /// ask: passing junk costs a claim one read of its group, however many jobs it holds.
    function _seek(bytes4 gpuClass, uint24 designated, uint256 minLevel, uint256 ask)
        internal
        returns (Spot memory spot)
    {
        uint256 levels = _queues[gpuClass][designated].levels;
        while (levels != 0) {
            uint256 level = Math.log2(levels);
            if (level < minLevel) break;
            uint256 head = _fifos[gpuClass][designated][level].head;
            uint256 prev = 0;
            uint256 key = head;
            while (key != 0) {
                uint256 raw = _groupWord(key);
                uint256 next = uint48(raw >> _NEXT_SHIFT);
                bool expired = raw >> _DEADLINE_SHIFT <= block.timestamp;
                if (!expired && uint48(raw >> _PRICE_SHIFT) >= ask) {
                    uint256 first = key & _ID_MASK;
                    for (uint256 i = uint8(raw >> _START_SHIFT); i < uint8(raw >> _SIZE_SHIFT); ++i) {
                        JobWord word = _core[first + i];
                        if (word.state() == JobState.Open && word.level() == level) {
                            _moveHead(gpuClass, designated, level, head);
                            return Spot(first + i, level, key, prev, i, designated);
                        }
                    }
                    // None of its jobs is queued here any more: it leaves the FIFO.
                    if (prev == 0) head = next;
                    else _unlink(gpuClass, designated, level, prev, key, next);
                } else if (expired && prev == 0) {
                    head = next;
                } else {
                    prev = key;
                }
                key = next;
            }
            _moveHead(gpuClass, designated, level, head);
            levels &= ~(uint256(1) << level);
        }
    }

    /// @dev Makes `head` the head of a FIFO whose groups before it left; an empty FIFO
    /// clears its level's bit.
    function _moveHead(bytes4 gpuClass, uint24 designated, uint256 level, uint256 head) private {
        Fifo storage fifo = _fifos[gpuClass][designated][level];
        if (fifo.head == head) return;
        fifo.head = uint48(head);
        if (head == 0) {
            fifo.tail = 0;
            _queues[gpuClass][designated].levels &= ~uint224(1 << level);
        }
    }

    /// @dev A group's storage word, read once; see the shifts below for its fields.
    function _groupWord(uint256 key) private view returns (uint256 raw) {
        Group storage group = _groups[key];
        assembly ("memory-safe") {
            raw := sload(group.slot)
        }
    }

    /// @dev The best job `provider` (id `index`, class `gpuClass`) can take: the best of
    /// its designated queue, unless the class queue has one at a strictly higher level.
    function _bestFor(bytes4 gpuClass, uint24 index, uint256 ask) internal returns (Spot memory best) {
        best = _seek(gpuClass, index, 0, ask);
        if (best.jobId == 0) {
            best = _seek(gpuClass, 0, 0, ask);
        } else if (best.level < MAX_LEVEL) {
            Spot memory open = _seek(gpuClass, 0, best.level + 1, ask);
            if (open.jobId != 0) best = open;
        }
    }

    /// @dev After a claim took `taken` jobs of the group at `spot`, up to its job `next`
    /// (all before that are gone): the group starts there now, or leaves the FIFO.
    function _takeRun(bytes4 gpuClass, Spot memory spot, uint256 next, uint256 size, uint256 taken) internal {
        if (next == size) {
            _unlink(gpuClass, spot.designated, spot.level, spot.prev, spot.key, _groups[spot.key].next);
        } else {
            _groups[spot.key].start = uint8(next);
        }
        // Cannot underflow: the jobs taken were counted in this queue.
        unchecked {
            _queues[gpuClass][spot.designated].count -= uint32(taken);
        }
    }

    function _unlink(bytes4 gpuClass, uint24 designated, uint256 level, uint256 prev, uint256 key, uint256 next)
        private
    {
        Fifo storage fifo = _fifos[gpuClass][designated][level];
        Fifo memory f = fifo;
        if (prev == 0) f.head = uint48(next);
        else _groups[prev].next = uint48(next);
        if (f.tail == key) f.tail = uint48(prev);
        fifo.head = f.head;
        fifo.tail = f.tail;
        if (f.head == 0) _queues[gpuClass][designated].levels &= ~uint224(1 << level);
    }

    /// @dev Whether `jobId` is open where `index` (class `gpuClass`) may take it now.
    function _takeable(uint256 jobId, bytes4 gpuClass, uint24 index, uint256 ask) internal view returns (bool) {
        JobWord word = _core[jobId];
        uint24 designated = word.provider();
        return word.state() == JobState.Open && word.deadline() > block.timestamp && word.price() >= ask
            && (designated == 0 || designated == index) && _groups[jobId - word.offset()].gpuClass == gpuClass;
    }

    function _openCount(bytes4 gpuClass) internal view returns (uint256) {
        return _queues[gpuClass][0].count;
    }

    /// @dev Priority of a job in nano-CPT: its bid plus its boost.
    function _priorityOf(uint256 jobId) internal view returns (uint256) {
        JobWord word = _core[jobId];
        return word.bid() + _groups[jobId - word.offset()].boost;
    }

    /// @dev The group key and index where open job `jobId` is queued now.
    function _placeOf(uint256 jobId, JobWord word) internal pure returns (uint256 key, uint256 index) {
        if (word.requeued()) return ((word.level() << _ID_BITS) | jobId, 0);
        return (jobId - word.offset(), word.offset());
    }

    /// @dev Up to `limit` jobs of a queue that can still be claimed (open, not expired),
    /// best first, after job `start` (from the best when 0), with their priorities (wei).
    function _list(bytes4 gpuClass, uint24 designated, uint256 start, uint256 limit)
        internal
        view
        returns (uint256[] memory jobIds, uint256[] memory priorities)
    {
        jobIds = new uint256[](limit);
        uint256 levels = _queues[gpuClass][designated].levels;
        uint256 key;
        uint256 index;
        uint256 level;
        if (start != 0) {
            JobWord from = _core[start];
            if (
                from.state() != JobState.Open || from.provider() != designated
                    || _groups[start - from.offset()].gpuClass != gpuClass
            ) return (new uint256[](0), new uint256[](0));
            level = from.level();
            (key, index) = _placeOf(start, from);
            ++index;
            levels &= (uint256(1) << level) - 1; // the levels below start's
        } else if (levels != 0) {
            level = Math.log2(levels);
            key = _fifos[gpuClass][designated][level].head;
            levels &= ~(uint256(1) << level);
            index = _groups[key].start;
        }
        uint256 count;
        while (count < limit) {
            if (key == 0) {
                if (levels == 0) break;
                level = Math.log2(levels);
                levels &= ~(uint256(1) << level);
                key = _fifos[gpuClass][designated][level].head;
                index = _groups[key].start;
                continue;
            }
            Group memory group = _groups[key];
            uint256 first = key & _ID_MASK;
            if (group.deadline <= block.timestamp) index = group.size; // expired: not listed
            for (; index < group.size && count < limit; ++index) {
                JobWord word = _core[first + index];
                if (word.state() == JobState.Open && word.level() == level) jobIds[count++] = first + index;
            }
            if (index < group.size) break;
            key = group.next;
            index = key == 0 ? 0 : _groups[key].start;
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
