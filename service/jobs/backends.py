"""Backends that run a computation's chunks: in this process, in a process pool, or on Dask.

A *computation* (``designs.oc.OCPlan``, ``designs.oc.calibration.CalibrationPlan``) offers
``prepare() -> computation`` (build decision tables), ``chunks``, ``run_chunk(chunk)`` and
``reduce([(chunk, value), ...]) -> dict``. Chunk values are sums of integer counts over whole RNG
blocks, so the result is the same whatever the backend, the number of workers or the order in which
chunks finish.

* ``InProcessBackend``: this process, one chunk after another (the CLI, small requests);
* ``ProcessPoolBackend``: a ``pebble.ProcessPool`` of spawned workers (the default for jobs); a dead
  worker is replaced, and a pool that breaks is replaced at the next submission;
* ``DaskBackend``: a Dask distributed cluster at ``GONOGO_DASK_SCHEDULER`` — the prepared
  computation is scattered once to every worker and chunks are submitted as tasks; Dask runs the
  task of a dead worker again elsewhere (``distributed.scheduler.allowed-failures``).

A chunk whose worker died (killed, out of memory) is computed again once when the computation is
pure (``is_pure``: the same chunk always gives the same value, so the retry cannot change a number);
if it dies again, or the computation is not pure, the run raises ``WorkerDied``. A backend that
cannot run chunks at all raises ``JobBackendUnavailable`` and says so in ``health()`` until it works
again. Both are 503 problem documents (``service.problems``).
"""

from __future__ import annotations

import concurrent.futures
import itertools
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Protocol

import pebble

from service.problems import JobBackendUnavailable, WorkerDied
from service.processes import exit_with_parent
from service.settings import Settings

# Share of a job's progress given to building the decision tables.
PREPARE_SHARE = 0.1
# A backend waiting for chunks looks at the cancel flag at least this often.
WAIT_SECONDS = 0.1
# Times a pure computation's chunks are computed again after their worker died, per run.
WORKER_DEATH_RETRIES = 1
# A broken backend is tried again (a fresh pool, a new connection) in the background, at most this
# often, when /health asks about it; the trial gives up after PROBE_TIMEOUT_SECONDS.
PROBE_SECONDS = 10.0
PROBE_TIMEOUT_SECONDS = 60.0

log = logging.getLogger("gonogo.jobs")


class Cancelled(Exception):
    """The job was cancelled."""


class Computation(Protocol):
    chunks: list

    def prepare(self) -> Computation: ...

    def run_chunk(self, chunk: Any) -> Any: ...

    def reduce(self, pairs: list[tuple[Any, Any]]) -> dict[str, Any]: ...


def is_pure(computation: Any) -> bool:
    """Whether a chunk whose worker died may be computed again: the same chunk gives the same value.

    OC and calibration plans are pure: a simulated chunk is whole RNG blocks, block b drawn from
    ``SeedSequence(seed, spawn_key=(b,))`` (``designs.oc.simulate``), an exact chunk an enumeration,
    a calibration chunk one candidate's operating characteristics at the request's seed. Any other
    computation says so with a class attribute ``pure = True``.
    """
    # Deferred: a worker process imports this module before it needs the designs.
    from designs.oc.calibration import CalibrationPlan
    from designs.oc.computation import OCPlan

    return isinstance(computation, (OCPlan, CalibrationPlan)) or getattr(computation, "pure", False) is True


def prepare_computation(computation: Computation) -> Computation:
    """Module-level (picklable) entry point run by a worker."""
    return computation.prepare()


def run_computation_chunk(computation: Computation, chunk: Any) -> Any:
    return computation.run_chunk(chunk)


def probe() -> int:
    """What a backend runs to show that it works again (picklable): the worker's pid."""
    return os.getpid()


Progress = Callable[[float], None]
IsCancelled = Callable[[], bool]


def _never() -> bool:
    return False


def _nothing(fraction: float) -> None:
    return None


class Backend(Protocol):
    name: str

    def run(self, computation: Computation, progress: Progress = _nothing, cancelled: IsCancelled = _never) -> dict: ...

    def health(self) -> dict[str, Any]: ...

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

    def health(self) -> dict[str, Any]:
        return {"state": "ok"}

    def close(self) -> None:
        return None


