"""Alembic's entry point: migrate on the connection `Database.upgrade` passes in."""

from __future__ import annotations

from alembic import context
from sqlalchemy import engine_from_config, pool

from jouleledger_indexer.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    """Run the migrations on the given connection, or on ``sqlalchemy.url`` (CLI use)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = engine_from_config(
        config.get_section(config.config_ini_section, {}), poolclass=pool.NullPool
    )
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run()
