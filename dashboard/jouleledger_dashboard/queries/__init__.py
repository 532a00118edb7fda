"""Read queries over the indexer's tables, one module per page; each returns API models.

The indexer (`jouleledger_indexer.models`) owns the schema; this package only reads it.
Amounts stored as `Uint256` are summed in Python, because SQLite holds them as text.
"""
