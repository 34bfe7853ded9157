"""Bring gonogo's database to the schema of this gonogo: the Alembic migrations in
``service/store/migrations`` (shipped inside the package; no alembic.ini needed).

``upgrade`` is called at every start of the service (``service.app``'s lifespan) and by
``gonogo db upgrade``. Several processes may start at once (uvicorn workers, replicas): each runs the
migrations inside one write transaction that first takes a lock — a transaction-scoped advisory lock
on PostgreSQL, ``BEGIN IMMEDIATE`` on SQLite — so the second waits, then finds the database current
and does nothing. A database stamped with a revision this gonogo does not know (written by a newer
gonogo) is refused before anything is written (``SchemaTooNew``): migrating it down, or writing it
with code that does not know its tables, could lose or change what users stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from service.store.engine import make_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# pg_advisory_xact_lock key of gonogo's migrations (any constant; "gonogo" in ASCII).
ADVISORY_LOCK_KEY = 0x676F6E6F676F
# What each revision after the first adds: ("column", table, column) or ("table", table). An
# unversioned database that lacks exactly what the revisions after r add holds r's tables.
ADDED_BY = {
    "0002": {("column", "data_cuts", "files")},
    "0003": {("table", "design_summaries")},
}


class SchemaTooNew(RuntimeError):
    """The database carries a schema revision this gonogo does not know: a newer gonogo wrote it."""


def alembic_config() -> Config:
    """Alembic's configuration pointing inside the package (no ini file)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    """The revision this gonogo's schema is at."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current(engine_or_url: Engine | str) -> tuple[str, ...]:
    """The revisions the database is stamped with (empty: never migrated)."""
    with _engine(engine_or_url) as engine, engine.connect() as conn:
        return tuple(MigrationContext.configure(conn).get_current_heads())


def upgrade(engine_or_url: Engine | str) -> str:
    """Migrate the database to this gonogo's head revision (under the lock; see the module
    docstring) and return it. ``SchemaTooNew``, nothing written, for a database of a newer gonogo."""
    config = alembic_config()
    script = ScriptDirectory.from_config(config)
    target = script.get_current_head()
    with _engine(engine_or_url) as engine, engine.connect() as conn:
        conn.execution_options(write=True)  # SQLite: the transaction begins IMMEDIATE (engine.make_engine)
        try:
            _lock(conn)
            context = MigrationContext.configure(conn)
            heads = context.get_current_heads()
            _refuse_unknown(script, heads, engine)
            config.attributes["connection"] = conn
            if not heads and (adopted := _adoptable(context, engine, script)) is not None:
                command.stamp(config, adopted)  # its tables are that revision's: migrate from there
                heads = (adopted,)
            if tuple(heads) != (target,):
                command.upgrade(config, "head")
            if conn.in_transaction():
                conn.commit()
        except BaseException:
            if conn.in_transaction():
                conn.rollback()
            raise
    return target


def _lock(conn: Connection) -> None:
    """Begin the migration transaction holding the lock that makes concurrent upgrades queue."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
    else:
        conn.begin()  # BEGIN IMMEDIATE: the database's write lock until commit


def _adoptable(context: MigrationContext, engine: Engine, script: ScriptDirectory) -> str | None:
    """The revision whose tables an unversioned database holds, when ``metadata.create_all`` made them
    (gonogo before the migrations, or a gonogo of an earlier revision): the newest revision whose
    later revisions add exactly what the database lacks (``ADDED_BY``); None for an empty database.
    It is stamped, not created again. ``SchemaTooNew`` for one holding other tables of gonogo's names."""
    from alembic.autogenerate import compare_metadata

    from service.store.tables import metadata

    present = set(inspect(context.connection).get_table_names()) & set(metadata.tables)
    if not present:
        return None
    differences = compare_metadata(context, metadata)
    lacking = {_addition(d) for d in differences}
    later: set[tuple[str, ...] | None] = set()
    for revision in script.walk_revisions():  # newest first
        if lacking == later:
            return revision.revision
        later |= ADDED_BY.get(revision.revision, set())
    where = engine.url.render_as_string(hide_password=True)
    raise SchemaTooNew(
        f"the database {where} has gonogo's tables ({', '.join(sorted(present))}) but no schema revision, and they "
        f"differ from this gonogo's ({len(differences)} differences, e.g. {differences[0]!r}); nothing was changed")


def _addition(difference: Any) -> tuple[str, ...] | None:
    """A difference of ``compare_metadata`` as an ``ADDED_BY`` entry (None: not something a later
    revision adds)."""
    if isinstance(difference, tuple) and difference[0] == "add_column":
        return ("column", difference[2], difference[3].name)
    if isinstance(difference, tuple) and difference[0] == "add_table":
        return ("table", difference[1].name)
    return None


def _refuse_unknown(script: ScriptDirectory, heads, engine: Engine) -> None:
    known = {rev.revision for rev in script.walk_revisions()}
    unknown = [h for h in heads if h not in known]
    if unknown:
        where = engine.url.render_as_string(hide_password=True)
        raise SchemaTooNew(
            f"the database {where} was written by a newer gonogo (schema revision {', '.join(unknown)}, unknown to "
            f"this gonogo, whose latest is {script.get_current_head()}); run the newer gonogo, or restore a backup "
            "made before it was upgraded; nothing was changed")


class _engine:
    """``engine_or_url`` as an engine; one made from a URL here is disposed of afterwards."""

    def __init__(self, engine_or_url: Engine | str):
        self._owned = not isinstance(engine_or_url, Engine)
        self.engine = make_engine(engine_or_url) if self._owned else engine_or_url

    def __enter__(self) -> Engine:
        return self.engine

    def __exit__(self, *exc) -> None:
        if self._owned:
            self.engine.dispose()
