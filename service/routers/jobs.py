"""Long-running jobs: state, progress and result; cancellation."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.exceptions import HTTPException

from service.jobs import FINISHED, get_job_manager
from service.problems import PROBLEM_JSON
from service.schemas.designs import JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])

NOT_FOUND = {404: {"description": "No such job", "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}}
# How long DELETE waits for the job to notice (it stops between chunks; polling is every 20 ms).
CANCEL_WAIT_SECONDS = 5.0


def _job_or_404(job_id: str):
    job = get_job_manager().get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (jobs live in the memory of the process that started them)")
    return job


@router.get("/{job_id}", operation_id="jobs-get", response_model=JobStatus, responses=NOT_FOUND,
            summary="State, progress (fraction done) and, once done, the result of a job")
def get_job(job_id: str) -> dict:
    return _job_or_404(job_id).as_dict()


@router.delete("/{job_id}", operation_id="jobs-cancel", response_model=JobStatus,
               responses={**NOT_FOUND, 409: {"description": "The job has already finished",
                                             "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
               summary="Cancel a queued or running job")
def cancel_job(job_id: str) -> dict:
    job = _job_or_404(job_id)
    if job.state in FINISHED:
        raise HTTPException(409, f"job {job_id!r} has already finished ({job.state})")
    manager = get_job_manager()
    manager.cancel(job_id)
    manager.wait(job_id, CANCEL_WAIT_SECONDS)
    return job.as_dict()
