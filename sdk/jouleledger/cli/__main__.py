"""``python -m jouleledger.cli``: the same as the ``jl`` console script."""

from jouleledger.cli import main

main()
