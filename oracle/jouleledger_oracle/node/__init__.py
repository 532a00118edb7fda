"""The oracle node: claims jobs, runs and meters them, signs usage records and settles them.

Two threads share the store (the source of truth), the chain client and the signer; the
HTTP API only reads the store and queues requests, so nothing blocks the event loop.

- `worker` (`Worker`, fed by `intake.Intake`): claims as many of the highest-priority jobs
  as the node has free GPUs, in one call (`Chain.claim_many`), or takes jobs queued through
  the API; finds each one's spec (registry or default); runs it on its own GPU's lane
  (`lanes`: one job per GPU at a time, metered on that GPU over its own window, since the
  energy counter is per device, not per process); saves the measurement; signs the record
  built from the *stored* measurement with `OracleStore.sign_once`.
- `settler` (`Settler`): settles signed jobs, alone or in batches, and runs the
  `withdrawals` of payments whose dispute window has passed (at most 256 jobs a call).
- `issues`: why a job is not moving, and the policy for settlements the market refuses.
- `stats`: what each GPU measured and earned.
- `coordinator` (`OracleNode`): wires them and owns the threads.

Run states (the store's `RunState`): ``claimed -> measured -> signed -> settled``. A restarted node
resumes from them:

- jobs the provider claimed on chain that the store never saw (a crash between the claim's
  receipt and ``mark_claimed``) are added as claimed;
- claimed jobs are run again (nothing of the first run was kept or signed);
- measured jobs are signed, from the stored measurement;
- signed jobs are settled; one the chain already settled (``MarketInvalidJobState``, state
  Settled, after a crash between the transaction and ``mark_settled``) is marked settled with
  the transaction found in its ``JobSettled`` event.

RPC failures are logged and retried with exponential backoff (tenacity); both threads keep
going. A job the chain will never accept (deadline passed, expired, refused record) is set
aside with its reason (shown by the API) until the node restarts; the store keeps its state.
"""

from ..settings import NodeConfig
from .coordinator import OracleNode
from .intake import RunRefused, UnknownChainJob
from .issues import JobIssue
from .stats import GpuTotals, NodeTotals

__all__ = [
    "GpuTotals",
    "JobIssue",
    "NodeConfig",
    "NodeTotals",
    "OracleNode",
    "RunRefused",
    "UnknownChainJob",
]
