"""``python -m jouleledger_indexer``: index a deployment until interrupted (or once).

The node defaults to the one `jl` uses (``$JL_RPC``, else the devnet `jl devnet up` runs);
the deployment is the one `jl deploy` recorded for the node's chain in
``$JL_HOME/deployments.json``; the database defaults to ``$JL_HOME/index/`` (all as
`jouleledger.home` decides). Like the CLI, this entry point reads the environment; the
package below it does not.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence

from jouleledger.cli.session import default_rpc_url
from jouleledger.deployment import load_deployment
from jouleledger.errors import JouleLedgerError
from jouleledger.home import RPC_VAR, Paths
from jouleledger.transport import connect

from .db import Database, default_database_url
from .indexer import Indexer, IndexerConfig


def main(argv: Sequence[str] | None = None) -> int:
    """Run the indexer; the exit status is 0, or 1 with one line on stderr.

    Args:
        argv: the arguments (default: the command line).
    """
    parser = argparse.ArgumentParser(prog="python -m jouleledger_indexer", description=__doc__)
    parser.add_argument(
        "--rpc", help="JSON-RPC URL (default: $JL_RPC, else the devnet `jl devnet up` runs)"
    )
    parser.add_argument("--db", help="database URL (default: SQLite under $JL_HOME/index/)")
    parser.add_argument("--confirmations", type=int, default=None)
    parser.add_argument("--max-range", type=int, default=10_000, help="most blocks per query")
    parser.add_argument("--once", action="store_true", help="index up to the head, then exit")
    parser.add_argument("--poll", type=float, default=0.5, help="seconds between polls")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    paths = Paths.from_env()
    try:
        w3 = connect(args.rpc or os.environ.get(RPC_VAR) or default_rpc_url(paths))
        deployment = load_deployment(paths.deployments, int(w3.eth.chain_id))
        database = Database(args.db or default_database_url(paths.home, deployment))
        config = IndexerConfig(
            confirmations=args.confirmations,
            initial_range=min(500, args.max_range),
            max_range=args.max_range,
        )
        indexer = Indexer(w3, deployment, database, config)
        if args.once:
            result = indexer.run_once()
            print(f"indexed blocks {result.from_block}..{result.to_block}: {result.events} events")
            return 0
        stop = threading.Event()
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
        signal.signal(signal.SIGINT, lambda *_: stop.set())
        indexer.run_forever(stop, poll_interval=args.poll)
        return 0
    except JouleLedgerError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
