"""This process's bounded job queue: at most ``max_running`` jobs run at once, at most ``max_queued``
wait, in submission order; beyond that a submission is refused (``JobQueueFull``, 503 with
``Retry-After``).

The queue holds job ids only; the ``JobManager`` that owns it records the jobs in the store and runs
them, and calls it under its own lock (the queue is not thread-safe by itself). It counts the jobs
of one server process: each uvicorn worker has its own queue of ``GONOGO_JOB_WORKERS`` runners.
"""

from __future__ import annotations

import math
import statistics
from collections import deque

from service.problems import JobQueueFull

# Retry-After when no job has finished yet in this process, and the bounds of the estimate.
DEFAULT_RETRY_AFTER_SECONDS = 30
MIN_RETRY_AFTER_SECONDS, MAX_RETRY_AFTER_SECONDS = 1, 600
# Run times of the last jobs that estimate Retry-After.
RECENT_JOBS = 16


class JobQueue:
    """Job ids running (at most ``max_running``) and waiting (at most ``max_queued``, oldest first)."""

    def __init__(self, max_running: int, max_queued: int):
        if max_running < 1 or max_queued < 0:
            raise ValueError("a job queue needs a runner and a non-negative queue length")
        self.max_running = max_running
        self.max_queued = max_queued
        self.running: set[str] = set()
        self.waiting: deque[str] = deque()
        self._seconds: deque[float] = deque(maxlen=RECENT_JOBS)

    def admit(self, job_id: str, client: str | None = None) -> bool:
        """Take ``job_id``: True if it may run now, False if it waits its turn; ``JobQueueFull`` when
        ``max_queued`` jobs already wait.

        ``client`` is the seam of a per-client quota (API tokens, when they exist): count the
        ``client``'s running and waiting jobs here and refuse beyond its share.
        """
        if len(self.running) < self.max_running and not self.waiting:
            self.running.add(job_id)
            return True
        if len(self.waiting) >= self.max_queued:
            retry_after = self.retry_after()
            raise JobQueueFull(
                f"{len(self.running)} jobs are running and {len(self.waiting)} are waiting in this server process, "
                f"the most it takes (GONOGO_JOB_WORKERS={self.max_running}, GONOGO_MAX_QUEUED_JOBS={self.max_queued}); "
                f"submit the request again in about {retry_after} s",
                retry_after=retry_after, running=len(self.running), queued=len(self.waiting),
            )
        self.waiting.append(job_id)
        return False

    def finished(self, job_id: str, seconds: float | None = None) -> list[str]:
        """``job_id`` no longer runs (after ``seconds``, if it ran): the waiting jobs to start now."""
        if job_id in self.running:
            self.running.discard(job_id)
            if seconds is not None:
                self._seconds.append(seconds)
        else:
            self.withdraw(job_id)
        started = []
        while self.waiting and len(self.running) < self.max_running:
            started.append(self.waiting.popleft())
            self.running.add(started[-1])
        return started

    def withdraw(self, job_id: str) -> bool:
        """Take a waiting job out of the queue (cancelled, or ended elsewhere); False if it was not waiting."""
        try:
            self.waiting.remove(job_id)
        except ValueError:
            return False
        return True

    def retry_after(self) -> int:
        """Seconds until a place in the queue is likely to be free: the median run time of the last
        jobs over the number of runners (``DEFAULT_RETRY_AFTER_SECONDS`` before any has finished)."""
        if not self._seconds:
            return DEFAULT_RETRY_AFTER_SECONDS
        seconds = math.ceil(statistics.median(self._seconds) / self.max_running)
        return min(max(seconds, MIN_RETRY_AFTER_SECONDS), MAX_RETRY_AFTER_SECONDS)

    def counts(self) -> dict[str, int]:
        """Running and queued jobs, and the limits: what /health shows."""
        return {"running": len(self.running), "queued": len(self.waiting),
                "max_running": self.max_running, "max_queued": self.max_queued}
