"""Long-running jobs: the backends that run a computation's chunks (``backends``), a job store shared
by every worker process and replica (``store``, a table of gonogo's database) and the manager that runs and records jobs (``manager``)."""

from service.jobs.backends import (
    PREPARE_SHARE,
    Backend,
    Cancelled,
    Computation,
    DaskBackend,
    InProcessBackend,
    ProcessPoolBackend,
    backend_from_settings,
    is_pure,
)
from service.jobs.queue import JobQueue
from service.jobs.manager import (
    PROGRESS_SECONDS,
    Job,
    JobManager,
)
from service.jobs.store import (
    ACTIVE,
    CANCELLED,
    FAILED,
    FINISHED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    SUCCEEDED,
    JobStore,
)

__all__ = [
    "ACTIVE", "CANCELLED", "FAILED", "FINISHED", "INTERRUPTED", "PREPARE_SHARE",
    "PROGRESS_SECONDS", "QUEUED", "RUNNING", "SUCCEEDED", "Backend", "Cancelled", "Computation",
    "DaskBackend", "InProcessBackend", "Job", "JobManager", "JobQueue", "JobStore", "ProcessPoolBackend",
    "backend_from_settings", "is_pure",
]
