"""Alembic's environment: run migrations on the connection ``store.schema`` hands in.

The store is never reached from the environment here (config/settings.py is the only code
that reads it): ``store.schema.upgrade`` passes an open connection through
``config.attributes["connection"]``, so ``python -m jobs migrate`` is the one way to run them.
"""
from __future__ import annotations

from alembic import context

from store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached by a bare `alembic` command
    raise SystemExit("error: run migrations with `python -m jobs migrate`, which connects to DATABASE_URL")

# render_as_batch: SQLite cannot ALTER most things in place; batch mode copies the table, so a
# revision written once runs on SQLite (the embedded default) and Postgres (production) alike.
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True,
                  compare_type=True)
with context.begin_transaction():
    context.run_migrations()
