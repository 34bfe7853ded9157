"""Safety monitoring: stopping boundaries (``POST /v1/designs/safety-boundaries``); the analysis of
toxicities at a look is ``service.api.safety_analysis``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from designs.safety import SafetyDesign
from service.compute import tasks
from service.deps import ComputeDep
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.safety import SafetyBoundariesRequest, SafetyBoundariesResult

router = APIRouter(prefix="/v1/designs", tags=["designs"])


@router.post(
    "/safety-boundaries", operation_id="designs-safety-boundaries", response_model=SafetyBoundariesResult,
    responses={**PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES},
    summary="Toxicity stopping boundaries calibrated to P(stop | p0) ≤ alpha, with exact operating characteristics",
)
async def safety_boundaries(body: SafetyBoundariesRequest, compute: ComputeDep) -> Any:
    payload = body.model_dump(mode="json")
    design = SafetyDesign.from_mapping({k: payload[k] for k in ("p0", "looks", "alpha", "method", "prior")})
    return await compute(tasks.safety_boundaries, design, payload["rates"], payload)
