"""`JouleLedger`: the SDK's client for one deployment of the protocol, acting as one account.

Every protocol operation is a typed method. Reads need no account; writes sign locally with
the account given at construction (keys never go to the node) through a `Sender`, so a
revert comes back as the contract's own error, decoded (`jouleledger.errors`).

One synchronous design serves dApps, the CLI and the oracle node: the `Sender` is
thread-safe (one nonce manager per account and chain), and the oracle runs its chain work
in a worker thread, so there is no separate AsyncWeb3 variant to keep in step.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path
from typing import Any, cast

from eth_abi.abi import encode as abi_encode
from eth_account.signers.local import LocalAccount
from eth_typing import ABIFunction, ChecksumAddress
from eth_utils.abi import function_abi_to_4byte_selector, get_abi_input_types
from web3 import Web3
from web3.contract import Contract
from web3.logs import DISCARD
from web3.types import EventData, TxReceipt

from . import rpc
from .artifacts import load_artifact
from .deployment import Deployment, load_deployment
from .errors import ContractRevert, JouleLedgerError, TransactionFailed
from .gpu import gpu_class_id
from .permit import sign_permit
from .records import MarketDomain, UsageRecord
from .tx import Sender, TxResult
from .types import Job, JobId, JobState, ProviderInfo, ProviderStats, Wei

TOKEN_NAME = "Compute Power Token"
NANO = 10**9  # the market stores job amounts in whole nano-CPT
DEFAULT_DEADLINE = 24 * 3600
ZERO_ADDRESS = "0x" + "00" * 20
_BULK_WAVE = 500
_HINT_RETRIES = 8  # concurrent posters to one queue can each move it once


class NoAccount(JouleLedgerError, ValueError):
    """A write was asked of a client built without an account."""


class UnknownJob(JouleLedgerError, LookupError):
    """No job with that id exists on this market."""


class MisalignedAmount(JouleLedgerError, ValueError):
    """A job amount or price that is not a whole nano-CPT (1e9 wei)."""


@dataclass(frozen=True)
class JobRequest:
    """What a client posts. Amounts in wei, each a whole nano-CPT (9 decimals of CPT).

    Attributes:
        gpu_class: a class name ("nvidia-h100") or its 4-byte id.
        price_per_gpu_second: the most it pays per GPU-second.
        max_payment: cap on the usage payment (escrowed).
        bid: priority bid (escrowed, paid to whoever runs the job).
        deadline: unix time by which the job must be settled (default: a day from now).
        spec_hash: keccak256 of the job spec the provider will run.
        provider: a designated provider, or None for any eligible one.
    """

    gpu_class: str | bytes
    price_per_gpu_second: int
    max_payment: int
    bid: int = 0
    deadline: int | None = None
    spec_hash: bytes = b"\0" * 32
    provider: str | None = None

    @property
    def class_id(self) -> bytes:
        return _class_id(self.gpu_class)

    @property
    def escrow(self) -> int:
        return self.max_payment + self.bid


class JouleLedger:
    """A client of one JouleLedger deployment.

    Args:
        w3: a connected `Web3` (any EVM JSON-RPC endpoint, or the embedded chain).
        deployment: the addresses to talk to (see `jouleledger.deployment`).
        account: the local account that signs writes; None for a read-only client.
        sender: a ready `Sender` (advanced: shared nonce managers, fee settings).
    """

    def __init__(
        self,
        w3: Web3,
        deployment: Deployment,
        account: LocalAccount | None = None,
        *,
        sender: Sender | None = None,
    ) -> None:
        self.w3 = w3
        self.deployment = deployment
        self.account = account
        self.token: Contract = w3.eth.contract(
            address=deployment.token, abi=load_artifact("ComputePowerToken").abi
        )
        self.staking: Contract = w3.eth.contract(
            address=deployment.staking, abi=load_artifact("ProviderStaking").abi
        )
        self.market: Contract = w3.eth.contract(
            address=deployment.market, abi=load_artifact("JobMarket").abi
        )
        self.domain = MarketDomain(deployment.chain_id, deployment.market)
        if sender is None and account is not None:
            sender = Sender(w3, account, chain_id=deployment.chain_id)
        self._sender = sender

    @classmethod
    def connect(
        cls,
        rpc_url: str,
        *,
        deployments: Path | None = None,
        deployment: Deployment | None = None,
        account: LocalAccount | None = None,
        timeout: float = 10.0,
    ) -> JouleLedger:
        """Connect to `rpc_url` and find the deployment for the chain it serves.

        Args:
            deployments: the deployments JSON file to look the chain id up in.
            deployment: explicit addresses instead (its chain id must match the node's).

        Raises:
            NodeUnreachable: nothing answers at `rpc_url`.
            WrongChain: `deployment` is for another chain than the node serves.
            DeploymentNotFound: the file has no deployment for the node's chain.
        """
        if deployment is not None:
            w3 = rpc.connect(rpc_url, chain_id=deployment.chain_id, timeout=timeout)
            return cls(w3, deployment, account)
        if deployments is None:
            raise ValueError("pass deployments=<file> or deployment=<addresses>")
        w3 = rpc.connect(rpc_url, timeout=timeout)
        return cls(w3, load_deployment(deployments, int(w3.eth.chain_id)), account)

    def as_account(self, account: LocalAccount) -> JouleLedger:
        """The same deployment and connection, signing as `account`."""
        return JouleLedger(self.w3, self.deployment, account)

    # --- plumbing -----------------------------------------------------------------------

    @property
    def sender(self) -> Sender:
        if self._sender is None:
            raise NoAccount("this client is read-only: build it with account=... to send")
        return self._sender

    @property
    def address(self) -> ChecksumAddress:
        return self.sender.address

    def _send(self, call: Any) -> TxReceipt:
        return self.sender.send(call)

    def _now(self) -> int:
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def _events(self, receipt: TxReceipt, contract: Contract, name: str) -> list[EventData]:
        event = getattr(contract.events, name)()
        return [e for e in event.process_receipt(receipt, errors=DISCARD)]

    # --- token --------------------------------------------------------------------------

    def balance(self, address: str | None = None) -> Wei:
        """CPT balance of `address` (default: this client's account)."""
        who = Web3.to_checksum_address(address) if address else self.address
        return Wei(self.token.functions.balanceOf(who).call())

    def allowance(self, owner: str, spender: str) -> Wei:
        return Wei(self.token.functions.allowance(owner, spender).call())

    def transfer(self, to: str, amount: int) -> TxReceipt:
        return self._send(self.token.functions.transfer(Web3.to_checksum_address(to), amount))

    def approve(self, spender: str, amount: int) -> TxReceipt:
        return self._send(self.token.functions.approve(Web3.to_checksum_address(spender), amount))

    def mint(self, to: str, amount: int) -> TxReceipt:
        """Devnet faucet: needs the token's minter role."""
        return self._send(self.token.functions.mint(Web3.to_checksum_address(to), amount))

    def _ensure_allowance(self, spender: str, amount: int) -> None:
        if amount and self.allowance(self.address, spender) < amount:
            self.approve(spender, amount)

    def _permit(self, spender: ChecksumAddress, value: int) -> tuple[int, int, bytes, bytes]:
        assert self.account is not None
        deadline = self._now() + 3600
        permit = sign_permit(
            self.account,
            token=self.deployment.token,
            token_name=TOKEN_NAME,
            chain_id=self.deployment.chain_id,
            spender=spender,
            value=value,
            nonce=self.token.functions.nonces(self.address).call(),
            deadline=deadline,
        )
        return deadline, permit.v, permit.r, permit.s

    # --- staking ------------------------------------------------------------------------

    def stake(self, amount: int) -> TxReceipt:
        """Stake `amount` wei of CPT (approves the staking contract as needed)."""
        self._ensure_allowance(self.deployment.staking, amount)
        return self._send(self.staking.functions.stake(amount))

    def register_provider(
        self, signer: str, gpu_class: str | bytes, ask_price_per_gpu_second: int, endpoint: str
    ) -> TxReceipt:
        """Register this account as a provider whose oracle node signs with `signer`."""
        return self._send(
            self.staking.functions.registerProvider(
                Web3.to_checksum_address(signer),
                _class_id(gpu_class),
                ask_price_per_gpu_second,
                endpoint,
            )
        )

    def update_provider(
        self, signer: str, gpu_class: str | bytes, ask_price_per_gpu_second: int, endpoint: str
    ) -> TxReceipt:
        return self._send(
            self.staking.functions.updateProvider(
                Web3.to_checksum_address(signer),
                _class_id(gpu_class),
                ask_price_per_gpu_second,
                endpoint,
            )
        )

    def request_unbond(self, amount: int) -> TxReceipt:
        return self._send(self.staking.functions.requestUnbond(amount))

    def withdraw_unbonded(self) -> Wei:
        receipt = self._send(self.staking.functions.withdrawUnbonded())
        return Wei(self._events(receipt, self.staking, "UnbondedWithdrawn")[0]["args"]["amount"])

    def provider(self, address: str | None = None) -> ProviderInfo:
        who = Web3.to_checksum_address(address) if address else self.address
        raw = self.staking.functions.providerInfo(who).call()
        index, stake, locked, unbonding, ready_at, signer, gpu_class, ask, endpoint = raw
        return ProviderInfo(
            address=who,
            index=index,
            stake=Wei(stake),
            locked=Wei(locked),
            unbonding=Wei(unbonding),
            unbonding_ready_at=ready_at,
            signer=None if signer == ZERO_ADDRESS else signer,
            gpu_class=bytes(gpu_class),
            ask_price_per_gpu_second=Wei(ask),
            endpoint=endpoint,
        )

    # --- jobs ---------------------------------------------------------------------------

    def queue(self, gpu_class: str | bytes, limit: int = 1000) -> list[tuple[JobId, Wei]]:
        """Open jobs of a class in priority order, with their bids."""
        ids, bids = self.market.functions.queue(_class_id(gpu_class), 0, limit).call()
        return [(JobId(i), Wei(b)) for i, b in zip(ids, bids, strict=True)]

    def queue_hint(self, gpu_class: str | bytes, bid: int, job_id: int | None = None) -> int:
        """The open job after which a job with `bid` belongs (0: at the head).

        Args:
            job_id: the job being placed (default: the next id), which ties break on.
        """
        new_id = job_id if job_id is not None else self.job_count() + 1
        return _hint_in([q for q in self.queue(gpu_class) if q[0] != new_id], new_id, bid)

    def job_count(self) -> int:
        return int(self.market.functions.jobCount().call())

    def post_job(self, request: JobRequest, *, use_permit: bool = True) -> JobId:
        """Post a job, escrowing `max_payment + bid`; returns its id.

        With `use_permit` the escrow is approved by an EIP-2612 signature in the same
        transaction (no standing allowance); otherwise the market is approved first.

        Raises:
            MisalignedAmount: an amount that is not a whole nano-CPT.
            ContractRevert: the market refused it (e.g. MarketInvalidDeadline); decoded.
        """
        args = self._request_args(request)
        for attempt in range(_HINT_RETRIES):
            hint = self.queue_hint(request.class_id, request.bid)
            try:
                if use_permit:
                    deadline, v, r, s = self._permit(self.deployment.market, request.escrow)
                    call = self.market.functions.postJobWithPermit(args, hint, deadline, v, r, s)
                else:
                    self._ensure_allowance(self.deployment.market, request.escrow)
                    call = self.market.functions.postJob(args, hint)
                receipt = self._send(call)
            except (ContractRevert, TransactionFailed) as exc:
                if not _stale_hint(exc) or attempt == _HINT_RETRIES - 1:
                    raise
                continue  # someone posted in between: recompute the hint
            return JobId(self._events(receipt, self.market, "JobPosted")[0]["args"]["jobId"])
        raise AssertionError("unreachable")

    def post_jobs(self, requests: Sequence[JobRequest]) -> list[TxResult]:
        """Post many jobs fast: one approval, then pre-signed transactions sent in JSON-RPC
        batches (`Sender.send_many`). Queue hints are computed for the whole sequence, so
        the jobs land in order as long as nobody else posts to the same queue meanwhile; a
        job whose hint went stale is reported in its `TxResult` (MarketInvalidQueueHint).
        """
        if not requests:
            return []
        self._ensure_allowance(self.deployment.market, sum(r.escrow for r in requests))
        queues: dict[bytes, list[tuple[JobId, Wei]]] = {}
        next_id = self.job_count() + 1
        now = self._now()
        calls = []
        for offset, request in enumerate(requests):
            job_id = JobId(next_id + offset)
            if request.class_id not in queues:
                queues[request.class_id] = self.queue(request.class_id)
            queue = queues[request.class_id]
            hint = _hint_in(queue, job_id, request.bid)
            position = next((i for i, (qid, _) in enumerate(queue) if qid == hint), -1) + 1
            queue.insert(position, (job_id, Wei(request.bid)))
            data = self.calldata("postJob", self._request_args(request, now), hint)
            calls.append({"to": self.deployment.market, "data": data})
        # Waves: a node's mempool (anvil's automine above all) slows down with thousands of
        # pending transactions, so each wave is mined before the next is sent.
        results: list[TxResult] = []
        for start in range(0, len(calls), _BULK_WAVE):
            wave = self.sender.send_many(calls[start : start + _BULK_WAVE])
            results += [replace(r, index=r.index + start) for r in wave]
        return results

    def calldata(self, function: str, *args: Any) -> str:
        """ABI-encoded call of market `function`: fast, for the bulk paths (web3's contract
        functions re-resolve the ABI on every call, about 8 ms each)."""
        selector, types = _market_function(function)
        return "0x" + (selector + abi_encode(types, args)).hex()

    def _request_args(self, request: JobRequest, now: int | None = None) -> tuple[Any, ...]:
        for name in ("price_per_gpu_second", "max_payment", "bid"):
            value = getattr(request, name)
            if value < 0 or value % NANO:
                raise MisalignedAmount(
                    f"{name} must be a whole nano-CPT (at most 9 decimals of CPT), got {value} wei"
                )
        deadline = (
            request.deadline if request.deadline is not None else self._now() + DEFAULT_DEADLINE
        )
        provider = Web3.to_checksum_address(request.provider) if request.provider else ZERO_ADDRESS
        return (
            request.spec_hash,
            request.class_id,
            request.price_per_gpu_second,
            request.max_payment,
            request.bid,
            deadline,
            provider,
        )

    def raise_bid(self, job_id: int, new_bid: int) -> TxReceipt:
        """Raise an open job's bid (escrowing the difference) and move it up the queue."""
        job = self.job(job_id)
        if new_bid % NANO:
            raise MisalignedAmount(f"the bid must be a whole nano-CPT, got {new_bid} wei")
        self._ensure_allowance(self.deployment.market, max(new_bid - job.bid, 0))
        for attempt in range(_HINT_RETRIES):
            hint = self.queue_hint(job.gpu_class, new_bid, job_id)
            try:
                return self._send(self.market.functions.raiseBid(job_id, new_bid, hint))
            except (ContractRevert, TransactionFailed) as exc:
                if not _stale_hint(exc) or attempt == _HINT_RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def cancel_job(self, job_id: int) -> TxReceipt:
        return self._send(self.market.functions.cancelJob(job_id))

    def claim_next(self) -> JobId:
        """Claim the highest-priority job this provider can take."""
        receipt = self._send(self.market.functions.claimNext())
        return JobId(self._events(receipt, self.market, "JobClaimed")[0]["args"]["jobId"])

    def claim_job(self, job_id: int) -> TxReceipt:
        return self._send(self.market.functions.claimJob(job_id))

    def settle(
        self, record: UsageRecord, signature: bytes, attestor_signatures: Sequence[bytes] = ()
    ) -> TxReceipt:
        """Settle one job from its usage record and the oracle's signature."""
        call = self.market.functions.settle(record.as_tuple(), signature, list(attestor_signatures))
        return self._send(call)

    def settle_batch(
        self,
        records: Sequence[UsageRecord],
        signature: bytes,
        attestor_signatures: Sequence[bytes] = (),
    ) -> TxReceipt:
        """Settle jobs of one provider with one signature over the list."""
        if not records:
            raise ValueError("a batch needs at least one record")
        provider = records[0].provider
        if any(r.provider != provider for r in records):
            raise ValueError("every record of a batch must name the same provider")
        call = self.market.functions.settleBatch(
            provider, [r.as_batch_tuple() for r in records], signature, list(attestor_signatures)
        )
        return self._send(call)

    def expire_job(self, job_id: int) -> TxReceipt:
        return self._send(self.market.functions.expireJob(job_id))

    def withdraw(self, job_ids: Iterable[int] = ()) -> Wei:
        """Pull what this account is owed: refunds and payments of `job_ids`, plus credit."""
        receipt = self._send(self.market.functions.withdraw(list(job_ids)))
        return Wei(self._events(receipt, self.market, "Withdrawn")[0]["args"]["amount"])

    def credit(self, address: str | None = None) -> Wei:
        who = Web3.to_checksum_address(address) if address else self.address
        return Wei(self.market.functions.credit(who).call())

    # --- disputes -----------------------------------------------------------------------

    def open_dispute(self, job_id: int) -> TxReceipt:
        """Dispute a settled job within the window, posting the market's dispute bond."""
        bond = int(self.market.functions.parameters().call()[1])
        self._ensure_allowance(self.deployment.market, bond)
        return self._send(self.market.functions.openDispute(job_id))

    def resolve_dispute(self, job_id: int, client_wins: bool) -> TxReceipt:
        """The arbiter's decision (needs ARBITER_ROLE)."""
        return self._send(self.market.functions.resolveDispute(job_id, client_wins))

    def finalize_dispute(self, job_id: int) -> TxReceipt:
        """Apply the default (the record stands) once the arbiter timed out."""
        return self._send(self.market.functions.finalizeDispute(job_id))

    # --- queries ------------------------------------------------------------------------

    def job(self, job_id: int) -> Job:
        """The job `job_id` now.

        Raises:
            UnknownJob: no such job on this market.
        """
        raw = self.market.functions.job(job_id).call()
        state = JobState(raw[0])
        if state is JobState.NONE:
            count = self.job_count()
            known = f"it has jobs 1 to {count}" if count else "it has no jobs yet"
            raise UnknownJob(
                f"job {job_id} does not exist on market {self.deployment.market} ({known})"
            )
        (_, client, provider, gpu_class, price, max_payment, bid, payment, refund,
         refund_withdrawn, deadline, settled_at, fee_bps) = raw  # fmt: skip
        return Job(
            id=JobId(job_id),
            state=state,
            client=client,
            provider=None if provider == ZERO_ADDRESS else provider,
            gpu_class=bytes(gpu_class),
            price_per_gpu_second=Wei(price),
            max_payment=Wei(max_payment),
            bid=Wei(bid),
            payment=Wei(payment),
            refund=Wei(refund),
            refund_withdrawn=refund_withdrawn,
            deadline=deadline,
            settled_at=settled_at,
            fee_bps=fee_bps,
        )

    def events(
        self,
        name: str,
        *,
        from_block: int | None = None,
        to_block: int | str = "latest",
        **filters: Any,
    ) -> list[EventData]:
        """Decoded market (or staking) events `name` in a block range, oldest first.

        Args:
            filters: indexed arguments to match, e.g. ``jobId=7``.
        """
        contract = self.market if hasattr(self.market.events, name) else self.staking
        if not hasattr(contract.events, name):
            raise ValueError(f"no event named {name!r} on the market or staking contract")
        event = getattr(contract.events, name)
        start = self.deployment.block if from_block is None else from_block
        logs = event.get_logs(from_block=start, to_block=to_block, argument_filters=filters or None)
        return sorted(logs, key=lambda e: (e["blockNumber"], e["logIndex"]))

    def watch(
        self, name: str, *, from_block: int | None = None, poll_interval: float = 1.0
    ) -> Iterator[EventData]:
        """Yield events `name` as they are mined (polling; works on every node)."""
        next_block = self.w3.eth.block_number + 1 if from_block is None else from_block
        while True:
            head = self.w3.eth.block_number
            if head >= next_block:
                yield from self.events(name, from_block=next_block, to_block=head)
                next_block = head + 1
            else:
                time.sleep(poll_interval)

    def provider_stats(self, address: str, *, from_block: int | None = None) -> ProviderStats:
        """Jobs settled, earnings, energy and tokens per joule of a provider, from events."""
        who = Web3.to_checksum_address(address)
        claimed = {
            e["args"]["jobId"]
            for e in self.events("JobClaimed", from_block=from_block, provider=who)
        }
        settled = [
            e
            for e in self.events("JobSettled", from_block=from_block)
            if e["args"]["jobId"] in claimed
        ]
        return ProviderStats(
            address=who,
            jobs_settled=len(settled),
            earned=Wei(sum(e["args"]["payment"] for e in settled)),
            energy_mj=sum(e["args"]["energyMj"] for e in settled),
            ai_tokens=sum(e["args"]["aiTokens"] for e in settled),
        )


@cache
def _market_function(name: str) -> tuple[bytes, tuple[str, ...]]:
    entries = [
        e
        for e in load_artifact("JobMarket").abi
        if e.get("type") == "function" and e["name"] == name
    ]
    if len(entries) != 1:
        raise ValueError(f"the market has {len(entries)} functions named {name!r}")
    entry = cast(ABIFunction, entries[0])
    return function_abi_to_4byte_selector(entry), tuple(get_abi_input_types(entry))


def _stale_hint(exc: ContractRevert | TransactionFailed) -> bool:
    """The market refused a queue hint, before sending (estimate) or once mined."""
    revert = exc if isinstance(exc, ContractRevert) else exc.revert
    return revert is not None and revert.name == "MarketInvalidQueueHint"


def _class_id(gpu_class: str | bytes) -> bytes:
    if isinstance(gpu_class, bytes):
        if len(gpu_class) != 4:
            raise ValueError(f"a GPU class id is 4 bytes, got {len(gpu_class)}")
        return gpu_class
    return gpu_class_id(gpu_class)


def _hint_in(queue: Sequence[tuple[int, int]], job_id: int, bid: int) -> int:
    """The last job of `queue` (priority order) that goes before (`job_id`, `bid`)."""
    after = 0
    for other, other_bid in queue:
        if other_bid > bid or (other_bid == bid and other < job_id):
            after = other
        else:
            break
    return after
