"""The provenance of operating-characteristic and calibration results (``designs.core.provenance``),
and the ``settings`` they echo.

Hashed from the request as received when the caller gives one (the service does), else from
``design_request``: the arguments of a direct call written out as such a request. ``settings`` is every
rule and model setting the computation used, defaults filled in (``design_settings``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from designs.core.provenance import provenance
from designs.oc.design import OCDesign, Scenario

METHODS = {
    "exact": "exact enumeration of every outcome path (RBesT oc1S, extended to looks and strata)",
    "simulation": "seeded simulation; decisions from tables computed once per distinct outcome tuple",
}


def model_block(design: OCDesign) -> dict[str, Any]:
    model = design.model
    return model.as_dict() if hasattr(model, "as_dict") else {"kind": str(model)}


def engine_name(design: OCDesign) -> str:
    return "closed form (Beta–binomial)" if getattr(design.model, "closed_form", False) else "quadrature"


def design_request(
    design: OCDesign,
    scenarios: Sequence[Scenario] | None,
    *,
    method: str,
    n_trials: int,
    seed: int,
    simon: Mapping[str, int] | None,
) -> dict[str, Any]:
    """A direct call's arguments as a request (what its result's ``input_sha256`` hashes)."""
    return {
        "p0": design.p0,
        "p1": design.p1,
        "strata": [{"name": s.name, "looks": list(s.looks)} for s in design.strata],
        "model": model_block(design),
        "fixed_tau": design.fixed_tau,
        "decision": dataclasses.asdict(design.rule),
        "scenarios": None if scenarios is None else [{"name": s.name, "rates": dict(s.rates)} for s in scenarios],
        "method": method,
        "n_trials": n_trials,
        "seed": seed,
        "simon": None if simon is None else dict(simon),
    }


def oc_provenance(request: Mapping[str, Any], design: OCDesign, method: str, seed: int) -> dict[str, Any]:
    """The provenance block of an OC or calibration result computed by ``method`` (the seed when simulated)."""
    return provenance(
        request, model=model_block(design), engine=engine_name(design),
        seed=seed if method == "simulation" else None, method=METHODS.get(method, method),
    )


def rule_block(design: OCDesign) -> dict[str, Any]:
    """The decision rule as used, every threshold filled in: a Bayesian rule's thresholds, or Simon's {kind, r1, r}."""
    rule = design.rule
    if dataclasses.is_dataclass(rule):
        block = dataclasses.asdict(rule)
        return {"kind": "simon", **block} if type(rule).__name__ == "SimonStoppingRule" else block
    if hasattr(rule, "model_dump"):
        return rule.model_dump()
    return {"rule": str(rule)}


def design_settings(
    design: OCDesign, *, method: str, n_trials: int, seed: int, simon: Mapping[str, int] | None
) -> dict[str, Any]:
    """Every rule and model setting an OC computation used, defaults filled in, as the result echoes them:
    rates, each stratum's looks, the model (kind and prior as applied; τ when fixed), the decision
    thresholds, the engine, the method actually used, and n_trials and seed (null when exact: no
    simulation), the Simon design shown beside (null when none)."""
    simulated = method == "simulation"
    simon_rule = design.model is None  # Simon's rule: exact binomial decisions, no model
    return {
        "p0": design.p0,
        "p1": design.p1,
        "strata": [{"name": s.name, "looks": list(s.looks)} for s in design.strata],
        "model": None if simon_rule else model_block(design),
        "fixed_tau": design.fixed_tau,
        "decision": rule_block(design),
        "engine": "none (Simon's rule: responder counts)" if simon_rule else engine_name(design),
        "method": method,
        "n_trials": n_trials if simulated else None,
        "seed": seed if simulated else None,
        "simon": None if simon is None else dict(simon),
    }
