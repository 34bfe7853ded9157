"""What HTTP and the command line share: a design request turned into a computation and the function
that gives its output the documented shape (decision as calibrated); the core attaches provenance.

``prepare_operating_characteristics(body)`` and ``prepare_calibration(body)`` return
``(computation, finish)``: the computation runs here, in a process pool or on Dask
(``service.jobs``), and ``finish(raw) -> result`` is the same whichever ran it, answered at once or
recorded by a job.
"""

from __future__ import annotations

from typing import Any

from designs import oc
from designs.core.posterior_summary import resolve_seed
from designs.oc import calibration
from designs.response import spec as response_spec
from designs.response.decisions import DecisionRule
from service.schemas.designs import (
    CalibrationRequest,
    CalibrationResult,
    OperatingCharacteristicsRequest,
    OperatingCharacteristicsResult,
)
from service.schemas.pfs_design import PFSCalibrationResult, PFSOperatingCharacteristicsResult


def _request_payload(body: Any) -> dict[str, Any]:
    """The request as validated, defaults applied: what ``input_sha256`` and the default seed hash."""
    return body.model_dump(mode="json")


def sent_request(body: Any) -> dict[str, Any]:
    """The fields the client sent, in JSON form: what a job keeps, to be resubmitted as it is (the
    schema fills in the rest again, so the same ``input_sha256`` and numbers follow)."""
    return body.model_dump(mode="json", exclude_unset=True)


def request_seed(body: Any, payload: dict[str, Any] | None = None) -> int:
    """The request's seed, or the one derived from its SHA-256 (as in the analyses)."""
    return resolve_seed(body.seed, _request_payload(body) if payload is None else payload)


def core_scenarios(body: Any) -> list[oc.Scenario] | None:
    if body.scenarios is None:
        return None
    return [oc.Scenario(s.name, dict(s.rates)) for s in body.scenarios]


def _simon(body: Any) -> dict[str, Any] | None:
    """The Simon design beside, with alpha and beta only where given (a request without them computes
    and hashes as before they existed)."""
    return body.simon.model_dump(exclude_none=True) if body.simon is not None else None


class OCFinish:
    """Give the result (provenance attached by the core) its documented shape: the same answered now
    or by a job."""

    schema: type = OperatingCharacteristicsResult

    def __init__(self, payload: dict[str, Any]):
        self.payload = payload

    def __call__(self, result: dict[str, Any]) -> dict[str, Any]:
        return self.schema.model_validate(result).model_dump(mode="json")


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


def core_design(body: Any) -> oc.OCDesign:
    """The core ``OCDesign`` of a request: model spec with defaults applied, decision rule, looks."""
    model = response_spec.resolve(body.model.kind, body.model.prior.model_dump(exclude_none=True), body.p0)
    rule = DecisionRule.from_mapping(body.decision.model_dump())
    strata = tuple(oc.StratumPlan(s.name, tuple(s.looks)) for s in body.strata)
    return oc.OCDesign(body.p0, body.p1, strata, rule, model)


def prepare_operating_characteristics(body: OperatingCharacteristicsRequest) -> tuple[Any, OCFinish]:
    """The computation of a request and what turns its output into the documented result (HTTP and CLI)."""
    design = core_design(body)
    payload = _request_payload(body)
    seed = request_seed(body, payload)
    plan = oc.plan(
        design, core_scenarios(body), method=body.method, n_trials=body.n_trials, seed=seed, simon=_simon(body),
        request=payload,
    )
    return plan, OCFinish(payload)


def prepare_calibration(body: CalibrationRequest) -> tuple[Any, CalibrationFinish]:
    """As ``prepare_operating_characteristics``, for a calibration request."""
    design = core_design(body)
    payload = _request_payload(body)
    seed = request_seed(body, payload)
    plan = calibration.calibration_plan(
        design, target=body.target_type_i_error, thresholds=body.thresholds, futility_ppos=body.futility_ppos,
        scenarios=core_scenarios(body), method=body.method, n_trials=body.n_trials, seed=seed, simon=_simon(body),
        request=payload,
    )
    return plan, CalibrationFinish(payload)


# --------------------------------------------------------------------------------------------------
# PFS designs: operating characteristics and calibration of a PFS go / no-go rule


class PFSOCFinish(OCFinish):
    schema = PFSOperatingCharacteristicsResult


class PFSCalibrationFinish(OCFinish):
    schema = PFSCalibrationResult


def prepare_pfs_operating_characteristics(body: Any) -> tuple[Any, OCFinish]:
    """The PFS design computation of a request (``designs.pfsdesign.operating``) and its finish."""
    from designs.pfsdesign.operating import PFSOCPlan
    from designs.pfsdesign.spec import PFSDesignSpec

    payload = _request_payload(body)
    return PFSOCPlan.build(PFSDesignSpec.from_mapping(payload)), PFSOCFinish(payload)


def prepare_pfs_calibration(body: Any) -> tuple[Any, OCFinish]:
    """As ``prepare_pfs_operating_characteristics``, for the calibration of the final threshold."""
    from designs.pfsdesign.operating import PFSCalibrationPlan
    from designs.pfsdesign.spec import PFSDesignSpec

    payload = _request_payload(body)
    return PFSCalibrationPlan.build(PFSDesignSpec.calibration_from_mapping(payload)), PFSCalibrationFinish(payload)
