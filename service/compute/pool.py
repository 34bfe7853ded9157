"""A bounded pool of compute worker processes, one task per worker at a time.

Each worker (``service.compute.worker``) has a *slot*: a thread of the server that starts it (``spawn``),
waits for its warm-up, then takes tasks from the pool's queue one at a time, sends each down the
worker's pipe and waits for the answer, so that the server knows which worker runs which task:

* **admission**: at most ``workers`` tasks run and ``queue_limit`` wait; ``submit`` refuses any more at
  once (``ComputeBusy``, 503 with ``Retry-After``);
* **time limit**: a task running longer than its ``timeout`` has its worker killed (``ComputeTimeout``);
* **cancellation**: ``Task.cancel()`` drops a waiting task, or kills the worker of a running one;
* **a dead worker** (killed, out of memory) fails its task (``WorkerLost``);
* **memory**: a worker whose RSS after a task exceeds the task's ``max_rss_bytes`` is retired (it is idle:
  no other task is lost);

and a killed, dead or retired worker is replaced at once, warming up again before it takes a task.
A slot that cannot start its worker tries again after 1, 2, 4 ... 30 s; ``status()`` reports it.

A pool is shared per server process and per configuration (``acquire``/``release``, ``pool_for``), so
that every app of a test run does not start its own; the pools left are closed at exit.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import math
import multiprocessing
import os
import pickle
import queue
import threading
import time
from collections.abc import Callable
from multiprocessing.connection import wait
from pathlib import Path
from typing import Any

from service.compute import worker
from service.problems import ComputeBusy, ComputeTimeout, ComputeUnavailable, WorkerLost

# A busy slot looks at its task's cancel flag and time limit this often; an idle one at its worker.
POLL_SECONDS = 0.05
IDLE_POLL_SECONDS = 0.5
# A worker that has not finished its imports in this time is killed and started again.
START_SECONDS = 120.0
# A retired worker has this long to exit before it is killed.
STOP_SECONDS = 5.0
MAX_RETRY_SECONDS = 30.0
# Retry-After of a refused request: about how long the tasks ahead of it take, within these bounds.
RETRY_AFTER_BOUNDS = (1, 60)

WarmUp = Callable[[], dict[str, float]]


class Task:
    """One computation submitted to the pool; ``future`` gets its result or exception."""

    def __init__(self, function: Callable, args: tuple, kwargs: dict, timeout: float, max_rss_bytes: int | None):
        # Pickled here: an argument that cannot cross fails its request at once.
        self.message = pickle.dumps((function, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        self.name = getattr(function, "__qualname__", repr(function))
        self.timeout = timeout
        self.max_rss_bytes = max_rss_bytes
        self.future: concurrent.futures.Future = concurrent.futures.Future()
        self.pid: int | None = None
        """The worker running the task, once one does."""
        self._cancel = threading.Event()

    def cancel(self) -> None:
        """Drop the task if it waits; kill its worker (which is replaced) if it runs."""
        if not self.future.cancel():
            self._cancel.set()


class _Stopped(Exception):
    """The pool is closing."""


class _Slot:
    """One worker process and the thread that drives it."""

    def __init__(self, pool: ComputePool, index: int):
        self.pool = pool
        self.index = index
        self.state = "stopped"  # starting, warming, idle, busy, failed, stopped
        self.failure: str | None = None
        self.process: multiprocessing.process.BaseProcess | None = None
        self.conn: Any = None
        self.pid: int | None = None
        self.thread = threading.Thread(target=self._run, name=f"gonogo-compute-{index}", daemon=True)

    # -- the slot's thread

    def _run(self) -> None:
        retry = 1.0
        if self.index > 0 and self.pool.warm_up is not None:
            # The first worker compiles the models and keeps them in the cache directory; the others
            # then read them from there (seconds) instead of compiling the same models side by side.
            while not (self.pool._first_started.wait(IDLE_POLL_SECONDS) or self.pool.closing.is_set()):
                pass
        try:
            while not self.pool.closing.is_set():
                if self.process is None:
                    try:
                        self._start()
                    except _Stopped:
                        break
                    except Exception as exc:  # noqa: BLE001 - reported on /health, tried again
                        self.state, self.failure = "failed", str(exc)
                        self.pool._first_started.set()
                        self.pool._slot_failed(self)
                        if self.pool.closing.wait(retry):
                            break
                        retry = min(retry * 2, MAX_RETRY_SECONDS)
                        continue
                    retry, self.failure = 1.0, None  # kept until a start succeeds: /health stays degraded
                try:
                    task = self.pool._queue.get(timeout=IDLE_POLL_SECONDS)
                except queue.Empty:
                    if not self.process.is_alive():
                        self._discard()  # died while idle: replaced before it is given a task
                    continue
                if not task.future.set_running_or_notify_cancel():
                    continue  # cancelled while it waited
                if not self.process.is_alive():  # died since the last look: start another for this task
                    self._discard()
                    try:
                        self._start()
                    except _Stopped:
                        task.future.set_exception(ComputeUnavailable("the server is shutting down; send the request again"))
                        break
                    except Exception as exc:  # noqa: BLE001 - as above; this task cannot wait for the retry
                        self.state, self.failure = "failed", str(exc)
                        task.future.set_exception(ComputeUnavailable(f"no compute worker can start ({exc})", retry_after=5))
                        continue
                try:
                    self._execute(task)
                except Exception as exc:  # noqa: BLE001 - a slot outlives any one task's failure
                    self._discard()
                    if not task.future.done():
                        task.future.set_exception(exc)
        finally:
            self._discard(stop=True)
            self.state = "stopped"

    def _start(self) -> None:
        context = multiprocessing.get_context("spawn")  # not fork: the server runs threads
        self.state = "starting"
        ours, theirs = context.Pipe()
        process = context.Process(
            target=worker.main, args=(theirs, os.getpid(), self.pool.cache_dir, self.pool.warm_up, self.pool.cache_bytes),
            name=f"gonogo-compute-{self.index}", daemon=True,
        )
        process.start()
        theirs.close()
        self.process, self.conn = process, ours
        self.pid = self._expect("started", START_SECONDS)[1]
        self.state = "warming"
        _, models, _ = self._expect("ready", None)
        self.pool._first_started.set()
        self.pool._worker_ready(models)
        self.state = "idle"

    def _expect(self, what: str, seconds: float | None) -> tuple:
        """The worker's next message, which must be ``what``; while it starts, the pool may close."""
        deadline = None if seconds is None else time.monotonic() + seconds
        while True:
            if self.pool.closing.is_set():
                self._discard()
                raise _Stopped()
            if self.conn in wait([self.conn, self.process.sentinel], IDLE_POLL_SECONDS):
                try:
                    message = self.conn.recv()
                except (EOFError, OSError):
                    break
                if message[0] == what:
                    return message
                break
            if not self.process.is_alive():
                break
            if deadline is not None and time.monotonic() > deadline:
                self._discard()
                raise RuntimeError(f"a compute worker did not start within {seconds:g} s")
        code = self._discard()
        raise RuntimeError(f"a compute worker ended while starting ({_exit(code)})")

    def _execute(self, task: Task) -> None:
        started = time.monotonic()
        self.state, task.pid = "busy", self.pid
        try:
            self.conn.send_bytes(task.message)
        except OSError:
            pass  # the worker is gone: its sentinel says so below
        while True:
            ready = wait([self.conn, self.process.sentinel], POLL_SECONDS)
            if self.conn in ready:
                try:
                    kind, value = pickle.loads(self.conn.recv_bytes())
                except (EOFError, OSError):
                    self._lost(task)
                    return
                except Exception as exc:  # noqa: BLE001 - a result the server cannot read fails its request
                    kind, value = "error", worker.ExportedError.of(exc)
                self.pool._took(time.monotonic() - started)
                if kind == "ok":
                    task.future.set_result(value)
                else:
                    task.future.set_exception(value.rebuild())
                self._released(task.max_rss_bytes)
                return
            if self.process.sentinel in ready:
                self._lost(task)
                return
            if self.pool.closing.is_set():
                self._discard()
                task.future.set_exception(ComputeUnavailable("the server is shutting down; send the request again"))
                return
            if task._cancel.is_set():
                self._discard()
                task.future.set_exception(concurrent.futures.CancelledError())
                return
            if time.monotonic() - started > task.timeout:
                self._discard()
                self.pool._took(task.timeout)
                task.future.set_exception(ComputeTimeout(task.timeout))
                return

    def _released(self, max_rss_bytes: int | None) -> None:
        """Wait for the worker to release the task's memory; retire it if it still holds too much."""
        try:
            message = self.conn.recv() if self.conn.poll(STOP_SECONDS) else None
        except (EOFError, OSError):
            message = None
        if message is None or message[0] != "idle" or (max_rss_bytes is not None and message[1] > max_rss_bytes):
            self._discard(stop=True)  # replaced by the slot's loop before it takes another task
        else:
            self.state = "idle"

    def _lost(self, task: Task) -> None:
        code = self._discard()
        task.future.set_exception(WorkerLost(_exit(code)))

    def _discard(self, stop: bool = False) -> int | None:
        """End the worker: asked to (``stop``, once idle) or killed; its exit code."""
        process, conn = self.process, self.conn
        self.process = self.conn = self.pid = None
        self.state = "starting"
        if process is None:
            return None
        if stop and process.is_alive():
            try:
                conn.send_bytes(worker.STOP)
            except OSError:
                pass
            process.join(STOP_SECONDS)
        if process.is_alive():
            process.kill()
        process.join()
        conn.close()
        return process.exitcode


