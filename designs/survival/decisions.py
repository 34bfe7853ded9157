"""The PFS go / no-go / continue rule: landmark survival S(L) against a benchmark and a target rate.

With p_B = P(S(L) > benchmark | data) and p_T = P(S(L) > target | data), the first that applies:
    go       every patient is evaluable at the landmark L and p_B > final_threshold   (final_success)
    no-go    p_B < futility_prob_above_benchmark                          (futility_posterior; if set)
    go       p_T > efficacy_prob_above_target                             (efficacy_posterior; if set)
    continue otherwise (with no planned sample size, mature data short of the final threshold
             continue unless futility fires)
Codes, criteria and the ``{id, text}`` shape are ``designs.core.decisions``', as for the response rule.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from designs.core.decisions import (
    CRITERIA,
    CRITERION_EFFICACY_POSTERIOR,
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
        "go once every patient is evaluable at the landmark (event or follow-up ≥ landmark) "
        "and P(S(landmark) > benchmark | data) > final_threshold",
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


def decide_pfs(
    rule: PFSDecisionRule, prob_above_benchmark, prob_above_target, all_evaluable
) -> tuple[np.ndarray, np.ndarray]:
    """Decision codes and criterion codes of the PFS rule (int8 arrays, broadcast over the inputs)."""
    p_b, p_t, mature = np.broadcast_arrays(
        np.asarray(prob_above_benchmark, dtype=float), np.asarray(prob_above_target, dtype=float), np.asarray(all_evaluable, dtype=bool)
    )
    return first_that_applies(
        [
            (mature & (p_b > rule.final_threshold), CRITERION_FINAL_SUCCESS),
            (below(p_b, rule.futility_prob_above_benchmark), CRITERION_FUTILITY_POSTERIOR),
            (above(p_t, rule.efficacy_prob_above_target), CRITERION_EFFICACY_POSTERIOR),
        ]
    )


def explain_pfs(
    rule: PFSDecisionRule,
    prob_above_benchmark: float,
    prob_above_target: float,
    all_evaluable: bool,
    *,
    benchmark: float,
    target: float,
    landmark: float,
) -> Decision:
    """The PFS decision for one stratum with a sentence quoting the numbers that decided it."""
    code, criterion = (int(v) for v in decide_pfs(rule, prob_above_benchmark, prob_above_target, all_evaluable))
    s = f"S({landmark:g})"
    p_b = f"P({s} > {benchmark:g}) = {_f(float(prob_above_benchmark))}"
    p_t = f"P({s} > {target:g}) = {_f(float(prob_above_target))}"
    futility, efficacy = rule.futility_prob_above_benchmark, rule.efficacy_prob_above_target
    if criterion == CRITERION_FINAL_SUCCESS:
        text = f"every patient is evaluable at {landmark:g} months and {p_b} > {rule.final_threshold:g}"
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
        if all_evaluable:
            reasons.append(f"{p_b} ≤ {rule.final_threshold:g} (final)")
        else:
            reasons.append(f"not every patient is evaluable at {landmark:g} months (final)")
        text = "no rule fired: " + "; ".join(reasons)
    return Decision(DECISION_OF_CODE[code], CRITERIA[criterion], text, code)
