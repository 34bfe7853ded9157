"""Alembic's environment for gonogo's one database (``service.store.migrate`` runs it).

Online only, on the connection ``upgrade`` hands over in ``config.attributes["connection"]`` (it
already holds the migration lock, inside the transaction the migrations run in). SQLite gets
``render_as_batch``: ALTER TABLE there is a copy of the table, which batch mode writes for us.
"""

from __future__ import annotations

from alembic import context

from service.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - gonogo always passes its connection
    raise RuntimeError("gonogo's migrations run through service.store.migrate.upgrade(), not the alembic command")

context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
)
with context.begin_transaction():
    context.run_migrations()
