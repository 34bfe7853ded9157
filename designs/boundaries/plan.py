"""The boundary design of a registered trial: its protocol's response plan as an ``OCDesign``.

What the DMC report's boundary table (per protocol version) and a look's next-look sentences
(``next_look``) are computed from: ``designs.registry.protocol.ResponsePlan``'s rates, strata with
their looks, model spec and decision rule, and the Simon design reported beside.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from designs.oc.design import OCDesign, StratumPlan


def response_design(plan: Any) -> tuple[OCDesign, Mapping[str, int] | None]:
    """(the design, the Simon design {r1, n1, r, n} or None) of a protocol's response plan."""
    strata = tuple(StratumPlan(s.name, tuple(s.looks)) for s in plan.strata)
    simon = plan.simon
    simon_fields = None if simon is None else {"r1": simon.r1, "n1": simon.n1, "r": simon.r, "n": simon.n}
    return OCDesign(plan.p0, plan.p1, strata, plan.decision, plan.model), simon_fields


def observed_counts(response_result: Mapping[str, Any]) -> dict[str, tuple[int, int]]:
    """Each stratum's (n, responders) in a stored look's ``result.response``."""
    return {s["name"]: (int(s["n"]), int(s["responders"])) for s in response_result["strata"]}
