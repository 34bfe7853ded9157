"""Request and response models for the interim progression-free-survival analysis."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StrictInt, ValidationInfo, field_validator, model_validator

from service.schemas.common import check_prior_fields, OpenProbability, ResultModel, Seed, StrictModel
from service.schemas.response import McmcSettings

PositiveFloat = Annotated[float, Field(gt=0, le=1e6)]
Real = Annotated[float, Field(ge=-1e3, le=1e3)]
Name = Annotated[str, Field(min_length=1, max_length=100)]

# Which prior fields each model kind takes; omitted ones take the kind's defaults (echoed in the result).
PRIOR_FIELDS: dict[str, tuple[str, ...]] = {
    "independent-exponential": ("shape", "rate"),
    "hierarchical-exponential": ("mu_mean", "mu_sd", "tau_scale"),
    "hierarchical-weibull": ("mu_mean", "mu_sd", "tau_scale", "shape_log_sd"),
    "hierarchical-piecewise-exponential": ("mu_mean", "mu_sd", "tau_scale", "cut_points"),
}


class Patient(StrictModel):
    id: Name | StrictInt = Field(description="patient identifier, unique within the request", examples=["P-001"])
    stratum: Name = Field(examples=["NF1-associated"])
    # Finite and ≥ 0 are checked by the analysis so that the problem names the patient id.
    time_months: float = Field(
        allow_inf_nan=True, description="months from start of treatment to progression, death or censoring (≥ 0)"
    )
    event: bool = Field(description="true: progression or death at time_months; false: censored then")


class PFSPrior(StrictModel):
    """Prior parameters (rates and hazards per month); omitted ones take the kind's defaults."""

    shape: PositiveFloat | None = Field(None, description="independent-exponential: Gamma shape a of λ (default 1)")
    rate: PositiveFloat | None = Field(
        None, description="independent-exponential: Gamma rate b of λ, months (default a·1.77/ln 2)"
    )
    mu_mean: Real | None = Field(None, description="mean of μ, log hazard per month (default log(ln 2 / 3))")
    mu_sd: PositiveFloat | None = Field(None, description="sd of μ (default 1.5)")
    tau_scale: PositiveFloat | None = Field(None, description="scale of the half-normal prior on τ (default 1)")
    shape_log_sd: PositiveFloat | None = Field(
        None, description="hierarchical-weibull: sd of log shape, centred at shape 1 (default 0.5)"
    )
    cut_points: list[Annotated[float, Field(ge=0, le=1000)]] | None = Field(
        None,
        min_length=1,
        max_length=12,
        description="hierarchical-piecewise-exponential: interval starts in months, first 0, increasing "
        "(default [0, 2, 4, 6, 12]; the last interval is open)",
    )

    @field_validator("cut_points")
    @classmethod
    def _cut_points_start_at_zero_and_increase(cls, cuts: list[float] | None) -> list[float] | None:
        if cuts is not None:
            if cuts[0] != 0:
                raise ValueError(f"the first cut point must be 0 (got {cuts[0]})")
            if any(b <= a for a, b in zip(cuts, cuts[1:])):
                raise ValueError("cut points must be strictly increasing")
        return cuts


class PFSModelChoice(StrictModel):
    kind: Literal[
        "hierarchical-exponential",
        "hierarchical-weibull",
        "hierarchical-piecewise-exponential",
        "independent-exponential",
    ] = "hierarchical-exponential"
    prior: PFSPrior = Field(default_factory=PFSPrior)

    @model_validator(mode="after")
    def _prior_fields_fit_kind(self):
        check_prior_fields(self.kind, self.prior, PRIOR_FIELDS)
        return self


class PFSDecisionRule(StrictModel):
    final_threshold: OpenProbability = Field(
        0.95,
        description="go once every patient is evaluable at the landmark (event or follow-up ≥ landmark) "
        "and P(S(landmark) > benchmark | data) > final_threshold",
    )
    futility_prob_above_benchmark: OpenProbability | None = Field(
        0.10, description="no-go when P(S(landmark) > benchmark | data) is below it; null disables"
    )
    efficacy_prob_above_target: OpenProbability | None = Field(
        None, description="early go when P(S(landmark) > target | data) is above it; null (default) disables"
    )

    @field_validator("futility_prob_above_benchmark")
    @classmethod
    def _futility_below_final(cls, futility: float | None, info: ValidationInfo) -> float | None:
        final = info.data.get("final_threshold")
        if futility is not None and final is not None and futility >= final:
            raise ValueError(f"futility_prob_above_benchmark must be below final_threshold ({final})")
        return futility


