"""Request and response models of the PFS design routes: operating characteristics and calibration.

Types (and the simplest bounds) are checked here and documented; ``designs.pfsdesign.spec`` checks the
rest — looks increasing and ending at n_planned, the landmark within the follow-up, a law for every
stratum and none for an unknown one, each law's parameters (``designs.pfsdesign.laws``), the model's
engine — and the routes report both verdicts at once (``service.boundary``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from designs.core.validation import MAX_NAME_LENGTH, MAX_STRATA
from designs.oc.simulate import MAX_TRIALS_PER_SCENARIO
from designs.pfsdesign import spec
from designs.survival.spec import DEFAULT_LANDMARK_MONTHS, LANDMARK_BOUNDS, MAX_PATIENTS
from service.schemas.common import OpenProbability, ResultModel, Seed, StrictModel, Warning
from service.schemas.pfs import PFSDecisionRule, PFSModelChoice


class Looks(StrictModel):
    """When a stratum's analyses come: months increasing, or numbers of evaluable patients increasing to n_planned."""

    by: Literal[spec.LOOK_KINDS] = Field(description="calendar: at months since the first patient in; evaluable: when "  # type: ignore[valid-type]
                                         "that many patients are evaluable at the landmark (the last = n_planned)")
    months: list[float] | None = Field(None, max_length=spec.MAX_LOOKS, description="by calendar: increasing months "
                                       "(looks at or after the final analysis do not happen)", examples=[[6, 12]])
    patients: list[int] | None = Field(None, max_length=spec.MAX_LOOKS, description="by evaluable: increasing numbers "
                                       "of evaluable patients, the last n_planned", examples=[[10, 20, 30]])


class DesignStratum(StrictModel):
    """A stratum of the design: its size, accrual and looks (by evaluable: the last look is n_planned)."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="unique among the strata",
                      examples=["NF1-associated"])
    n_planned: int = Field(ge=1, le=MAX_PATIENTS, description="patients to enrol; the final analysis when all are "
                           "evaluable at the landmark (the last look by evaluable patients)", examples=[30])
    accrual_per_month: float = Field(description="patients per month (> 0)", examples=[2.0])
    looks: Looks


class Accrual(StrictModel):
    kind: Literal[spec.ACCRUAL_KINDS] = Field("poisson", description="poisson (default): exponential gaps of mean 1/rate "  # type: ignore[valid-type]
                                              "after a first patient at month 0; uniform: patient i at month i / rate")


class LawScenario(StrictModel):
    """A scenario: a true PFS law for every stratum of the design, and for no other."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["benchmark"])
    laws: dict[str, dict[str, Any]] = Field(description="per stratum its true PFS law: {kind: exponential | weibull | "
                                            "piecewise-exponential, hazard_per_month | median_months | landmark_pfs "
                                            "[, landmark_months], shape, cut_points, hazards_per_month}",
                                            examples=[{"NF1-associated": {"kind": "exponential", "landmark_pfs": 0.15},
                                                       "sporadic": {"kind": "exponential", "landmark_pfs": 0.15}}])


EXAMPLE_STRATA = [
    {"name": "NF1-associated", "n_planned": 21, "accrual_per_month": 1.5, "looks": {"by": "evaluable", "patients": [10, 21]}},
    {"name": "sporadic", "n_planned": 21, "accrual_per_month": 2.0, "looks": {"by": "evaluable", "patients": [10, 21]}},
]
EXAMPLE_SCENARIOS = [
    {"name": name, "laws": {stratum: {"kind": "exponential", "landmark_pfs": rate} for stratum in ("NF1-associated", "sporadic")}}
    for name, rate in (("benchmark", 0.15), ("target", 0.35))
]
EXAMPLE_DESIGN = {"strata": EXAMPLE_STRATA, "landmark_months": 4, "benchmark_landmark_pfs": 0.15,
                  "target_landmark_pfs": 0.35, "model": {"kind": "independent-exponential"},
                  "scenarios": EXAMPLE_SCENARIOS, "n_trials": 1000, "seed": 2026}


class Comparator(StrictModel):
    alpha: float = Field(0.05, description="one-sided level of the one-sample log-rank test")
    power: float = Field(0.8, description="power at the target law")


