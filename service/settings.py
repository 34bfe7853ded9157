"""The one Settings object: limits, sampler defaults, server and job settings (env prefix GONOGO_)."""

from __future__ import annotations

from functools import lru_cache
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


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
    simon_nmax_limit: int = Field(1000, ge=10, le=1000)
    max_strata: int = Field(12, ge=1, le=12)
    max_mcmc_draws: int = Field(100_000, ge=100)

    # MCMC: compile these models at start-up so the first request is fast.
    warm_up_models: bool = True

    # Operating-characteristic jobs.
    max_simulated_trials: int = Field(1_000_000, ge=1000)
    job_threshold_trials: int = Field(200_000, ge=0)
    job_workers: int = Field(2, ge=1, le=64)
    dask_scheduler: str | None = None


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once."""
    return Settings()
