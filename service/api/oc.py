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
from starlette.concurrency import run_in_threadpool

from designs.core.provenance import input_hash
from service import budget, limits
from service.boundary import within_limits
from service.computations import prepare_calibration, prepare_operating_characteristics
from service.compute import tasks
from service.deps import ComputeDep, JobManagerDep, SettingsDep
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.designs import (
    CalibrationRequest,
    CalibrationResult,
    JobAccepted,
    OperatingCharacteristicsRequest,
    OperatingCharacteristicsResult,
)

router = APIRouter(prefix="/v1/designs", tags=["designs"])

ACCEPTED = {202: {"description": "Too large to answer now: a job to poll at /v1/jobs/{id}", "model": JobAccepted}}


@router.post(
    "/operating-characteristics", operation_id="designs-operating-characteristics",
    response_model=OperatingCharacteristicsResult, responses={**ACCEPTED, **PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES},
    summary="Type I error, power, sample size and early stopping of a Bayesian go/no-go design, beside Simon",
)
async def operating_characteristics(body: OperatingCharacteristicsRequest, settings: SettingsDep, jobs: JobManagerDep,
                                    compute: ComputeDep, prefer: str | None = Header(None)) -> Any:
    plan, finish = within_limits(limits.of_request(settings, body.model_dump(mode="json")), prepare_operating_characteristics, body)
    if budget.design_wants_job(plan, prefer, settings):
        return await run_in_threadpool(budget.accepted, jobs, "operating-characteristics", body, plan, finish,
                                       input_hash(finish.payload))
    return await compute(tasks.operating_characteristics, plan, finish)


@router.post(
    "/calibrate", operation_id="designs-calibrate", response_model=CalibrationResult,
    responses={**ACCEPTED, **PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES},
    summary="Final threshold (and futility cut-off) meeting a per-stratum type I error target with the most power",
)
async def calibrate(body: CalibrationRequest, settings: SettingsDep, jobs: JobManagerDep, compute: ComputeDep,
                    prefer: str | None = Header(None)) -> Any:
    plan, finish = within_limits(limits.of_request(settings, body.model_dump(mode="json")), prepare_calibration, body)
    if budget.design_wants_job(plan, prefer, settings):
        return await run_in_threadpool(budget.accepted, jobs, "calibration", body, plan, finish,
                                       input_hash(finish.payload))
    return await compute(tasks.calibration, plan, finish)
