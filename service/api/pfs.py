"""Interim analysis of progression-free survival: Kaplan–Meier beside a Bayesian (hierarchical) PFS model."""

from __future__ import annotations

from fastapi import APIRouter

from designs.survival.analysis import analyse_pfs
from designs.survival.spec import PFSAnalysisSpec
from service import limits
from service.boundary import builds, within_limits
from service.deps import ComputeDep, SettingsDep
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.pfs import PFSAnalysisRequest, PFSAnalysisResult

router = APIRouter(prefix="/v1/analyses", tags=["analyses"])


@router.post("/pfs", operation_id="analyses-pfs", response_model=PFSAnalysisResult,
             responses={**PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES},
             summary="Per-stratum landmark PFS, median PFS and go/no-go from patient-level PFS data")
@builds(PFSAnalysisSpec.from_mapping)
async def pfs(body: PFSAnalysisRequest, settings: SettingsDep, compute: ComputeDep) -> dict:
    # The analysis runs in a compute worker process (service.compute), never on the event loop.
    payload = body.model_dump(mode="json")
    spec = within_limits(limits.of_request(settings, payload), PFSAnalysisSpec.from_mapping, payload)
    return await compute(analyse_pfs, spec)
