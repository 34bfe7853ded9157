"""Go / no-go / continue rules shared by interim analyses and operating-characteristic simulations.

At the final analysis of a stratum (n = n_planned):
    go       P(p > p0 | data) > final_threshold
    no-go    otherwise
At an interim analysis (n < n_planned), in this order:
    no-go    P(p > p0 | data) < futility_prob_above_p0                (if set)
    no-go    predictive probability of success < futility_ppos        (futility)
    go       predictive probability of success > efficacy_ppos        (early efficacy; None disables)
    continue otherwise
Comparisons are strict. ``decide`` is vectorised (numpy broadcasting) and returns integer codes —
the same codes as ``designs.oc`` — and the criterion that fired;
``explain`` gives one stratum's decision with a sentence quoting the numbers.
The PFS rule is ``designs.survival.decisions``; both use ``designs.core.decisions``' codes and criteria.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from designs.core.decisions import (
    CRITERIA,
    CRITERION_EFFICACY_PREDICTIVE,
    CRITERION_FINAL_FAILURE,
    CRITERION_FINAL_SUCCESS,
    CRITERION_FUTILITY_POSTERIOR,
    CRITERION_FUTILITY_PREDICTIVE,
    DECISION_OF_CODE,
    Decision,
    above,
    below,
    first_that_applies,
)
from designs.core.decisions import format_probability as _f
from designs.core.validation import OPEN_PROBABILITY, Bounds, Checker, bounded, check_bounded_fields


@dataclass(frozen=True)
class DecisionRule:
    """Thresholds of the rule (see the module docstring); the defaults are the service's.

    Checked on construction: every threshold within its bounds (0 switches futility off and 1 early
    efficacy off, so those ends are allowed), futility_ppos < efficacy_ppos, and
    futility_prob_above_p0 < final_threshold (an interim bar above the final one would stop strata
    that the final analysis calls a success).
    """

    final_threshold: float = bounded(
        0.95, OPEN_PROBABILITY, "success at the final analysis: P(p > p0 | data) > final_threshold", optional=False
    )
    futility_ppos: float | None = bounded(
        0.05, Bounds(ge=0.0, lt=1.0), "no-go when the predictive probability of success is below it", json_nullable=False
    )
    efficacy_ppos: float | None = bounded(
        0.95, Bounds(gt=0.0, le=1.0), "early go when the predictive probability of success is above it; null disables"
    )
    futility_prob_above_p0: float | None = bounded(
        None, OPEN_PROBABILITY, "no-go when P(p > p0 | data) is below it; null disables"
    )

    def __post_init__(self) -> None:
        check = Checker()
        check_bounded_fields(check, self, "decision")
        if not check.problems:
            futility, efficacy = self.futility_ppos, self.efficacy_ppos
            if futility is not None and efficacy is not None and not futility < efficacy:
                check.add("decision/efficacy_ppos", f"efficacy_ppos must exceed futility_ppos ({futility})")
            if self.futility_prob_above_p0 is not None and not self.futility_prob_above_p0 < self.final_threshold:
                check.add(
                    "decision/futility_prob_above_p0",
                    f"futility_prob_above_p0 must be below final_threshold ({self.final_threshold})",
                )
        check.raise_if_any()

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> DecisionRule:
        """From a request's ``decision`` object; missing fields take the defaults."""
        check = Checker()
        rule = check.build("decision", cls, values)
        check.raise_if_any()
        return rule

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


def decide(
    rule: DecisionRule,
    n,
    n_planned,
    prob_above_p0,
    predictive_probability,
) -> tuple[np.ndarray, np.ndarray]:
    """Decision codes and criterion codes (int8 arrays, broadcast over the inputs)."""
    n, n_planned, prob, ppos = np.broadcast_arrays(
        np.asarray(n), np.asarray(n_planned), np.asarray(prob_above_p0, dtype=float), np.asarray(predictive_probability, dtype=float)
    )
    final = n >= n_planned
    return first_that_applies(
        [
            (final & (prob > rule.final_threshold), CRITERION_FINAL_SUCCESS),
            (final, CRITERION_FINAL_FAILURE),
            (below(prob, rule.futility_prob_above_p0), CRITERION_FUTILITY_POSTERIOR),
            (below(ppos, rule.futility_ppos), CRITERION_FUTILITY_PREDICTIVE),
            (above(ppos, rule.efficacy_ppos), CRITERION_EFFICACY_PREDICTIVE),
        ]
    )


def explain(
    rule: DecisionRule,
    n: int,
    n_planned: int,
    prob_above_p0: float,
    predictive_probability: float,
    p0: float,
) -> Decision:
    """The decision for one stratum with a sentence quoting the numbers that decided it."""
    code, criterion = decide(rule, n, n_planned, prob_above_p0, predictive_probability)
    code, criterion = int(code), int(criterion)
    look = f"n = {n} of {n_planned}"
    prob, ppos = float(prob_above_p0), float(predictive_probability)
    if criterion == CRITERION_FINAL_SUCCESS:
        text = f"Final analysis ({look}): P(p > {p0:g} | data) = {_f(prob)} > {rule.final_threshold:g}: go."
    elif criterion == CRITERION_FINAL_FAILURE:
        text = f"Final analysis ({look}): P(p > {p0:g} | data) = {_f(prob)} ≤ {rule.final_threshold:g}: no-go."
    elif criterion == CRITERION_FUTILITY_POSTERIOR:
        text = (
            f"Interim ({look}): P(p > {p0:g} | data) = {_f(prob)} < {rule.futility_prob_above_p0:g}: "
            "no-go for futility."
        )
    elif criterion == CRITERION_FUTILITY_PREDICTIVE:
        text = (
            f"Interim ({look}): predictive probability of success = {_f(ppos)} < {rule.futility_ppos:g}: "
            "no-go for futility."
        )
    elif criterion == CRITERION_EFFICACY_PREDICTIVE:
        text = f"Interim ({look}): predictive probability of success = {_f(ppos)} > {rule.efficacy_ppos:g}: early go."
    else:
        bounds = []
        if rule.futility_ppos is not None:
            bounds.append(f"≥ {rule.futility_ppos:g}")
        if rule.efficacy_ppos is not None:
            bounds.append(f"≤ {rule.efficacy_ppos:g}")
        within = f" ({' and '.join(bounds)})" if bounds else ""
        text = f"Interim ({look}): predictive probability of success = {_f(ppos)}{within}: continue."
    return Decision(DECISION_OF_CODE[code], CRITERIA[criterion], text, code)
