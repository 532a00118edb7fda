"""`jl`, the JouleLedger command line (``pip install 'jouleledger[cli]'``).

Commands (``jl COMMAND --help`` for each)::

    jl devnet up|status|down        a local chain with the protocol, in the background
    jl deploy                       deploy to --rpc with --account and record it
    jl account new|import|list|address   encrypted keystores
    jl balance [ADDRESS]            CPT and ether balance
    jl faucet ADDRESS AMOUNT        mint CPT on a devnet
    jl stake|unstake AMOUNT         provider stake
    jl withdraw                     unbonded stake, job payments and refunds
    jl provider register|update|show
    jl job post|bid|show|list|cancel|dispute|expire

Global options: ``--rpc URL``, ``--account NAME|dev:N``, ``--json``, ``--yes``, ``--debug``.

Exit codes (`ExitCode`):

    0    success
    1    declined at a prompt, or an unexpected error (rerun with --debug)
    2    bad usage or input: unknown option, malformed amount or address, no --account
    3    refused by the chain or a contract: decoded revert, rejected or failed
         transaction, too little CPT or ether, faucet on a non-devnet chain
    4    node unreachable or not answering
    5    not found: no deployment for the chain, unknown job, keystore or devnet,
         chain program not installed
    6    wrong keystore password
    130  interrupted

This package is the only part of `jouleledger` that imports typer and rich, and the only
part that reads the environment (`jouleledger.cli.config`, with the paths of
`jouleledger.home`).
"""

from .app import app, main
from .errors import ExitCode

__all__ = ["ExitCode", "app", "main"]
