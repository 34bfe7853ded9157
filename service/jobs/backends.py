"""Backends that run a computation's chunks: in this process, in a process pool, or on Dask.

A *computation* (``designs.oc.OCPlan``, ``designs.oc.calibration.CalibrationPlan``) offers
``prepare() -> computation`` (build decision tables), ``chunks``, ``run_chunk(chunk)`` and
``reduce([(chunk, value), ...]) -> dict``. Chunk values are sums of integer counts over whole RNG
blocks, so the result is the same whatever the backend, the number of workers or the order in which
chunks finish.

* ``InProcessBackend``: this process, one chunk after another (the CLI, small requests);
* ``ProcessPoolBackend``: a ``ProcessPoolExecutor`` (spawned workers; the default for jobs);
* ``DaskBackend``: a Dask distributed cluster at ``GONOGO_DASK_SCHEDULER`` — the prepared
  computation is scattered once and chunks are submitted as tasks.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import threading
from collections.abc import Callable, Collection
from typing import Any, Protocol

from service.settings import Settings

# Share of a job's progress given to building the decision tables.
PREPARE_SHARE = 0.1
# A backend waiting for chunks looks at the cancel flag at least this often.
WAIT_SECONDS = 0.1


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

    def _cancel(self, futures: Collection) -> None:
        for f in futures:
            f.cancel()

    def _wait_first(self, futures: Collection, timeout: float) -> set:
        """The futures of ``futures`` that are done once one is, or after ``timeout`` seconds."""
        raise NotImplementedError

    def _finished(self, pending: Collection, cancelled: IsCancelled) -> set:
        """Wait until one of ``pending`` finishes, looking at the cancel flag between short waits."""
        while True:
            if cancelled():
                raise Cancelled()
            done = self._wait_first(pending, WAIT_SECONDS)
            if done:
                return done

    def run(self, computation: Computation, progress: Progress = _nothing, cancelled: IsCancelled = _never) -> dict:
        pending: dict[Any, int] = {self._submit(prepare_computation, computation): -1}
        values: dict[int, Any] = {}
        try:
            (prepared_future,) = self._finished(pending, cancelled)
            prepared = prepared_future.result()
            progress(PREPARE_SHARE)
            shared = self._share(prepared)
            pending = {self._submit(run_computation_chunk, shared, chunk): i for i, chunk in enumerate(prepared.chunks)}
            while pending:
                for f in self._finished(pending, cancelled):
                    values[pending.pop(f)] = f.result()
                progress(PREPARE_SHARE + (1 - PREPARE_SHARE) * len(values) / len(prepared.chunks))
        finally:
            if pending:
                self._cancel(list(pending))
        return prepared.reduce([(chunk, values[i]) for i, chunk in enumerate(prepared.chunks)])


class _RecordingContext:
    """The spawn context, recording the processes it starts (a pool does not list its workers)."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context("spawn")
        self.processes: list[multiprocessing.process.BaseProcess] = []

    def Process(self, *args: Any, **kwargs: Any) -> multiprocessing.process.BaseProcess:  # noqa: N802 - context API
        process = self._context.Process(*args, **kwargs)
        self.processes.append(process)
        return process

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)


class ProcessPoolBackend(_FuturesBackend):
    """A pool of spawned worker processes (started on first use)."""

    name = "process-pool"

    def __init__(self, workers: int):
        self.workers = workers
        self._pool: concurrent.futures.ProcessPoolExecutor | None = None
        self._context: _RecordingContext | None = None
        self._lock = threading.Lock()

    def _submit(self, fn: Callable, *args: Any) -> Any:
        with self._lock:
            if self._pool is None:
                # spawn, not fork: the server process runs threads.
                self._context = _RecordingContext()
                self._pool = concurrent.futures.ProcessPoolExecutor(self.workers, mp_context=self._context)
            return self._pool.submit(fn, *args)

    def _wait_first(self, futures: Collection, timeout: float) -> set:
        return concurrent.futures.wait(futures, timeout, return_when=concurrent.futures.FIRST_COMPLETED).done

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                # shutdown(wait=False) leaves busy workers running (and orphaned after the server
                # exits); their chunks belong to jobs now marked interrupted, so end them.
                self._pool.shutdown(wait=False, cancel_futures=True)
                for process in self._context.processes:
                    if process.is_alive():
                        process.terminate()
                for process in self._context.processes:
                    if process.pid is not None:  # a worker whose start failed has nothing to join
                        process.join(timeout=5)
                self._pool = self._context = None


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
                # Deferred: distributed takes a second to import and only Dask deployments need it.
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

    def _cancel(self, futures: Collection) -> None:
        self.client.cancel(list(futures))

    def _wait_first(self, futures: Collection, timeout: float) -> set:
        # Deferred as in ``client``; as_current: distributed.wait uses the current client, and this
        # one is not the process default.
        import distributed

        with self.client.as_current():
            try:
                return distributed.wait(list(futures), timeout=timeout, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                return set()

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._owns_client:
                self._client.close()
            self._client, self._owns_client = None, False


def backend_from_settings(settings: Settings, workers: int | None = None) -> Backend:
    """Dask when ``GONOGO_DASK_SCHEDULER`` is set, else a process pool of ``workers`` (default
    ``GONOGO_JOB_WORKERS``)."""
    if settings.dask_scheduler:
        return DaskBackend(settings.dask_scheduler)
    return ProcessPoolBackend(settings.job_workers if workers is None else workers)
