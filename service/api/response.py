"""Interim response analyses across strata."""

from __future__ import annotations

from fastapi import APIRouter

from designs.response.analysis import analyse_response
from service import limits
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
def response_analysis(body: ResponseAnalysisRequest, settings: SettingsDep) -> dict:
    limits.enforce_analysis(settings, body)
    # A plain `def` route: FastAPI runs it in a worker thread, so sampling never blocks the event loop.
    payload = body.model_dump(mode="json")
    return analyse_response(
        p0=body.p0,
        p1=body.p1,
        strata=payload["strata"],
        model={"kind": body.model.kind, "prior": body.model.prior.model_dump(exclude_none=True)},
        decision_rule=payload["decision"],
        simon=payload["simon"],
        engine=body.engine,
        mcmc=payload["mcmc"],
        seed=body.seed,
        request_payload_for_hash=payload,
    )
