"""Interim response analyses across strata."""

from __future__ import annotations

from fastapi import APIRouter

from designs.response.analysis import analyse_response
from designs.response.spec import ResponseAnalysisSpec
from service import limits
from service.boundary import builds, within_limits
from service.deps import SettingsDep
from service.problems import PROBLEM_RESPONSES
from service.schemas.response import ResponseAnalysisRequest, ResponseAnalysisResult

router = APIRouter(prefix="/v1/analyses", tags=["analyses"], responses=PROBLEM_RESPONSES)


@router.post(
    "/response",
    operation_id="analyses-response",
    response_model=ResponseAnalysisResult,
    summary="Posterior go/no-go probabilities per stratum from interim response counts",
)
@builds(ResponseAnalysisSpec.from_mapping)
def response_analysis(body: ResponseAnalysisRequest, settings: SettingsDep) -> dict:
    # A plain `def` route: FastAPI runs it in a worker thread, so sampling never blocks the event loop.
    payload = body.model_dump(mode="json")
    spec = within_limits(limits.of_request(settings, payload), ResponseAnalysisSpec.from_mapping, payload)
    return analyse_response(spec)
