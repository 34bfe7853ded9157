"""Simon two-stage designs: search, evaluation, inference after the trial."""

from __future__ import annotations

from fastapi import APIRouter

from designs import simon
from service import limits
from service.compute import tasks
from service.deps import ComputeDep, SettingsDep
from service.problems import UNAVAILABLE_RESPONSES
from service.schemas.simon import (
    DesignSearchRequest,
    DesignSearchResult,
    EvaluateRequest,
    EvaluateResult,
    InferenceRequest,
    InferenceResult,
)

router = APIRouter(prefix="/v1/simon", tags=["simon"], responses=UNAVAILABLE_RESPONSES)


@router.post("/designs", operation_id="simon-designs", response_model=DesignSearchResult,
             summary="Optimal, minimax and admissible Simon two-stage designs")
async def designs(body: DesignSearchRequest, settings: SettingsDep, compute: ComputeDep) -> dict:
    limits.enforce(settings, body.model_dump(mode="json"))  # before the search: nmax is its cost
    return await compute(tasks.simon_designs, body.p0, body.p1, body.alpha, body.beta, body.nmax)


@router.post("/evaluate", operation_id="simon-evaluate", response_model=EvaluateResult,
             summary="Exact operating characteristics of a Simon design")
async def evaluate(body: EvaluateRequest, compute: ComputeDep) -> dict:
    return await compute(simon.design_evaluation, body.r1, body.n1, body.r, body.n, body.p)


@router.post("/inference", operation_id="simon-inference", response_model=InferenceResult,
             summary="UMVUE, exact p-value and confidence interval after a Simon trial")
async def inference(body: InferenceRequest, compute: ComputeDep) -> dict:
    return await compute(simon.infer, body.r1, body.n1, body.n, body.p0, body.responders, body.alpha)
