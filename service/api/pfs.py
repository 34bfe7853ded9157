"""Interim analysis of progression-free survival: Kaplan–Meier beside a Bayesian (hierarchical) PFS model."""

from __future__ import annotations

from fastapi import APIRouter

from designs.survival import analysis as pfs_analysis
from designs.engines.pymc import SamplerSettings
from designs.survival.models import resolve_model
from service import limits
from service.deps import SettingsDep
from service.problems import PROBLEM_RESPONSES
from service.schemas.pfs import PFSAnalysisRequest, PFSAnalysisResult

router = APIRouter(prefix="/v1/analyses", tags=["analyses"])


@router.post("/pfs", operation_id="analyses-pfs", response_model=PFSAnalysisResult, responses=PROBLEM_RESPONSES,
             summary="Per-stratum landmark PFS, median PFS and go/no-go from patient-level PFS data")
def pfs(body: PFSAnalysisRequest, settings: SettingsDep) -> dict:
    limits.enforce_analysis(settings, body)
    # A plain def: FastAPI runs it in a worker thread, so sampling does not block the event loop.
    request = pfs_analysis.PFSAnalysisInput(
        patients=[pfs_analysis.PatientRecord(**p.model_dump()) for p in body.patients],
        benchmark_landmark_pfs=body.benchmark_landmark_pfs,
        target_landmark_pfs=body.target_landmark_pfs,
        landmark_months=body.landmark_months,
        model=resolve_model(body.model.kind, body.model.prior.model_dump(exclude_none=True), body.engine),
        decision=pfs_analysis.PFSDecisionRule(**body.decision.model_dump()),
        strata=body.strata,
        sampler=SamplerSettings(**body.mcmc.model_dump()),
        seed=body.seed,
    )
    return pfs_analysis.analyse_pfs(request, payload=body.model_dump(mode="json"))
