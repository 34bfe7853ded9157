"""An operating-characteristics design: strata and their looks, null/target rates, a decision rule, scenarios.

A design enrols each stratum to cumulative sample sizes ``looks`` (the last is the final analysis).
Analyses are simultaneous: analysis k looks at every stratum still enrolling at its k-th look (a
stratum with fewer looks is finished and keeps its data).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from designs.core.errors import FieldProblem, InvalidInputError
from designs.core.validation import RESPONSE_RATE, did_you_mean, is_number

MAX_LOOK_SIZE = 500


@dataclass(frozen=True)
class StratumPlan:
    """A stratum and its analysis schedule: cumulative evaluable patients at each look."""

    name: str
    looks: tuple[int, ...]

    @property
    def final_n(self) -> int:
        return self.looks[-1]


@dataclass(frozen=True)
class Scenario:
    """True response rates, one per stratum."""

    name: str
    rates: Mapping[str, float]


@dataclass(frozen=True)
class SimonStoppingRule:
    """Simon's two-stage rule applied in every stratum: stop after n1 when y ≤ r1; go when y > r at n.

    n1 and n are the stratum's two looks (``designs.response.simon_status.SimonRule`` is the whole
    design {r1, n1, r, n} reported beside a response analysis).
    """

    r1: int
    r: int

    separable = True


@dataclass(frozen=True)
class OCDesign:
    """Strata with their looks, the null/target rates and a decision rule.

    ``rule`` is a ``SimonStoppingRule`` or any object accepted by ``decider_for`` (the Bayesian rules of
    ``designs.response.decisions`` with a model spec from ``designs.response.spec``).
    """

    p0: float
    p1: float
    strata: tuple[StratumPlan, ...]
    rule: Any
    model: Any = None
    fixed_tau: float | None = None  # hierarchical / EXNEX: τ fixed (0: complete pooling) instead of its prior

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.strata)

    @property
    def n_analyses(self) -> int:
        return max(len(s.looks) for s in self.strata)

    def substratum(self, index: int) -> OCDesign:
        """The one-stratum design of stratum ``index`` (for models that do not couple strata)."""
        return replace(self, strata=(self.strata[index],))


def validate_design(design: OCDesign) -> None:
    """Raise ``InvalidInputError`` naming every bad field of the design."""
    problems: list[FieldProblem] = []
    rates_ok = True
    for name in ("p0", "p1"):
        rate = getattr(design, name)
        if not is_number(rate) or not RESPONSE_RATE.contains(rate):
            problems.append(FieldProblem(name, f"must be a response rate in {RESPONSE_RATE.text()}"))
            rates_ok = False
    if rates_ok and not design.p1 > design.p0:
        problems.append(FieldProblem("p1", f"p1 must be greater than p0 (p0 = {design.p0}, p1 = {design.p1})"))
    if not design.strata:
        problems.append(FieldProblem("strata", "at least one stratum is required"))
    seen: set[str] = set()
    for i, stratum in enumerate(design.strata):
        if stratum.name in seen:
            problems.append(FieldProblem(f"strata/{i}/name", f"duplicate stratum name {stratum.name!r}"))
        seen.add(stratum.name)
        looks = stratum.looks
        if not looks:
            problems.append(FieldProblem(f"strata/{i}/looks", "at least one look (the final analysis) is required"))
            continue
        if any(n < 1 for n in looks):
            problems.append(FieldProblem(f"strata/{i}/looks", "every look needs at least 1 evaluable patient"))
        if any(b <= a for a, b in itertools.pairwise(looks)):
            problems.append(FieldProblem(f"strata/{i}/looks", f"looks must be strictly increasing, got {list(looks)}"))
        if max(looks) > MAX_LOOK_SIZE:
            problems.append(FieldProblem(f"strata/{i}/looks", f"looks above {MAX_LOOK_SIZE} patients are not supported"))
    if isinstance(design.rule, SimonStoppingRule):
        for i, stratum in enumerate(design.strata):
            if len(stratum.looks) != 2:
                problems.append(FieldProblem(f"strata/{i}/looks", "a Simon rule needs exactly two looks (n1, n)"))
    if problems:
        raise InvalidInputError(problems)


def validate_scenarios(design: OCDesign, scenarios: Sequence[Scenario]) -> None:
    """Every scenario gives a rate in [0, 1] to every stratum and names no unknown stratum."""
    problems: list[FieldProblem] = []
    names = set(design.names)
    for i, scenario in enumerate(scenarios):
        for name, rate in scenario.rates.items():
            if name not in names:
                problems.append(FieldProblem(f"scenarios/{i}/rates/{name}", f"unknown stratum (strata are {sorted(names)})" + did_you_mean(name, list(names))))
            elif not (0.0 <= float(rate) <= 1.0) or math.isnan(float(rate)):
                problems.append(FieldProblem(f"scenarios/{i}/rates/{name}", "a response rate must lie in [0, 1]"))
        for name in design.names:
            if name not in scenario.rates:
                problems.append(FieldProblem(f"scenarios/{i}/rates", f"no rate for stratum {name!r}"))
    if problems:
        raise InvalidInputError(problems)


def default_scenarios(names: Sequence[str], p0: float, p1: float) -> list[Scenario]:
    """Global null, global alternative, and each stratum alone at p1 (the others at p0)."""
    scenarios = [
        Scenario("global null", {n: p0 for n in names}),
        Scenario("global alternative", {n: p1 for n in names}),
    ]
    if len(names) > 1:
        for active in names:
            scenarios.append(Scenario(f"only {active} active", {n: (p1 if n == active else p0) for n in names}))
    return scenarios

