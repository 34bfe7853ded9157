"""Long-running jobs: an in-memory job store and the backends that run a computation's chunks.

A *computation* (``designs.operating_characteristics.OCPlan``, ``designs.calibration.CalibrationPlan``)
offers ``prepare() -> computation`` (build decision tables), ``chunks``, ``run_chunk(chunk)`` and
``reduce([(chunk, value), ...]) -> dict``. Chunk values are sums of integer counts over whole RNG
blocks, so the result is the same whatever the backend, the number of workers or the order in
which chunks finish.

Backends:

* ``InProcessBackend``: this process, one chunk after another (the CLI, small requests);
* ``ProcessPoolBackend``: a ``ProcessPoolExecutor`` (spawned workers; the default for jobs);
* ``DaskBackend``: a Dask distributed cluster at ``GONOGO_DASK_SCHEDULER`` — the prepared
  computation is scattered once and chunks are submitted as tasks.

A job runs on a thread of its own, so it outlives the HTTP request that started it; ``cancel``
stops it between chunks and cancels the chunks not yet started. Jobs live in this process's memory
(one uvicorn worker: see ``Settings.workers``).
"""

from __future__ import annotations

import multiprocessing
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from designs.errors import GonogoError

POLL_SECONDS = 0.02
# Share of a job's progress given to building the decision tables.
PREPARE_SHARE = 0.1
MAX_FINISHED_JOBS = 200


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
                self._pool.shutdown(wait=False, cancel_futures=True)
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


QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass
class Job:
    id: str
    kind: str
    state: str = QUEUED
    progress: float = 0.0
    created_at: str = field(default_factory=_now)
    started_at: str | None = None
    finished_at: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    backend: str = ""
    cancel_requested: threading.Event = field(default_factory=threading.Event, repr=False)
    thread: threading.Thread | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "state": self.state,
            "progress": round(self.progress, 6),
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "backend": self.backend,
            "result": self.result,
            "error": self.error,
        }


class JobManager:
    """Starts jobs on a backend, tracks their state and progress, cancels them."""

    def __init__(self, backend: Backend, max_finished: int = MAX_FINISHED_JOBS):
        self.backend = backend
        self.max_finished = max_finished
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def submit(self, kind: str, computation: Computation, finish: Callable[[dict], dict] | None = None) -> Job:
        """Start ``computation`` on a thread of its own; ``finish`` post-processes the result."""
        job = Job(id=uuid.uuid4().hex, kind=kind, backend=self.backend.name)
        with self._lock:
            self._jobs[job.id] = job
            self._forget_old()
        job.thread = threading.Thread(target=self._run, args=(job, computation, finish), name=f"job-{job.id[:8]}", daemon=True)
        job.thread.start()
        return job

    def _run(self, job: Job, computation: Computation, finish: Callable[[dict], dict] | None) -> None:
        job.state, job.started_at = RUNNING, _now()

        def progress(fraction: float) -> None:
            job.progress = min(max(fraction, job.progress), 1.0)

        try:
            result = self.backend.run(computation, progress, job.cancel_requested.is_set)
            if finish is not None:
                result = finish(result)
        except Cancelled:
            job.state = CANCELLED
        except GonogoError as exc:
            job.state, job.error = FAILED, {"title": "Request cannot be processed", "detail": str(exc)}
        except Exception as exc:  # noqa: BLE001 - a job reports its failure instead of dying silently
            job.state, job.error = FAILED, {"title": "Internal error", "detail": f"{type(exc).__name__}: {exc}"}
        else:
            if job.cancel_requested.is_set():
                job.state = CANCELLED
            else:
                job.result, job.progress, job.state = result, 1.0, SUCCEEDED
        job.finished_at = _now()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> Job | None:
        """Ask a job to stop (it stops between chunks; chunks not started are cancelled)."""
        job = self.get(job_id)
        if job is not None and job.state not in FINISHED:
            job.cancel_requested.set()
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> Job:
        job = self.get(job_id)
        if job is None:
            raise KeyError(job_id)
        if job.thread is not None:
            job.thread.join(timeout)
        return job

    def _forget_old(self) -> None:
        finished = [j for j in self._jobs.values() if j.state in FINISHED]
        for job in finished[: max(0, len(finished) - self.max_finished)]:
            del self._jobs[job.id]

    def close(self) -> None:
        for job in list(self._jobs.values()):
            job.cancel_requested.set()
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
    """The process-wide job manager (created on first use)."""
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
