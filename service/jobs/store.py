"""The job store: every job of every worker process on this host, in one SQLite database (WAL).

A job is recorded with its request (canonical JSON) and the request's SHA-256 before it starts
(``GONOGO_DATA_DIR/jobs.sqlite3``). The store must be on a local disk (SQLite's WAL needs shared
memory): several workers of one host, not several hosts. A store written by a newer gonogo (a higher
``PRAGMA user_version``) is refused, untouched.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = (
    "queued", "running", "succeeded", "failed", "cancelled", "interrupted",
)
ACTIVE = (QUEUED, RUNNING)
FINISHED = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)

DB_FILE = "jobs.sqlite3"
SCHEMA_VERSION = 1
# How long a write waits for another process's transaction (every transaction here is short).
BUSY_TIMEOUT_SECONDS = 10.0
_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    backend          TEXT NOT NULL,
    request_json     TEXT,              -- canonical JSON of the request as sent, NULL once purged
    request_sha256   TEXT NOT NULL,     -- the result's provenance.input_sha256
    state            TEXT NOT NULL CHECK (state IN
                         ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'interrupted')),
    progress         REAL NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    owner            TEXT NOT NULL,     -- the JobManager (process incarnation) that runs the job
    heartbeat_at     REAL NOT NULL,     -- Unix time of the owner's last stamp
    created_at       TEXT NOT NULL,     -- ISO 8601 UTC, millisecond precision: sorts as text
    started_at       TEXT,
    finished_at      TEXT,
    result_json      TEXT,
    error_json       TEXT,              -- a problem detail
    purged           INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX IF NOT EXISTS jobs_by_state ON jobs (state, finished_at);
"""

_ACTIVE_SQL = "('queued', 'running')"
_FINISHED_SQL = "('succeeded', 'failed', 'cancelled', 'interrupted')"


def utc_now() -> str:
    return iso_utc(datetime.now(UTC))


