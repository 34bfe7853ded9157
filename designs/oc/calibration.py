"""Calibration of a go/no-go rule: the final threshold θ (and optionally the futility cut-off).

Among the candidates (θ, f) whose per-stratum type I error under the global null,
max_j P_{p0}(go_j), is at most the target, choose the one with the largest mean power under the
global alternative, (1/J) Σ_j P_{p1}(go_j); ties go to the smaller expected sample size under the
null, then to the larger θ. Every candidate is evaluated on the same outcomes: exact enumeration,
or simulation with the same seed (common random numbers), so P(go) under the null falls
monotonically as θ rises instead of jittering by Monte Carlo noise.

Each candidate is one chunk: its decision tables, then the OC in every scenario of the final table.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from designs.core.caveats import caveat
from designs.core.errors import InfeasibleDesignError, InvalidInputError
from designs.oc.computation import choose_method, decision_seconds, plan, run
from designs.oc.design import OCDesign, Scenario, default_scenarios, validate_design, validate_scenarios
from designs.oc.provenance import design_request, design_settings, oc_provenance
from designs.oc.tables import DecisionTables

DEFAULT_THRESHOLDS = tuple(float(t) for t in np.round(np.linspace(0.50, 0.995, 50), 4))


@dataclass(frozen=True)
class Candidate:
    final_threshold: float
    futility_ppos: float | None


def with_thresholds(rule: Any, candidate: Candidate) -> Any:
    """The rule with the candidate's final threshold (and futility cut-off, when searched)."""
    changes: dict[str, float] = {"final_threshold": candidate.final_threshold}
    if candidate.futility_ppos is not None:
        changes["futility_ppos"] = candidate.futility_ppos
    if dataclasses.is_dataclass(rule):
        return dataclasses.replace(rule, **changes)
    if hasattr(rule, "model_copy"):
        return rule.model_copy(update=changes)
    raise TypeError(f"cannot set thresholds on {type(rule).__name__}")


