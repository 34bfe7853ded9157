"""Request and response models for the interim response analysis."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from service.schemas.common import check_prior_fields, RatesAndStrata, OpenProbability, ResultModel, Seed, StrictModel
from service.schemas.simon import SimonDesignFields

Count = Annotated[int, Field(ge=0, le=100_000)]
PositiveFloat = Annotated[float, Field(gt=0, le=1e6)]
Real = Annotated[float, Field(ge=-1e3, le=1e3)]

# Which prior fields each model kind takes (bhmbasket's parameterisation).
PRIOR_FIELDS: dict[str, tuple[str, ...]] = {
    "independent": ("a", "b"),
    "pooled": ("a", "b"),
    "hierarchical": ("mu_mean", "mu_sd", "tau_scale"),
    "exnex": ("mu_mean", "mu_sd", "tau_scale", "weight_exchangeable", "nex_mean", "nex_sd"),
}


class StratumData(StrictModel):
    name: str = Field(min_length=1, max_length=100, examples=["NF1-associated"])
    n: Count = Field(description="evaluable patients so far")
    responders: Count = Field(description="responders among the n")
    n_planned: Annotated[int, Field(ge=1, le=100_000)] = Field(description="planned evaluable patients at the final analysis")

    @field_validator("responders")
    @classmethod
    def _responders_at_most_n(cls, responders: int, info: ValidationInfo) -> int:
        n = info.data.get("n")
        if n is not None and responders > n:
            raise ValueError(f"responders cannot exceed n (n = {n}, responders = {responders})")
        return responders

    @field_validator("n_planned")
    @classmethod
    def _n_at_most_planned(cls, n_planned: int, info: ValidationInfo) -> int:
        n = info.data.get("n")
        if n is not None and n > n_planned:
            raise ValueError(f"n_planned must be at least n (n = {n}, n_planned = {n_planned})")
        return n_planned


class ResponsePrior(StrictModel):
    """Prior parameters; omitted ones take bhmbasket's defaults for the kind (echoed in the result)."""

    a: PositiveFloat | None = Field(None, description="Beta prior: a (independent, pooled; default p0)")
    b: PositiveFloat | None = Field(None, description="Beta prior: b (independent, pooled; default 1 − p0)")
    mu_mean: Real | None = Field(None, description="mean of μ on the logit scale (default logit p0)")
    mu_sd: PositiveFloat | None = Field(None, description="sd of μ (default 2.6159)")
    tau_scale: PositiveFloat | None = Field(None, description="scale of the half-normal prior on τ (default 1)")
    weight_exchangeable: Annotated[float, Field(ge=0, le=1)] | None = Field(
        None, description="EXNEX prior probability that a stratum is exchangeable (default 0.5)"
    )
    nex_mean: Real | None = Field(None, description="EXNEX non-exchangeable mean, logit scale (default logit p0)")
    nex_sd: PositiveFloat | None = Field(None, description="EXNEX non-exchangeable sd (default 2.8006)")


class ResponseModelChoice(StrictModel):
    kind: Literal["hierarchical", "exnex", "independent", "pooled"] = "hierarchical"
    prior: ResponsePrior = Field(default_factory=ResponsePrior)

    @model_validator(mode="after")
    def _prior_fields_fit_kind(self):
        check_prior_fields(self.kind, self.prior, PRIOR_FIELDS)
        return self


class DecisionRule(StrictModel):
    final_threshold: OpenProbability = Field(
        0.95, description="success at the final analysis: P(p > p0 | data) > final_threshold"
    )
    futility_ppos: Annotated[float, Field(ge=0, lt=1)] = Field(
        0.05, description="no-go when the predictive probability of success is below it"
    )
    efficacy_ppos: Annotated[float, Field(gt=0, le=1)] | None = Field(
        0.95, description="early go when the predictive probability of success is above it; null disables"
    )
    futility_prob_above_p0: OpenProbability | None = Field(
        None, description="no-go when P(p > p0 | data) is below it; null disables"
    )

    @field_validator("efficacy_ppos")
    @classmethod
    def _efficacy_above_futility(cls, efficacy: float | None, info: ValidationInfo) -> float | None:
        futility = info.data.get("futility_ppos")
        if efficacy is not None and futility is not None and efficacy <= futility:
            raise ValueError(f"efficacy_ppos must exceed futility_ppos ({futility})")
        return efficacy


class McmcSettings(StrictModel):
    draws: Annotated[int, Field(ge=100, le=100_000)] = Field(1000, description="draws per chain after tuning")
    tune: Annotated[int, Field(ge=100, le=100_000)] = Field(500, description="tuning draws per chain")
    chains: Annotated[int, Field(ge=1, le=8)] = 4
    target_accept: Annotated[float, Field(ge=0.95, lt=1)] = 0.95


class ResponseAnalysisRequest(RatesAndStrata):
    """An interim look at per-stratum response counts."""

    strata: list[StratumData] = Field(min_length=1, max_length=12)
    model: ResponseModelChoice = Field(default_factory=ResponseModelChoice)
    decision: DecisionRule = Field(default_factory=DecisionRule)
    simon: SimonDesignFields | None = Field(None, description="the classical design to report beside")
    engine: Literal["mcmc", "quadrature"] | None = Field(
        None, description="hierarchical/exnex: mcmc (default, PyMC) or quadrature (deterministic); ignored by closed-form kinds"
    )
    mcmc: McmcSettings = Field(default_factory=McmcSettings)
    seed: Seed | None = Field(None, description="random seed; default: derived from the request's SHA-256")


class StratumResult(ResultModel):
    name: str
    n: int
    responders: int
    n_planned: int
    posterior_mean: float
    posterior_median: float
    ci95: tuple[float, float]
    prob_above_p0: float
    prob_above_p1: float
    predictive_probability_of_success: float
    decision: Literal["go", "no-go", "continue"]
    decision_criterion: dict


class ResponseAnalysisResult(ResultModel):
    strata: list[StratumResult]
    diagnostics: dict
    provenance: dict
    warnings: list[str]
