"""Interim response analyses across strata; a large one (or any, with ``Prefer: respond-async``)
answers 202 with a job, one beyond the compute budget 422 (``service.budget``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header

from designs.response.analysis import analyse_response
from designs.response.spec import ResponseAnalysisSpec
from service import budget
from service.boundary import builds
from service.deps import ComputeDep, JobManagerDep, SettingsDep
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.designs import JobAccepted
from service.schemas.response import ResponseAnalysisRequest, ResponseAnalysisResult

router = APIRouter(prefix="/v1/analyses", tags=["analyses"], responses={**PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES})


@router.post(
    "/response",
    operation_id="analyses-response",
    response_model=ResponseAnalysisResult,
    responses={202: {"description": budget.JOB_DESCRIPTION, "model": JobAccepted}},
    summary="Posterior go/no-go probabilities per stratum from interim response counts",
)
@builds(ResponseAnalysisSpec.from_mapping)
async def response_analysis(body: ResponseAnalysisRequest, settings: SettingsDep, jobs: JobManagerDep,
                            compute: ComputeDep, prefer: str | None = Header(None)) -> Any:
    return await budget.analysis("response-analysis", body, settings, jobs, prefer, analyse_response, compute)
