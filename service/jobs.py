"""Long-running jobs: a job store shared by every worker process, and the backends that run a
computation's chunks.

A *computation* (``designs.oc.OCPlan``, ``designs.oc.calibration.CalibrationPlan``)
offers ``prepare() -> computation`` (build decision tables), ``chunks``, ``run_chunk(chunk)`` and
``reduce([(chunk, value), ...]) -> dict``. Chunk values are sums of integer counts over whole RNG
blocks, so the result is the same whatever the backend, the number of workers or the order in
which chunks finish.

Backends:

* ``InProcessBackend``: this process, one chunk after another (the CLI, small requests);
* ``ProcessPoolBackend``: a ``ProcessPoolExecutor`` (spawned workers; the default for jobs);
* ``DaskBackend``: a Dask distributed cluster at ``GONOGO_DASK_SCHEDULER`` — the prepared
  computation is scattered once and chunks are submitted as tasks.

Jobs (``JobManager``, ``JobStore``): a job is recorded with its canonical request and that request's
SHA-256 in SQLite (``GONOGO_DATA_DIR/jobs.sqlite3``, WAL) before it starts, then runs on a thread of
the uvicorn worker that accepted it, so it outlives the HTTP request. Every worker reads every job:

* the running worker writes progress at chunk boundaries (at most every ``PROGRESS_SECONDS``) and
  stamps its jobs every ``HEARTBEAT_SECONDS``;
* cancelling sets ``cancel_requested`` in the store; the running worker reads it between chunks
  (at most every ``CANCEL_POLL_SECONDS``) and stops, cancelling the chunks not yet started;
* a queued or running job whose worker is gone (shut down, crashed, killed: no stamp for
  ``STALE_SECONDS``) becomes ``interrupted`` when a worker starts or reads it; its request is kept,
  to be resubmitted as it is (same request and seed, same numbers);
* a finished job is kept ``GONOGO_JOB_RETENTION_HOURS``; then its request and result are dropped and
  it answers 410 Gone for as long again, then 404.

The store must be on a local disk (SQLite's WAL needs shared memory): several workers of one host,
not several hosts.
"""
from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import socket
import sqlite3
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from designs.core.provenance import canonical_json
from service.problems import problem_body, problem_document

POLL_SECONDS = 0.02
# Share of a job's progress given to building the decision tables.
PREPARE_SHARE = 0.1


class Cancelled(Exception):
    """The job was cancelled."""


class Computation(Protocol):
    chunks: list

    def prepare(self) -> Computation: ...

    def run_chunk(self, chunk: Any) -> Any: ...

    def reduce(self, pairs: list[tuple[Any, Any]]) -> dict[str, Any]: ...


def prepare_computation(computation: Computation) -> Computation:
    """Module-level (picklable) entry point run by a worker."""
    return computation.prepare()


def run_computation_chunk(computation: Computation, chunk: Any) -> Any:
    return computation.run_chunk(chunk)


Progress = Callable[[float], None]
IsCancelled = Callable[[], bool]


def _never() -> bool:
    return False


def _nothing(fraction: float) -> None:
    return None


class Backend(Protocol):
    name: str

    def run(self, computation: Computation, progress: Progress = _nothing, cancelled: IsCancelled = _never) -> dict: ...

    def close(self) -> None: ...


class InProcessBackend:
    """Chunks one after another in this process."""

    name = "in-process"

    def run(self, computation: Computation, progress: Progress = _nothing, cancelled: IsCancelled = _never) -> dict:
        prepared = computation.prepare()
        progress(PREPARE_SHARE)
        pairs = []
        for i, chunk in enumerate(prepared.chunks, start=1):
            if cancelled():
                raise Cancelled()
            pairs.append((chunk, prepared.run_chunk(chunk)))
            progress(PREPARE_SHARE + (1 - PREPARE_SHARE) * i / len(prepared.chunks))
        return prepared.reduce(pairs)

    def close(self) -> None:
        return None