def _what(index: int, n_chunks: int) -> str:
    return "building the decision tables" if index < 0 else f"computing chunk {index + 1} of {n_chunks}"


class _Run:
    """One computation's preparation or chunks in flight on a futures backend; a chunk lost with its
    worker is submitted again while the run has retries left."""

    def __init__(self, backend: _FuturesBackend, computation: Computation, cancelled: IsCancelled):
        self.backend = backend
        self.cancelled = cancelled
        self.pure = is_pure(computation)
        self.retries = WORKER_DEATH_RETRIES if self.pure else 0
        self.n_chunks = 0
        self.pending: dict[Any, tuple[int, Callable, tuple]] = {}  # future -> (chunk index or -1, fn, args)
        self.losses: set = set()  # the losses (a dead worker, a broken pool) met so far

    def submit(self, index: int, fn: Callable, *args: Any) -> None:
        self.pending[self.backend._submit(fn, *args)] = (index, fn, args)

    def finished(self) -> list[tuple[int, Any]]:
        """Wait until one or more of ``pending`` finish, looking at the cancel flag between short
        waits; their ``(index, value)`` (none when all that finished were lost and submitted again)."""
        while True:
            if self.cancelled():
                raise Cancelled()
            done = self.backend._wait_first(self.pending, WAIT_SECONDS)
            if done:
                break
        values = []
        for future in done:
            index, fn, args = self.pending.pop(future)
            try:
                values.append((index, future.result()))
            except Exception as exc:
                if not self.backend._lost(exc):
                    raise
                event = self.backend._loss_event(future, exc)
                if event not in self.losses:  # a broken pool loses all its chunks at once: one loss
                    self.losses.add(event)
                    self.backend._note_lost(exc)
                    if self.retries == 0:
                        raise self.backend._lost_error(exc, _what(index, self.n_chunks), self.pure) from exc
                    self.retries -= 1
                log.warning("a worker died (%s) while %s; computing it again", exc, _what(index, self.n_chunks))
                self.submit(index, fn, *args)
        if values:
            self.backend._note_working()
        return values

    def cancel(self) -> None:
        if self.pending:
            self.backend._cancel(list(self.pending))
            self.pending.clear()


