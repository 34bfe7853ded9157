"""Interim response analyses across strata."""

from __future__ import annotations

from fastapi import APIRouter

from designs.response.analysis import analyse_response
from designs.response.spec import ResponseAnalysisSpec
from service import limits
from service.boundary import builds, within_limits
from service.deps import ComputeDep, SettingsDep
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.response import ResponseAnalysisRequest, ResponseAnalysisResult

router = APIRouter(prefix="/v1/analyses", tags=["analyses"], responses={**PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES})


@router.post(
    "/response",
    operation_id="analyses-response",
    response_model=ResponseAnalysisResult,
    summary="Posterior go/no-go probabilities per stratum from interim response counts",
)
@builds(ResponseAnalysisSpec.from_mapping)
async def response_analysis(body: ResponseAnalysisRequest, settings: SettingsDep, compute: ComputeDep) -> dict:
    # The analysis runs in a compute worker process (service.compute), never on the event loop.
    payload = body.model_dump(mode="json")
    spec = within_limits(limits.of_request(settings, payload), ResponseAnalysisSpec.from_mapping, payload)
    return await compute(analyse_response, spec)