class _FuturesBackend:
    """Submit the preparation, then every chunk; collect as they finish, in any order."""

    name = "futures"

    def _submit(self, fn: Callable, *args: Any) -> Any:
        raise NotImplementedError

    def _share(self, obj: Any) -> Any:
        return obj

    def _cancel(self, futures: list) -> None:
        for f in futures:
            f.cancel()

    def _wait(self, future: Any, cancelled: IsCancelled) -> Any:
        while not future.done():
            if cancelled():
                self._cancel([future])
                raise Cancelled()
            time.sleep(POLL_SECONDS)
        return future.result()

    def run(self, computation: Computation, progress: Progress = _nothing, cancelled: IsCancelled = _never) -> dict:
        prepared = self._wait(self._submit(prepare_computation, computation), cancelled)
        progress(PREPARE_SHARE)
        shared = self._share(prepared)
        pending = {self._submit(run_computation_chunk, shared, chunk): i for i, chunk in enumerate(prepared.chunks)}
        values: dict[int, Any] = {}
        try:
            while pending:
                if cancelled():
                    raise Cancelled()
                finished = [f for f in pending if f.done()]
                if not finished:
                    time.sleep(POLL_SECONDS)
                    continue
                for f in finished:
                    values[pending.pop(f)] = f.result()
                progress(PREPARE_SHARE + (1 - PREPARE_SHARE) * len(values) / len(prepared.chunks))
        finally:
            if pending:
                self._cancel(list(pending))
        return prepared.reduce([(chunk, values[i]) for i, chunk in enumerate(prepared.chunks)])


class ProcessPoolBackend(_FuturesBackend):
    """A pool of spawned worker processes (started on first use)."""

    name = "process-pool"

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def _submit(self, fn: Callable, *args: Any) -> Any:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: the server process runs threads.
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))
            return self._pool.submit(fn, *args)

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                # shutdown(wait=False) leaves busy workers running (and orphaned after the server
                # exits); their chunks belong to jobs now marked interrupted, so end them.
                # (Python 3.14 has ProcessPoolExecutor.terminate_workers(); 3.12 needs _processes.)
                processes = list(getattr(self._pool, "_processes", {}).values())
                self._pool.shutdown(wait=False, cancel_futures=True)
                for process in processes:
                    if process.is_alive():
                        process.terminate()
                for process in processes:
                    process.join(timeout=5)
                self._pool = None


class DaskBackend(_FuturesBackend):
    """Chunks as tasks on a Dask distributed cluster (``GONOGO_DASK_SCHEDULER``, or a ``Client``)."""

    name = "dask"

    def __init__(self, scheduler: Any):
        self._scheduler = scheduler
        self._client = None
        self._owns_client = False
        self._lock = threading.Lock()

    @property
    def client(self):
        with self._lock:
            if self._client is None:
                from distributed import Client

                if isinstance(self._scheduler, Client):
                    self._client = self._scheduler
                else:
                    self._client = Client(self._scheduler, set_as_default=False)
                    self._owns_client = True
            return self._client

    def _submit(self, fn: Callable, *args: Any) -> Any:
        # pure=False: a resubmitted chunk (same arguments) is a new task, not a cached one.
        return self.client.submit(fn, *args, pure=False)

    def _share(self, obj: Any) -> Any:
        return self.client.scatter(obj, broadcast=False, hash=False)

    def _cancel(self, futures: list) -> None:
        self.client.cancel(futures)

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._owns_client:
                self._client.close()
            self._client, self._owns_client = None, False


# --------------------------------------------------------------------------------------------------
# Jobs


QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED, INTERRUPTED = (
    "queued", "running", "succeeded", "failed", "cancelled", "interrupted",
)
ACTIVE = (QUEUED, RUNNING)
FINISHED = (SUCCEEDED, FAILED, CANCELLED, INTERRUPTED)

DB_FILE = "jobs.sqlite3"
SCHEMA_VERSION = 1
# How long a write waits for another process's transaction (every transaction here is short).
BUSY_TIMEOUT_SECONDS = 10.0
# The worker running a job writes its progress and reads the cancel flag at most this often.
PROGRESS_SECONDS = 0.25
CANCEL_POLL_SECONDS = 0.2
# Every process that runs jobs stamps them this often; a queued or running job whose stamp is older
# than STALE_SECONDS belongs to a process that is gone (killed, crashed, its host restarted).
HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 15.0
PURGE_EVERY_SECONDS = 60.0
SHUT_DOWN = "the server shut down while the job ran; resubmit `request`: the same request and seed give the same numbers"

log = logging.getLogger("gonogo.jobs")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    backend          TEXT NOT NULL,
    request_json     TEXT,              -- canonical JSON of the validated request, NULL once purged
    request_sha256   TEXT NOT NULL,
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


def _now() -> str:
    return _iso(datetime.now(UTC))


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds")