class _FuturesBackend:
    """Submit the preparation, then the chunks, at most ``window`` at a time (None: all at once);
    collect them as they finish, in any order.

    Keeps what ``health()`` reports: ``broken`` (with the reason) from a failure that says the backend
    cannot run chunks until a chunk finishes again, which a background probe also tries.
    """

    name = "futures"
    window: int | None = None

    def __init__(self) -> None:
        self._broken: str | None = None
        self._probe: threading.Thread | None = None
        self._probed_at = -float("inf")

    # -- what each backend provides ---------------------------------------------------------------

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

    def _lost(self, exc: BaseException) -> bool:
        """Whether a chunk's exception says that its worker died (not that the chunk failed)."""
        return False

    def _loss_event(self, future: Any, exc: BaseException) -> Any:
        """What lost the chunk of ``future``: chunks lost by the same event cost one retry."""
        return future

    def _note_lost(self, exc: BaseException) -> None:
        """Record a loss (for ``health``)."""

    def _lost_error(self, exc: BaseException, what: str, pure: bool) -> Exception:
        """The error that ends a run whose chunk was lost once more than it may be."""
        return _worker_died(what, pure, "killed, or out of memory")

    # -- health -----------------------------------------------------------------------------------

    def _note_working(self) -> None:
        self._broken = None

    def _note_broken(self, reason: str) -> None:
        if self._broken is None:
            log.error("job backend %s broken: %s", self.name, reason)
        self._broken = reason

    def _try_again(self) -> None:
        """Run ``probe`` on the backend; working again if it answers (a background thread)."""
        try:
            future = self._submit(probe)
            deadline = time.monotonic() + PROBE_TIMEOUT_SECONDS
            while not self._wait_first([future], WAIT_SECONDS):
                if time.monotonic() > deadline:
                    self._cancel([future])
                    raise TimeoutError(f"no answer in {PROBE_TIMEOUT_SECONDS:g} s")
            future.result()
        except Exception as exc:  # noqa: BLE001 - recorded: health() shows it
            self._note_broken(self._broken or f"{type(exc).__name__}: {exc}")
        else:
            log.warning("job backend %s works again", self.name)
            self._note_working()

    def _state(self) -> str:
        return "ok"

    def health(self) -> dict[str, Any]:
        """``state`` (ok, idle: not started, or broken with its ``reason``); reads this process's
        memory, never waits. While broken, a probe runs in the background every ``PROBE_SECONDS``."""
        if self._broken is None:
            return {"state": self._state()}
        now = time.monotonic()
        if (self._probe is None or not self._probe.is_alive()) and now - self._probed_at >= PROBE_SECONDS:
            self._probed_at = now
            self._probe = threading.Thread(target=self._try_again, name=f"{self.name}-probe", daemon=True)
            self._probe.start()
        return {"state": "broken", "reason": self._broken}

    # -- running ----------------------------------------------------------------------------------

    def run(self, computation: Computation, progress: Progress = _nothing, cancelled: IsCancelled = _never) -> dict:
        run = _Run(self, computation, cancelled)
        values: dict[int, Any] = {}
        try:
            run.submit(-1, prepare_computation, computation)
            while not (prepared_values := run.finished()):
                pass
            ((_, prepared),) = prepared_values
            progress(PREPARE_SHARE)
            shared = self._share(prepared)
            run.n_chunks = len(prepared.chunks)
            waiting = iter(enumerate(prepared.chunks))
            window = self.window or len(prepared.chunks)
            for i, chunk in itertools.islice(waiting, window):
                run.submit(i, run_computation_chunk, shared, chunk)
            while run.pending:
                for i, value in run.finished():
                    values[i] = value
                for i, chunk in itertools.islice(waiting, max(window - len(run.pending), 0)):
                    run.submit(i, run_computation_chunk, shared, chunk)
                progress(PREPARE_SHARE + (1 - PREPARE_SHARE) * len(values) / len(prepared.chunks))
        finally:
            run.cancel()
        return prepared.reduce([(chunk, values[i]) for i, chunk in enumerate(prepared.chunks)])


def _worker_died(what: str, pure: bool, how: str, **extra: Any) -> WorkerDied:
    retried = ("it had been computed again once, and that worker died too" if pure else
               "it is not computed again: the computation is not known to give the same numbers twice")
    return WorkerDied(
        f"a worker process died ({how}) while {what}; {retried}. Resubmit `request`, later or asking for less "
        "(fewer simulated trials, strata or looks): the same request and seed give the same numbers.",
        retry_after=60, **extra)


BROKEN_POOL_GRACE_SECONDS = 5.0
"""How long a pool may be inactive (broken) before a chunk it never took in is failed by the backend."""


def _stop_pool(pool: pebble.ProcessPool) -> None:
    """Stop ``pool``: its workers are terminated (killed after a few seconds)."""
    try:
        pool.stop()
        pool.join()
    except Exception:  # noqa: BLE001 - a pool that broke may fail to stop cleanly; its workers end with us
        log.warning("job pool not stopped cleanly", exc_info=True)


def _how(exc: BaseException) -> str:
    code = getattr(exc, "exitcode", None)
    if isinstance(code, int) and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}" if code is not None else str(exc)


def start_worker(parent_pid: int, cache_bytes: int | None) -> None:
    """A job-pool worker's initializer: it ends with the server (``exit_with_parent``), and its caches
    of tables hold at most ``cache_bytes`` together."""
    exit_with_parent(parent_pid)
    if cache_bytes is not None:
        from designs.core.memory import set_cache_budget

        set_cache_budget(cache_bytes)