@dataclass
class CalibrationPlan:
    """A calibration as a computation for ``service.jobs``: one chunk per candidate."""

    design: OCDesign
    candidates: list[Candidate]
    target: float
    scenarios: list[Scenario]
    method: str
    n_trials: int
    seed: int
    simon: Mapping[str, int] | None = None
    null_index: int = 0
    alternative_index: int = 1
    chunks: list[int] = field(default_factory=list)
    request: Mapping[str, Any] = field(default_factory=dict)  # as received: hashed for provenance
    skipped: tuple[float, ...] = ()  # final thresholds not tried: at or below the rule's futility bar

    @property
    def simulated_trials(self) -> int:
        if self.method != "simulation":
            return 0
        return self.n_trials * len(self.scenarios) * len(self.candidates)

    @property
    def decision_seconds(self) -> float:
        """Rough time of the decision tables (``designs.oc.computation.decision_seconds``): the
        posteriors are shared by the candidates, the predictive enumeration is redone for each."""
        first = self.candidate_design(0)
        tables = DecisionTables(first)
        once = decision_seconds(first, tables, self.n_trials * len(self.scenarios))
        return once * (1 + 0.1 * (len(self.candidates) - 1))

    def candidate_design(self, index: int) -> OCDesign:
        return dataclasses.replace(self.design, rule=with_thresholds(self.design.rule, self.candidates[index]))

    # The computation protocol of ``service.jobs``.
    def prepare(self) -> CalibrationPlan:
        return self

    def run_chunk(self, index: int) -> dict[str, Any]:
        design = self.candidate_design(index)
        tables = DecisionTables(design)
        method = choose_method(design, self.method, tables)
        sub = plan(
            design, list(self.scenarios), method=method, n_trials=self.n_trials, seed=self.seed,
            simon=self.simon, chunk_trials=max(self.n_trials, 1), tables=tables, request=self.request,
        )
        return run(sub)

    def reduce(self, pairs: Iterable[tuple[int, dict[str, Any]]]) -> dict[str, Any]:
        results = dict(pairs)
        rows = [self._candidate_row(i, results[i]) for i in range(len(self.candidates))]
        feasible = [i for i, row in enumerate(rows) if row["feasible"]]
        if not feasible:
            best = min(range(len(rows)), key=lambda i: rows[i]["max_type_i_error"])
            raise InfeasibleDesignError(
                f"no candidate keeps the per-stratum type I error ≤ {self.target:g}; the smallest reached is "
                f"{rows[best]['max_type_i_error']:.4f} at final_threshold {rows[best]['final_threshold']:g}",
                suggestion="offer higher final thresholds, a stricter futility cut-off, or more patients per stratum",
            )
        chosen = max(
            feasible,
            key=lambda i: (round(rows[i]["mean_power"], 12), -round(rows[i]["expected_n_null"], 9), rows[i]["final_threshold"]),
        )
        warnings = list(results[chosen].get("warnings", []))
        margin = 2 * rows[chosen]["mcse_max_type_i_error"]
        if margin > 0 and rows[chosen]["max_type_i_error"] + margin > self.target:
            warnings.append(caveat(
                "calibration-margin",
                f"the chosen candidate's simulated type I error {rows[chosen]['max_type_i_error']:.4f} is within two Monte "
                f"Carlo standard errors of the target {self.target:g}: confirm with more trials or method 'exact'",
            ))
        lowest = min(c.final_threshold for c in self.candidates)
        if self.candidates[chosen].final_threshold == lowest and len({c.final_threshold for c in self.candidates}) > 1:
            warnings.append(caveat(
                "calibration-edge",
                f"the chosen final threshold {lowest:g} is the lowest candidate: lower thresholds might also meet the target",
            ))
        if self.skipped:
            warnings.append(caveat(
                "calibration-thresholds-skipped",
                f"{len(self.skipped)} candidate final threshold(s) from {min(self.skipped):g} to {max(self.skipped):g} "
                f"were not tried: they do not exceed decision/futility_prob_above_p0 "
                f"({self.design.rule.futility_prob_above_p0:g})",
            ))
        return {
            "final_threshold": self.candidates[chosen].final_threshold,
            "futility_ppos": rows[chosen]["futility_ppos"],
            "target_type_i_error": self.target,
            "chosen_index": chosen,
            "candidates": rows,
            "operating_characteristics": results[chosen],
            "settings": {
                **design_settings(self.design, method=self.method, n_trials=self.n_trials, seed=self.seed,
                                  simon=self.simon),
                "target_type_i_error": self.target,
                "thresholds": sorted({c.final_threshold for c in self.candidates}),
                "thresholds_skipped": list(self.skipped),
                "futility_ppos": sorted({c.futility_ppos for c in self.candidates if c.futility_ppos is not None}) or None,
            },
            "warnings": warnings,
            "provenance": oc_provenance(self.request, self.design, self.method, self.seed),
        }

    def _candidate_row(self, index: int, result: dict[str, Any]) -> dict[str, Any]:
        null = result["scenarios"][self.null_index]
        alternative = result["scenarios"][self.alternative_index]
        type_i = {s["name"]: s["prob_go"] for s in null["strata"]}
        power = {s["name"]: s["prob_go"] for s in alternative["strata"]}
        candidate = self.candidates[index]
        futility = candidate.futility_ppos
        if futility is None:
            futility = getattr(self.design.rule, "futility_ppos", None)
        max_type_i = max(type_i.values())
        worst = max(null["strata"], key=lambda s: s["prob_go"])
        return {
            "final_threshold": candidate.final_threshold,
            "futility_ppos": futility,
            "type_i_error": type_i,
            "power": power,
            "max_type_i_error": max_type_i,
            "mcse_max_type_i_error": worst["mcse"]["prob_go"],
            "mean_power": float(np.mean(list(power.values()))),
            "expected_n_null": null["expected_total_n"],
            "feasible": max_type_i <= self.target + 1e-12,
        }