class PFSOperatingCharacteristicsRequest(StrictModel):
    """A PFS go / no-go design to simulate: strata with accrual and looks, the analysis model and rule,
    true-law scenarios.

    Across fields (checked at once with the schema's problems, each named by its field):
    target_landmark_pfs > benchmark_landmark_pfs; stratum names unique; each stratum's looks
    increasing, by evaluable patients ending at its n_planned; every scenario a law for every stratum
    and for no other, scenario names unique; max_follow_up_months at least the landmark; no engine or
    mcmc (a design runs no MCMC) and no MCMC-only model kind; the prior holds only parameters of the
    model's kind."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_DESIGN]})

    strata: list[DesignStratum] = Field(min_length=1, max_length=MAX_STRATA, examples=[EXAMPLE_STRATA])
    accrual: Accrual = Field(default_factory=Accrual)
    landmark_months: float = Field(DEFAULT_LANDMARK_MONTHS, **LANDMARK_BOUNDS.as_field_kwargs(),
                                   description="landmark of the PFS rate, months")
    benchmark_landmark_pfs: OpenProbability = Field(description="historical PFS rate at the landmark", examples=[0.15])
    target_landmark_pfs: OpenProbability = Field(description="PFS rate at the landmark worth pursuing (> the benchmark)",
                                                 examples=[0.35])
    model: PFSModelChoice = Field(default_factory=PFSModelChoice, description="independent-exponential (exact) or "
                                  "hierarchical-exponential (quadrature); the MCMC-only kinds are refused",
                                  examples=[{"kind": "independent-exponential"}])
    decision: PFSDecisionRule = Field(default_factory=PFSDecisionRule)  # type: ignore[valid-type]
    scenarios: list[LawScenario] | None = Field(None, min_length=1, max_length=spec.MAX_SCENARIOS, description=(
        "true laws per scenario; default: 'benchmark' and 'target', every stratum exponential at that landmark rate"),
        examples=[EXAMPLE_SCENARIOS])
    n_trials: int = Field(spec.DEFAULT_TRIALS, ge=spec.MIN_TRIALS, le=MAX_TRIALS_PER_SCENARIO,
                          description="simulated trials per scenario", examples=[1000])
    seed: Seed | None = Field(None, description="random seed; default: derived from the request's SHA-256")
    max_follow_up_months: float | None = Field(None, description="administrative censoring: no patient is followed "
                                               "longer (at least the landmark); default: none")
    comparator: Comparator | None = Field(None, description="also size the one-sample log-rank test against the benchmark (Wu 2015) and simulate its rejection rates in each scenario")


class PFSCalibrationRequest(PFSOperatingCharacteristicsRequest):
    """As the operating characteristics, with the type I error target and the candidate final thresholds.

    Across fields, besides those of the operating characteristics: scenarios (when given) include one
    named 'benchmark' (type I error) and one named 'target' (power); thresholds increasing, each above
    decision.futility_prob_above_benchmark."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **EXAMPLE_DESIGN, "target_type_i_error": 0.1, "thresholds": [0.8, 0.85, 0.9, 0.95]}]})

    target_type_i_error: float = Field(0.1, gt=0, le=0.5, description="largest P(go | benchmark) per stratum")
    thresholds: list[OpenProbability] | None = Field(None, min_length=2, max_length=spec.MAX_THRESHOLDS, description=(
        "increasing candidate final thresholds (default 30 from 0.80 to 0.994), each above the futility bar"))


def _comparator_result() -> Any:
    return Field(None, description=(
        "with the request's comparator: per stratum the one-sample log-rank test's sample size at the stratum's "
        "accrual (Wu 2015) and its simulated rejection probability in each scenario with n_planned patients"))


def _settings_result() -> Any:
    return Field(None, description=(
        "every rule and model setting simulated, defaults filled in: benchmark and target rates, landmark, strata "
        "(looks, accrual), accrual process, max follow-up, model (kind, prior as applied, engine), engine, decision "
        "thresholds (the decision as requested, before calibration), method, n_trials, the seed used, comparator; "
        "a calibration adds target_type_i_error and the candidate thresholds"))


class PFSOperatingCharacteristicsResult(ResultModel):
    method: str
    n_trials: int
    seed: int
    scenarios: list[dict[str, Any]] = Field(description="per scenario: the laws (median, landmark rate) and per stratum "
                                            "P(go), P(no-go), P(stop) at each look by cause, expected enrolled and "
                                            "duration, with Monte Carlo SEs")
    comparator: dict[str, Any] | None = _comparator_result()
    settings: dict[str, Any] | None = _settings_result()
    warnings: list[Warning]
    provenance: dict[str, Any]


class PFSCalibrationResult(ResultModel):
    final_threshold: float | None = Field(description="the lowest candidate meeting the target in every stratum "
                                          "(the most power); null when none does")
    met: bool
    curve: list[dict[str, Any]] = Field(description="per candidate: per stratum type I error and power with MC SEs")
    decision: dict[str, Any]
    comparator: dict[str, Any] | None = _comparator_result()
    settings: dict[str, Any] | None = _settings_result()
    warnings: list[Warning]
    provenance: dict[str, Any]