def _json_default(obj: Any) -> Any:
    # numpy scalars and arrays in a computation's raw result (the HTTP path has plain JSON already).
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(f"{type(obj).__name__} is not JSON serialisable")


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def _interrupted(detail: str) -> dict[str, Any]:
    # 503: the service stopped before the job finished; the same request may be submitted again.
    return problem_body(503, "Interrupted", detail, type_="/problems/job-interrupted")


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

    def insert(self, *, job_id: str, kind: str, backend: str, request_json: str, owner: str) -> None:
        self._execute(
            "INSERT INTO jobs (id, kind, backend, request_json, request_sha256, state, owner, heartbeat_at, created_at)"
            " VALUES (?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
            (job_id, kind, backend, request_json, hashlib.sha256(request_json.encode("utf-8")).hexdigest(),
             owner, time.time(), _now()),
        )

    def row(self, job_id: str) -> sqlite3.Row | None:
        with self._connect() as conn:
            return conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()

    def active(self) -> list[sqlite3.Row]:
        with self._connect() as conn:
            return conn.execute(f"SELECT id, owner, heartbeat_at FROM jobs WHERE state IN {_ACTIVE_SQL}").fetchall()

    def mark_running(self, job_id: str) -> None:
        self._execute("UPDATE jobs SET state = 'running', started_at = ? WHERE id = ? AND state = 'queued'",
                      (_now(), job_id))

    def set_progress(self, job_id: str, fraction: float) -> None:
        self._execute("UPDATE jobs SET progress = max(progress, ?) WHERE id = ? AND state = 'running'",
                      (min(max(fraction, 0.0), 1.0), job_id))

    def cancel_requested(self, job_id: str) -> bool:
        with self._connect() as conn:
            row = conn.execute("SELECT cancel_requested FROM jobs WHERE id = ?", (job_id,)).fetchone()
        return bool(row and row[0])

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
            {"now": _now(), "result": result_json, "id": job_id},
        )

    def end(self, job_id: str, state: str, error: dict[str, Any] | None = None, *,
            owner: str | None = None, heartbeat_at: float | None = None) -> bool:
        """End a queued or running job as failed, cancelled or interrupted.

        With ``owner`` and ``heartbeat_at``, only if the job's owner has not stamped it since.
        """
        sql = (f"UPDATE jobs SET state = ?, error_json = ?, finished_at = ? WHERE id = ? AND state IN {_ACTIVE_SQL}")
        params: tuple = (state, None if error is None else _dumps(error), _now(), job_id)
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


@dataclass(frozen=True)
class Job:
    """One job as the store holds it (a snapshot: read it again for news)."""

    id: str
    kind: str
    state: str
    progress: float
    created_at: str
    started_at: str | None
    finished_at: str | None
    backend: str
    request_sha256: str
    request: Any
    result: dict[str, Any] | None
    error: dict[str, Any] | None
    cancel_requested: bool
    expires_at: str | None

    @property
    def expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= _now()

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": round(self.progress, 6),
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "expires_at": self.expires_at,
            "backend": self.backend,
            "cancel_requested": self.cancel_requested,
            "request_sha256": self.request_sha256,
            "request": self.request,
            "result": self.result,
            "error": self.error,
        }


@dataclass
class _LocalJob:
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None


# This process's incarnation: a pid is no proof (a restarted container's worker has the same pid).
_PROCESS_TOKEN = uuid.uuid4().hex[:12]
# The open managers of this process, by owner name.
_live_managers: weakref.WeakValueDictionary[str, JobManager] = weakref.WeakValueDictionary()


