"""Priority levels: how the market orders open jobs (the rule of `JobQueue.sol`, once).

A job's priority is its bid plus, when its GPU class was busy at posting, a boost from its
client's locked holdings, both in whole nano-CPT. The market queues jobs by level, four
per doubling of the priority (about 19% apart, like a price tick), then designated before
open to all, then first posted first: `priority_level` is that level, and
`claim_order_key` sorts jobs of one queue the way providers must claim them.
"""

from __future__ import annotations

NANO = 10**9
MAX_LEVEL = 223


def priority_level(priority_wei: int) -> int:
    """The level a priority of `priority_wei` is queued at (0 for less than a nano-CPT).

    Args:
        priority_wei: bid + boost in wei.
    """
    units = priority_wei // NANO
    if units <= 0:
        return 0
    e = units.bit_length() - 1
    m = (units >> (e - 2)) & 3 if e >= 2 else (units << (2 - e)) & 3
    return min(1 + 4 * e + m, MAX_LEVEL)


def claim_order_key(priority_wei: int, job_id: int) -> tuple[int, int]:
    """Sort key of open jobs of one queue in claim order (jobs never raised since posting:
    a raised job joins the tail of its new level).

    Args:
        priority_wei: the job's bid + boost in wei.
        job_id: the job's id (earlier posts first within a level).
    """
    return (-priority_level(priority_wei), job_id)
