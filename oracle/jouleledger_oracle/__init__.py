"""JouleLedger provider oracle node: meters GPU work, signs usage records, settles them."""

__version__ = "0.1.0"
