"""The job store: every job of every worker process and replica, in the ``jobs`` table of gonogo's
database (``service.store``: SQLite by default, PostgreSQL for several replicas).

A job is recorded with its request (canonical JSON) and the request's SHA-256 before it starts.
Every call is one short transaction on a pooled connection, so any thread of any process sharing
the database may use the store; on PostgreSQL that includes the processes of other hosts. The
schema is the database's (Alembic migrations, ``service.store.migrate``): a database written by a
newer gonogo is refused, untouched (``SchemaTooNew``).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, case, delete, insert, select, update

from service.store.engine import make_engine, reading, writing
from service.store.migrate import SchemaTooNew, upgrade
from service.store.tables import jobs

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = (
    "queued", "running", "succeeded", "failed", "cancelled", "interrupted",
)
ACTIVE = (QUEUED, RUNNING)
FINISHED = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)

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


_active = jobs.c.state.in_(ACTIVE)
_finished = jobs.c.state.in_(FINISHED)
_cancel_asked = jobs.c.cancel_requested != 0


class JobStore:
    """The jobs of every worker process in the ``jobs`` table of one database.

    Built from an ``Engine`` (shared, e.g. the app's) or a URL (an engine of its own, disposed of by
    ``close``); the database is migrated first unless ``migrate=False``. Updates that end a job are
    conditional on the job still being queued or running: whichever of finish / cancel / interrupt
    comes first wins, whichever process or replica makes it.
    """

    def __init__(self, database: Engine | str, *, migrate: bool = True):
        self._owns_engine = not isinstance(database, Engine)
        self.engine: Engine = make_engine(database) if self._owns_engine else database
        if migrate:
            try:
                upgrade(self.engine)
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        """Close the pooled connections of an engine the store made (a shared one is its owner's)."""
        if self._owns_engine:
            self.engine.dispose()

    def _execute(self, statement) -> int:
        with writing(self.engine) as conn:
            return conn.execute(statement).rowcount

    def insert(self, *, job_id: str, kind: str, backend: str, request_json: str, owner: str,
               request_sha256: str | None = None) -> None:
        """Record a queued job; ``request_sha256`` defaults to the SHA-256 of ``request_json``."""
        if request_sha256 is None:
            request_sha256 = hashlib.sha256(request_json.encode("utf-8")).hexdigest()
        self._execute(insert(jobs).values(
            id=job_id, kind=kind, backend=backend, request_json=request_json, request_sha256=request_sha256,
            state=QUEUED, owner=owner, heartbeat_at=time.time(), created_at=utc_now()))

    def row(self, job_id: str) -> Mapping[str, Any] | None:
        with reading(self.engine) as conn:
            return conn.execute(select(jobs).where(jobs.c.id == job_id)).mappings().first()

    def active(self) -> list[Mapping[str, Any]]:
        with reading(self.engine) as conn:
            return list(conn.execute(select(jobs.c.id, jobs.c.owner, jobs.c.heartbeat_at).where(_active)).mappings())

    def states(self, job_ids: list[str]) -> dict[str, str]:
        """The state of each of ``job_ids`` that the store holds."""
        with reading(self.engine) as conn:
            return dict(conn.execute(select(jobs.c.id, jobs.c.state).where(jobs.c.id.in_(job_ids))).all())

    def mark_running(self, job_id: str) -> bool:
        """Start a queued job; False if it is no longer queued (cancelled or interrupted meanwhile)."""
        return self._execute(update(jobs).where(jobs.c.id == job_id, jobs.c.state == QUEUED)
                             .values(state=RUNNING, started_at=utc_now())) == 1

    def set_progress(self, job_id: str, fraction: float) -> None:
        """Raise the job's progress to ``fraction`` (clamped to [0, 1]; progress never goes back)."""
        fraction = min(max(fraction, 0.0), 1.0)
        self._execute(update(jobs).where(jobs.c.id == job_id, jobs.c.state == RUNNING)
                      .values(progress=case((jobs.c.progress > fraction, jobs.c.progress), else_=fraction)))

    def cancel_requested(self, job_id: str) -> bool:
        with reading(self.engine) as conn:
            flag = conn.execute(select(jobs.c.cancel_requested).where(jobs.c.id == job_id)).scalar()
        return bool(flag)

    def cancel_queued(self, job_id: str) -> bool:
        """Cancel a job that has not started (it never will); False if it is not queued."""
        return self._execute(update(jobs).where(jobs.c.id == job_id, jobs.c.state == QUEUED)
                             .values(state=CANCELLED, cancel_requested=1, finished_at=utc_now())) == 1

    def request_cancel(self, job_id: str) -> bool:
        return self._execute(update(jobs).where(jobs.c.id == job_id, _active).values(cancel_requested=1)) == 1

    def heartbeat(self, job_ids: list[str]) -> None:
        self._execute(update(jobs).where(jobs.c.id.in_(job_ids), _active).values(heartbeat_at=time.time()))

    def succeed(self, job_id: str, result_json: str) -> None:
        """Store the result, unless a cancellation was asked for meanwhile (then it is cancelled)."""
        self._execute(update(jobs).where(jobs.c.id == job_id, _active).values(
            finished_at=utc_now(),
            state=case((_cancel_asked, CANCELLED), else_=SUCCEEDED),
            result_json=case((_cancel_asked, None), else_=result_json),
            progress=case((_cancel_asked, jobs.c.progress), else_=1.0),
        ))

    def end(self, job_id: str, state: str, error: dict[str, Any] | None = None, *,
            owner: str | None = None, heartbeat_at: float | None = None) -> bool:
        """End a queued or running job as failed, cancelled or interrupted.

        With ``owner`` and ``heartbeat_at``, only if the job's owner has not stamped it since.
        """
        statement = update(jobs).where(jobs.c.id == job_id, _active).values(
            state=state, error_json=None if error is None else dump_json(error), finished_at=utc_now())
        if owner is not None:
            statement = statement.where(jobs.c.owner == owner, jobs.c.heartbeat_at == heartbeat_at)
        return self._execute(statement) == 1

    def purge(self, expire_before: str, forget_before: str) -> None:
        """Drop the request and result of jobs finished before ``expire_before`` (a tombstone stays,
        so that they answer 410), and the tombstones of jobs finished before ``forget_before``."""
        with writing(self.engine) as conn:
            conn.execute(update(jobs).where(_finished, jobs.c.finished_at < expire_before, jobs.c.purged == 0)
                         .values(request_json=None, result_json=None, error_json=None, purged=1))
            conn.execute(delete(jobs).where(_finished, jobs.c.finished_at < forget_before))


__all__ = [
    "ACTIVE", "CANCELLED", "FAILED", "FINISHED", "INTERRUPTED", "QUEUED", "RUNNING", "SUCCEEDED",
    "JobStore", "SchemaTooNew", "dump_json", "iso_utc", "utc_now",
]
