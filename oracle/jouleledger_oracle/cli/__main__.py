"""``python -m jouleledger_oracle.cli``: the ``jl-oracle`` command."""

from . import main

main()
