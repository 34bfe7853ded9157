"""What routes depend on, through FastAPI's ``Depends``: the settings, the job manager and the compute pool.

Routes declare ``settings: SettingsDep``, ``jobs: JobManagerDep`` or ``compute: ComputeDep``; tests
replace them with ``app.dependency_overrides[get_settings]`` / ``[get_job_manager]`` / ``[get_compute]``.
The app's lifespan owns the job manager and the compute pool (``service.app``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from service.compute import Compute, get_compute
from service.jobs import JobManager
from service.settings import Settings, get_settings


def get_job_manager(request: Request) -> JobManager:
    """The job manager the app's lifespan opened."""
    return request.app.state.job_manager


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobManagerDep = Annotated[JobManager, Depends(get_job_manager)]
ComputeDep = Annotated[Compute, Depends(get_compute)]
