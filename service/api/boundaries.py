"""Designs: decision-boundary tables (``POST /v1/designs/boundaries``).

Stateless: the design fields of the operating-characteristics request (and ``conditional``), every
bad field reported at once before anything is computed; the table is computed in the compute pool.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from designs import oc
from designs.boundaries.conditioning import conditioning_counts
from designs.boundaries.table import checked_decider, table_seconds
from designs.core.validation import Checker
from service import limits
from service.boundary import within_limits
from service.computations import core_design
from service.compute import tasks
from service.deps import ComputeDep, SettingsDep
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.boundaries import BoundariesRequest, BoundariesResult

router = APIRouter(prefix="/v1/designs", tags=["designs"])

SECONDS_MARGIN = 4.0
"""The time estimate's constants (``designs.oc.computation``) are an idle core's; two-way tables ran up
to 3× slower than estimated on a busy 2-core machine."""


def prepare_boundaries(body: BoundariesRequest, timeout_s: float) -> tuple[oc.OCDesign, dict[str, list[int]] | None,
                                                                        dict[str, int] | None]:
    """The core design, ``conditional`` and Simon design of a request; raises ``InvalidInputError``
    naming every problem of the model, the rule, ``conditional`` and the table's size at once (beyond
    the predictive enumeration limit, or likely to outlast the request's ``timeout_s``)."""
    check = Checker()
    strata = tuple(oc.StratumPlan(s.name, tuple(s.looks)) for s in body.strata)
    check.attempt(conditioning_counts, oc.OCDesign(body.p0, body.p1, strata, None), body.conditional)
    design = check.attempt(core_design, body)
    if design is not None and not check.problems:
        decider, _ = check.attempt(checked_decider, design, body.conditional) or (None, None)
        seconds = 0.0 if decider is None else table_seconds(design, decider) * SECONDS_MARGIN
        if seconds > timeout_s:
            check.add("strata", f"the two-way tables could take up to about {seconds:.0f} s, beyond this service's "
                      f"{timeout_s:g} s per request (GONOGO_REQUEST_TIMEOUT_S): use smaller looks")
    check.raise_if_any()
    return design, body.conditional, body.simon.model_dump() if body.simon is not None else None


@router.post(
    "/boundaries", operation_id="designs-boundaries", response_model=BoundariesResult,
    responses={**PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES},
    summary="Per stratum and look: the responder counts giving no-go, continue and go, with the probabilities at the boundaries",
)
async def boundaries(body: BoundariesRequest, settings: SettingsDep, compute: ComputeDep) -> Any:
    payload = body.model_dump(mode="json")
    design, conditional, simon = within_limits(limits.of_request(settings, payload), prepare_boundaries, body,
                                             settings.request_timeout_s)
    return await compute(tasks.boundary_table, design, conditional, simon, payload)
