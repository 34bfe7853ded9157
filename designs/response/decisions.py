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

The PFS rule (``PFSDecisionRule``, ``decide_pfs``, ``explain_pfs``) uses the same codes, criteria and
``{id, text}`` shape, with p_B = P(S(L) > benchmark | data) and p_T = P(S(L) > target | data), in
this order:
    go       every patient is evaluable at the landmark L and p_B > final_threshold   (final_success)
    no-go    p_B < futility_prob_above_benchmark                          (futility_posterior; if set)
    go       p_T > efficacy_prob_above_target                             (efficacy_posterior; if set)
    continue otherwise (with no planned sample size, mature data short of the final threshold
             continue unless futility fires)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from designs.core.errors import FieldProblem, InvalidInputError

from designs.core.decisions import (
    CODE_OF_CRITERION,
    CRITERIA,
    CRITERION_CONTINUE,
    CRITERION_EFFICACY_POSTERIOR,
    CRITERION_EFFICACY_PREDICTIVE,
    CRITERION_FINAL_FAILURE,
    CRITERION_FINAL_SUCCESS,
    CRITERION_FUTILITY_POSTERIOR,
    CRITERION_FUTILITY_PREDICTIVE,
    DECISION_OF_CODE,
    Decision,
)
from designs.core.decisions import format_probability as _f

@dataclass(frozen=True)
class DecisionRule:
    """Thresholds of the rule (see the module docstring); the defaults are the service's."""

    final_threshold: float = 0.95
    futility_ppos: float | None = 0.05
    efficacy_ppos: float | None = 0.95
    futility_prob_above_p0: float | None = None

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []

        def check(name: str, value: Any, low_open: bool, high_open: bool, optional: bool) -> None:
            if value is None:
                if not optional:
                    problems.append(FieldProblem(f"decision/{name}", "required"))
                return
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            ok = ok and (value > 0 if low_open else value >= 0) and (value < 1 if high_open else value <= 1)
            if not ok:
                interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
                problems.append(FieldProblem(f"decision/{name}", f"must lie in {interval}"))

        check("final_threshold", self.final_threshold, True, True, False)
        # 0 switches futility off and 1 switches early efficacy off, so those ends are allowed.
        check("futility_ppos", self.futility_ppos, False, True, True)
        check("efficacy_ppos", self.efficacy_ppos, True, False, True)
        check("futility_prob_above_p0", self.futility_prob_above_p0, True, True, True)
        if (
            not problems
            and self.futility_ppos is not None
            and self.efficacy_ppos is not None
            and not self.futility_ppos < self.efficacy_ppos
        ):
            problems.append(FieldProblem("decision/efficacy_ppos", f"must exceed futility_ppos ({self.futility_ppos})"))
        if problems:
            raise InvalidInputError(problems)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> DecisionRule:
        """From a request's ``decision`` object; missing fields take the defaults."""
        values = dict(values or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise InvalidInputError([FieldProblem(f"decision/{u}", "not a field of the decision rule") for u in unknown])
        return cls(**values)

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
    n, n_planned, prob, pp = np.broadcast_arrays(
        np.asarray(n), np.asarray(n_planned), np.asarray(prob_above_p0, dtype=float), np.asarray(predictive_probability, dtype=float)
    )
    final = n >= n_planned
    success = prob > rule.final_threshold
    futility_posterior = np.zeros(prob.shape, dtype=bool)
    if rule.futility_prob_above_p0 is not None:
        futility_posterior = prob < rule.futility_prob_above_p0
    futility_predictive = np.zeros(prob.shape, dtype=bool) if rule.futility_ppos is None else pp < rule.futility_ppos
    efficacy = np.zeros(prob.shape, dtype=bool) if rule.efficacy_ppos is None else pp > rule.efficacy_ppos
    criterion = np.select(
        [final & success, final, futility_posterior, futility_predictive, efficacy],
        [CRITERION_FINAL_SUCCESS, CRITERION_FINAL_FAILURE, CRITERION_FUTILITY_POSTERIOR, CRITERION_FUTILITY_PREDICTIVE, CRITERION_EFFICACY_PREDICTIVE],
        CRITERION_CONTINUE,
    ).astype(np.int8)
    return CODE_OF_CRITERION[criterion], criterion


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
    prob, pp = float(prob_above_p0), float(predictive_probability)
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
            f"Interim ({look}): predictive probability of success = {_f(pp)} < {rule.futility_ppos:g}: "
            "no-go for futility."
        )
    elif criterion == CRITERION_EFFICACY_PREDICTIVE:
        text = f"Interim ({look}): predictive probability of success = {_f(pp)} > {rule.efficacy_ppos:g}: early go."
    else:
        bounds = []
        if rule.futility_ppos is not None:
            bounds.append(f"≥ {rule.futility_ppos:g}")
        if rule.efficacy_ppos is not None:
            bounds.append(f"≤ {rule.efficacy_ppos:g}")
        within = f" ({' and '.join(bounds)})" if bounds else ""
        text = f"Interim ({look}): predictive probability of success = {_f(pp)}{within}: continue."
    return Decision(DECISION_OF_CODE[code], CRITERIA[criterion], text, code)


# --------------------------------------------------------------------------------------------------
# PFS: landmark survival S(L) against a benchmark and a target rate


def _open_probability(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 < value < 1.0


@dataclass(frozen=True)
class PFSDecisionRule:
    """Thresholds of the PFS rule (see the module docstring); the defaults are the service's.

    Not checked on construction, so that an analysis can report its problems with every other field's:
    see :meth:`problems`.
    """

    final_threshold: float = 0.95
    futility_prob_above_benchmark: float | None = 0.10
    efficacy_prob_above_target: float | None = None

    def problems(self) -> list[FieldProblem]:
        """Every threshold outside (0, 1), located as ``decision/<name>``; None disables an optional one."""
        found = []
        for name in ("final_threshold", "futility_prob_above_benchmark", "efficacy_prob_above_target"):
            value = getattr(self, name)
            if (value is not None or name == "final_threshold") and not _open_probability(value):
                found.append(FieldProblem(f"decision/{name}", f"must lie strictly between 0 and 1 (got {value})"))
        return found


def decide_pfs(
    rule: PFSDecisionRule, prob_above_benchmark, prob_above_target, all_evaluable
) -> tuple[np.ndarray, np.ndarray]:
    """Decision codes and criterion codes of the PFS rule (int8 arrays, broadcast over the inputs)."""
    p_b, p_t, mature = np.broadcast_arrays(
        np.asarray(prob_above_benchmark, dtype=float), np.asarray(prob_above_target, dtype=float), np.asarray(all_evaluable, dtype=bool)
    )
    off = np.zeros(p_b.shape, dtype=bool)
    futility = off if rule.futility_prob_above_benchmark is None else p_b < rule.futility_prob_above_benchmark
    efficacy = off if rule.efficacy_prob_above_target is None else p_t > rule.efficacy_prob_above_target
    criterion = np.select(
        [mature & (p_b > rule.final_threshold), futility, efficacy],
        [CRITERION_FINAL_SUCCESS, CRITERION_FUTILITY_POSTERIOR, CRITERION_EFFICACY_POSTERIOR],
        CRITERION_CONTINUE,
    ).astype(np.int8)
    return CODE_OF_CRITERION[criterion], criterion


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
