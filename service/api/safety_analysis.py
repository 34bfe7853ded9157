"""The safety analysis at a look (``POST /v1/analyses/safety``): closed form, answered at once by the
compute pool."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from designs.safety.analysis import SafetyAnalysisSpec, analyse_safety
from service.boundary import builds
from service.deps import ComputeDep
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.safety_analysis import SafetyAnalysisRequest, SafetyAnalysisResult

router = APIRouter(prefix="/v1/analyses", tags=["analyses"], responses={**PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES})


@router.post("/safety", operation_id="analyses-safety", response_model=SafetyAnalysisResult,
             summary="Posterior toxicity rate per stratum and pooled, P(p_tox > p0), and whether the safety boundary is crossed")
@builds(SafetyAnalysisSpec.from_mapping)
async def safety_analysis(body: SafetyAnalysisRequest, compute: ComputeDep) -> dict:
    spec = await run_in_threadpool(SafetyAnalysisSpec.from_mapping, body.model_dump(mode="json", exclude_unset=True))
    return await compute(analyse_safety, spec)
