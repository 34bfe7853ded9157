"""The decision-boundary table of a design: per stratum and look, the counts giving no-go, continue, go.

Analyses are simultaneous (``designs.oc.design``): a stratum's look i is analysis i, where every
other stratum holds its look i, or its final look when it has fewer. Decisions come from the
operating characteristics' deciders (``designs.oc.deciders``), so the table is the rule the OC
evaluate, count by count:

* independent models and Simon's rule are separable: a stratum's row depends on its own count only,
  from its one-stratum design (closed form, exact);
* pooled, hierarchical and EXNEX models couple the strata: a row is conditional on the other
  strata's counts (``designs.boundaries.conditioning``, stated in ``conditional_on``). With two strata
  the whole two-way table is given as well (``two_way``: per look, the boundaries for every count of
  the other stratum), from the dense decision tables of ``designs.oc.tables``.

At each boundary count the table quotes the posterior P(p > p0) and, at interim looks, the
predictive probability of success that the rule read.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from designs.boundaries.conditioning import DEFAULT_ROUNDING, conditioning_counts, counts_at
from designs.boundaries.row import DecisionRow
from designs.core.caveats import caveat
from designs.core.provenance import provenance
from designs.core.validation import Checker, is_number
from designs.oc.computation import decision_seconds
from designs.oc.deciders import BayesianDecider, Decider, decider_for
from designs.oc.design import OCDesign, SimonStoppingRule, validate_design
from designs.oc.provenance import model_block
from designs.oc.tables import DecisionTables


def look_indices(design: OCDesign, analysis: int) -> tuple[int, ...]:
    """Each stratum's look at ``analysis``: the analysis itself, or its final look when it has fewer."""
    return tuple(min(analysis, len(s.looks) - 1) for s in design.strata)


def rule_block(design: OCDesign) -> dict[str, Any]:
    """The decision rule as applied (Simon's r1 and r, or the Bayesian thresholds)."""
    if isinstance(design.rule, SimonStoppingRule):
        return {"simon": {"r1": design.rule.r1, "r": design.rule.r}}
    return dataclasses.asdict(design.rule)


def method_of(design: OCDesign) -> str:
    """"closed-form" for Simon's rule and Beta–binomial models, "quadrature" for hierarchical and EXNEX."""
    if isinstance(design.rule, SimonStoppingRule) or getattr(design.model, "closed_form", False):
        return "closed-form"
    return "quadrature"


def checked_decider(design: OCDesign, conditional: Mapping[str, Sequence[int]] | None = None) -> tuple[Decider, dict[str, tuple[int, ...]]]:
    """The design's decider and conditioning counts; raises ``InvalidInputError`` naming every bad field
    (the design's, a Bayesian rule without a model, ``conditional``'s, and tables beyond the
    predictive enumeration limit, as ``BayesianDecider`` refuses them)."""
    check = Checker()
    check.attempt(validate_design, design)
    if not isinstance(design.rule, SimonStoppingRule) and getattr(design.model, "kind", None) is None:
        check.add("model", "a Bayesian rule needs a response model")
    # Default counts need a finite p0 (validate_design names a bad one).
    counts = check.attempt(conditioning_counts, design, conditional) if design.strata and is_number(design.p0) else {}
    decider = None if check.problems else check.attempt(decider_for, design)
    check.raise_if_any()
    return decider, counts


def table_seconds(design: OCDesign, decider: Decider) -> float:
    """Rough time of the table (``designs.oc.computation.decision_seconds`` of its dense grids): the
    two-way tables of two coupled strata are what can be slow; single rows (separable rules, more
    than two strata) cost milliseconds beside the predictive tables the enumeration limit bounds."""
    if decider.separable or len(design.strata) != 2:
        return 0.0
    return decision_seconds(design, DecisionTables(design, decider, dense=True), 0)


