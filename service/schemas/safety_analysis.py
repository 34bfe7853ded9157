"""Request and response models for the safety analysis at a look (``POST /v1/analyses/safety``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from designs.core.validation import MAX_COUNT, MAX_NAME_LENGTH, MAX_STRATA
from designs.safety.analysis import CONTINUE, STOP
from service.schemas.common import ErrorRate, OpenProbability, ResultModel, StrictModel, Warning
from service.schemas.safety import BetaPrior, LookSize, SafetyMethod

# Types and bounds are checked here (and documented); designs.safety.analysis.SafetyAnalysisSpec checks
# the rest (toxicities ≤ evaluable, unique names) and designs.safety.boundaries.SafetyDesign the design.

Count = Annotated[int, Field(ge=0, le=MAX_COUNT)]


class StratumToxicities(StrictModel):
    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH, examples=["NF1-associated"])
    evaluable: Count = Field(description="patients evaluable for toxicity so far")
    toxicities: Count = Field(description="patients with a dose-limiting toxicity among the evaluable")


class SafetyDesignFields(StrictModel):
    """The safety monitoring design (as in ``POST /v1/designs/safety-boundaries``, its p0 the analysis's)."""

    looks: list[LookSize] = Field(
        min_length=1, description="cumulative evaluable patients at each analysis, strictly increasing", examples=[[10, 20, 30]]
    )
    alpha: ErrorRate = Field(description="largest probability of stopping when the toxicity rate is p0")
    method: SafetyMethod = Field(description="bayesian (Geller et al. 2003), pocock or obrien-fleming (Ivanova, Qaqish & Schell 2005)")
    prior: BetaPrior | None = Field(None, description="the Bayesian rule's Beta prior; default: the analysis's")


class SafetyAnalysisRequest(StrictModel):
    """Toxicities per stratum at a look: the posterior of each toxicity rate, and the boundary in force."""

    p0: OpenProbability = Field(description="acceptable toxicity rate", examples=[0.3])
    prior: BetaPrior = Field(default_factory=BetaPrior)
    strata: list[StratumToxicities] = Field(min_length=1, max_length=MAX_STRATA)
    pooled: bool | None = Field(None, description="also analyse the strata pooled (default: when there is more than one)")
    design: SafetyDesignFields | None = Field(None, description="the stopping boundaries to apply (none: posterior only)")


class SafetyBoundaryInForce(ResultModel):
    look: int = Field(description="the look in force: the last whose n is ≤ the evaluable patients (1-based)")
    n: int = Field(description="that look's cumulative evaluable patients")
    stop_at: int | None = Field(description="stop when toxicities ≥ stop_at; null: no count stops at this look")


class SafetyAnalysisRow(ResultModel):
    name: str = Field(description="the stratum's name, or 'pooled'")
    evaluable: int
    toxicities: int
    posterior: dict = Field(description="the Beta posterior's parameters {a, b}")
    posterior_mean: float
    ci95: tuple[float, float] = Field(description="95% equal-tailed credible interval")
    prob_above_p0: float = Field(description="P(p_tox > p0 | data)")
    boundary: SafetyBoundaryInForce | None = Field(description="the boundary in force (null: no design, or before the first look)")
    crossed: bool | None = Field(description="toxicities ≥ the boundary's stop_at (null: no design)")
    decision: Literal[STOP, CONTINUE] | None  # type: ignore[valid-type]


class SafetyAnalysisResult(ResultModel):
    p0: float
    prior: dict
    design: dict | None
    strata: list[SafetyAnalysisRow]
    pooled: SafetyAnalysisRow | None
    warnings: list[Warning]
    provenance: dict
