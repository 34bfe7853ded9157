"""Designs: operating characteristics of Bayesian go/no-go rules beside Simon, and their calibration.

A request whose simulated trials exceed ``GONOGO_JOB_THRESHOLD_TRIALS``, whose decision tables
would take more than ``GONOGO_JOB_DECISION_SECONDS`` to build, or that sends ``Prefer: respond-async``
(RFC 7240) is answered 202 with a job to poll at ``/v1/jobs/{id}``; one whose tables would take more
than ``GONOGO_MAX_DECISION_SECONDS`` is refused. The job stores the request as validated.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from designs.oc import calibration
from designs import oc
from designs.response.decisions import DecisionRule
from designs.core.errors import InvalidInputError
from designs.core.posterior_summary import resolve_seed
from designs.core.provenance import provenance
from service.jobs import get_job_manager
from service.problems import PROBLEM_RESPONSES
from service.schemas.designs import (
    CalibrationRequest,
    CalibrationResult,
    JobAccepted,
    OperatingCharacteristicsRequest,
    OperatingCharacteristicsResult,
)
from service.settings import get_settings

router = APIRouter(prefix="/v1/designs", tags=["designs"])

ACCEPTED = {202: {"description": "Too large to answer now: a job to poll at /v1/jobs/{id}", "model": JobAccepted}}
OC_METHODS = {
    "exact": "exact enumeration of every outcome path (RBesT oc1S, extended to looks and strata)",
    "simulation": "seeded simulation; decisions from tables computed once per distinct outcome tuple",
}


def _request_payload(body: Any) -> dict[str, Any]:
    return body.model_dump(mode="json")


def request_seed(body: Any, payload: dict[str, Any] | None = None) -> int:
    """The request's seed, or the one derived from its SHA-256 (as in the analyses)."""
    return resolve_seed(body.seed, _request_payload(body) if payload is None else payload)


def core_scenarios(body: Any) -> list[oc.Scenario] | None:
    if body.scenarios is None:
        return None
    return [oc.Scenario(s.name, dict(s.rates)) for s in body.scenarios]


def _simon(body: Any) -> dict[str, int] | None:
    return body.simon.model_dump() if body.simon is not None else None


def _wants_job(plan: Any, prefer: str | None) -> bool:
    """Estimated seconds of decision tables (``plan.decision_seconds``) against the Settings limits."""
    settings = get_settings()
    seconds = plan.decision_seconds
    if seconds > settings.max_decision_seconds:
        raise InvalidInputError(
            "strata",
            f"the decision rule's posterior tables would take about {seconds / 3600:.1f} hours "
            f"(limit {settings.max_decision_seconds / 3600:g} h): use fewer coupled strata or interim looks, "
            "or the independent or pooled model",
        )
    asked = prefer is not None and "respond-async" in prefer.lower()
    return asked or plan.simulated_trials > settings.job_threshold_trials or seconds > settings.job_decision_seconds