class _Rows:
    """Decision rows of one design: per stratum and analysis, the codes of counts 0..n."""

    def __init__(self, design: OCDesign, decider: Decider):
        self.design, self.decider = design, decider
        self.coupled = not decider.separable
        self.parts = None if self.coupled else [decider_for(design.substratum(j)) for j in range(len(design.strata))]
        self.dense = DecisionTables(design, decider, dense=True) if self.coupled and len(design.strata) == 2 else None

    def _part(self, j: int, analysis: int, others: Sequence[int]) -> tuple[Decider, tuple[int, ...], np.ndarray, int]:
        """(decider, look indices, rows y_j = 0..n_j with the others at ``others``, column of j)."""
        n = self.design.strata[j].looks[analysis]
        if not self.coupled:
            return self.parts[j], (analysis,), np.arange(n + 1)[:, None], 0
        y = np.tile(np.asarray(others, dtype=np.int64), (n + 1, 1))
        y[:, j] = np.arange(n + 1)
        return self.decider, look_indices(self.design, analysis), y, j

    def codes(self, j: int, analysis: int, others: Sequence[int]) -> np.ndarray:
        """Decision codes of stratum j's counts 0..n at its look ``analysis``, the others at ``others``."""
        if self.dense is not None:
            grid = self.dense.grid(analysis, look_indices(self.design, analysis))
            return grid[:, others[1], 0] if j == 0 else grid[others[0], :, 1]
        decider, t, y, column = self._part(j, analysis, others)
        return np.asarray(decider.decide(analysis, t, y))[:, column]

    def two_way(self, j: int, analysis: int) -> np.ndarray:
        """Two coupled strata: codes of stratum j's counts (rows) for every count of the other (columns)."""
        grid = self.dense.grid(analysis, look_indices(self.design, analysis))
        return grid[..., 0] if j == 0 else grid[..., 1].T

    def probabilities(self, j: int, analysis: int, others: Sequence[int], y_j: int) -> dict[str, Any]:
        """P(p_j > p0) and (interim looks) the PPoS at count ``y_j``; None for Simon's rule."""
        decider, t, y, column = self._part(j, analysis, others)
        row = y[y_j : y_j + 1]
        entry: dict[str, Any] = {"responders": int(y_j), "prob_above_p0": None, "predictive_probability_of_success": None}
        if not isinstance(decider, BayesianDecider):
            return entry
        n_now = tuple(s.looks[i] for s, i in zip(decider.design.strata, t, strict=True))
        # Probabilities summed in floating point may land a rounding error outside [0, 1]: reported clipped.
        entry["prob_above_p0"] = min(1.0, max(0.0, float(decider.tables.prob_above(n_now, row)[0, column])))
        if analysis < len(self.design.strata[j].looks) - 1:
            entry["predictive_probability_of_success"] = min(1.0, max(0.0, float(
                decider.predictive_probability_of_success(analysis, t, row, [column])[0, 0]
            )))
        return entry


def _simon_block(design: OCDesign, j: int, simon: Mapping[str, int] | None) -> dict[str, Any] | None:
    """Simon's boundaries: no-go after n1 at ≤ r1, go at n at ≥ r + 1 (the rule's own, or the one shown beside)."""
    if simon is None and isinstance(design.rule, SimonStoppingRule):
        looks = design.strata[j].looks
        simon = {"r1": design.rule.r1, "n1": looks[0], "r": design.rule.r, "n": looks[-1]}
    if simon is None:
        return None
    r1, n1, r, n = (int(simon[k]) for k in ("r1", "n1", "r", "n"))
    return {
        "r1": r1, "n1": n1, "r": r, "n": n,
        "looks": [
            {"n": n1, "no_go_max": r1, "go_min": None, "continue": [r1 + 1, n1]},
            {"n": n, "no_go_max": r, "go_min": r + 1, "continue": None},
        ],
    }


