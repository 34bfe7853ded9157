"""What routes depend on, through FastAPI's ``Depends``: the settings, the job manager, the compute pool
and the database.

Routes declare ``settings: SettingsDep``, ``jobs: JobManagerDep`` or ``compute: ComputeDep``; tests
replace them with ``app.dependency_overrides[get_settings]`` / ``[get_job_manager]`` / ``[get_compute]``.
The app's lifespan owns the job manager, the compute pool and the database engine (``service.app``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import Engine

from service.compute import Compute, get_compute
from service.jobs import JobManager
from service.settings import Settings, get_settings


def get_job_manager(request: Request) -> JobManager:
    """The job manager the app's lifespan opened."""
    return request.app.state.job_manager


def get_database(request: Request) -> Engine:
    """The database engine the app's lifespan opened (``service.store.engine``)."""
    return request.app.state.database


SettingsDep = Annotated[Settings, Depends(get_settings)]
JobManagerDep = Annotated[JobManager, Depends(get_job_manager)]
ComputeDep = Annotated[Compute, Depends(get_compute)]
DatabaseDep = Annotated[Engine, Depends(get_database)]
