"""JouleLedger indexer: every event of a deployment into SQLite or PostgreSQL, reorg-safe.

Start here::

    from jouleledger_indexer import Database, Indexer, default_database_url

    db = Database(default_database_url(home, deployment))
    indexer = Indexer(w3, deployment, db)
    indexer.run_once()                 # or run_forever(stop_event) in a thread
    with db.session() as session:      # read with the models in jouleledger_indexer.models
        ...

It depends on the SDK (artifacts, transport) and SQLAlchemy only; docs/indexer.md says why
it is built the way it is.
"""

from .columns import Uint256, address_key
from .db import Database, default_database_url, parse_database_url
from .errors import ChainReplaced, DatabaseUrlError, IndexerError, ReorgTooDeep, WrongDeployment
from .indexer import Indexer, IndexerConfig, Status, SyncResult

__all__ = [
    "ChainReplaced",
    "Database",
    "DatabaseUrlError",
    "Indexer",
    "IndexerConfig",
    "IndexerError",
    "ReorgTooDeep",
    "Status",
    "SyncResult",
    "Uint256",
    "WrongDeployment",
    "address_key",
    "default_database_url",
    "parse_database_url",
]