def _exit(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        return f"killed by signal {-code}" + (" (SIGKILL: perhaps out of memory)" if code == -9 else "")
    return f"exit code {code}"


class ComputePool:
    """``workers`` worker processes and a queue of at most ``queue_limit`` waiting tasks.

    ``cache_dir`` is where workers keep compiled models; ``cache_bytes`` what their caches of tables
    may hold together (``GONOGO_CACHE_MB``; None: the core's default); ``warm_up`` (``designs.engines.pymc.warm_up``,
    or None) runs in each worker before it takes a task, and its outcome is ``models``.
    """

    def __init__(self, workers: int, queue_limit: int, cache_dir: Path | None, warm_up: WarmUp | None = None,
                 cache_bytes: int | None = None):
        self.workers = workers
        self.queue_limit = queue_limit
        self.cache_dir = cache_dir
        self.warm_up = warm_up
        self.cache_bytes = cache_bytes
        self.config: tuple = (workers, queue_limit, cache_dir, warm_up, cache_bytes)
        """The key it is shared by (``pool_for``)."""
        self.closing = threading.Event()
        self._first_started = threading.Event()  # a worker has warmed up, or failed to start
        self._queue: queue.Queue[Task] = queue.Queue()
        self._lock = threading.RLock()
        self._admitted = 0
        self._seconds_per_task = 1.0  # running mean of task durations, for Retry-After
        self._slots = [_Slot(self, i) for i in range(workers)]
        self._started = False
        self.models: dict[str, Any] = (
            {"state": "compiling"} if warm_up is not None
            else {"state": "not compiled at start-up (GONOGO_WARM_UP_MODELS=false)"}
        )
        """The warm-up's outcome, as /health reports it: ``ready`` once a worker has warmed up."""

    def start(self) -> ComputePool:
        """Start every worker now (otherwise the first ``submit`` does)."""
        with self._lock:
            if not self._started and not self.closing.is_set():
                self._started = True
                for slot in self._slots:
                    slot.thread.start()
        return self

    def submit(self, function: Callable, *args: Any, timeout: float, max_rss_bytes: int | None = None,
               **kwargs: Any) -> Task:
        """Queue ``function(*args, **kwargs)`` for a worker, or refuse it at once: ``ComputeBusy`` when
        ``workers`` tasks run and ``queue_limit`` wait, ``ComputeUnavailable`` when no worker can start."""
        task = Task(function, args, kwargs, timeout, max_rss_bytes)
        with self._lock:
            if self.closing.is_set():
                raise ComputeUnavailable("the server is shutting down; send the request again")
            if self._broken():
                raise ComputeUnavailable(
                    f"no compute worker can start ({self._slots[0].failure}); trying again", retry_after=5)
            if self._admitted >= self.workers + self.queue_limit:
                raise ComputeBusy(self._retry_after(), self.workers, self.queue_limit)
            self._admitted += 1
            task.future.add_done_callback(self._finished)
            self._queue.put(task)  # under the lock: ``close`` cannot drain the queue before it lands
        self.start()
        return task

    def status(self) -> dict[str, Any]:
        """Workers alive, busy and queued tasks, from what the slots last saw (no round trip to a worker)."""
        states = [slot.state for slot in self._slots]
        busy = states.count("busy")
        status: dict[str, Any] = {
            "status": "ok",
            "workers": self.workers,
            "alive": sum(s in ("warming", "idle", "busy") for s in states),
            "busy": busy,
            "queued": max(0, self._admitted - busy),
            "queue_limit": self.queue_limit,
        }
        failures = [slot.failure for slot in self._slots if slot.failure is not None]
        if self.closing.is_set():
            status.update(status="degraded", reason="shut down")
        elif failures:
            status.update(status="degraded", reason=f"{len(failures)} of {self.workers} compute workers cannot "
                                                   f"start: {failures[0]}")
        return status

    def worker_pids(self) -> list[int]:
        """The process ids of the workers started (tests and benchmarks)."""
        return [slot.pid for slot in self._slots if slot.pid is not None]

    def close(self) -> None:
        """End every worker; tasks still waiting are refused."""
        with self._lock:  # no task is admitted after this
            self.closing.set()
        for slot in self._slots:
            if slot.thread.is_alive():
                slot.thread.join(STOP_SECONDS + 1)
        self._fail_waiting()

    # -- called by the slots

    def _finished(self, future: concurrent.futures.Future) -> None:
        with self._lock:
            self._admitted -= 1

    def _took(self, seconds: float) -> None:
        self._seconds_per_task = 0.8 * self._seconds_per_task + 0.2 * seconds

    def _retry_after(self) -> int:
        ahead = (self._admitted + 1) / self.workers * self._seconds_per_task
        low, high = RETRY_AFTER_BOUNDS
        return int(min(max(math.ceil(ahead), low), high))

    def _worker_ready(self, models: dict[str, Any] | None) -> None:
        if models is not None and self.models.get("state") != "ready":
            self.models = models

    def _broken(self) -> bool:
        return self._started and all(slot.failure is not None for slot in self._slots)

    def _slot_failed(self, slot: _Slot) -> None:
        if self._broken():
            self._fail_waiting(f"no compute worker can start ({slot.failure}); trying again")

    def _fail_waiting(self, detail: str = "the server is shutting down; send the request again") -> None:
        while True:
            try:
                task = self._queue.get_nowait()
            except queue.Empty:
                return
            if task.future.set_running_or_notify_cancel():
                task.future.set_exception(ComputeUnavailable(detail, retry_after=5))


# --------------------------------------------------------------------------------------------------
# One pool per configuration and server process


_pools: dict[tuple, ComputePool] = {}
_holders: dict[tuple, int] = {}
_registry_lock = threading.RLock()


def pool_for(*config: Any) -> ComputePool:
    """This process's pool of that configuration (``ComputePool``'s arguments; created, not started,
    the first time)."""
    with _registry_lock:
        pool = _pools.get(config)
        if pool is None or pool.closing.is_set():
            pool = _pools[config] = ComputePool(*config)
            pool.config = config
        return pool


def acquire(*config: Any) -> ComputePool:
    """``pool_for``, held until ``release``: an app's lifespan."""
    with _registry_lock:  # one section: a release in between cannot close the pool handed out
        pool = pool_for(*config)
        _holders[config] = _holders.get(config, 0) + 1
    return pool


def release(pool: ComputePool) -> None:
    """Let go of an acquired pool; the last holder closes it."""
    key = pool.config
    with _registry_lock:
        _holders[key] = _holders.get(key, 1) - 1
        last = _holders[key] <= 0 and _pools.get(key) is pool
        if last:
            del _pools[key], _holders[key]
    if last:
        pool.close()


@atexit.register
def close_all() -> None:
    """Close every pool of this process (at exit: no worker outlives the server)."""
    with _registry_lock:
        pools = list(_pools.values())
        _pools.clear()
        _holders.clear()
    for pool in pools:
        pool.close()
