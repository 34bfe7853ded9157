"""Designs: operating characteristics and calibration of PFS go / no-go rules, with the one-sample log-rank comparator.

``POST /v1/designs/pfs-operating-characteristics`` simulates a PFS rule with accrual and looks under
true-law scenarios; ``POST /v1/designs/pfs-calibrate`` chooses its final threshold. As the response
OC (``service.api.oc``): the Settings limits (strata, simulated trials) and the spec's problems are
reported at once; a request whose estimated time exceeds ``GONOGO_MAX_COMPUTE_SECONDS`` is refused
naming the largest ``n_trials`` that fits, one whose estimated memory exceeds ``GONOGO_MAX_COMPUTE_MB``
at ``strata``; one above ``GONOGO_SYNC_COMPUTE_SECONDS`` or ``GONOGO_SYNC_COMPUTE_MB`` or the trials
threshold, or sent with ``Prefer: respond-async``, becomes a job (202) to poll at ``/v1/jobs/{id}``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header
from starlette.concurrency import run_in_threadpool

from designs.core.errors import FieldProblem, InvalidInputError
from designs.core.provenance import input_hash
from designs.pfsdesign.spec import PFSDesignSpec
from service import budget, limits
from service.boundary import builds, within_limits
from service.computations import prepare_pfs_calibration, prepare_pfs_operating_characteristics
from service.compute import tasks
from service.deps import ComputeDep, JobManagerDep, SettingsDep
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.designs import JobAccepted
from service.schemas.pfs_design import (
    PFSCalibrationRequest,
    PFSCalibrationResult,
    PFSOperatingCharacteristicsRequest,
    PFSOperatingCharacteristicsResult,
)

router = APIRouter(prefix="/v1/designs", tags=["designs"])

ACCEPTED = {202: {"description": budget.JOB_DESCRIPTION, "model": JobAccepted}}
SECONDS_PER_ANALYSIS = {"closed-form": 5e-6, "quadrature": 2e-4}
"""Seconds per simulated trial, look and stratum on one core: twice those measured by benchmarks/pfs_design.py
(1e-4 quadrature, 2e-6 closed form), for slower machines and larger grids."""


BENCHMARK_PATIENTS = 30
"""Patients per stratum of the benchmark the costs were measured on."""


def estimated_seconds(plan: Any) -> float:
    """A rough estimate of a PFS design computation's time: trials × looks × strata × the engine's cost,
    scaled by √(patients per stratum / 30): larger strata mean longer patient arrays and (quadrature)
    finer grids. Measured: 2 × 2,000 patients took 4.5 (closed form) and 9 (quadrature) times the
    unscaled estimate, √(2000 / 30) = 8.2."""
    spec = plan.spec
    per_trial = sum(s.n_looks for s in spec.strata) * SECONDS_PER_ANALYSIS[spec.model.engine]
    size = max(1.0, max(s.n_planned for s in spec.strata) / BENCHMARK_PATIENTS) ** 0.5
    return plan.simulated_trials * per_trial * size


def admit(plan: Any, settings: Any) -> bool:
    """422 at ``n_trials`` when the estimated time is beyond ``GONOGO_MAX_COMPUTE_SECONDS``, at ``strata``
    when the estimated memory is beyond ``GONOGO_MAX_COMPUTE_MB`` (the hierarchical model's grid grows
    with the events of the largest strata); True when within the synchronous budget."""
    seconds, megabytes = estimated_seconds(plan), plan.peak_bytes / 2**20
    spec = plan.spec
    problems = []
    if seconds > settings.max_compute_seconds:
        fits = int(spec.n_trials * settings.max_compute_seconds / seconds)
        problems.append(FieldProblem("n_trials", (
            f"with {len(spec.strata)} strata and {len(spec.scenarios)} scenarios at most {fits:,} trials fit the "
            f"limit of {settings.max_compute_seconds:g} s (GONOGO_MAX_COMPUTE_SECONDS); the request asks for "
            f"{spec.n_trials:,} (estimated {seconds:,.0f} s)")))
    if megabytes > settings.max_compute_mb:
        problems.append(FieldProblem("strata", (
            f"the computation is estimated at {megabytes:,.0f} MB, beyond the limit of {settings.max_compute_mb:,} MB "
            "(GONOGO_MAX_COMPUTE_MB): the hierarchical model's grid grows with the events of the largest strata; "
            "use fewer patients per stratum or the independent-exponential model")))
    if problems:
        raise InvalidInputError(problems)
    return seconds <= settings.sync_compute_seconds and megabytes <= settings.sync_compute_mb


async def _answer(kind: str, body: Any, prepare: Any, settings: Any, jobs: Any, compute: Any, prefer: str | None) -> Any:
    plan, finish = within_limits(limits.of_request(settings, body.model_dump(mode="json")), prepare, body)
    now = admit(plan, settings)
    if budget.design_wants_job(plan, prefer, settings) or not now:
        return await run_in_threadpool(budget.accepted, jobs, kind, body, plan, finish, input_hash(finish.payload))
    return await compute(tasks.pfs_design, plan, finish)


@router.post(
    "/pfs-operating-characteristics", operation_id="designs-pfs-operating-characteristics",
    response_model=PFSOperatingCharacteristicsResult, responses={**ACCEPTED, **PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES},
    summary="How often a PFS go / no-go rule says go, when and after how many patients, under true survival laws",
)
@builds(PFSDesignSpec.from_mapping)
async def pfs_operating_characteristics(body: PFSOperatingCharacteristicsRequest, settings: SettingsDep, jobs: JobManagerDep,
                                        compute: ComputeDep, prefer: str | None = Header(None)) -> Any:
    return await _answer("pfs-operating-characteristics", body, prepare_pfs_operating_characteristics, settings, jobs,
                         compute, prefer)


@router.post(
    "/pfs-calibrate", operation_id="designs-pfs-calibrate", response_model=PFSCalibrationResult,
    responses={**ACCEPTED, **PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES},
    summary="Final threshold of a PFS rule keeping P(go | benchmark) within a target per stratum, with the most power",
)
@builds(PFSDesignSpec.calibration_from_mapping)
async def pfs_calibrate(body: PFSCalibrationRequest, settings: SettingsDep, jobs: JobManagerDep, compute: ComputeDep,
                        prefer: str | None = Header(None)) -> Any:
    return await _answer("pfs-calibration", body, prepare_pfs_calibration, settings, jobs, compute, prefer)
