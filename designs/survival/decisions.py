"""The PFS go / no-go / continue rule: landmark survival S(L) against a benchmark and a target rate.

With p_B = P(S(L) > benchmark | data) and p_T = P(S(L) > target | data), the first that applies:
    go       final analysis and p_B > final_threshold                     (final_success)
    no-go    final analysis otherwise                                     (final_failure)
    no-go    p_B < futility_prob_above_benchmark                          (futility_posterior; if set)
    go       p_T > efficacy_prob_above_target                             (efficacy_posterior; if set)
    continue otherwise
The final analysis of a stratum is reached when its planned patients (n_planned) are all enrolled and
evaluable at the landmark L (progressed or died, or followed for at least L months). A stratum with
no planned number never reaches it: mature data alone do not make a final analysis (three patients
followed past L are not a trial), so only the interim criteria can fire.
Codes, criteria and the ``{id, text}`` shape are ``designs.core.decisions``', as for the response rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from designs.core.decisions import (
    CRITERIA,
    CRITERION_EFFICACY_POSTERIOR,
    CRITERION_FINAL_FAILURE,
    CRITERION_FINAL_SUCCESS,
    CRITERION_FUTILITY_POSTERIOR,
    DECISION_OF_CODE,
    Decision,
    above,
    below,
    first_that_applies,
)
from designs.core.decisions import format_probability as _f
from designs.core.validation import OPEN_PROBABILITY, Checker, bounded, check_bounded_fields


@dataclass(frozen=True)
class PFSDecisionRule:
    """Thresholds of the PFS rule (see the module docstring); the defaults are the service's.

    Checked on construction: every threshold strictly between 0 and 1, and
    futility_prob_above_benchmark < final_threshold (as the response rule's futility_prob_above_p0).
    """

    final_threshold: float = bounded(
        0.95,
        OPEN_PROBABILITY,
        "at the final analysis (a stratum's n_planned patients all evaluable at the landmark: event or "
        "follow-up ≥ landmark), go when P(S(landmark) > benchmark | data) > final_threshold, else no-go",
        optional=False,
    )
    futility_prob_above_benchmark: float | None = bounded(
        0.10, OPEN_PROBABILITY, "no-go when P(S(landmark) > benchmark | data) is below it; null disables"
    )
    efficacy_prob_above_target: float | None = bounded(
        None, OPEN_PROBABILITY, "early go when P(S(landmark) > target | data) is above it; null (default) disables"
    )

    def __post_init__(self) -> None:
        check = Checker()
        check_bounded_fields(check, self, "decision")
        futility = self.futility_prob_above_benchmark
        if not check.problems and futility is not None and not futility < self.final_threshold:
            check.add(
                "decision/futility_prob_above_benchmark",
                f"futility_prob_above_benchmark must be below final_threshold ({self.final_threshold})",
            )
        check.raise_if_any()

    def as_dict(self) -> dict[str, float | None]:
        return asdict(self)


@dataclass(frozen=True)
class Enrolment:
    """Where a stratum stands: patients ``evaluable`` at the landmark of those ``enrolled``, and the
    ``planned`` number (None: not given, so no final analysis)."""

    evaluable: int
    enrolled: int
    planned: int | None = None

    @property
    def final(self) -> bool:
        """The planned patients are all enrolled and evaluable (evaluable ≤ enrolled ≤ planned)."""
        return self.planned is not None and self.evaluable >= self.planned

    def describe(self, landmark: float) -> str:
        if self.planned is None:
            return f"{self.evaluable} of {self.enrolled} enrolled patients evaluable at {landmark:g} months"
        return f"{self.evaluable} of {self.planned} planned patients evaluable at {landmark:g} months"


def decide_pfs(rule: PFSDecisionRule, prob_above_benchmark, prob_above_target, final) -> tuple[np.ndarray, np.ndarray]:
    """Decision codes and criterion codes of the PFS rule (int8 arrays, broadcast over the inputs);
    ``final``: the stratum is at its final analysis (``Enrolment.final``)."""
    p_b, p_t, final = np.broadcast_arrays(
        np.asarray(prob_above_benchmark, dtype=float), np.asarray(prob_above_target, dtype=float), np.asarray(final, dtype=bool)
    )
    return first_that_applies(
        [
            (final & (p_b > rule.final_threshold), CRITERION_FINAL_SUCCESS),
            (final, CRITERION_FINAL_FAILURE),
            (below(p_b, rule.futility_prob_above_benchmark), CRITERION_FUTILITY_POSTERIOR),
            (above(p_t, rule.efficacy_prob_above_target), CRITERION_EFFICACY_POSTERIOR),
        ]
    )


def explain_pfs(
    rule: PFSDecisionRule,
    prob_above_benchmark: float,
    prob_above_target: float,
    enrolment: Enrolment,
    *,
    benchmark: float,
    target: float,
    landmark: float,
) -> Decision:
    """The PFS decision for one stratum with a sentence quoting the numbers that decided it."""
    code, criterion = (int(v) for v in decide_pfs(rule, prob_above_benchmark, prob_above_target, enrolment.final))
    s = f"S({landmark:g})"
    p_b = f"P({s} > {benchmark:g}) = {_f(float(prob_above_benchmark))}"
    p_t = f"P({s} > {target:g}) = {_f(float(prob_above_target))}"
    futility, efficacy = rule.futility_prob_above_benchmark, rule.efficacy_prob_above_target
    where = enrolment.describe(landmark)
    if criterion == CRITERION_FINAL_SUCCESS:
        text = f"final analysis ({where}): {p_b} > {rule.final_threshold:g}"
    elif criterion == CRITERION_FINAL_FAILURE:
        text = f"final analysis ({where}): {p_b} ≤ {rule.final_threshold:g}"
    elif criterion == CRITERION_FUTILITY_POSTERIOR:
        text = f"{p_b} < {futility:g}"
    elif criterion == CRITERION_EFFICACY_POSTERIOR:
        text = f"{p_t} > {efficacy:g}"
    else:
        reasons = []
        if futility is not None:
            reasons.append(f"{p_b} ≥ {futility:g} (futility)")
        if efficacy is not None:
            reasons.append(f"{p_t} ≤ {efficacy:g} (early efficacy)")
        if enrolment.planned is None:
            reasons.append(f"no final analysis without n_planned ({where})")
        else:
            reasons.append(f"final analysis not reached: {where}")
        text = "no rule fired: " + "; ".join(reasons)
    return Decision(DECISION_OF_CODE[code], CRITERIA[criterion], text, code)
