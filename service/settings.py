"""The one Settings object: limits, sampler defaults, server and job settings (env prefix GONOGO_)."""

from __future__ import annotations

import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from designs.core.validation import MAX_STRATA
from designs.engines.sampler_settings import MAX_DRAWS, MIN_REQUEST_DRAWS
from designs.oc.simulate import MAX_TRIALS_PER_SCENARIO
from designs.simon.validation import NMAX_LIMIT


def default_data_dir() -> Path:
    """``gonogo`` under the platform's per-user state directory (XDG state home on Linux)."""
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Application Support"
    else:
        xdg = os.environ.get("XDG_STATE_HOME", "")
        base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".local" / "state"
    return base / "gonogo"


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask; a container's CPU quota is not seen), 1 to 64."""
    try:
        count = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        count = os.cpu_count() or 1
    return max(1, min(count, 64))


class Settings(BaseSettings):
    """Configuration from environment variables (``GONOGO_HOST``, ``GONOGO_PORT`` ...).

    Closed choices are ``Literal`` types so a bad value fails at start-up, not at the first request.
    """

    model_config = SettingsConfigDict(env_prefix="GONOGO_", extra="forbid", frozen=True)

    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64)
    log_level: Literal["critical", "error", "warning", "info", "debug"] = "info"

    # Limits on what one request may ask for.
    # Each may lower, never raise, what the core can do (its own limits are the upper bounds).
    simon_nmax_limit: int = Field(NMAX_LIMIT, ge=10, le=NMAX_LIMIT)
    max_strata: int = Field(MAX_STRATA, ge=1, le=MAX_STRATA)
    max_mcmc_draws: int = Field(MAX_DRAWS, ge=MIN_REQUEST_DRAWS, le=MAX_DRAWS)

    # Largest request body: a larger one is answered 413 without being read (service/middleware.py).
    # At least 1 MB: the largest request the specs accept (2000 PFS patients) is a few hundred kB.
    max_body_bytes: int = Field(5_000_000, ge=1_000_000, le=100_000_000)

    # MCMC: compile these models at start-up so the first request is fast.
    warm_up_models: bool = True

    # Synchronous computations run in a pool of worker processes (service/compute/): at most
    # compute_workers at once and compute_queue waiting (default 2 × workers), beyond that 503 Busy;
    # one running longer than request_timeout_s is stopped (503); a worker whose memory after a task
    # exceeds compute_worker_max_rss_mb is replaced.
    compute_workers: int = Field(default_factory=available_cpus, ge=1, le=64)
    compute_queue: int | None = Field(None, ge=0, le=1024)
    request_timeout_s: float = Field(120.0, gt=0, le=86_400)
    compute_worker_max_rss_mb: int = Field(1500, ge=100, le=1_048_576)

    @property
    def compute_queue_limit(self) -> int:
        """``compute_queue``, or twice ``compute_workers``."""
        return 2 * self.compute_workers if self.compute_queue is None else self.compute_queue

    # Operating-characteristic jobs.
    max_simulated_trials: int = Field(MAX_TRIALS_PER_SCENARIO, ge=1000, le=MAX_TRIALS_PER_SCENARIO)
    job_threshold_trials: int = Field(200_000, ge=0)
    # At most job_workers jobs run at once in a server process (each on the whole pool); at most
    # max_queued_jobs more wait their turn, and beyond that a job is refused (503, Retry-After).
    job_workers: int = Field(2, ge=1, le=64)
    max_queued_jobs: int = Field(32, ge=0, le=10_000)
    dask_scheduler: str | None = None
    # Estimated seconds of decision tables above which a request becomes a job, and above which it is
    # refused. The MPNST design (2 strata, looks 7/14/21, hierarchical) needs ~0.2 s; 3 such strata
    # ~5 s; 4 strata of 10/20 with PPoS ~minutes.
    job_decision_seconds: float = Field(5.0, gt=0)
    max_decision_seconds: float = Field(3_600.0, gt=0)
    # Estimated cost of an analysis (designs.core.cost, service/budget.py): above the synchronous budget
    # it becomes a job (202), above the hard budget it is refused (422 naming the fields to change).
    # The hard budget suits a 2-core container of 4-8 GB running GONOGO_JOB_WORKERS (2) jobs at once.
    sync_compute_seconds: float = Field(30.0, gt=0)
    sync_compute_mb: int = Field(512, ge=64)
    max_compute_seconds: float = Field(600.0, gt=0)
    max_compute_mb: int = Field(2048, ge=64)
    # One budget for every cache of arrays in a process (designs/core/memory.py).
    cache_mb: int = Field(384, ge=16, le=65536)
    # A finished job's request and result are kept this long, then answer 410 Gone (service/jobs/manager.py).
    job_retention_hours: float = Field(168.0, gt=0)

    # The default database (gonogo.sqlite3: registry, audit trail, tokens, jobs), compiled models and
    # anything else that must outlive a process. Shared by every uvicorn worker, so it must be a local
    # disk (SQLite WAL does not work over a network filesystem).
    data_dir: Path = Field(default_factory=default_data_dir)
    # The database, when not SQLite in data_dir: postgresql+psycopg://user@host:5432/db (several
    # replicas share it). See service/store/engine.py.
    database_url: str | None = None
    # The stateless calculators (Simon, analyses, designs, jobs) answer without a token unless true.
    auth_calculators: bool = False

    @field_validator("data_dir")
    @classmethod
    def _expand_user(cls, value: Path) -> Path:
        return value.expanduser()

    @model_validator(mode="after")
    def _job_limits_in_order(self) -> Settings:
        if self.job_decision_seconds > self.max_decision_seconds:
            raise ValueError("job_decision_seconds must not exceed max_decision_seconds")
        if self.sync_compute_seconds > self.max_compute_seconds or self.sync_compute_mb > self.max_compute_mb:
            raise ValueError("the synchronous compute budget must not exceed the hard one (GONOGO_MAX_COMPUTE_*)")
        return self


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
