"""One compute worker process: warm up, then run one task at a time and give its memory back.

``main`` is the process's target (``service.compute.pool`` starts it with the ``spawn`` context). It
speaks on one duplex pipe with the thread of the server that owns it:

    worker → server   ("started", pid)                 imports done
                      ("ready", models, rss)           warm-up done (models: its /health entry or None)
    server → worker   pickled (function, args, kwargs) one task
    worker → server   ("ok", result) or ("error", ExportedError)   as soon as the task ends
                      ("idle", rss)                    once its memory is released: ready for the next
    server → worker   None                              end (or the pipe closes)

Objects alive after the warm-up (modules, compiled models) are frozen out of the garbage collector
(``gc.freeze``), so that the collection after each task looks only at what the task left: about a
millisecond instead of a tenth of a second.

A worker never outlives the server (``service.processes.exit_with_parent``); it is killed, not asked,
when its task is cancelled or times out.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
import pickle
import signal
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

# Imported by every worker before it says it is ready, so that the first request does not pay for
# them (numpy, scipy and the core: about a second). PyMC, nutpie and numba are loaded by the warm-up.
PRELOAD = (
    "designs.response.analysis",
    "designs.survival.analysis",
    "designs.simon",
    "designs.oc",
    "service.compute.tasks",
)


@dataclass
class ExportedError:
    """An exception as it crosses the pipe: its class, arguments and attributes, and the worker's
    traceback. Rebuilt without calling ``__init__`` (``ConvergenceError(message, diagnostics)`` keeps
    only ``message`` in ``args``, so plain pickling could not rebuild it)."""

    cls: type[BaseException]
    args: tuple
    state: dict[str, Any]
    traceback: str

    @classmethod
    def of(cls, exc: BaseException) -> ExportedError:
        text = "".join(traceback.format_exception(exc))
        if not isinstance(exc, Exception):  # SystemExit, KeyboardInterrupt: not the server's to raise
            return cls(RuntimeError, (f"{type(exc).__qualname__}: {exc}",), {}, text)
        exported = cls(type(exc), exc.args, dict(vars(exc)), text)
        try:
            pickle.loads(pickle.dumps(exported)).rebuild()
        except Exception:  # noqa: BLE001 - an exception that cannot cross: its words still do
            return cls(RuntimeError, (f"{type(exc).__qualname__}: {exc}",), {}, text)
        return exported

    def rebuild(self) -> BaseException:
        """The exception, with the worker's traceback as its cause (in the server's log); a
        ``RuntimeError`` with its words when its class cannot be made without its arguments."""
        try:
            exc = self.cls.__new__(self.cls)
            exc.args = self.args
            vars(exc).update(self.state)
        except Exception:  # noqa: BLE001 - a class whose __new__ needs arguments: its words still cross
            exc = RuntimeError(f"{self.cls.__qualname__}: {self.args}")
        exc.__cause__ = RemoteTraceback(self.traceback)
        return exc


class RemoteTraceback(Exception):
    """The traceback of an exception raised in a compute worker."""

    def __str__(self) -> str:
        return "\n" + (self.args[0] if self.args else "")


def _malloc_trim() -> Callable[[int], int] | None:
    """glibc's ``malloc_trim`` (gives freed heap pages back to the system), or None elsewhere."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        return libc.malloc_trim
    except (OSError, AttributeError):
        return None


def release_memory(trim: Callable[[int], int] | None) -> None:
    """Collect garbage and give the freed heap back (glibc keeps it otherwise)."""
    gc.collect()
    if trim is not None:
        trim(0)


def rss_bytes() -> int:
    """This process's resident memory."""
    import psutil  # deferred: only workers measure themselves

    return psutil.Process().memory_info().rss


def _warm(warm_up: Callable[[], dict[str, float]] | None) -> dict[str, Any] | None:
    """Run the warm-up (compile or load the PyMC models); its /health ``models`` entry."""
    if warm_up is None:
        return None
    try:
        seconds = warm_up()
    except Exception as exc:  # noqa: BLE001 - reported on /health; requests compile on demand
        return {"state": "failed", "detail": repr(exc)}
    return {"state": "ready", "compile_seconds": {k: round(v, 2) for k, v in seconds.items()}}


WORKER_NICENESS = 5


def main(conn: Connection, parent_pid: int, cache_dir: Path | None,
         warm_up: Callable[[], dict[str, float]] | None, cache_bytes: int | None = None) -> None:
    """The worker: see the module docstring."""
    from service.processes import exit_with_parent

    exit_with_parent(parent_pid)
    # Computations yield the CPU to the server's event loop, which must answer /health, admit and refuse
    # requests promptly however busy the workers are (an OS priority, not a limit: an idle CPU is used).
    if hasattr(os, "nice"):
        os.nice(WORKER_NICENESS)
    # Ctrl-C reaches the whole process group: the server decides when its workers end.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import importlib

    from designs.engines import pymc

    pymc.set_cache_dir(cache_dir)
    if cache_bytes is not None:
        from designs.core.memory import set_cache_budget

        set_cache_budget(cache_bytes)  # GONOGO_CACHE_MB, for this worker's caches together
    for module in PRELOAD:
        importlib.import_module(module)
    conn.send(("started", os.getpid()))
    trim = _malloc_trim()
    models = _warm(warm_up)
    gc.collect()
    gc.freeze()
    release_memory(trim)
    conn.send(("ready", models, rss_bytes()))
    while True:
        try:
            message = conn.recv_bytes()
        except EOFError:
            return
        if message == STOP:
            return
        outcome = _run(message)
        del message
        try:
            conn.send(outcome)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            conn.send(("error", ExportedError.of(exc)))
        del outcome
        release_memory(trim)
        conn.send(("idle", rss_bytes()))


STOP = pickle.dumps(None)
"""What the server sends a worker to end it."""


def _run(message: bytes) -> tuple[str, Any]:
    """Run one pickled task; its arguments go when this returns (before the memory is released)."""
    try:
        function, args, kwargs = pickle.loads(message)
        return "ok", function(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - every failure goes back to the request
        return "error", ExportedError.of(exc)
