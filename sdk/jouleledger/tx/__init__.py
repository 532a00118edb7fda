"""Signing and sending transactions with local accounts (keys never leave this process).

`Sender` is bound to one connection and one account. It estimates gas (with a margin),
quotes fees (EIP-1559 where the node has a base fee, legacy ``gasPrice`` otherwise), signs
locally, sends, awaits the receipt and turns every failure into a typed exception:

- a revert while estimating gas raises the decoded `ContractRevert` subclass before anything
  is sent (so no nonce is used);
- a node that refuses the transaction raises `InsufficientFunds` / `TransactionRejected`;
- a transaction mined but reverted raises `TransactionFailed`, with the reason recovered by
  replaying the call at its block;
- transport failures are retried with a bounded backoff, and a send that may have reached the
  node is only repeated (with the same signed bytes) after checking that the node does not
  know its hash; what retrying does not cure raises `NodeUnreachable` / `RpcTimeout` /
  `RpcUnavailable`.

`Sender.send_many` is the bulk path: it signs N transactions with consecutive nonces, posts
them as JSON-RPC batches, and collects the receipts with batched
``eth_getTransactionReceipt``, nudging a devnet with ``evm_mine`` when receipts stop
arriving. It reports each call's outcome in a `TxResult` instead of raising.

`send` and `deploy` are the one-call helpers for scripts.

One job per module:

- `encode`: call -> transaction fields; `FunctionEncoder` / `encode_function` /
  `encode_call`, the SDK's one fast ABI encoder.
- `fees`: `FeeQuote` and `FeeQuoter` (EIP-1559 or legacy, cached).
- `gas`: `GasEstimator` (estimate, margin, one estimate per bulk call shape).
- `nodemsg`: what a node's refusal message means (`Refusal`).
- `nonces`: `NonceManager` / `Reservation`.
- `signing`: `TxSigner`, fast local signing of plain transactions (`SignedTx`).
- `link`: the node requests of a sender (reads with retries, raw sends, batched lookups).
- `failures`: typed exceptions for refusals, reverts and timeouts.
- `retrying`: the tenacity pieces the retry loops share.
- `submit`: signing and sending one transaction until the node has it.
- `receipts`: the one receipt poll loop (`poll_until_done`) and `ReceiptWatcher`.
- `bulk`: `BulkSender`, batches with gap filling.
- `results`: `TxResult`.
- `sender`: `Sender`, composing the parts; `send` and `deploy`.
"""

from .encode import Buildable, Call, FunctionEncoder, encode_call, encode_function
from .fees import FeeMode, FeeQuote
from .nonces import NonceManager, Reservation
from .results import TxResult
from .sender import DEFAULT_BATCH_SIZE, DEFAULT_RECEIPT_TIMEOUT, Sender, deploy, send

__all__ = [
    "DEFAULT_BATCH_SIZE",
    "DEFAULT_RECEIPT_TIMEOUT",
    "Buildable",
    "Call",
    "FeeMode",
    "FeeQuote",
    "FunctionEncoder",
    "NonceManager",
    "Reservation",
    "Sender",
    "TxResult",
    "deploy",
    "encode_call",
    "encode_function",
    "send",
]