def _stratum(rows: _Rows, design: OCDesign, j: int, counts: Mapping[str, tuple[int, ...]],
             simon: Mapping[str, int] | None) -> dict[str, Any]:
    stratum = design.strata[j]
    others = [s.name for s in design.strata if s.name != stratum.name]
    looks, two_way = [], [] if rows.dense is not None else None
    for i, n in enumerate(stratum.looks):
        at = counts_at(design, counts, i)
        row = DecisionRow.of_codes(rows.codes(j, i, at))
        ends = {"no_go_max": row.no_go_max, "go_min": row.go_min}
        looks.append({
            "look": i + 1,
            "analysis": i,
            "n": n,
            "final": i == len(stratum.looks) - 1,
            **row.boundaries(),
            "decisions": list(row.decisions),
            "at_boundaries": {k: None if y is None else rows.probabilities(j, i, at, y) for k, y in ends.items()},
            "conditional_on": (
                {name: at[l] for l, name in enumerate(design.names) if name != stratum.name} if rows.coupled else None
            ),
        })
        if two_way is not None:
            other = 1 - j
            table = rows.two_way(j, i)
            two_way.append({
                "look": i + 1,
                "analysis": i,
                "n": n,
                "other": others[0],
                "other_n": design.strata[other].looks[look_indices(design, i)[other]],
                "rows": [
                    {"other_responders": y_other, **DecisionRow.of_codes(table[:, y_other]).boundaries()}
                    for y_other in range(table.shape[1])
                ],
            })
    return {"name": stratum.name, "coupled": rows.coupled, "looks": looks, "two_way": two_way,
            "simon": _simon_block(design, j, simon)}


def table_request(design: OCDesign, conditional: Mapping[str, Sequence[int]] | None,
                  simon: Mapping[str, int] | None) -> dict[str, Any]:
    """A direct call's arguments as a request (what the result's ``input_sha256`` hashes)."""
    return {
        "p0": design.p0,
        "p1": design.p1,
        "strata": [{"name": s.name, "looks": list(s.looks)} for s in design.strata],
        "model": None if design.model is None else model_block(design),
        "fixed_tau": design.fixed_tau,
        "decision": rule_block(design),
        "conditional": None if conditional is None else {k: list(v) for k, v in conditional.items()},
        "simon": None if simon is None else dict(simon),
    }


def boundary_table(design: OCDesign, *, conditional: Mapping[str, Sequence[int]] | None = None,
                   simon: Mapping[str, int] | None = None, request: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Per stratum and look: the largest count giving no-go, the smallest giving go, the continue
    range, the full decision row and the probabilities at the boundary counts (module docstring).

    ``conditional``: {stratum: cumulative responders at each of its looks} for coupled models (default
    ``conditioning.expected_counts`` under p0); ``simon``: a Simon design {r1, n1, r, n} whose
    boundaries are shown beside in every stratum; ``request``: the request as received (the service's),
    hashed into the provenance.
    """
    decider, counts = checked_decider(design, conditional)
    rows = _Rows(design, decider)
    strata = [_stratum(rows, design, j, counts, simon) for j in range(len(design.strata))]
    warnings = []
    if simon is not None:
        for stratum in design.strata:
            if int(simon["n1"]) not in stratum.looks or int(simon["n"]) != stratum.final_n:
                warnings.append(caveat(
                    "simon-schedule-mismatch",
                    f"Simon's n1 = {simon['n1']} and n = {simon['n']} are not this stratum's looks "
                    f"{list(stratum.looks)} (n1 among them, n the last): its boundaries describe another schedule",
                    stratum.name))
    if getattr(design.model, "kind", None) == "pooled":
        warnings.append(caveat("pooled-model", "the pooled model gives every stratum the same posterior: its boundaries "
                               "are on the total of responders across strata"))
    return {
        "p0": design.p0,
        "p1": design.p1,
        "model": None if design.model is None else model_block(design),
        "decision_rule": rule_block(design),
        "method": method_of(design),
        "conditioning": (
            {"counts": {name: list(c) for name, c in counts.items()},
             "stated": sorted((conditional or {}).keys()),
             "default": DEFAULT_ROUNDING}
            if rows.coupled else None
        ),
        "strata": strata,
        "warnings": warnings,
        "provenance": provenance(
            request if request is not None else table_request(design, conditional, simon),
            model=None if design.model is None else model_block(design),
            engine={"closed-form": "closed form (Beta–binomial)", "quadrature": "quadrature"}[method_of(design)]
            if not isinstance(design.rule, SimonStoppingRule) else "Simon's rule (counts)",
            method="decision of every responder count (designs.oc.deciders)",
        ),
    }
