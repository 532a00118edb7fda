"""`JouleLedger`: the SDK's client for one deployment of the protocol, acting as one account.

Every protocol operation is a typed method. Reads need no account; writes sign locally with
the account given at construction (keys never go to the node) through a `Sender`, so a
revert comes back as the contract's own error, decoded (`jouleledger.errors`).

One synchronous design serves dApps, the CLI and the oracle node: the `Sender` is
thread-safe (one nonce manager per account and chain), and the oracle runs its chain work
in a worker thread, so there is no separate AsyncWeb3 variant to keep in step.
"""

from __future__ import annotations

import threading
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
from .binding import sign_signer_binding
from .deployment import Deployment, load_deployment
from .errors import JouleLedgerError
from .gpu import gpu_class_id
from .permit import sign_permit
from .records import MarketDomain, UsageRecord
from .tx import Sender, TxResult
from .types import (
    ClassStatus,
    Holding,
    Job,
    JobId,
    JobState,
    MarketParameters,
    ProviderInfo,
    ProviderStats,
    Terms,
    Wei,
)

TOKEN_NAME = "Compute Power Token"
NANO = 10**9  # the market stores job amounts in whole nano-CPT
DEFAULT_DEADLINE = 24 * 3600
ZERO_ADDRESS = "0x" + "00" * 20
_BULK_WAVE = 500
_SPEND_LOCKS: dict[tuple[int, str], threading.RLock] = {}
_SPEND_LOCKS_GUARD = threading.Lock()