def _accepted(kind: str, computation: Any, finish: OCFinish) -> JSONResponse:
    job = get_job_manager().submit(kind, computation, finish, request=finish.payload)
    body = {"id": job.id, "kind": kind, "state": job.state, "progress": job.progress,
            "links": {"self": f"/v1/jobs/{job.id}"}}
    return JSONResponse(body, status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


def _model_block(design: oc.Design) -> dict[str, Any]:
    model = design.model
    return model.as_dict() if hasattr(model, "as_dict") else {"kind": str(model)}


def _engine(design: oc.Design) -> str:
    return "closed form (Beta–binomial)" if getattr(design.model, "closed_form", False) else "quadrature"


class OCFinish:
    """Attach provenance and give the result its documented shape: the same answered now or by a job."""

    schema: type = OperatingCharacteristicsResult

    def __init__(self, payload: dict[str, Any], design: oc.Design, seed: int):
        self.payload, self.design, self.seed = payload, design, seed

    def __call__(self, result: dict[str, Any]) -> dict[str, Any]:
        method = result.get("method") or result.get("operating_characteristics", {}).get("method")
        result["provenance"] = provenance(
            self.payload, model=_model_block(self.design), engine=_engine(self.design),
            seed=self.seed if method == "simulation" else None, method=OC_METHODS.get(method, method),
        )
        inner = result.get("operating_characteristics")
        if isinstance(inner, dict):
            inner.setdefault("provenance", result["provenance"])
        return self.schema.model_validate(result).model_dump(mode="json")


@router.post(
    "/operating-characteristics", operation_id="designs-operating-characteristics",
    response_model=OperatingCharacteristicsResult, responses={**ACCEPTED, **PROBLEM_RESPONSES},
    summary="Type I error, power, sample size and early stopping of a Bayesian go/no-go design, beside Simon",
)
def operating_characteristics(body: OperatingCharacteristicsRequest, prefer: str | None = Header(None)) -> Any:
    plan, finish = prepare_operating_characteristics(body)
    if _wants_job(plan, prefer):
        return _accepted("operating-characteristics", plan, finish)
    return finish(oc.run(plan))


@router.post(
    "/calibrate", operation_id="designs-calibrate", response_model=CalibrationResult,
    responses={**ACCEPTED, **PROBLEM_RESPONSES},
    summary="Final threshold (and futility cut-off) meeting a per-stratum type I error target with the most power",
)
def calibrate(body: CalibrationRequest, prefer: str | None = Header(None)) -> Any:
    plan, finish = prepare_calibration(body)
    if _wants_job(plan, prefer):
        return _accepted("calibration", plan, finish)
    return finish(plan.reduce([(i, plan.run_chunk(i)) for i in plan.chunks]))


class CalibrationFinish(OCFinish):
    schema = CalibrationResult

    def __call__(self, result: dict[str, Any]) -> dict[str, Any]:
        decision = dict(self.payload["decision"])
        decision["final_threshold"] = result["final_threshold"]
        if result.get("futility_ppos") is not None:
            decision["futility_ppos"] = result["futility_ppos"]
        result["decision"] = decision
        result.pop("chosen_index", None)
        return super().__call__(result)


# --------------------------------------------------------------------------------------------------
# Request → core objects


def core_design(body: Any) -> oc.Design:
    """The core ``Design`` of a request: model spec with defaults applied, decision rule, looks."""
    from designs.response import spec as priors

    model = priors.resolve(body.model.kind, body.model.prior.model_dump(exclude_none=True), body.p0)
    rule = DecisionRule.from_mapping(body.decision.model_dump())
    strata = tuple(oc.StratumPlan(s.name, tuple(s.looks)) for s in body.strata)
    return oc.Design(body.p0, body.p1, strata, rule, model)


def prepare_operating_characteristics(body: OperatingCharacteristicsRequest) -> tuple[Any, OCFinish]:
    """The computation of a request and what turns its output into the documented result (HTTP and CLI)."""
    design = core_design(body)
    payload = _request_payload(body)
    seed = request_seed(body, payload)
    plan = oc.plan(design, core_scenarios(body), method=body.method, n_trials=body.n_trials, seed=seed, simon=_simon(body))
    return plan, OCFinish(payload, design, seed)


def prepare_calibration(body: CalibrationRequest) -> tuple[Any, CalibrationFinish]:
    """As ``prepare_operating_characteristics``, for a calibration request."""
    design = core_design(body)
    payload = _request_payload(body)
    seed = request_seed(body, payload)
    plan = calibration.calibration_plan(
        design, target=body.target_type_i_error, thresholds=body.thresholds, futility_ppos=body.futility_ppos,
        scenarios=core_scenarios(body), method=body.method, n_trials=body.n_trials, seed=seed, simon=_simon(body),
    )
    return plan, CalibrationFinish(payload, design, seed)
