"""Designs: decision-boundary tables (``POST /v1/designs/boundaries``).

Stateless: the design fields of the operating-characteristics request (and ``conditional``), every
bad field reported at once before anything is computed; the table is computed in the compute pool.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from designs import oc
from designs.boundaries.conditioning import conditioning_counts
from designs.boundaries.table import checked_decider
from designs.core.validation import Checker
from service import limits
from service.boundary import within_limits
from service.computations import core_design
from service.compute import tasks
from service.deps import ComputeDep, SettingsDep
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.boundaries import BoundariesRequest, BoundariesResult

router = APIRouter(prefix="/v1/designs", tags=["designs"])


def prepare_boundaries(body: BoundariesRequest) -> tuple[oc.OCDesign, dict[str, list[int]] | None, dict[str, int] | None]:
    """The core design, ``conditional`` and Simon design of a request; raises ``InvalidInputError``
    naming every problem of the model, the rule, ``conditional`` and the table's size at once."""
    check = Checker()
    strata = tuple(oc.StratumPlan(s.name, tuple(s.looks)) for s in body.strata)
    check.attempt(conditioning_counts, oc.OCDesign(body.p0, body.p1, strata, None), body.conditional)
    design = check.attempt(core_design, body)
    if design is not None and not check.problems:
        check.attempt(checked_decider, design, body.conditional)
    check.raise_if_any()
    return design, body.conditional, body.simon.model_dump() if body.simon is not None else None


@router.post(
    "/boundaries", operation_id="designs-boundaries", response_model=BoundariesResult, response_model_by_alias=True,
    responses={**PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES},
    summary="Per stratum and look: the responder counts giving no-go, continue and go, with the probabilities at the boundaries",
)
async def boundaries(body: BoundariesRequest, settings: SettingsDep, compute: ComputeDep) -> Any:
    payload = body.model_dump(mode="json")
    design, conditional, simon = within_limits(limits.of_request(settings, payload), prepare_boundaries, body)
    return await compute(tasks.boundary_table, design, conditional, simon, payload)