def _spend_lock(chain_id: int, owner: str) -> threading.RLock:
    """One lock per account and chain, shared by every client in this process, held from a
    permit's signature or an allowance top-up until the transaction that spends it is mined:
    otherwise two threads read the same permit nonce, or one `approve` overwrites the
    allowance another thread's transaction was about to spend."""
    with _SPEND_LOCKS_GUARD:
        return _SPEND_LOCKS.setdefault((chain_id, owner), threading.RLock())


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
        self._vault: Contract | None = None
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

    @property
    def vault(self) -> Contract:
        """The holdings vault the market takes boosts from (read from the market once)."""
        if self._vault is None:
            address = self.market.functions.VAULT().call()
            self._vault = self.w3.eth.contract(
                address=address, abi=load_artifact("HoldingsVault").abi
            )
        return self._vault

    def _send(self, call: Any) -> TxReceipt:
        return self.sender.send(call)

    def _spend_lock(self) -> threading.RLock:
        return _spend_lock(self.deployment.chain_id, self.address)

    def _send_spending(self, spender: str, amount: int, call: Any) -> TxReceipt:
        """Send `call`, which pulls `amount` from this account for `spender`, approving
        first if the allowance is short; safe from several threads of one account."""
        with self._spend_lock():
            self._ensure_allowance(spender, amount)
            return self._send(call)

    def _send_with_permit(self, spender: ChecksumAddress, value: int, make_call: Any) -> TxReceipt:
        """Send `make_call(deadline, v, r, s)` with a fresh permit for `value`."""
        with self._spend_lock():
            deadline, v, r, s = self._permit(spender, value)
            return self._send(make_call(deadline, v, r, s))

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
        call = self.staking.functions.stake(amount)
        return self._send_spending(self.deployment.staking, amount, call)

    def signer_proof(self, signer: LocalAccount, provider: str | None = None) -> bytes:
        """`signer`'s proof that it agrees to sign records for `provider` (default: this
        account), for the provider's current signer nonce."""
        who = Web3.to_checksum_address(provider) if provider else self.address
        return sign_signer_binding(
            signer,
            provider=who,
            staking=self.deployment.staking,
            chain_id=self.deployment.chain_id,
            nonce=self.provider(who).signer_nonce,
        )

    def register_provider(
        self,
        signer: LocalAccount | str,
        gpu_class: str | bytes,
        ask_price_per_gpu_second: int,
        endpoint: str,
        *,
        signer_proof: bytes | None = None,
    ) -> TxReceipt:
        """Register this account as a provider whose oracle node signs with `signer`.

        Args:
            signer: the oracle node's account (its key signs the binding proof here), or its
                address together with `signer_proof` made where the key lives
                (`jl-oracle signer-proof`).
            signer_proof: the proof, when `signer` is an address.

        Raises:
            ValueError: `signer` is an address and no `signer_proof` is given.
            ContractRevert: e.g. StakingInvalidSignerProof, StakingSignerInUse.
        """
        address, proof = self._signer_and_proof(signer, signer_proof, changing=True)
        call = self.staking.functions.registerProvider(
            address, proof, _class_id(gpu_class), ask_price_per_gpu_second, endpoint
        )
        return self._send(call)

    def update_provider(
        self,
        signer: LocalAccount | str,
        gpu_class: str | bytes,
        ask_price_per_gpu_second: int,
        endpoint: str,
        *,
        signer_proof: bytes | None = None,
    ) -> TxReceipt:
        """Change this provider's signer, class, ask or endpoint. A lower ask applies at
        once, a higher one after the staking contract's ASK_INCREASE_DELAY; a new signer
        needs its proof (as for `register_provider`)."""
        current = self.provider().signer
        changing = current is None or current.lower() != _address_of(signer).lower()
        address, proof = self._signer_and_proof(signer, signer_proof, changing=changing)
        call = self.staking.functions.updateProvider(
            address, proof, _class_id(gpu_class), ask_price_per_gpu_second, endpoint
        )
        return self._send(call)

    def _signer_and_proof(
        self, signer: LocalAccount | str, proof: bytes | None, *, changing: bool
    ) -> tuple[ChecksumAddress, bytes]:
        address = Web3.to_checksum_address(_address_of(signer))
        if proof is not None or not changing:
            return address, proof or b""
        if isinstance(signer, str):
            raise ValueError(
                f"binding the oracle signer {address} needs its proof: pass the signer's "
                "account, or signer_proof= made with its key (`jl-oracle signer-proof`)"
            )
        return address, self.signer_proof(signer)

    def request_unbond(self, amount: int) -> TxReceipt:
        return self._send(self.staking.functions.requestUnbond(amount))

    def withdraw_unbonded(self) -> Wei:
        receipt = self._send(self.staking.functions.withdrawUnbonded())
        return Wei(self._events(receipt, self.staking, "UnbondedWithdrawn")[0]["args"]["amount"])

    def provider(self, address: str | None = None) -> ProviderInfo:
        who = Web3.to_checksum_address(address) if address else self.address
        raw = self.staking.functions.providerInfo(who).call()
        (index, stake, locked, unbonding, ready_at, signer, gpu_class, ask, endpoint,
         pending_ask, pending_ask_at, signer_nonce) = raw  # fmt: skip
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
            pending_ask=Wei(pending_ask),
            pending_ask_at=pending_ask_at,
            signer_nonce=signer_nonce,
        )

    # --- jobs ---------------------------------------------------------------------------

    def queue(self, gpu_class: str | bytes, limit: int = 1000) -> list[tuple[JobId, Wei]]:
        """Open jobs of a class (open to every provider) in priority order, with their
        priorities (bid + boost)."""
        ids, priorities = self.market.functions.queue(_class_id(gpu_class), 0, limit).call()
        return [(JobId(i), Wei(p)) for i, p in zip(ids, priorities, strict=True)]

    def designated_queue(
        self, provider: str, gpu_class: str | bytes, limit: int = 1000
    ) -> list[tuple[JobId, Wei]]:
        """Open jobs of a class designated to `provider`, in priority order."""
        who = Web3.to_checksum_address(provider)
        call = self.market.functions.designatedQueue(who, _class_id(gpu_class), 0, limit)
        ids, priorities = call.call()
        return [(JobId(i), Wei(p)) for i, p in zip(ids, priorities, strict=True)]

    def class_status(self, gpu_class: str | bytes) -> ClassStatus:
        """How many jobs of the class are open to all, and whether it is busy (holdings
        boost the jobs posted now)."""
        class_id = _class_id(gpu_class)
        open_jobs, busy = self.market.functions.classStatus(class_id).call()
        threshold = int(self.market.functions.parameters().call()[9])
        return ClassStatus(class_id, int(open_jobs), bool(busy), threshold)

    def priority_level(self, priority: int) -> int:
        """The level a priority (bid + boost, wei) is queued at: four per doubling."""
        return int(self.market.functions.priorityLevel(priority).call())

    def job_count(self) -> int:
        return int(self.market.functions.jobCount().call())

    def post_job(self, request: JobRequest, *, use_permit: bool = True) -> JobId:
        """Post a job, escrowing `max_payment + bid`; returns its id.

        With `use_permit` the escrow is approved by an EIP-2612 signature in the same
        transaction (no standing allowance); otherwise the market is approved first. Posting
        needs no queue hint, so concurrent posts never invalidate each other; posts of one
        account from several threads are sent one at a time (use `post_jobs` for bulk).

        Raises:
            MisalignedAmount: an amount that is not a whole nano-CPT.
            ContractRevert: the market refused it (e.g. MarketInvalidDeadline); decoded.
        """
        args = self._request_args(request)
        market = self.deployment.market
        if use_permit:
            receipt = self._send_with_permit(
                market,
                request.escrow,
                lambda deadline, v, r, s: self.market.functions.postJobWithPermit(
                    args, deadline, v, r, s
                ),
            )
        else:
            call = self.market.functions.postJob(args)
            receipt = self._send_spending(market, request.escrow, call)
        return JobId(self._events(receipt, self.market, "JobPosted")[0]["args"]["jobId"])

    def post_jobs(self, requests: Sequence[JobRequest]) -> list[TxResult]:
        """Post many jobs fast: one approval, then pre-signed transactions sent in JSON-RPC
        batches (`Sender.send_many`). A job that fails is reported in its `TxResult`."""
        if not requests:
            return []
        now = self._now()
        calls = [
            {
                "to": self.deployment.market,
                "data": self.calldata("postJob", self._request_args(r, now)),
            }
            for r in requests
        ]
        results: list[TxResult] = []
        with self._spend_lock():
            self._ensure_allowance(self.deployment.market, sum(r.escrow for r in requests))
            # Waves: a node's mempool (anvil's automine above all) slows down with thousands
            # of pending transactions, so each wave is mined before the next is sent.
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
        """Raise an open job's bid (escrowing the difference); it moves up a priority level
        when the new bid + its boost reaches one."""
        job = self.job(job_id)
        if new_bid % NANO:
            raise MisalignedAmount(f"the bid must be a whole nano-CPT, got {new_bid} wei")
        call = self.market.functions.raiseBid(job_id, new_bid)
        return self._send_spending(self.deployment.market, max(new_bid - job.bid, 0), call)

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
        """Dispute a settled job within the window, posting the dispute bond of the terms
        the job was posted under."""
        bond = self.terms(self.job(job_id).terms_version).dispute_bond
        call = self.market.functions.openDispute(job_id)
        return self._send_spending(self.deployment.market, bond, call)

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
         refund_withdrawn, deadline, settled_at, fee_bps, boost, priority, level,
         terms_version) = raw  # fmt: skip
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
            boost=Wei(boost),
            priority=Wei(priority),
            level=level,
            terms_version=terms_version,
        )

    def terms(self, version: int | None = None) -> Terms:
        """The market terms of `version` (default: those new jobs get now)."""
        if version is None:
            version = int(self.market.functions.parameters().call()[8])
        raw, attestors = self.market.functions.terms(version).call()
        fee, bond, slash, penalty, share, threshold, _set_id = raw
        return Terms(
            version=version,
            fee_bps=fee,
            dispute_bond=Wei(bond),
            dispute_slash_bps=slash,
            expire_penalty_bps=penalty,
            treasury_share_bps=share,
            attestor_threshold=threshold,
            attestors=tuple(Web3.to_checksum_address(a) for a in attestors),
        )

    def parameters(self) -> MarketParameters:
        """The terms new jobs get and the market-wide settings, by name."""
        raw = self.market.functions.parameters().call()
        fn = self.market.functions
        return MarketParameters(
            terms=self.terms(int(raw[8])),
            treasury=Web3.to_checksum_address(raw[5]),
            busy_threshold=int(raw[9]),
            dispute_window=int(fn.DISPUTE_WINDOW().call()),
            arbiter_timeout=int(fn.ARBITER_TIMEOUT().call()),
            collateral_bps=int(fn.COLLATERAL_BPS().call()),
            collateral_cap=Wei(fn.COLLATERAL_CAP().call()),
        )

    # --- holdings -----------------------------------------------------------------------

    def lock_holdings(self, amount: int, *, use_permit: bool = True) -> TxReceipt:
        """Lock `amount` wei of CPT in the holdings vault: after its warm-up it boosts this
        account's jobs in busy periods (see docs/priority.md)."""
        vault = Web3.to_checksum_address(self.vault.address)
        if use_permit:
            return self._send_with_permit(
                vault,
                amount,
                lambda deadline, v, r, s: self.vault.functions.lockWithPermit(
                    amount, deadline, v, r, s
                ),
            )
        return self._send_spending(vault, amount, self.vault.functions.lock(amount))

    def unlock_holdings(self, amount: int) -> TxReceipt:
        """Take `amount` of locked CPT back (once no boosted job it backs is still due).

        Raises:
            HoldingsBacking: boosted jobs are still before their deadline (the message says
                until when).
        """
        return self._send(self.vault.functions.unlock(amount))

    def holding(self, address: str | None = None) -> Holding:
        """What `address` (default: this account) has locked and the priority it buys."""
        who = Web3.to_checksum_address(address) if address else self.address
        raw = self.vault.functions.holding(who).call()
        locked, warm, warming, warm_at, backed, boost, capacity, used, epoch_end = raw
        return Holding(
            address=who,
            locked=Wei(locked),
            warm=Wei(warm),
            warming=Wei(warming),
            warm_at=warm_at,
            backed_until=backed,
            boost_per_job=Wei(boost),
            capacity=capacity,
            used=used,
            epoch_ends_at=epoch_end,
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


def _class_id(gpu_class: str | bytes) -> bytes:
    if isinstance(gpu_class, bytes):
        if len(gpu_class) != 4:
            raise ValueError(f"a GPU class id is 4 bytes, got {len(gpu_class)}")
        return gpu_class
    return gpu_class_id(gpu_class)


def _address_of(signer: LocalAccount | str) -> str:
    return signer if isinstance(signer, str) else signer.address