def calibration_plan(
    design: OCDesign,
    *,
    target: float = 0.10,
    thresholds: Sequence[float] | None = None,
    futility_ppos: Sequence[float] | None = None,
    scenarios: Sequence[Scenario] | None = None,
    method: str = "auto",
    n_trials: int = 10_000,
    seed: int = 0,
    simon: Mapping[str, int] | None = None,
    request: Mapping[str, Any] | None = None,
) -> CalibrationPlan:
    """Validate a calibration request and list its candidates.

    ``request``: the request as received, hashed for the result's provenance (default: these arguments).
    """
    if request is None:
        request = {
            **design_request(design, scenarios, method=method, n_trials=n_trials, seed=seed, simon=simon),
            "target_type_i_error": target,
            "thresholds": None if thresholds is None else list(thresholds),
            "futility_ppos": None if futility_ppos is None else list(futility_ppos),
        }
    validate_design(design)
    if not 0 < target < 1:
        raise InvalidInputError("target_type_i_error", "must lie in (0, 1)")
    for i, t in enumerate(thresholds or ()):
        if not 0 < float(t) < 1:
            raise InvalidInputError(f"thresholds/{i}", "a final threshold must lie in (0, 1)")
    thresholds = sorted(set(float(t) for t in (thresholds or DEFAULT_THRESHOLDS)))
    # A final threshold at or below the rule's interim futility bar on P(p > p0) would stop strata the
    # final analysis calls a success: such a rule is incoherent (DecisionRule refuses it), so skip it.
    bar = getattr(design.rule, "futility_prob_above_p0", None)
    skipped = [t for t in thresholds if bar is not None and t <= bar]
    thresholds = [t for t in thresholds if t not in skipped]
    if not thresholds:
        raise InvalidInputError(
            "thresholds",
            f"every candidate final threshold is at or below decision/futility_prob_above_p0 ({bar}); "
            "offer thresholds above it or lower that futility bar",
        )
    efficacy = getattr(design.rule, "efficacy_ppos", None)
    futility_values: list[float | None] = [None]
    if futility_ppos:
        for i, f in enumerate(futility_ppos):
            f = float(f)
            if not 0 <= f < 1:
                raise InvalidInputError(f"futility_ppos/{i}", "a futility cut-off must lie in [0, 1)")
            if efficacy is not None and f >= efficacy:
                raise InvalidInputError(f"futility_ppos/{i}", f"must be below decision/efficacy_ppos ({efficacy})")
        futility_values = sorted(set(float(f) for f in futility_ppos))
    candidates = [Candidate(t, f) for f in futility_values for t in thresholds]

    names = design.names
    null = Scenario("global null", {n: design.p0 for n in names})
    alternative = Scenario("global alternative", {n: design.p1 for n in names})
    table = list(scenarios) if scenarios else default_scenarios(names, design.p0, design.p1)
    validate_scenarios(design, table)

    def find(target_rates: Mapping[str, float]) -> int | None:
        return next(
            (i for i, s in enumerate(table) if all(abs(float(s.rates[n]) - target_rates[n]) < 1e-12 for n in names)), None
        )

    null_index = find(null.rates)
    if null_index is None:
        table.append(null)
        null_index = len(table) - 1
    alternative_index = find(alternative.rates)
    if alternative_index is None:
        table.append(alternative)
        alternative_index = len(table) - 1
    # Decide the method once, on the first candidate, so that every candidate uses the same one.
    first = dataclasses.replace(design, rule=with_thresholds(design.rule, candidates[0]))
    chosen = choose_method(first, method, DecisionTables(first))
    computation = CalibrationPlan(
        design, candidates, float(target), table, chosen, int(n_trials), int(seed), simon,
        null_index=null_index, alternative_index=alternative_index, request=request, skipped=tuple(skipped),
    )
    computation.chunks = list(range(len(candidates)))
    return computation


def calibrate(design: OCDesign, **kwargs: Any) -> dict[str, Any]:
    """Calibrate in this process (see ``calibration_plan`` for the arguments)."""
    computation = calibration_plan(design, **kwargs)
    return computation.reduce([(i, computation.run_chunk(i)) for i in computation.chunks])
