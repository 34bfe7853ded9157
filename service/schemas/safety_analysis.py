"""Request and response models for the safety analysis at a look (``POST /v1/analyses/safety``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from designs.core.validation import MAX_COUNT, MAX_NAME_LENGTH, MAX_STRATA
from designs.safety.analysis import CONTINUE, STOP, UNDETERMINED
from designs.safety.boundaries import SAFETY_DEFAULTS
from service.schemas.common import ErrorRate, OpenProbability, ResultModel, StrictModel, Warning
from service.schemas.safety import BetaPrior, LookSize, SafetyMethod

# Types and bounds are checked here (and documented); designs.safety.analysis.SafetyAnalysisSpec checks
# the rest (toxicities ≤ evaluable, unique names) and designs.safety.boundaries.SafetyDesign the design.

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class StratumToxicities(StrictModel):
    """A stratum's toxicities so far: toxicities ≤ evaluable."""

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, description="unique among the strata, not 'pooled'",
                      examples=["NF1-associated"])
    evaluable: Count = Field(description="patients evaluable for toxicity so far", examples=[12])
    toxicities: Count = Field(description="patients with a dose-limiting toxicity among the evaluable (≤ evaluable)",
                              examples=[3])
    toxicities_at_looks: list[Count] | None = Field(
        None, description="with a design: the dose-limiting toxicities among the FIRST n_j evaluable patients at each "
        "planned look n_j ≤ evaluable, in look order (non-decreasing, each ≤ n_j and ≤ toxicities, each look's new "
        "DLTs within its new patients, toxicities − the last ≤ evaluable − its n_j). With them the rule is applied "
        "exactly as calibrated; without them only what the total implies is certain (else 'undetermined')",
        examples=[[2]])


EXAMPLE_STRATA = [
    {"name": "NF1-associated", "evaluable": 12, "toxicities": 3, "toxicities_at_looks": [2]},
    {"name": "sporadic", "evaluable": 9, "toxicities": 1},
]
EXAMPLE_ANALYSIS = {"p0": 0.3, "strata": EXAMPLE_STRATA,
                    "design": {"looks": [10, 20, 30], "alpha": 0.1, "method": "bayesian"}}


class SafetyDesignFields(StrictModel):
    """The safety monitoring design (as in ``POST /v1/designs/safety-boundaries``, its p0 the analysis's)."""

    looks: list[LookSize] = Field(
        min_length=1, description="cumulative evaluable patients at each analysis, strictly increasing", examples=[[10, 20, 30]]
    )
    alpha: ErrorRate = Field(SAFETY_DEFAULTS["alpha"], description="largest probability of stopping when the toxicity rate is p0 "
                             "(default as a protocol's safety section)")
    method: SafetyMethod = Field(SAFETY_DEFAULTS["method"], description="bayesian (Geller et al. 2003; the default, as a "
                                 "protocol's safety section), pocock or obrien-fleming (Ivanova, Qaqish & Schell 2005)")
    prior: BetaPrior | None = Field(None, description="the Bayesian rule's Beta prior; default: the analysis's")


class SafetyAnalysisRequest(StrictModel):
    """Toxicities per stratum at a look: the posterior of each toxicity rate, and the calibrated rule applied
    at every planned look so far, each on its first n_j evaluable patients.

    Across fields (checked at once with the schema's problems, each named by its field): in every
    stratum toxicities ≤ evaluable; stratum names unique and none 'pooled'; toxicities_at_looks only
    with a design, one count per planned look n_j ≤ evaluable, non-decreasing, each ≤ n_j and ≤
    toxicities, each look's new toxicities within its new patients; pooled_toxicities_at_looks only
    with a pooled analysis of more than one stratum; the design's looks strictly increasing."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_ANALYSIS]})

    p0: OpenProbability = Field(description="acceptable toxicity rate", examples=[0.3])
    prior: BetaPrior = Field(default_factory=BetaPrior)
    strata: list[StratumToxicities] = Field(min_length=1, max_length=MAX_STRATA, examples=[EXAMPLE_STRATA])
    pooled: bool | None = Field(None, description="also analyse the strata pooled (default: when there is more than one)")
    design: SafetyDesignFields | None = Field(None, description="the stopping boundaries to apply (none: posterior only)")
    pooled_toxicities_at_looks: list[Count] | None = Field(
        None, description="as a stratum's toxicities_at_looks, for the pooled patients (their first n_j in the "
        "order they became evaluable)")


class SafetyLook(ResultModel):
    look: int = Field(description="the planned look (1-based)")
    n: int = Field(description="its cumulative evaluable patients n_j")
    stop_at: int | None = Field(description="stop when the DLTs among the first n_j evaluable patients ≥ stop_at; "
                                "null: no count stops at this look")


class SafetyLookApplied(SafetyLook):
    toxicities: int | None = Field(description="DLTs among the first n_j evaluable patients (null: only bounded)")
    toxicities_range: tuple[int, int] = Field(description="what is known of that count: [max(0, x − (n − n_j)), "
                                              "min(x, n_j)] without toxicities_at_looks, else [x_j, x_j]")
    crossed: bool | None = Field(description="x_j ≥ stop_at (null: undetermined from what was given)")


class SafetyAnalysisRow(ResultModel):
    name: str = Field(description="the stratum's name, or 'pooled'")
    evaluable: int
    toxicities: int
    posterior: dict = Field(description="the Beta posterior's parameters {a, b}")
    posterior_mean: float
    ci95: tuple[float, float] = Field(description="95% equal-tailed credible interval")
    ci_level: float = Field(description="level of ci95: 0.95")
    prob_above_p0: float = Field(description="P(p_tox > p0 | data)")
    looks_applied: list[SafetyLookApplied] | None = Field(
        description="every planned look n_j ≤ evaluable, applied to the first n_j evaluable patients (null: no design)")
    first_crossing: SafetyLookApplied | None = Field(description="the first look crossed for certain (null: none)")
    next_look: SafetyLook | None = Field(description="the next planned look (null: after the last, or no design)")
    boundary: SafetyLook | None = Field(description="the look that decides: the first crossing, else the last look "
                                        "applied (null: no design, or before the first look)")
    crossed: bool | None = Field(description="some look so far crossed (null: no design, or undetermined)")
    decision: Literal[STOP, CONTINUE, UNDETERMINED] | None = Field(  # type: ignore[valid-type]
        description="'stop for safety' once any look crossed, 'continue' when none did, 'undetermined' when that "
        "depends on counts not given (toxicities_at_looks); null without a design")


class SafetyAnalysisResult(ResultModel):
    p0: float
    prior: dict
    design: dict | None
    strata: list[SafetyAnalysisRow]
    pooled: SafetyAnalysisRow | None
    warnings: list[Warning]
    provenance: dict