class PFSAnalysisRequest(StrictModel):
    """An interim look at patient-level PFS data in one or more strata."""

    patients: list[Patient] = Field(min_length=1, max_length=2000)
    strata: list[Name] | None = Field(
        None,
        min_length=1,
        max_length=12,
        description="stratum names in reporting order; every one must have patients "
        "(default: order of first appearance)",
    )
    landmark_months: float = Field(4.0, gt=0, le=120, description="landmark time for the PFS rate, months")
    benchmark_landmark_pfs: OpenProbability = Field(
        description="historical PFS rate at the landmark (e.g. 0.15 at 4 months)", examples=[0.15]
    )
    target_landmark_pfs: OpenProbability = Field(
        description="PFS rate at the landmark worth pursuing; must exceed the benchmark", examples=[0.35]
    )
    model: PFSModelChoice = Field(default_factory=PFSModelChoice)
    decision: PFSDecisionRule = Field(default_factory=PFSDecisionRule)
    engine: Literal["mcmc", "quadrature"] | None = Field(
        None,
        description="hierarchical-exponential: mcmc (default, PyMC) or quadrature (deterministic); "
        "Weibull and piecewise: mcmc only; ignored by independent-exponential (exact)",
    )
    mcmc: McmcSettings = Field(default_factory=McmcSettings)
    seed: Seed | None = Field(None, description="random seed; default: derived from the request's SHA-256")

    @field_validator("target_landmark_pfs")
    @classmethod
    def _target_above_benchmark(cls, target: float, info: ValidationInfo) -> float:
        benchmark = info.data.get("benchmark_landmark_pfs")
        if benchmark is not None and target <= benchmark:
            raise ValueError(
                "target_landmark_pfs must be greater than benchmark_landmark_pfs "
                f"(benchmark = {benchmark}, target = {target})"
            )
        return target

    @field_validator("strata")
    @classmethod
    def _unique_names(cls, strata: list[str] | None) -> list[str] | None:
        if strata is not None:
            seen: dict[str, int] = {}
            for i, name in enumerate(strata):
                if name in seen:
                    raise ValueError(f"stratum names must be unique: strata/{i} repeats strata/{seen[name]} '{name}'")
                seen[name] = i
        return strata


# --- response ---------------------------------------------------------------------------------


class Interval(ResultModel):
    median: float | None = Field(description="posterior median (null when unbounded)")
    ci95: tuple[float | None, float | None] = Field(description="95% equal-tailed credible interval")


class LandmarkPosterior(Interval):
    mean: float
    extrapolated: bool = Field(description="the landmark lies beyond the stratum's last follow-up")


class MedianPosterior(Interval):
    beyond_follow_up: list[Literal["median", "ci95_lower", "ci95_upper"]] = Field(
        description="which of the summaries lie beyond the stratum's last follow-up (model extrapolation)"
    )


class PFSPosterior(ResultModel):
    landmark_pfs: LandmarkPosterior
    median_pfs: MedianPosterior
    hazard_ratio_to_benchmark: Interval = Field(
        description="−ln S(L) / −ln S₀(L): λ / λ₀ for exponential models, "
        "the ratio of average hazards on [0, L] otherwise"
    )


class KaplanMeier(ResultModel):
    curve: dict = Field(description="times, survival, at_risk, events, censored, ci95_lower, ci95_upper")
    landmark: dict = Field(description="Ŝ(landmark), Greenwood SE and 95% CI; null when beyond follow-up")


class PFSStratumResult(ResultModel):
    name: str
    n: int
    events: int
    person_months: float = Field(description="total follow-up, censored time included")
    last_follow_up_months: float
    evaluable_at_landmark: int = Field(description="patients with an event or follow-up ≥ landmark")
    kaplan_meier: KaplanMeier
    posterior: PFSPosterior
    prob_landmark_above_benchmark: float
    prob_landmark_above_target: float
    monte_carlo_se: dict = Field(description="Monte Carlo standard errors of the two probabilities (null when not sampled)")
    decision: Literal["go", "no-go", "continue"]
    decision_criterion: dict = Field(description="{id, text}: the rule that fired, with its numbers")


class PFSAnalysisResult(ResultModel):
    landmark_months: float
    strata: list[PFSStratumResult]
    benchmark: dict = Field(description="benchmark landmark rate with its implied exponential hazard and median")
    target: dict
    between_stratum_spread: dict | None = Field(description="posterior of τ (hierarchical kinds); null otherwise")
    diagnostics: dict
    provenance: dict
    warnings: list[str]
