"""JouleLedger demo: start a local chain, deploy, and move tokens the two ways a client can.

Run it with `make demo` (or `make demo CHAIN=ganache|embedded`). It starts its own chain,
prints what happens, stops everything it started and exits 0.
"""

from __future__ import annotations

import argparse
import sys
import time

from jouleledger import (
    ChainKind,
    JouleLedgerError,
    deploy,
    load_artifact,
    send,
    sign_permit,
    start_devnet,
)
from jouleledger.units import format_amount, parse_amount

TOKEN_NAME = "Compute Power Token"


def run(chain: ChainKind) -> None:
    started = time.monotonic()
    with start_devnet(chain) as net:
        where = net.rpc_url or "in this process"
        print(f"chain     {chain} at {where}, chain id {net.chain_id}")
        w3 = net.w3
        deployer, client, provider = net.accounts[:3]

        token = deploy(w3, deployer, load_artifact("ComputePowerToken"), parse_amount("1000000"))
        print(f"deployed  ComputePowerToken (CPT) at {token.address}")

        receipt = send(w3, deployer, token.functions.transfer(client.address, parse_amount("1000")))
        print(f"transfer  1000 CPT deployer -> client       gas {receipt['gasUsed']:>7,}")

        # The client signs a permit off chain; the provider submits it and pulls the tokens,
        # so the client never spends gas on an approval.
        amount = parse_amount("250.5")
        permit = sign_permit(
            client,
            token=token.address,
            token_name=TOKEN_NAME,
            chain_id=net.chain_id,
            spender=provider.address,
            value=amount,
            nonce=token.functions.nonces(client.address).call(),
            deadline=w3.eth.get_block("latest")["timestamp"] + 3600,
        )
        fn = token.functions
        r1 = send(
            w3,
            provider,
            fn.permit(
                client.address,
                provider.address,
                amount,
                permit.deadline,
                permit.v,
                permit.r,
                permit.s,
            ),
        )
        r2 = send(w3, provider, fn.transferFrom(client.address, provider.address, amount))
        print(f"permit    client signs, provider submits    gas {r1['gasUsed']:>7,}")
        print(f"pull      250.5 CPT client -> provider      gas {r2['gasUsed']:>7,}")

        print("\nbalances")
        for name, account in (("deployer", deployer), ("client", client), ("provider", provider)):
            balance = fn.balanceOf(account.address).call()
            print(f"  {name:<9} {format_amount(balance):>12} CPT")
        supply = fn.totalSupply().call()
        held = sum(fn.balanceOf(a.address).call() for a in (deployer, client, provider))
        check = "ok" if held == supply else "MISMATCH"
        print(f"  supply    {format_amount(supply):>12} CPT  (held by these accounts: {check})")
        if held != supply:
            raise SystemExit("total supply check failed: tokens were created or lost")
    print(f"\nstopped {chain}; done in {time.monotonic() - started:.1f} s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chain", choices=[k.value for k in ChainKind], default="anvil")
    args = parser.parse_args(argv)
    try:
        run(ChainKind(args.chain))
    except JouleLedgerError as exc:
        print(f"demo failed: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
