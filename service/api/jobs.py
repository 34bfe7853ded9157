"""Long-running jobs: state, progress and, once done, the result; cancellation.

Any uvicorn worker answers for any job (they share the job store, ``service/jobs/store.py``). Every status
carries the job's ``request`` as sent and its ``request_sha256`` (the result's ``input_sha256``), so that
an ``interrupted`` job (its worker stopped) can be resubmitted as it is. A finished job is kept
``GONOGO_JOB_RETENTION_HOURS`` (``expires_at``); then it answers 410 Gone for as long again, then 404.
A queued job is cancelled at once (it never runs); a running one within a fraction of a second, its
chunks in flight cancelled.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from service.deps import JobManagerDep
from service.jobs import ACTIVE, FINISHED, Job, JobManager
from service.problems import PROBLEM_JSON, problem
from service.schemas.designs import JobStatus

router = APIRouter(prefix="/v1/jobs", tags=["jobs"])


def _problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


NOT_FOUND = {
    404: _problem_response("No such job"),
    410: _problem_response("The job finished more than GONOGO_JOB_RETENTION_HOURS ago: its request and result are gone"),
}
# How long DELETE waits for the job to notice (it stops between chunks; the flag is read every 0.2 s).
CANCEL_WAIT_SECONDS = 5.0


def _job(manager: JobManager, job_id: str) -> Job:
    job = manager.get(job_id)
    if job is None:
        raise HTTPException(404, f"no job {job_id!r} (never submitted, or expired long ago)")
    return job


def _gone(job: Job) -> JSONResponse:
    return problem(
        410, "Job expired",
        f"job {job.id!r} finished at {job.finished_at} and expired at {job.expires_at}: its request and result "
        "are no longer kept. Submit the request again: the same request and seed give the same numbers.",
        type_="/problems/job-expired", id=job.id, kind=job.kind, state=job.state,
        finished_at=job.finished_at, expired_at=job.expires_at, request_sha256=job.request_sha256,
    )


@router.get("/{job_id}", operation_id="jobs-get", response_model=JobStatus, responses=NOT_FOUND,
            summary="State, progress (fraction done), request and, once done, the result of a job")
def get_job(job_id: str, manager: JobManagerDep) -> Any:
    job = _job(manager, job_id)
    return _gone(job) if job.expired else job.as_dict()


@router.delete("/{job_id}", operation_id="jobs-cancel", response_model=JobStatus,
               responses={**NOT_FOUND,
                          202: {"description": "Cancellation asked for; the job has not stopped yet", "model": JobStatus},
                          409: _problem_response("The job has already finished")},
               summary="Cancel a queued or running job, whichever worker runs it")
def cancel_job(job_id: str, manager: JobManagerDep) -> Any:
    job = _job(manager, job_id)
    if job.expired:
        return _gone(job)
    if job.state in FINISHED:
        raise HTTPException(409, f"job {job_id!r} has already finished ({job.state})")
    manager.cancel(job_id)
    job = manager.wait(job_id, CANCEL_WAIT_SECONDS)
    if job.state in ACTIVE:
        return JSONResponse(JobStatus.model_validate(job.as_dict()).model_dump(mode="json"), status_code=202)
    return job.as_dict()
