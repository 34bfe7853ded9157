"""The database: its URL, engine and transactions, on SQLite (default) and PostgreSQL alike.

``GONOGO_DATABASE_URL`` names it (``postgresql+psycopg://user@host/db`` for several replicas);
unset, it is ``sqlite:///<GONOGO_DATA_DIR>/gonogo.sqlite3``: embedded, nothing to start. SQLite runs
with foreign keys on, WAL (readers never block the writer), full sync (a committed write survives a
crash) and a busy timeout; a write transaction begins IMMEDIATE, so two writers queue instead of one
failing at commit. On PostgreSQL every write first updates the single ``audit_head`` row, which
serialises writers the same way (``service.registry.audit``).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, exc
from sqlalchemy.engine import make_url

DB_FILE = "gonogo.sqlite3"
BUSY_TIMEOUT_MS = 10_000
POOL_SIZE, POOL_OVERFLOW = 10, 30


def default_url(data_dir: Path | str) -> str:
    return f"sqlite:///{Path(data_dir) / DB_FILE}"


def database_url(settings) -> str:
    """The database of ``settings``: ``database_url`` when set, else SQLite in ``data_dir``."""
    return settings.database_url or default_url(settings.data_dir)


def make_engine(url: str, **kwargs) -> Engine:
    """An engine for ``url`` with gonogo's connection settings (see the module docstring), whose
    pooled connections never cross a fork (``_guard_pid``)."""
    engine = _make_engine(url, **kwargs)
    _guard_pid(engine)
    return engine


def _guard_pid(engine: Engine) -> None:
    """A pooled connection opened by another process (the engine came to a child by fork) is dropped,
    never used: two processes talking over one socket or SQLite handle corrupt each other's
    transactions (SQLAlchemy, "Using Connection Pools with Multiprocessing or os.fork()")."""

    @event.listens_for(engine, "connect")
    def _remember_pid(_dbapi_connection, record) -> None:
        record.info["pid"] = os.getpid()

    @event.listens_for(engine, "checkout")
    def _check_pid(_dbapi_connection, record, proxy) -> None:
        if record.info.get("pid") != os.getpid():
            record.dbapi_connection = proxy.dbapi_connection = None  # not closed: it is the parent's
            raise exc.DisconnectionError(f"connection opened by process {record.info.get('pid')}, not this one")


def _make_engine(url: str, **kwargs) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000}, **kwargs)

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_connection, _record) -> None:
            dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself (below)
            cursor = dbapi_connection.cursor()
            for pragma in ("foreign_keys=ON", "journal_mode=WAL", "synchronous=FULL", f"busy_timeout={BUSY_TIMEOUT_MS}"):
                cursor.execute(f"PRAGMA {pragma}")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Connection) -> None:
            conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get("write") else "BEGIN")

        return engine
    # As many connections as the server has threads for blocking work (AnyIO's 40), so that a burst
    # of readers does not queue for a connection; PostgreSQL's default limit is 100.
    kwargs = {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW, **kwargs}
    return create_engine(url, pool_pre_ping=True, **kwargs)


@contextmanager
def writing(engine: Engine) -> Iterator[Connection]:
    """One write transaction: committed when the block ends, rolled back if it raises."""
    with engine.connect() as conn:
        conn.execution_options(write=True)
        with conn.begin():
            yield conn


@contextmanager
def reading(engine: Engine) -> Iterator[Connection]:
    """One read transaction that sees ONE snapshot of the database: SQLite's read transactions do;
    PostgreSQL's default READ COMMITTED takes a new snapshot per statement (a chain head and its
    events read in two statements could disagree under concurrent writes), so reads run REPEATABLE
    READ there (read-only: never a serialisation failure)."""
    with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            conn = conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        with conn.begin():
            yield conn


def create_schema(engine: Engine) -> None:
    """Bring the database to this gonogo's schema: the Alembic migrations, run under a lock so that
    processes starting at once queue (``service.store.migrate.upgrade``); a database written by a
    newer gonogo is refused untouched (``SchemaTooNew``)."""
    from service.store.migrate import upgrade

    upgrade(engine)
