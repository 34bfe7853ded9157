"""Request and response models for the interim response analysis."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from designs.core.validation import MAX_COUNT, MAX_NAME_LENGTH, MAX_STRATA
from designs.engines import sampler_settings
from designs.response import decisions, spec
from service.schemas.common import (
    ResponseRate,
    ResultModel,
    Seed,
    StrictModel,
    Warning,
    model_from_dataclass,
    model_from_fields,
)
from service.schemas.simon import PlannedSimonDesign

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]

DIAGNOSTICS_DESCRIPTION = (
    "how the numbers were computed and how well: method, exact, deterministic, accuracy, interval; MCMC: "
    "convergence (converged, failed_checks, max_rhat, min_ess_bulk, min_ess_tail, divergences, reruns, thresholds), "
    "R-hat and ESS per quantity under `quantities` keyed by the model's internal parameter names (mu_std, tau_std, "
    "z, ...), and `parameters`, what each of those names is (e.g. mu_std: the mean logit mu, standardised)"
)


class StratumData(StrictModel):
    """A stratum's counts so far: responders ≤ n ≤ n_planned."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="unique among the strata",
                      examples=["NF1-associated"])
    n: Count = Field(description="evaluable patients so far (≤ n_planned)", examples=[12])
    responders: Count = Field(description="responders among the n (≤ n)", examples=[4])
    n_planned: Annotated[int, Field(ge=1, le=MAX_COUNT)] = Field(
        description="planned evaluable patients at the final analysis (≥ n)", examples=[21])


EXAMPLE_STRATA = [
    {"name": "NF1-associated", "n": 12, "responders": 4, "n_planned": 21},
    {"name": "sporadic", "n": 10, "responders": 1, "n_planned": 21},
]
EXAMPLE_ANALYSIS = {"p0": 0.15, "p1": 0.35, "strata": EXAMPLE_STRATA, "model": {"kind": "hierarchical"},
                    "engine": "quadrature", "seed": 2026}


ResponsePrior = model_from_fields(
    "ResponsePrior",
    "Prior parameters; omitted ones take bhmbasket's defaults for the kind (echoed in the result).",
    {name: (p.bounds, p.description) for name, p in spec.PRIOR_PARAMETERS.items()},
)


class ResponseModelChoice(StrictModel):
    kind: Literal[spec.KINDS] = spec.DEFAULT_KIND  # type: ignore[valid-type]
    prior: ResponsePrior = Field(default_factory=ResponsePrior)  # type: ignore[valid-type]


DecisionRule = model_from_dataclass("DecisionRule", decisions.DecisionRule)


_SAMPLER_DEFAULTS = sampler_settings.SamplerSettings()
RequestDraws = Annotated[int, Field(ge=sampler_settings.MIN_REQUEST_DRAWS, le=sampler_settings.MAX_DRAWS)]


class McmcSettings(StrictModel):
    draws: RequestDraws = Field(_SAMPLER_DEFAULTS.draws, description="draws per chain after tuning")
    tune: RequestDraws = Field(_SAMPLER_DEFAULTS.tune, description="tuning draws per chain")
    chains: Annotated[int, Field(ge=1, le=sampler_settings.MAX_CHAINS)] = _SAMPLER_DEFAULTS.chains
    target_accept: Annotated[float, Field(**sampler_settings.TARGET_ACCEPT.as_field_kwargs())] = _SAMPLER_DEFAULTS.target_accept


class ResponseAnalysisRequest(StrictModel):
    """An interim look at per-stratum response counts.

    Across fields (checked at once with the schema's problems, each named by its field): p1 > p0;
    in every stratum responders ≤ n ≤ n_planned; stratum names unique; the prior holds only
    parameters of the model's kind; the Simon design's r1 < n1 < n and r1 ≤ r < n."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_ANALYSIS]})

    # Types and bounds are checked here (and documented); designs.response.spec.ResponseAnalysisSpec
    # checks the rest (p1 > p0, responders ≤ n ≤ n_planned, unique names, prior fields of the kind, ...).

    p0: ResponseRate = Field(description="null (uninteresting) response rate", examples=[0.15])
    p1: ResponseRate = Field(description="target response rate (> p0)", examples=[0.35])
    strata: list[StratumData] = Field(min_length=1, max_length=MAX_STRATA, examples=[EXAMPLE_STRATA])
    model: ResponseModelChoice = Field(default_factory=ResponseModelChoice, examples=[{"kind": "hierarchical"}])
    decision: DecisionRule = Field(default_factory=DecisionRule)  # type: ignore[valid-type]
    simon: PlannedSimonDesign | None = Field(None, description="the classical design to report beside")
    engine: Literal[spec.ENGINES] | None = Field(  # type: ignore[valid-type]
        None, description="hierarchical/exnex: mcmc (default, PyMC) or quadrature (deterministic); ignored by closed-form kinds",
        examples=["quadrature"],
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
    ci95: tuple[float, float] = Field(description="95% equal-tailed credible interval of the response rate")
    ci_level: float = Field(description="level of ci95: 0.95")
    prob_above_p0: float
    prob_above_p1: float
    predictive_probability_of_success: float
    decision: Literal["go", "no-go", "continue"]
    decision_criterion: dict


class TauSummary(ResultModel):
    """The posterior of τ, the between-stratum standard deviation (hierarchical and EXNEX models)."""

    mean: float | None
    median: float | None
    ci95: tuple[float | None, float | None] = Field(description="95% equal-tailed credible interval of τ")
    ci_level: float = Field(description="level of ci95: 0.95")
    scale: Literal["logit"] = Field(description="τ is a standard deviation of logit response rates (not a rate)")
    description: str


class ResponseAnalysisResult(ResultModel):
    strata: list[StratumResult]
    tau: TauSummary | None = Field(None, description="posterior of τ; null for the independent and pooled models")
    diagnostics: dict = Field(description=DIAGNOSTICS_DESCRIPTION)
    provenance: dict
    warnings: list[Warning]