def iso_utc(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays in a computation's raw result (the HTTP path has plain JSON already).
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def dump_json(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


class JobStore:
    """The jobs of every worker process in one SQLite database (WAL) under ``data_dir``.

    Each call opens its own connection and runs one short transaction, so any thread of any process
    on this host may use the store. Updates that end a job are conditional on the job still being
    queued or running: whichever of finish / cancel / interrupt comes first wins.
    """

    def __init__(self, data_dir: Path | str):
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / DB_FILE
        with self._connect() as conn:
            # Persistent: readers never block the writer nor the writer readers.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("BEGIN IMMEDIATE")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                conn.execute("ROLLBACK")
                raise RuntimeError(f"{self.path} was written by a newer gonogo (job store schema {version})")
            # Not executescript: it would commit the transaction opened above.
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
            conn.execute("COMMIT")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            yield conn
        finally:
            conn.close()

    def _execute(self, sql: str, params: tuple | dict = ()) -> int:
        with self._connect() as conn:
            return conn.execute(sql, params).rowcount

    def insert(self, *, job_id: str, kind: str, backend: str, request_json: str, owner: str,
               request_sha256: str | None = None) -> None:
        """Record a queued job; ``request_sha256`` defaults to the SHA-256 of ``request_json``."""
        if request_sha256 is None:
            request_sha256 = hashlib.sha256(request_json.encode("utf-8")).hexdigest()
        self._execute(
            "INSERT INTO jobs (id, kind, backend, request_json, request_sha256, state, owner, heartbeat_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
            (job_id, kind, backend, request_json, request_sha256, owner, time.time(), utc_now()),
        )

    def row(self, job_id: str) -> sqlite3.Row | None:
        with self._connect() as conn:
            return conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()

    def active(self) -> list[sqlite3.Row]:
        with self._connect() as conn:
            return conn.execute(f"SELECT id, owner, heartbeat_at FROM jobs WHERE state IN {_ACTIVE_SQL}").fetchall()

    def states(self, job_ids: list[str]) -> dict[str, str]:
        """The state of each of ``job_ids`` that the store holds."""
        marks = ",".join("?" * len(job_ids))
        with self._connect() as conn:
            return dict(conn.execute(f"SELECT id, state FROM jobs WHERE id IN ({marks})", job_ids).fetchall())

    def mark_running(self, job_id: str) -> bool:
        """Start a queued job; False if it is no longer queued (cancelled or interrupted meanwhile)."""
        return self._execute("UPDATE jobs SET state = 'running', started_at = ? WHERE id = ? AND state = 'queued'",
                             (utc_now(), job_id)) == 1

    def set_progress(self, job_id: str, fraction: float) -> None:
        self._execute("UPDATE jobs SET progress = max(progress, ?) WHERE id = ? AND state = 'running'",
                      (min(max(fraction, 0.0), 1.0), job_id))

    def cancel_requested(self, job_id: str) -> bool:
        with self._connect() as conn:
            row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row[0])

    def cancel_queued(self, job_id: str) -> bool:
        """Cancel a job that has not started (it never will); False if it is not queued."""
        return self._execute(
            "UPDATE jobs SET state = 'cancelled', cancel_requested = 1, finished_at = ? WHERE id = ? AND state = 'queued'",
            (utc_now(), job_id)) == 1

    def request_cancel(self, job_id: str) -> bool:
        return self._execute(f"UPDATE jobs SET cancel_requested = 1 WHERE id = ? AND state IN {_ACTIVE_SQL}",
                             (job_id,)) == 1

    def heartbeat(self, job_ids: list[str]) -> None:
        marks = ",".join("?" * len(job_ids))
        self._execute(f"UPDATE jobs SET heartbeat_at = ? WHERE id IN ({marks}) AND state IN {_ACTIVE_SQL}",
                      (time.time(), *job_ids))

    def succeed(self, job_id: str, result_json: str) -> None:
        """Store the result, unless a cancellation was asked for meanwhile (then it is cancelled)."""
        self._execute(
            "UPDATE jobs SET finished_at = :now,"
            " state = CASE WHEN cancel_requested THEN 'cancelled' ELSE 'succeeded' END,"
            " result_json = CASE WHEN cancel_requested THEN NULL ELSE :result END,"
            " progress = CASE WHEN cancel_requested THEN progress ELSE 1.0 END"
            f" WHERE id = :id AND state IN {_ACTIVE_SQL}",
            {"now": utc_now(), "result": result_json, "id": job_id},
        )

    def end(self, job_id: str, state: str, error: dict[str, Any] | None = None, *,
            owner: str | None = None, heartbeat_at: float | None = None) -> bool:
        """End a queued or running job as failed, cancelled or interrupted.

        With ``owner`` and ``heartbeat_at``, only if the job's owner has not stamped it since.
        """
        sql = (f"UPDATE jobs SET state = ?, error_json = ?, finished_at = ? WHERE id = ? AND state IN {_ACTIVE_SQL}")
        params: tuple = (state, None if error is None else dump_json(error), utc_now(), job_id)
        if owner is not None:
            sql += " AND owner = ? AND heartbeat_at = ?"
            params += (owner, heartbeat_at)
        return self._execute(sql, params) == 1

    def purge(self, expire_before: str, forget_before: str) -> None:
        """Drop the request and result of jobs finished before ``expire_before`` (a tombstone stays,
        so that they answer 410), and the tombstones of jobs finished before ``forget_before``."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                "UPDATE jobs SET request_json = NULL, result_json = NULL, error_json = NULL, purged = 1"
                f" WHERE state IN {_FINISHED_SQL} AND finished_at < ? AND purged = 0", (expire_before,))
            conn.execute(f"DELETE FROM jobs WHERE state IN {_FINISHED_SQL} AND finished_at < ?", (forget_before,))
            conn.execute("COMMIT")
