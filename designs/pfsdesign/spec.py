"""A PFS design request as plain data, checked once: strata with accrual and looks, the analysis
model and rule, the true-law scenarios, the simulation size; every bad field reported at once.

Accrual. ``accrual.kind`` "poisson" (the default) enrols a stratum's patients as a Poisson process of
``accrual_per_month``: the first at month 0, then exponential gaps of mean 1 / rate, so that the
operating characteristics include the spread of real accrual (a slow run of accrual delays every
look); "uniform" enrols patient i (from 0) at month i / rate exactly, the textbook schedule. Months are
counted from the first patient in (the trial's month 0, every stratum accruing from then on).

Looks. ``{"by": "calendar", "months": [...]}`` analyses at those months; ``{"by": "evaluable",
"patients": [...]}`` when that many of the stratum's patients are evaluable at the landmark (progressed
or died, or followed for at least L months), the last being n_planned. Either way the final analysis is
when all n_planned patients are evaluable (as ``Enrolment.final`` of the analysis); calendar looks at or
after it do not happen.

Model. As the PFS analysis (``designs.survival.spec.check_settings``), with the engines a simulation
can afford at every look of every simulated trial: ``independent-exponential`` (exact Gamma tails) and
``hierarchical-exponential`` (quadrature); the MCMC-only kinds are refused, saying what to use.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from designs.core.validation import MAX_STRATA, OPEN_PROBABILITY, Bounds, Checker, did_you_mean, is_integer
from designs.oc.simulate import MAX_TRIALS_PER_SCENARIO
from designs.pfsdesign.laws import SurvivalLaw, law_from_mapping
from designs.survival.decisions import PFSDecisionRule
from designs.survival.models import PFSModel
from designs.survival.spec import MAX_PATIENTS, MAX_TIME_MONTHS, check_settings

ACCRUAL_KINDS = ("poisson", "uniform")
LOOK_KINDS = ("calendar", "evaluable")
ACCRUAL_BOUNDS = Bounds(gt=0.0, le=1000.0)
"""Patients per month: above 0 (a stratum must accrue) and at most 1000."""
MONTHS_BOUNDS = Bounds(gt=0.0, le=MAX_TIME_MONTHS)
MAX_LOOKS = 20
MAX_SCENARIOS = 20
MIN_TRIALS = 100
DEFAULT_TRIALS = 10_000
MAX_THRESHOLDS = 40
DEFAULT_THRESHOLDS = tuple(round(0.80 + 0.0067 * i, 4) for i in range(30))
"""30 candidate final thresholds from 0.80 to 0.9943."""
TYPE_I_ERROR_BOUNDS = Bounds(gt=0.0, le=0.5)

_FIELDS = ("strata", "accrual", "landmark_months", "benchmark_landmark_pfs", "target_landmark_pfs", "model",
           "decision", "scenarios", "n_trials", "seed", "max_follow_up_months", "comparator")
_CALIBRATION_FIELDS = (*_FIELDS, "target_type_i_error", "thresholds")
_STRATUM_FIELDS = ("name", "n_planned", "accrual_per_month", "looks")
MCMC_ONLY = ("the {kind} model is computed by MCMC only, too slow to run at every look of thousands of simulated "
             "trials: use hierarchical-exponential (quadrature) or independent-exponential (exact)")


@dataclass(frozen=True)
class StratumDesign:
    """One stratum: its planned patients, accrual rate (per month) and looks (``by`` calendar months or
    evaluable patients; the final analysis, all n_planned evaluable, comes after them)."""

    name: str
    n_planned: int
    accrual_per_month: float
    looks_by: str
    looks: tuple[float, ...]

    def as_dict(self) -> dict[str, Any]:
        key = "months" if self.looks_by == "calendar" else "patients"
        looks = list(self.looks) if self.looks_by == "calendar" else [int(v) for v in self.looks]
        return {"name": self.name, "n_planned": self.n_planned, "accrual_per_month": self.accrual_per_month,
                "looks": {"by": self.looks_by, key: looks}}

    @property
    def n_looks(self) -> int:
        """Analyses, the final one included."""
        return len(self.looks) + (1 if self.looks_by == "calendar" else 0)


@dataclass(frozen=True)
class LawScenario:
    name: str
    laws: Mapping[str, SurvivalLaw]


@dataclass(frozen=True)
class PFSDesignSpec:
    """Everything a PFS design computation needs, checked (build it with :meth:`from_mapping`)."""

    strata: tuple[StratumDesign, ...]
    benchmark_landmark_pfs: float
    target_landmark_pfs: float
    model: PFSModel
    decision: PFSDecisionRule
    scenarios: tuple[LawScenario, ...]
    landmark_months: float = 4.0
    accrual: str = "poisson"
    n_trials: int = DEFAULT_TRIALS
    seed: int | None = None
    max_follow_up_months: float | None = None
    comparator: Mapping[str, float] | None = None
    target_type_i_error: float | None = None
    thresholds: tuple[float, ...] = ()
    request: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.strata)

    @classmethod
    def from_mapping(cls, request: Mapping[str, Any]) -> PFSDesignSpec:
        """The spec of an operating-characteristics request; ``InvalidInputError`` naming every bad field."""
        return _build(request, calibration=False)

    @classmethod
    def calibration_from_mapping(cls, request: Mapping[str, Any]) -> PFSDesignSpec:
        """As :meth:`from_mapping`, with ``target_type_i_error`` and the candidate ``thresholds``."""
        return _build(request, calibration=True)


def _build(request: Mapping[str, Any], *, calibration: bool) -> PFSDesignSpec:
    check = Checker()
    request = check.mapping("body", request)
    check.unknown("", request, _CALIBRATION_FIELDS if calibration else _FIELDS, "the PFS design request")
    for name in ("engine", "mcmc"):
        if name in request:
            check.add(name, "a design runs no MCMC: the engine follows the model kind (closed form or quadrature)")
    model_raw = request.get("model") if isinstance(request.get("model"), Mapping) else {}
    kind = model_raw.get("kind", "hierarchical-exponential")
    engine = "quadrature" if kind == "hierarchical-exponential" else None
    settings = check_settings(check, {k: v for k, v in request.items() if k not in ("engine", "mcmc")} | {"engine": engine})
    model = settings.model
    if model is not None and model.engine == "mcmc":
        check.add("model/kind", MCMC_ONLY.format(kind=model.kind))
        model = None
    landmark = settings.landmark_months
    accrual_raw = check.mapping("accrual", request.get("accrual") or {})
    check.unknown("accrual/", accrual_raw, ("kind",), "accrual")
    accrual = check.choice("accrual/kind", accrual_raw.get("kind", "poisson"), ACCRUAL_KINDS)
    strata, names = _strata(check, request.get("strata"))
    follow_up = request.get("max_follow_up_months")
    if follow_up is not None:
        follow_up = check.number("max_follow_up_months", follow_up, MONTHS_BOUNDS)
        if follow_up is not None and landmark is not None and follow_up < landmark:
            check.add("max_follow_up_months", f"the landmark ({landmark:g} months) lies beyond the follow-up "
                      f"({follow_up:g} months): no patient could become evaluable")
    scenarios = _scenarios(check, request.get("scenarios"), names, landmark, settings.benchmark_landmark_pfs,
                           settings.target_landmark_pfs)
    n_trials = request.get("n_trials", DEFAULT_TRIALS)
    if not is_integer(n_trials) or not MIN_TRIALS <= n_trials <= MAX_TRIALS_PER_SCENARIO:
        check.add("n_trials", f"must be an integer in [{MIN_TRIALS}, {MAX_TRIALS_PER_SCENARIO:,}] (got {n_trials!r})")
    seed = check.seed(request.get("seed"))
    comparator = _comparator(check, request.get("comparator"))
    alpha, thresholds = None, ()
    if calibration:
        alpha = check.number("target_type_i_error", request.get("target_type_i_error", 0.1), TYPE_I_ERROR_BOUNDS)
        thresholds = _thresholds(check, request.get("thresholds"), settings.decision)
        if scenarios and {"benchmark", "target"} - {s.name for s in scenarios}:
            check.add("scenarios", "calibration needs a scenario named 'benchmark' (type I error) and one named "
                      "'target' (power); omit scenarios for the exponential ones at the benchmark and target rates")
    check.raise_if_any()
    return PFSDesignSpec(
        tuple(strata), settings.benchmark_landmark_pfs, settings.target_landmark_pfs, model, settings.decision,
        tuple(scenarios), landmark, accrual, int(n_trials), seed, follow_up, comparator, alpha, thresholds, dict(request),
    )


def _strata(check: Checker, raw: Any) -> tuple[list[StratumDesign], list[str]]:
    """The valid strata, and the names of all that have a valid name (for the scenarios' laws)."""
    if not check.size("strata", raw, 1, MAX_STRATA, "strata"):
        return [], []
    out, names = [], []
    for i, item in enumerate(raw):
        where = f"strata/{i}"
        item = check.mapping(where, item)
        check.unknown(f"{where}/", item, _STRATUM_FIELDS, "a stratum")
        name = check.name(f"{where}/name", item.get("name"))
        names.append(name)
        n_planned = check.integer(f"{where}/n_planned", item.get("n_planned"), 1, MAX_PATIENTS)
        rate = check.number(f"{where}/accrual_per_month", item.get("accrual_per_month"), ACCRUAL_BOUNDS)
        looks = _looks(check, f"{where}/looks", item.get("looks"), n_planned)
        if None not in (name, n_planned, rate) and looks is not None:
            out.append(StratumDesign(name, n_planned, rate, *looks))
    check.unique("strata", names, "/name")
    return out, [n for n in names if n is not None]


def _looks(check: Checker, where: str, raw: Any, n_planned: int | None) -> tuple[str, tuple[float, ...]] | None:
    # A null field is an omitted one (the HTTP schema lists both kinds' fields).
    raw = {k: v for k, v in check.mapping(where, raw).items() if v is not None}
    by = check.choice(f"{where}/by", raw.get("by"), LOOK_KINDS)
    if by is None:
        return None
    key = "months" if by == "calendar" else "patients"
    check.unknown(f"{where}/", raw, ("by", key), f"looks by {by}")
    values = raw.get(key, [] if by == "calendar" else None)
    low = 0 if by == "calendar" else 1
    if values is None and low > 0:
        check.add(f"{where}/{key}", f"required for looks by {by}: the {key} at each look, increasing")
        return None
    if not check.size(f"{where}/{key}", values, low, MAX_LOOKS, "looks"):
        return None
    if by == "calendar":
        parsed = [check.number(f"{where}/months/{k}", v, MONTHS_BOUNDS) for k, v in enumerate(values)]
    else:
        parsed = [check.integer(f"{where}/patients/{k}", v, 1, MAX_PATIENTS) for k, v in enumerate(values)]
    if None in parsed:
        return None
    for k in range(1, len(parsed)):
        if not parsed[k] > parsed[k - 1]:
            check.add(f"{where}/{key}/{k}", f"looks must increase ({parsed[k - 1]:g} then {parsed[k]:g})")
    if by == "evaluable" and n_planned is not None:
        if parsed[-1] != n_planned:
            check.add(f"{where}/patients/{len(parsed) - 1}", f"the last look is the final analysis: all n_planned = "
                      f"{n_planned} patients evaluable (got {parsed[-1]})")
    return by, tuple(float(v) for v in parsed)


def _scenarios(check: Checker, raw: Any, names: list[str], landmark: float | None, benchmark: float | None,
               target: float | None) -> list[LawScenario]:
    if raw is None:
        if None in (landmark, benchmark, target):
            return []
        return [LawScenario(label, {n: SurvivalLaw.from_landmark(rate, landmark) for n in names})
                for label, rate in (("benchmark", benchmark), ("target", target))]
    if not check.size("scenarios", raw, 1, MAX_SCENARIOS, "scenarios"):
        return []
    out, labels = [], []
    for i, item in enumerate(raw):
        where = f"scenarios/{i}"
        item = check.mapping(where, item)
        check.unknown(f"{where}/", item, ("name", "laws"), "a scenario")
        label = check.name(f"{where}/name", item.get("name"))
        labels.append(label)
        laws_raw = check.mapping(f"{where}/laws", item.get("laws"))
        laws = {}
        for stratum, law_raw in laws_raw.items():
            if stratum not in names:
                check.add(f"{where}/laws/{stratum}", f"unknown stratum '{stratum}' (strata: {', '.join(names)})" + did_you_mean(stratum, names))
            law = law_from_mapping(check, f"{where}/laws/{stratum}", law_raw, landmark or 4.0)
            if law is not None and stratum in names:
                laws[stratum] = law
        missing = [n for n in names if n not in laws_raw]
        for name in missing:
            check.add(f"{where}/laws/{name}", f"no law for stratum '{name}': every stratum needs one")
        if label is not None and len(laws) == len(names) and not missing:
            out.append(LawScenario(label, laws))
    check.unique("scenarios", labels, "/name")
    return out


def _comparator(check: Checker, raw: Any) -> dict[str, float] | None:
    if raw is None:
        return None
    raw = check.mapping("comparator", raw)
    check.unknown("comparator/", raw, ("alpha", "power"), "the log-rank comparator")
    alpha = check.number("comparator/alpha", raw.get("alpha", 0.05), TYPE_I_ERROR_BOUNDS)
    power = check.number("comparator/power", raw.get("power", 0.8), OPEN_PROBABILITY)
    return None if None in (alpha, power) else {"alpha": alpha, "power": power}


def _thresholds(check: Checker, raw: Any, decision: PFSDecisionRule | None) -> tuple[float, ...]:
    if raw is None:
        values = list(DEFAULT_THRESHOLDS)
    else:
        if not check.size("thresholds", raw, 2, MAX_THRESHOLDS, "candidate thresholds"):
            return ()
        values = [check.number(f"thresholds/{k}", v, OPEN_PROBABILITY) for k, v in enumerate(raw)]
        if None in values:
            return ()
        for k in range(1, len(values)):
            if not values[k] > values[k - 1]:
                check.add(f"thresholds/{k}", f"thresholds must increase ({values[k - 1]:g} then {values[k]:g})")
    futility = None if decision is None else decision.futility_prob_above_benchmark
    if futility is not None and values and not futility < values[0]:
        check.add("thresholds/0", f"every candidate must exceed decision/futility_prob_above_benchmark ({futility:g})")
    return tuple(values)
