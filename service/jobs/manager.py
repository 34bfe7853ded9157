"""The job manager: runs jobs on a backend, on threads of this process, and records them in the store.

A job runs on a thread of the uvicorn worker that accepted it, so it outlives the HTTP request. At
most ``GONOGO_JOB_WORKERS`` jobs run at once in a worker; the others wait ``queued``, in submission
order, at most ``GONOGO_MAX_QUEUED_JOBS`` of them (``service.jobs.queue``: beyond that a submission is
refused, 503 with ``Retry-After``). Every worker reads every job:

* the running worker writes progress at chunk boundaries (at most every ``PROGRESS_SECONDS``) and
  stamps its jobs every ``HEARTBEAT_SECONDS``;
* cancelling a queued job ends it in the store at once (it never runs; its worker drops it from its
  queue when it next stamps its jobs); cancelling a running one sets ``cancel_requested``, which the
  running worker reads between chunks (at most every ``CANCEL_POLL_SECONDS``) and stops, cancelling
  its chunks in flight;
* a queued or running job whose worker is gone (shut down, crashed, killed: no stamp for
  ``STALE_SECONDS``) becomes ``interrupted`` when a worker starts or reads it; its request is kept,
  to be resubmitted as it is (same request and seed, same numbers);
* a finished job is kept ``GONOGO_JOB_RETENTION_HOURS``; then its request and result are dropped and
  it answers 410 Gone for as long again, then 404.

A failed job's ``error`` is ``service.problems.problem_document`` of what it raised: the document the
same error gets when answered at once.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import SQLAlchemyError

from designs.core.provenance import canonical_json
from service.jobs.backends import Backend, Cancelled, Computation, backend_from_settings
from service.jobs.queue import JobQueue
from service.jobs.store import ACTIVE, CANCELLED, FAILED, INTERRUPTED, JobStore, dump_json, iso_utc, utc_now
from service.problems import problem_body, problem_document
from service.settings import Settings
from service.store.engine import database_url

# The worker running a job writes its progress and reads the cancel flag at most this often.
PROGRESS_SECONDS = 0.25
CANCEL_POLL_SECONDS = 0.2
# Every process that runs jobs stamps them this often; a queued or running job whose stamp is older
# than STALE_SECONDS belongs to a process that is gone (killed, crashed, its host restarted).
HEARTBEAT_SECONDS = 1.0
STALE_SECONDS = 15.0
PURGE_EVERY_SECONDS = 60.0
# close() waits this long, in all, for its job threads (cancelled: they stop at a chunk boundary).
CLOSE_JOIN_SECONDS = 5.0
SHUT_DOWN = "the server shut down while the job ran; resubmit `request`: the same request and seed give the same numbers"
SHUT_DOWN_QUEUED = ("the server shut down before the job started; resubmit `request`: the same request and seed give "
                    "the same numbers")
# A manager built without limits (tests, tools) runs as many jobs as the default GONOGO_JOB_WORKERS.
DEFAULT_MAX_RUNNING, DEFAULT_MAX_QUEUED = 2, 32

log = logging.getLogger("gonogo.jobs")


def _interrupted(detail: str) -> dict[str, Any]:
    # 503: the service stopped before the job finished; the same request may be submitted again.
    return problem_body(503, "Interrupted", detail, type_="/problems/job-interrupted")


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
        return self.expires_at is not None and self.expires_at <= utc_now()

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
    computation: Computation
    finish: Callable[[dict], dict] | None
    cancel: threading.Event = field(default_factory=threading.Event)
    thread: threading.Thread | None = None  # None while the job waits in the queue


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

    def __init__(self, backend: Backend, store: JobStore, *, retention_hours: float,
                 stale_seconds: float = STALE_SECONDS, max_running: int = DEFAULT_MAX_RUNNING,
                 max_queued: int = DEFAULT_MAX_QUEUED):
        self.backend = backend
        self.store = store
        self.retention = timedelta(hours=retention_hours)
        self.stale_seconds = stale_seconds
        self.owner = f"{_PROCESS_TOKEN}/{uuid.uuid4().hex[:8]}@{socket.gethostname()}:{os.getpid()}"
        self._local: dict[str, _LocalJob] = {}  # this manager's running and queued jobs
        self._queue = JobQueue(max_running, max_queued)
        self._lock = threading.Lock()
        self._heartbeat: threading.Thread | None = None
        self._closed = threading.Event()
        self._purged_at = time.monotonic()
        self._owns_store = False
        _live_managers[self.owner] = self
        self.interrupt_orphans()
        self.purge()

    @classmethod
    def from_settings(cls, settings: Settings, backend: Backend | None = None, *,
                      engine: Engine | None = None) -> JobManager:
        """The manager of ``settings``: its store in the database (``engine``, e.g. the app's, else
        one made from ``database_url(settings)``), its retention, its queue (``job_workers`` running,
        ``max_queued_jobs`` waiting) and ``backend`` (default: Dask when a scheduler is set, else a
        process pool)."""
        store = JobStore(database_url(settings) if engine is None else engine)
        backend = backend_from_settings(settings) if backend is None else backend
        manager = cls(backend, store, retention_hours=settings.job_retention_hours,
                      max_running=settings.job_workers, max_queued=settings.max_queued_jobs)
        manager._owns_store = True  # made here: closed with the manager
        return manager

    # -- running ----------------------------------------------------------------------------------

    def submit(self, kind: str, computation: Computation, finish: Callable[[dict], dict] | None = None,
               request: Any = None, request_sha256: str | None = None) -> Job:
        """Record the job with its ``request`` (canonical JSON) and ``request_sha256`` (default: the
        SHA-256 of that JSON), then run ``computation`` on a thread of its own, now or when a runner
        is free; ``finish`` post-processes the result. ``JobQueueFull`` (nothing recorded) when
        ``max_queued`` jobs already wait."""
        if self._closed.is_set():
            raise RuntimeError("the job manager is closed")
        job_id = uuid.uuid4().hex
        local = _LocalJob(computation, finish)
        # One lock over admission and insert: a runner that frees up starts only recorded jobs.
        with self._lock:
            run_now = self._queue.admit(job_id)
            try:
                self.store.insert(job_id=job_id, kind=kind, backend=self.backend.name,
                                  request_json=canonical_json(request), owner=self.owner, request_sha256=request_sha256)
            except BaseException:
                self._start(self._queue.finished(job_id))
                raise
            self._local[job_id] = local
            if self._heartbeat is None:
                self._heartbeat = threading.Thread(target=self._beat, name="job-heartbeat", daemon=True)
                self._heartbeat.start()
            if run_now:
                self._start([job_id])
        return self.get(job_id)

    def _start(self, job_ids: list[str]) -> None:
        """Start a thread for each of ``job_ids`` (the queue has counted them running); under the lock."""
        for job_id in job_ids:
            local = self._local.get(job_id)
            if local is None or self._closed.is_set():
                self._queue.running.discard(job_id)
                continue
            local.thread = threading.Thread(target=self._run, args=(job_id, local), name=f"job-{job_id[:8]}",
                                            daemon=True)
            local.thread.start()

    def _run(self, job_id: str, local: _LocalJob) -> None:
        started = None
        try:
            if self.store.mark_running(job_id):  # else cancelled or interrupted while it waited: never run
                started = time.monotonic()
                self._compute(job_id, local)
        except SQLAlchemyError:
            log.warning("job %s: its state not recorded", job_id, exc_info=True)
        finally:
            # If a write failed, the job is no longer stamped and is interrupted after STALE_SECONDS.
            with self._lock:
                self._local.pop(job_id, None)
                seconds = None if started is None else time.monotonic() - started
                self._start(self._queue.finished(job_id, seconds))

    def _compute(self, job_id: str, local: _LocalJob) -> None:
        store = self.store
        computation, finish = local.computation, local.finish
        last_write = last_poll = -float("inf")

        def progress(fraction: float) -> None:
            nonlocal last_write
            if time.monotonic() - last_write >= PROGRESS_SECONDS:
                last_write = time.monotonic()
                try:
                    store.set_progress(job_id, fraction)
                except SQLAlchemyError:  # progress is a courtesy; the result is what must be stored
                    log.warning("job %s: progress not recorded", job_id, exc_info=True)

        def cancelled() -> bool:
            nonlocal last_poll
            if not local.cancel.is_set() and time.monotonic() - last_poll >= CANCEL_POLL_SECONDS:
                last_poll = time.monotonic()
                try:
                    if store.cancel_requested(job_id):
                        local.cancel.set()
                except SQLAlchemyError:
                    log.warning("job %s: cancel flag not read", job_id, exc_info=True)
            return local.cancel.is_set()

        try:
            result = self.backend.run(computation, progress, cancelled)
            if finish is not None:
                result = finish(result)
            result_json = dump_json(result)
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

    def _beat(self) -> None:
        """Stamp this manager's running and queued jobs until none is left (or the manager closes);
        drop from the queue the jobs that ended while they waited (cancelled by another worker)."""
        while not self._closed.wait(HEARTBEAT_SECONDS):
            with self._lock:
                job_ids = list(self._local)
                waiting = list(self._queue.waiting)
                if not job_ids:
                    self._heartbeat = None
                    return
            try:
                self.store.heartbeat(job_ids)
                ended = [i for i, state in self.store.states(waiting).items() if state not in ACTIVE] if waiting else []
            except SQLAlchemyError:
                log.warning("job heartbeat not recorded", exc_info=True)
                continue
            with self._lock:
                for job_id in ended:
                    if self._queue.withdraw(job_id):
                        self._local.pop(job_id, None)

    def health(self) -> dict[str, Any]:
        """This process's part of /health: ``status`` (``degraded`` with a ``reason`` while the backend
        cannot run chunks), running and queued jobs and their limits, and the backend's state.
        Memory only (no store read, no lock): it answers on the event loop."""
        try:
            backend = {"name": self.backend.name, **getattr(self.backend, "health", lambda: {"state": "ok"})()}
        except Exception as exc:  # noqa: BLE001 - /health must answer
            backend = {"name": self.backend.name, "state": "unknown", "reason": repr(exc)}
        broken = backend.get("state") == "broken"
        reason = {"reason": f"the job backend cannot run jobs: {backend.get('reason')}"} if broken else {}
        return {"status": "degraded" if broken else "ok", **reason, **self._queue.counts(), "backend": backend}

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

    def _job(self, row: Mapping[str, Any]) -> Job:
        finished = row["finished_at"]
        expires = None if finished is None else iso_utc(datetime.fromisoformat(finished) + self.retention)
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
        """Stop a job, whichever process runs it: a queued one at once (it never runs), a running one
        between chunks (its chunks in flight are cancelled)."""
        if self.store.cancel_queued(job_id):
            with self._lock:
                if self._queue.withdraw(job_id):
                    self._local.pop(job_id, None)
            return self.get(job_id)
        self.store.request_cancel(job_id)
        with self._lock:
            local = self._local.get(job_id)
        if local is not None:
            local.cancel.set()
        return self.get(job_id)

    def _orphaned(self, row: Mapping[str, Any]) -> bool:
        owner = row["owner"]
        if owner in _live_managers:
            return False
        if owner.startswith(_PROCESS_TOKEN + "/"):
            return True  # a manager of this process that has been closed
        return time.time() - row["heartbeat_at"] > self.stale_seconds

    def _interrupt(self, row: Mapping[str, Any]) -> None:
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
        self.store.purge(iso_utc(now - self.retention), iso_utc(now - 2 * self.retention))
        self._purged_at = time.monotonic()

    def _maybe_purge(self) -> None:
        if time.monotonic() - self._purged_at >= PURGE_EVERY_SECONDS:
            try:
                self.purge()
            except SQLAlchemyError:
                log.warning("expired jobs not purged", exc_info=True)

    def close(self) -> None:
        """Stop: this manager's unfinished jobs are marked interrupted (their requests are kept); their
        threads, told to stop, are given ``CLOSE_JOIN_SECONDS`` to end, so that their last writes are
        made before the caller closes the database."""
        self._closed.set()
        _live_managers.pop(self.owner, None)
        with self._lock:
            local = dict(self._local)
        for job_id, job in local.items():
            try:
                self.store.end(job_id, INTERRUPTED, _interrupted(SHUT_DOWN if job.thread is not None else SHUT_DOWN_QUEUED))
            except SQLAlchemyError:
                log.warning("job %s: not marked interrupted", job_id, exc_info=True)
            job.cancel.set()
        self.backend.close()
        deadline = time.monotonic() + CLOSE_JOIN_SECONDS
        for thread in [job.thread for job in local.values()] + [self._heartbeat]:
            if thread is not None and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
        if self._owns_store:
            self.store.close()
