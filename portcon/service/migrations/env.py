"""Alembic environment: runs the revisions on the connection :func:`upgrade` passes in."""

from __future__ import annotations

from alembic import context

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - only reached when alembic is run by hand
    raise RuntimeError("run migrations through portcon.service.migrations.upgrade(engine)")
context.configure(connection=connection, target_metadata=None)
with context.begin_transaction():
    context.run_migrations()
