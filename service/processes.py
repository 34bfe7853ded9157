"""Worker processes that never outlive the server.

A worker process (compute pool, job pool) calls ``exit_with_parent(parent_pid)`` first thing: a
daemon thread looks every ``PARENT_POLL_SECONDS`` whether its parent is still the process that
started it and ends the worker at once when it is not (the server was killed with SIGKILL, crashed,
or its container stopped). ``PR_SET_PDEATHSIG`` would be quicker on Linux, but it fires when the
parent *thread* that started the worker ends, and pools start workers from short-lived threads.
"""

from __future__ import annotations

import os
import threading

PARENT_POLL_SECONDS = 0.5


def _watch(parent_pid: int, interval: float) -> None:
    stop = threading.Event()
    while not stop.wait(interval):
        if os.getppid() != parent_pid:
            os._exit(1)  # no clean-up: the server that wanted the result is gone


def exit_with_parent(parent_pid: int, interval: float = PARENT_POLL_SECONDS) -> None:
    """End this process within ``interval`` seconds of its parent ``parent_pid`` ending."""
    if os.getppid() != parent_pid:
        os._exit(1)
    threading.Thread(target=_watch, args=(parent_pid, interval), name="gonogo-parent-watch", daemon=True).start()
