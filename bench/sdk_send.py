"""Token transfers per second through the SDK's send paths, on a fresh local chain.

Run: ``.venv/bin/python bench/sdk_send.py [--chain anvil|ganache] [--sequential N] [--bulk N]``
-> prints JSON and writes bench/results/sdk_send.json (sdk_send_ganache.json for ganache).

Modes, each sending ERC-20 transfers from one account and waiting for every receipt:

- ``web3_transact``: ``fn.transact()`` + ``wait_for_transaction_receipt`` per transfer (the
  node signs; web3 fills gas, fees and nonce with a request each): the baseline.
- ``web3_local_sign``: ``build_transaction`` + local signing + ``send_raw_transaction`` +
  ``wait_for_transaction_receipt`` per transfer (what ``jouleledger.tx.send`` did before).
- ``sender_send``: ``Sender.send`` per transfer (one estimate, cached fees, local nonces).
- ``sender_send_4_threads``: the same from 4 threads sharing the account.
- ``send_many_batch_<k>``: ``Sender.send_many`` posting JSON-RPC batches of k transactions.

(web3.py's own ``w3.batch_requests()`` cannot be compared: it refuses
``eth_sendRawTransaction`` with ``MethodNotSupported``.)
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from eth_account.signers.local import LocalAccount
from web3 import Web3
from web3.contract import Contract

from jouleledger import load_artifact, start_devnet
from jouleledger.tx import Sender

RESULTS = Path(__file__).resolve().parent / "results"
SUPPLY = 10**27


def web3_transact(w3: Web3, account: LocalAccount, token: Contract, n: int) -> None:
    for i in range(n):
        tx_hash = token.functions.transfer(_to(i), 1).transact({"from": account.address})
        w3.eth.wait_for_transaction_receipt(tx_hash)


def web3_local_sign(w3: Web3, account: LocalAccount, token: Contract, n: int) -> None:
    for i in range(n):
        tx = token.functions.transfer(_to(i), 1).build_transaction(
            {
                "from": account.address,
                "nonce": w3.eth.get_transaction_count(account.address, "pending"),
                "chainId": w3.eth.chain_id,
            }
        )
        tx_hash = w3.eth.send_raw_transaction(account.sign_transaction(tx).raw_transaction)
        w3.eth.wait_for_transaction_receipt(tx_hash)


def sender_send(w3: Web3, account: LocalAccount, token: Contract, n: int) -> None:
    sender = Sender(w3, account)
    for i in range(n):
        sender.send(token.functions.transfer(_to(i), 1))


def sender_send_threads(w3: Web3, account: LocalAccount, token: Contract, n: int) -> None:
    sender = Sender(w3, account)

    def work(part: int) -> None:
        for i in range(part, n, 4):
            sender.send(token.functions.transfer(_to(i), 1))

    threads = [threading.Thread(target=work, args=(p,)) for p in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def send_many(batch_size: int) -> Callable[[Web3, LocalAccount, Contract, int], None]:
    def run(w3: Web3, account: LocalAccount, token: Contract, n: int) -> None:
        results = Sender(w3, account).send_many(
            (token.functions.transfer(_to(i), 1) for i in range(n)),
            batch_size=batch_size,
            batched=True,
        )
        failed = [r.error for r in results if not r.ok]
        if failed:
            raise SystemExit(f"{len(failed)} transfers failed, first: {failed[0]}")

    return run


def _to(i: int) -> str:
    return Web3.to_checksum_address(f"0x{i % 1000 + 1:040x}")


def measure(chain: str, sequential: int, bulk: int, batch_sizes: list[int]) -> dict[str, Any]:
    modes: list[tuple[str, Callable[[Web3, LocalAccount, Contract, int], None], int]] = [
        ("web3_transact", web3_transact, sequential),
        ("web3_local_sign", web3_local_sign, sequential),
        ("sender_send", sender_send, sequential),
        ("sender_send_4_threads", sender_send_threads, sequential),
        *[(f"send_many_batch_{k}", send_many(k), bulk) for k in batch_sizes],
    ]
    rates: dict[str, dict[str, float]] = {}
    client = ""
    for name, run, n in modes:
        # A fresh chain per mode: anvil gets slower as its chain grows, which would
        # penalise whichever mode runs last.
        with start_devnet(chain) as net:
            w3, account = net.w3, net.accounts[0]
            client = w3.client_version
            token = Sender(w3, account).deploy(load_artifact("ComputePowerToken"), SUPPLY)
            blocks_before = w3.eth.block_number
            started = time.perf_counter()
            run(w3, account, token, n)
            seconds = time.perf_counter() - started
            rates[name] = {
                "transfers": n,
                "seconds": round(seconds, 3),
                "tx_per_s": round(n / seconds, 1),
                "blocks": w3.eth.block_number - blocks_before,
            }
        rate = rates[name]["tx_per_s"]
        print(f"{name:<24} {n:>6} transfers {rate:>9.1f} tx/s", file=sys.stderr)
    return {
        "chain": chain,
        "client": client,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2),
        "modes": rates,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", choices=["anvil", "ganache"], default="anvil")
    parser.add_argument("--sequential", type=int, default=300, help="transfers per one-by-one mode")
    parser.add_argument("--bulk", type=int, default=2000, help="transfers per send_many mode")
    parser.add_argument("--batch-sizes", default="100,250,500")
    args = parser.parse_args(argv)
    sizes = [int(k) for k in args.batch_sizes.split(",")]
    result = measure(args.chain, args.sequential, args.bulk, sizes)
    RESULTS.mkdir(exist_ok=True)
    name = "sdk_send.json" if args.chain == "anvil" else f"sdk_send_{args.chain}.json"
    (RESULTS / name).write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
