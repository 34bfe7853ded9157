"""Interim analysis of progression-free survival: Kaplan–Meier beside a Bayesian (hierarchical) PFS model;
a large one (or any, with ``Prefer: respond-async``) answers 202 with a job (``service.budget``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header

from designs.survival.analysis import analyse_pfs
from designs.survival.spec import PFSAnalysisSpec
from service import budget
from service.boundary import builds
from service.deps import ComputeDep, JobManagerDep, SettingsDep
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.designs import JobAccepted
from service.schemas.pfs import PFSAnalysisRequest, PFSAnalysisResult

router = APIRouter(prefix="/v1/analyses", tags=["analyses"])


@router.post("/pfs", operation_id="analyses-pfs", response_model=PFSAnalysisResult,
             responses={202: {"description": budget.JOB_DESCRIPTION, "model": JobAccepted}, **PROBLEM_RESPONSES,
                        **UNAVAILABLE_RESPONSES},
             summary="Per-stratum landmark PFS, median PFS and go/no-go from patient-level PFS data")
@builds(PFSAnalysisSpec.from_mapping)
async def pfs(body: PFSAnalysisRequest, settings: SettingsDep, jobs: JobManagerDep, compute: ComputeDep,
              prefer: str | None = Header(None)) -> Any:
    return await budget.analysis("pfs-analysis", body, settings, jobs, prefer, analyse_pfs, compute)
