// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IJobMarket} from "../interfaces/IJobMarket.sol";

/// @title Priority queues of open jobs, one per GPU class
/// @notice A doubly linked list per class, ordered by bid (higher first), then by job id
/// (earlier first). Insertion is O(1): the caller names the job to insert after, computed
/// off chain by the SDK from {IJobMarket-queue}, and the contract only checks that the
/// neighbours bracket the new job.
abstract contract JobQueue is IJobMarket {
    struct Node {
        uint112 prev;
        uint112 next;
        bytes4 gpuClass; // non-zero exactly while the job is in a queue
    }

    mapping(bytes4 gpuClass => uint256 jobId) private _heads;
    mapping(uint256 jobId => Node) private _nodes;

    /// @dev The bid of an open job; the market keeps it in the job's hot word.
    function _bidOf(uint256 jobId) internal view virtual returns (uint256);

    /// @dev True when `a` goes before `b`: a higher bid, or the same bid and older.
    function _precedes(uint256 a, uint256 bidA, uint256 b, uint256 bidB) private pure returns (bool) {
        return bidA > bidB || (bidA == bidB && a < b);
    }

    function _enqueue(bytes4 gpuClass, uint256 jobId, uint256 bid, uint256 after_) internal {
        uint256 next;
        if (after_ == 0) {
            next = _heads[gpuClass];
        } else {
            Node storage prevNode = _nodes[after_];
            if (after_ == jobId || prevNode.gpuClass != gpuClass || !_precedes(after_, _bidOf(after_), jobId, bid)) {
                revert MarketInvalidQueueHint(jobId, after_);
            }
            next = prevNode.next;
        }
        if (next != 0 && !_precedes(jobId, bid, next, _bidOf(next))) revert MarketInvalidQueueHint(jobId, after_);

        // Job ids are sequential from 1 and cannot reach 2**112.
        _nodes[jobId] = Node({prev: uint112(after_), next: uint112(next), gpuClass: gpuClass});
        if (after_ == 0) _heads[gpuClass] = jobId;
        else _nodes[after_].next = uint112(jobId);
        if (next != 0) _nodes[next].prev = uint112(jobId);
    }

    function _dequeue(uint256 jobId) internal {
        Node memory node = _nodes[jobId];
        if (node.prev == 0) _heads[node.gpuClass] = node.next;
        else _nodes[node.prev].next = node.next;
        if (node.next != 0) _nodes[node.next].prev = node.prev;
        delete _nodes[jobId];
    }

    function _queueHead(bytes4 gpuClass) internal view returns (uint256) {
        return _heads[gpuClass];
    }

    function _queueNext(uint256 jobId) internal view returns (uint256) {
        return _nodes[jobId].next;
    }

    /// @inheritdoc IJobMarket
    function queue(bytes4 gpuClass, uint256 start, uint256 limit)
        external
        view
        returns (uint256[] memory jobIds, uint256[] memory bids)
    {
        uint256 cursor = start == 0 ? _heads[gpuClass] : _nodes[start].next;
        if (start != 0 && _nodes[start].gpuClass != gpuClass) cursor = 0;
        uint256 count = 0;
        for (uint256 id = cursor; id != 0 && count < limit; id = _nodes[id].next) {
            ++count;
        }
        jobIds = new uint256[](count);
        bids = new uint256[](count);
        for (uint256 i; i < count; ++i) {
            jobIds[i] = cursor;
            bids[i] = _bidOf(cursor) * 1e9; // stored in nano-CPT
            cursor = _nodes[cursor].next;
        }
    }
}
