"""Designs: operating characteristics of Bayesian go/no-go rules beside Simon, and their calibration.

A request whose simulated trials exceed ``GONOGO_JOB_THRESHOLD_TRIALS``, whose decision tables
would take more than ``GONOGO_JOB_DECISION_SECONDS`` to build, or that sends ``Prefer: respond-async``
(RFC 7240) is answered 202 with a job to poll at ``/v1/jobs/{id}``; one whose tables would take more
than ``GONOGO_MAX_DECISION_SECONDS`` is refused. The job keeps the request as sent (the fields the client
gave), to be resubmitted as it is, and the result's ``input_sha256`` as its ``request_sha256``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from designs.core.errors import InvalidInputError
from designs.core.provenance import input_hash
from service import limits
from service.api.jobs import QUEUE_FULL
from service.boundary import within_limits
from service.computations import OCFinish, prepare_calibration, prepare_operating_characteristics, sent_request
from service.compute import tasks
from service.deps import ComputeDep, JobManagerDep, SettingsDep
from service.jobs import JobManager
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.designs import (
    CalibrationRequest,
    CalibrationResult,
    JobAccepted,
    OperatingCharacteristicsRequest,
    OperatingCharacteristicsResult,
)
from service.settings import Settings

router = APIRouter(prefix="/v1/designs", tags=["designs"])

ACCEPTED = {202: {"description": "Too large to answer now: a job to poll at /v1/jobs/{id}", "model": JobAccepted},
            **QUEUE_FULL}


def _wants_job(plan: Any, prefer: str | None, settings: Settings) -> bool:
    """Estimated seconds of decision tables (``plan.decision_seconds``) against the Settings limits."""
    seconds = plan.decision_seconds
    if seconds > settings.max_decision_seconds:
        raise InvalidInputError(
            "strata",
            f"the decision rule's posterior tables would take about {seconds / 3600:.1f} hours "
            f"(limit {settings.max_decision_seconds / 3600:g} h): use fewer coupled strata or interim looks, "
            "or the independent or pooled model",
        )
    asked = prefer is not None and "respond-async" in prefer.lower()
    return asked or plan.simulated_trials > settings.job_threshold_trials or seconds > settings.job_decision_seconds


def _accepted(jobs: JobManager, kind: str, body: Any, computation: Any, finish: OCFinish) -> JSONResponse:
    job = jobs.submit(kind, computation, finish, request=sent_request(body), request_sha256=input_hash(finish.payload))
    body = {"id": job.id, "kind": kind, "state": job.state, "progress": job.progress,
            "links": {"self": f"/v1/jobs/{job.id}"}}
    return JSONResponse(body, status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


@router.post(
    "/operating-characteristics", operation_id="designs-operating-characteristics",
    response_model=OperatingCharacteristicsResult, responses={**ACCEPTED, **PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES},
    summary="Type I error, power, sample size and early stopping of a Bayesian go/no-go design, beside Simon",
)
async def operating_characteristics(body: OperatingCharacteristicsRequest, settings: SettingsDep, jobs: JobManagerDep,
                                    compute: ComputeDep, prefer: str | None = Header(None)) -> Any:
    plan, finish = within_limits(limits.of_request(settings, body.model_dump(mode="json")), prepare_operating_characteristics, body)
    if _wants_job(plan, prefer, settings):
        return await run_in_threadpool(_accepted, jobs, "operating-characteristics", body, plan, finish)
    return await compute(tasks.operating_characteristics, plan, finish)


@router.post(
    "/calibrate", operation_id="designs-calibrate", response_model=CalibrationResult,
    responses={**ACCEPTED, **PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES},
    summary="Final threshold (and futility cut-off) meeting a per-stratum type I error target with the most power",
)
async def calibrate(body: CalibrationRequest, settings: SettingsDep, jobs: JobManagerDep, compute: ComputeDep,
                    prefer: str | None = Header(None)) -> Any:
    plan, finish = within_limits(limits.of_request(settings, body.model_dump(mode="json")), prepare_calibration, body)
    if _wants_job(plan, prefer, settings):
        return await run_in_threadpool(_accepted, jobs, "calibration", body, plan, finish)
    return await compute(tasks.calibration, plan, finish)
