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
the same codes as ``designs.operating_characteristics`` — and the criterion that fired;
``explain`` gives one stratum's decision with a sentence quoting the numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import numpy as np

from designs.errors import FieldProblem, InvalidInputError

# Decision codes (as in designs.operating_characteristics).
CONTINUE, FUTILITY, EARLY_GO, FINAL_GO, FINAL_NO_GO = 0, 1, 2, 3, 4
DECISION_OF_CODE: tuple[str, ...] = ("continue", "no-go", "go", "go", "no-go")

# Criteria that can fire, indexed by the criterion codes returned by ``decide``.
CRITERIA: tuple[str, ...] = (
    "continue",
    "futility_posterior",
    "futility_predictive",
    "efficacy_predictive",
    "final_success",
    "final_failure",
)
(
    CRITERION_CONTINUE,
    CRITERION_FUTILITY_POSTERIOR,
    CRITERION_FUTILITY_PREDICTIVE,
    CRITERION_EFFICACY_PREDICTIVE,
    CRITERION_FINAL_SUCCESS,
    CRITERION_FINAL_FAILURE,
) = range(len(CRITERIA))


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
                    problems.append(FieldProblem(f"decision.{name}", "required"))
                return
            ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
            ok = ok and (value > 0 if low_open else value >= 0) and (value < 1 if high_open else value <= 1)
            if not ok:
                interval = ("(" if low_open else "[") + "0, 1" + (")" if high_open else "]")
                problems.append(FieldProblem(f"decision.{name}", f"must lie in {interval}"))

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
            problems.append(FieldProblem("decision.efficacy_ppos", f"must exceed futility_ppos ({self.futility_ppos})"))
        if problems:
            raise InvalidInputError(problems)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any] | None) -> DecisionRule:
        """From a request's ``decision`` object; missing fields take the defaults."""
        values = dict(values or {})
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise InvalidInputError([FieldProblem(f"decision.{u}", "not a field of the decision rule") for u in unknown])
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
    code = np.array([CONTINUE, FUTILITY, FUTILITY, EARLY_GO, FINAL_GO, FINAL_NO_GO], dtype=np.int8)[criterion]
    return code, criterion


@dataclass(frozen=True)
class Decision:
    """One stratum's decision: "go" / "no-go" / "continue", the criterion id and a sentence."""

    decision: str
    criterion: str
    text: str
    code: int

    def criterion_dict(self) -> dict[str, str]:
        return {"id": self.criterion, "text": self.text}


def _f(x: float) -> str:
    """3 decimals in the bulk, 4 significant digits near 0 and 1 (0.9997 must not print as 1)."""
    return f"{x:.3f}" if 0.01 <= x <= 0.99 else f"{x:.4g}"


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