class ProcessPoolBackend(_FuturesBackend):
    """A ``pebble.ProcessPool`` of spawned worker processes (started on first use).

    Every worker ends with this process and keeps its caches within ``cache_bytes`` (``GONOGO_CACHE_MB``;
    its initializer is ``start_worker``).
    Pebble replaces a worker that dies and fails the chunk it ran with ``ProcessExpired``. A pool that
    breaks as a whole (a worker died while none ran a chunk, or its workers cannot start) is replaced
    at the next submission; the backend is reported broken when the pool cannot start, or breaks again
    before any chunk finishes.

    A run keeps ``workers`` chunks in flight, not all of them: jobs running side by side share the
    workers, and a cancelled job has few chunks to stop (pebble ends the worker of a cancelled chunk
    that has started, and starts another: seconds of imports).
    """

    name = "process-pool"

    def __init__(self, workers: int, cache_bytes: int | None = None):
        super().__init__()
        self.workers = workers
        self.cache_bytes = cache_bytes
        self.window = workers
        self._pool: pebble.ProcessPool | None = None
        self._lock = threading.Lock()
        self._breaks = 0  # pools broken since a chunk last finished
        self.worker_deaths = 0
        self._closing = False  # close(): pebble fails the chunks of the pool it stops
        self._inactive_since: dict[int, float] = {}  # id of a pool seen inactive → when first seen so

    def _new_pool(self) -> pebble.ProcessPool:
        # spawn, not fork: the server process runs threads.
        return pebble.ProcessPool(self.workers, initializer=start_worker, initargs=(os.getpid(), self.cache_bytes),
                                  context=multiprocessing.get_context("spawn"))

    def _submit(self, fn: Callable, *args: Any) -> Any:
        stale = []
        try:
            with self._lock:
                if self._pool is not None and not self._pool.active:  # broken: every chunk on it has failed
                    stale.append(self._pool)
                    self._pool = None
                if self._pool is None:
                    self._pool = self._new_pool()
                try:
                    future = self._pool.schedule(fn, args)  # the first one starts the workers
                    future.pool = self._pool
                    return future
                except (OSError, RuntimeError) as exc:  # BrokenProcessPool is a RuntimeError
                    stale.append(self._pool)
                    self._pool = None
                    reason = f"the job pool cannot start its worker processes ({type(exc).__name__}: {exc})"
                    self._note_broken(reason)
                    raise JobBackendUnavailable(f"{reason}; resubmit `request` later", retry_after=60) from exc
        finally:
            for pool in stale:  # in the background: stopping takes up to a few seconds
                threading.Thread(target=_stop_pool, args=(pool,), name="job-pool-stop", daemon=True).start()

    def _wait_first(self, futures: Collection, timeout: float) -> set:
        done = concurrent.futures.wait(futures, timeout, return_when=concurrent.futures.FIRST_COMPLETED).done
        if not done and not self._closing:
            # A pool that broke fails the chunks it holds, except one it had not yet taken in: fail that too,
            # once pebble has had the time to fail those it holds (failing one of them first would make
            # pebble's own thread fail it again, and die of InvalidStateError).
            now = time.monotonic()
            for future in futures:
                if future.pool.active or future.done():
                    continue
                since = self._inactive_since.setdefault(id(future.pool), now)
                if now - since < BROKEN_POOL_GRACE_SECONDS:
                    continue
                try:
                    future.set_exception(BrokenProcessPool("the job pool broke before it took the chunk in"))
                except concurrent.futures.InvalidStateError:  # it has just finished after all
                    pass
                done.add(future)
        return done

    def _lost(self, exc: BaseException) -> bool:
        return isinstance(exc, (pebble.ProcessExpired, BrokenProcessPool))

    def _loss_event(self, future: Any, exc: BaseException) -> Any:
        return future.pool if isinstance(exc, BrokenProcessPool) else future

    def _note_lost(self, exc: BaseException) -> None:
        if isinstance(exc, pebble.ProcessExpired):
            self.worker_deaths += 1
            log.warning("job pool worker %s died (%s); pebble starts another", exc.pid, _how(exc))
        else:
            self._breaks += 1
            if self._breaks >= 2:
                self._note_broken(f"the job pool broke {self._breaks} times without finishing a chunk ({exc}): "
                                  "its workers die as they start or as soon as they are idle")

    def _note_working(self) -> None:
        self._breaks = 0
        super()._note_working()

    def _lost_error(self, exc: BaseException, what: str, pure: bool) -> Exception:
        if isinstance(exc, pebble.ProcessExpired):
            return _worker_died(what, pure, f"{_how(exc)}: killed, or out of memory", exit_code=exc.exitcode)
        return JobBackendUnavailable(
            f"the job pool broke while {what} ({exc}), and again after it was replaced; resubmit `request` later: "
            "the same request and seed give the same numbers", retry_after=60)

    def _state(self) -> str:
        return "idle" if self._pool is None else "ok"

    def health(self) -> dict[str, Any]:
        return {**super().health(), "workers": self.workers, "worker_deaths": self.worker_deaths}

    def close(self) -> None:
        self._closing = True
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            # Its busy workers' chunks belong to jobs now marked interrupted: end them, do not wait.
            _stop_pool(pool)


