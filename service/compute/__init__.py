"""Admission control: the synchronous computations of the routes run in a bounded pool of worker processes.

    pool     ComputePool: workers, a short queue, time limit, cancellation, replacement of dead or
             bloated workers; one pool per configuration and server process
    worker   the worker process: warm-up, one task at a time, memory given back after each
    tasks    the computations that are not a core function already (Simon search, OC, calibration)

A route declares ``compute: ComputeDep`` (``service.deps``) and ends with
``return await compute(analyse_response, spec)``: the function and its arguments go to a worker (they
must pickle: module-level functions, specs), the event loop waits for the answer while watching the
client, and

* the pool full (``GONOGO_COMPUTE_WORKERS`` running, ``GONOGO_COMPUTE_QUEUE`` waiting): 503 ``/problems/busy``
  with ``Retry-After``, at once;
* longer than ``GONOGO_REQUEST_TIMEOUT_S``: its worker is killed and replaced, 503
  ``/problems/computation-timeout``;
* the client gone: its computation is dropped or its worker killed within ``DISCONNECT_POLL_SECONDS``;
* the worker dead (killed, out of memory): 503 ``/problems/worker-lost``; the next request has a new one;
* an error raised in the worker (``InvalidInputError`` ...) is raised again here, so
  ``service.problems`` answers the same problem document as if the route had computed itself.

The command line computes in its own process, as before; tests that patch the core in the test process
use ``InProcessCompute``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from service.compute.pool import ComputePool, Task, acquire, close_all, pool_for, release
from service.problems import ClientClosedRequest
from service.settings import Settings, get_settings

# How often a waiting request looks whether its client is still there.
DISCONNECT_POLL_SECONDS = 0.2


def warm_up_of(settings: Settings) -> Callable[[], dict[str, float]] | None:
    """What each worker runs before its first task: the PyMC models compiled (or read from the data
    directory), or nothing (``GONOGO_WARM_UP_MODELS=false``: the first request that needs one compiles it)."""
    from designs.engines import pymc  # light: PyMC itself is imported by the warm-up, in the worker

    return pymc.warm_up if settings.warm_up_models else None


def pool_args(settings: Settings) -> tuple:
    """The configuration of the pool of ``settings``: the key it is shared by."""
    return (settings.compute_workers, settings.compute_queue_limit, settings.data_dir / "compiled-models",
            warm_up_of(settings), settings.cache_mb * 2**20)


class Compute:
    """Run a computation of one request in the pool (``await compute(function, *args)``)."""

    def __init__(self, pool: ComputePool, request: Request, timeout: float, max_rss_bytes: int):
        self.pool = pool
        self.request = request
        self.timeout = timeout
        self.max_rss_bytes = max_rss_bytes

    async def __call__(self, function: Callable, *args: Any) -> Any:
        task = self.pool.submit(function, *args, timeout=self.timeout, max_rss_bytes=self.max_rss_bytes)
        return await wait_for(task, self.request)


async def wait_for(task: Task, request: Request | None) -> Any:
    """``task``'s result, raised error included; the task is cancelled if the client leaves first, or
    if this coroutine is cancelled."""
    future = asyncio.wrap_future(task.future)
    try:
        while True:
            done, _ = await asyncio.wait({future}, timeout=DISCONNECT_POLL_SECONDS)
            if done:
                return future.result()
            if request is not None and await request.is_disconnected():
                raise ClientClosedRequest()
    finally:
        if not future.done():
            task.cancel()
            # Its outcome (cancelled) is nobody's: read it so that asyncio does not report it unread.
            future.add_done_callback(lambda f: f.cancelled() or f.exception())


class InProcessCompute:
    """Computations in a thread of this process, as before the pool (tests that patch the core here)."""

    async def __call__(self, function: Callable, *args: Any) -> Any:
        return await run_in_threadpool(function, *args)


def get_compute(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> Compute:
    """The compute of a request: the pool of its settings (overrides included), their time and memory limits."""
    return Compute(pool_for(*pool_args(settings)), request, settings.request_timeout_s,
                   settings.compute_worker_max_rss_mb * 2**20)


__all__ = [
    "Compute",
    "ComputePool",
    "InProcessCompute",
    "Task",
    "acquire",
    "close_all",
    "get_compute",
    "pool_args",
    "pool_for",
    "release",
    "wait_for",
]