class JobManager:
    """Runs jobs on a backend and records them in a ``JobStore`` shared with the other workers.

    Any manager on the same store answers for any job: state, progress and result are read from
    the store; ``cancel`` sets the job's ``cancel_requested`` flag, which the manager running the job
    reads between chunks. A job whose manager's process is gone is marked ``interrupted`` when a
    manager opens the store (start-up) and whenever it is read; its request is kept for resubmission.
    """

    def __init__(self, backend: Backend, store: JobStore | None = None, *, retention_hours: float | None = None,
                 stale_seconds: float = STALE_SECONDS):
        if store is None or retention_hours is None:
            from service.settings import get_settings

            settings = get_settings()
            store = store if store is not None else JobStore(settings.data_dir)
            retention_hours = retention_hours if retention_hours is not None else settings.job_retention_hours
        self.backend = backend
        self.store = store
        self.retention = timedelta(hours=retention_hours)
        self.stale_seconds = stale_seconds
        self.owner = f"{_PROCESS_TOKEN}/{uuid.uuid4().hex[:8]}@{socket.gethostname()}:{os.getpid()}"
        self._local: dict[str, _LocalJob] = {}
        self._lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None
        self._closed = threading.Event()
        self._purged_at = time.monotonic()
        _live_managers[self.owner] = self
        self.interrupt_orphans()
        self.purge()

    # -- running ----------------------------------------------------------------------------------

    def submit(self, kind: str, computation: Computation, finish: Callable[[dict], dict] | None = None,
               request: Any = None) -> Job:
        """Record the job with its canonical ``request``, then run ``computation`` on a thread of its
        own; ``finish`` post-processes the result."""
        if self._closed.is_set():
            raise RuntimeError("the job manager is closed")
        job_id = uuid.uuid4().hex
        self.store.insert(job_id=job_id, kind=kind, backend=self.backend.name, request_json=canonical_json(request),
                          owner=self.owner)
        local = _LocalJob()
        local.thread = threading.Thread(target=self._run, args=(job_id, local, computation, finish),
                                        name=f"job-{job_id[:8]}", daemon=True)
        with self._lock:
            self._local[job_id] = local
            if self._heartbeat is None:
                self._heartbeat = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
                self._heartbeat.start()
        local.thread.start()
        return self.get(job_id)

    def _run(self, job_id: str, local: _LocalJob, computation: Computation,
             finish: Callable[[dict], dict] | None) -> None:
        store = self.store
        last_write = last_poll = -float("inf")

        def progress(fraction: float) -> None:
            nonlocal last_write
            if time.monotonic() - last_write >= PROGRESS_SECONDS:
                last_write = time.monotonic()
                try:
                    store.set_progress(job_id, fraction)
                except sqlite3.Error:  # progress is a courtesy; the result is what must be stored
                    log.warning("job %s: progress not recorded", job_id, exc_info=True)

        def cancelled() -> bool:
            nonlocal last_poll
            if not local.cancel.is_set() and time.monotonic() - last_poll >= CANCEL_POLL_SECONDS:
                last_poll = time.monotonic()
                try:
                    if store.cancel_requested(job_id):
                        local.cancel.set()
                except sqlite3.Error:
                    log.warning("job %s: cancel flag not read", job_id, exc_info=True)
            return local.cancel.is_set()

        try:
            store.mark_running(job_id)
            result = self.backend.run(computation, progress, cancelled)
            if finish is not None:
                result = finish(result)
            result_json = _dumps(result)
        except Cancelled:
            if self._closed.is_set():
                store.end(job_id, INTERRUPTED, _interrupted(SHUT_DOWN))
            else:
                store.end(job_id, CANCELLED)
        except Exception as exc:  # noqa: BLE001 - a job reports its failure instead of dying silently
            status, error = problem_document(exc)
            if status >= 500:
                log.error("job %s failed", job_id, exc_info=exc)
            store.end(job_id, FAILED, error)
        else:
            store.succeed(job_id, result_json)
        finally:
            # If a write above failed, the job is no longer stamped and is interrupted after STALE_SECONDS.
            with self._lock:
                self._local.pop(job_id, None)

    def _beat(self) -> None:
        """Stamp this manager's running jobs until none is left (or the manager closes)."""
        while not self._closed.wait(HEARTBEAT_SECONDS):
            with self._lock:
                job_ids = list(self._local)
                if not job_ids:
                    self._heartbeat = None
                    return
            try:
                self.store.heartbeat(job_ids)
            except sqlite3.Error:
                log.warning("job heartbeat not recorded", exc_info=True)

    # -- reading ----------------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        """The job as the store holds it, or None; a queued or running job of a process that is gone
        is marked interrupted first."""
        self._maybe_purge()
        row = self.store.row(job_id)
        if row is not None and row["state"] in ACTIVE and self._orphaned(row):
            self._interrupt(row)
            row = self.store.row(job_id)
        return None if row is None else self._job(row)

    def _job(self, row: sqlite3.Row) -> Job:
        finished = row["finished_at"]
        expires = None if finished is None else _iso(datetime.fromisoformat(finished) + self.retention)
        return Job(
            id=row["id"], kind=row["kind"], state=row["state"], progress=row["progress"],
            created_at=row["created_at"], started_at=row["started_at"], finished_at=finished,
            backend=row["backend"], request_sha256=row["request_sha256"],
            request=None if row["request_json"] is None else json.loads(row["request_json"]),
            result=None if row["result_json"] is None else json.loads(row["result_json"]),
            error=None if row["error_json"] is None else json.loads(row["error_json"]),
            cancel_requested=bool(row["cancel_requested"]), expires_at=expires,
        )

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        """The job once it has finished, or as it is after ``timeout`` seconds."""
        with self._lock:
            local = self._local.get(job_id)
        if local is not None and local.thread is not None:
            local.thread.join(timeout)
        else:
            deadline = None if timeout is None else time.monotonic() + timeout
            while (job := self.get(job_id)) is not None and job.state in ACTIVE:
                if deadline is not None and time.monotonic() >= deadline:
                    break
                time.sleep(CANCEL_POLL_SECONDS / 4)
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        return job

    # -- cancelling, interrupting, expiring -------------------------------------------------------

    def cancel(self, job_id: str) -> Job | None:
        """Ask a job to stop, whichever process runs it: it stops between chunks (chunks not started
        are cancelled)."""
        self.store.request_cancel(job_id)
        with self._lock:
            local = self._local.get(job_id)
        if local is not None:
            local.cancel.set()
        return self.get(job_id)

    def _orphaned(self, row: sqlite3.Row) -> bool:
        owner = row["owner"]
        if owner in _live_managers:
            return False
        if owner.startswith(_PROCESS_TOKEN + "/"):
            return True  # a manager of this process that has been closed
        return time.time() - row["heartbeat_at"] > self.stale_seconds

    def _interrupt(self, row: sqlite3.Row) -> None:
        detail = ("the worker process running this job stopped (restart, crash or shutdown) before it finished; "
                  "resubmit `request`: the same request and seed give the same numbers")
        if self.store.end(row["id"], INTERRUPTED, _interrupted(detail),
                          owner=row["owner"], heartbeat_at=row["heartbeat_at"]):
            log.warning("job %s interrupted: its worker %s is gone", row["id"], row["owner"])

    def interrupt_orphans(self) -> None:
        """Mark interrupted every queued or running job whose process is gone."""
        for row in self.store.active():
            if self._orphaned(row):
                self._interrupt(row)

    def purge(self) -> None:
        """Drop request and result of jobs finished more than the retention ago (they answer 410),
        and forget those finished more than twice the retention ago (they answer 404)."""
        now = datetime.now(UTC)
        self.store.purge(_iso(now - self.retention), _iso(now - 2 * self.retention))
        self._purged_at = time.monotonic()

    def _maybe_purge(self) -> None:
        if time.monotonic() - self._purged_at >= PURGE_EVERY_SECONDS:
            try:
                self.purge()
            except sqlite3.Error:
                log.warning("expired jobs not purged", exc_info=True)

    def close(self) -> None:
        """Stop: this manager's unfinished jobs are marked interrupted (their requests are kept)."""
        self._closed.set()
        _live_managers.pop(self.owner, None)
        with self._lock:
            local = dict(self._local)
        for job_id, job in local.items():
            try:
                self.store.end(job_id, INTERRUPTED, _interrupted(SHUT_DOWN))
            except sqlite3.Error:
                log.warning("job %s: not marked interrupted", job_id, exc_info=True)
            job.cancel.set()
        self.backend.close()


_manager: JobManager | None = None
_manager_lock = threading.Lock()


def backend_from_settings() -> Backend:
    """Dask when ``GONOGO_DASK_SCHEDULER`` is set, else a process pool of ``GONOGO_JOB_WORKERS``."""
    from service.settings import get_settings

    settings = get_settings()
    if settings.dask_scheduler:
        return DaskBackend(settings.dask_scheduler)
    return ProcessPoolBackend(settings.job_workers)


def get_job_manager() -> JobManager:
    """The process-wide job manager (created on first use, or at start-up by the jobs router)."""
    global _manager
    with _manager_lock:
        if _manager is None:
            _manager = JobManager(backend_from_settings())
        return _manager


def set_job_manager(manager: JobManager | None) -> JobManager | None:
    """Replace the process-wide manager (tests, a Dask client made elsewhere); returns the old one."""
    global _manager
    with _manager_lock:
        old, _manager = _manager, manager
        return old
