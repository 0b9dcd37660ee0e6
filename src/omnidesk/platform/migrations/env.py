"""Alembic environment: runs on a connection handed in by omnidesk.platform.migrate."""

from __future__ import annotations

from alembic import context

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `omnidesk migrate`, which passes the connection")

context.configure(
    connection=connection,
    # Only autogenerate compares with the models: its caller hands in the complete metadata
    # (omnidesk.models, above the domains), so the platform imports no domain's tables.
    target_metadata=config.attributes.get("target_metadata"),
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters tables by copying
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
