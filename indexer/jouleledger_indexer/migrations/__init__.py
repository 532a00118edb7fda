"""Alembic migration scripts of the index schema (run by `Database.upgrade`)."""