class DaskBackend(_FuturesBackend):
    """Chunks as tasks on a Dask distributed cluster (``GONOGO_DASK_SCHEDULER``, or a ``Client``)."""

    name = "dask"

    def __init__(self, scheduler: Any):
        super().__init__()
        self._scheduler = scheduler
        self._client = None
        self._owns_client = False
        self._lock = threading.Lock()

    @property
    def client(self):
        with self._lock:
            if self._client is not None and self._owns_client and self._client.status in ("closed", "failed"):
                self._client = None  # gave up reconnecting: connect anew
            if self._client is None:
                # Deferred: distributed takes a second to import and only Dask deployments need it.
                from distributed import Client

                if isinstance(self._scheduler, Client):
                    self._client = self._scheduler
                else:
                    try:
                        self._client = Client(self._scheduler, set_as_default=False)
                    except (OSError, TimeoutError) as exc:
                        reason = f"the Dask scheduler {self._scheduler} is unreachable ({type(exc).__name__}: {exc})"
                        self._note_broken(reason)
                        raise JobBackendUnavailable(f"{reason}; resubmit `request` later", retry_after=60) from exc
                    self._owns_client = True
            return self._client

    def _submit(self, fn: Callable, *args: Any) -> Any:
        # pure=False: a resubmitted chunk (same arguments) is a new task, not a cached one.
        return self.client.submit(fn, *args, pure=False)

    def _share(self, obj: Any) -> Any:
        # Broadcast: a copy on every worker (each would fetch one to run its chunks anyway), so that a
        # killed worker takes no unrecoverable data with it; Dask then runs its chunk again elsewhere.
        # Scattered to one worker only, its death cancelled every chunk ("already forgotten").
        return self.client.scatter(obj, broadcast=True, hash=False)

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
            except distributed.client.FuturesCancelledError as exc:
                # The scheduler dropped the chunks (every worker holding the prepared computation died,
                # or it restarted): the job cannot finish, but the same request can be run again.
                raise WorkerDied(
                    "the Dask cluster lost this job's prepared computation (the workers holding it died, or the "
                    f"scheduler restarted: {exc.__class__.__name__}); resubmit `request`: the same request and "
                    "seed give the same numbers", retry_after=60) from exc

    def _lost(self, exc: BaseException) -> bool:
        # Dask has already run the task again on other workers (distributed.scheduler.allowed-failures).
        return type(exc).__name__ == "KilledWorker"

    def _loss_event(self, future: Any, exc: BaseException) -> Any:
        # One worker's death fails every task the scheduler had given it, not only the one it ran:
        # one loss (one retry), like a pool that broke.
        address = getattr(getattr(exc, "last_worker", None), "address", None)
        return ("dask-worker", address) if address else future

    def health(self) -> dict[str, Any]:
        client = self._client
        if self._broken is None and client is not None and client.status != "running":
            return {"state": "broken", "reason": f"the Dask scheduler is unreachable (client {client.status})"}
        return super().health()

    def _state(self) -> str:
        return "idle" if self._client is None else "ok"

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
    return ProcessPoolBackend(settings.job_workers if workers is None else workers, settings.cache_mb * 2**20)
