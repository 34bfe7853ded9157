"""Request and response models of decision-boundary tables (``designs.boundaries``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from designs.core.validation import MAX_STRATA
from designs.oc.design import MAX_LOOK_SIZE
from service.schemas.common import RatesAndStrata, ResultModel, Warning
from service.schemas.designs import EXAMPLE_STRATA, StratumLooks, StratumName
from service.schemas.response import DecisionRule, ResponseModelChoice
from service.schemas.simon import SimonDesignFields

Responders = Annotated[int, Field(ge=0, le=MAX_LOOK_SIZE)]


class BoundariesRequest(RatesAndStrata):
    """The decision boundaries of a design: the design fields of the operating-characteristics request.

    Across fields (checked at once with the schema's problems, each named by its field): p1 > p0;
    stratum names unique; each stratum's looks strictly increasing; conditional names only strata of
    the design, each with one count per look of that stratum, within 0..its look, never falling nor
    rising by more than the patients added; the prior holds only parameters of the model's kind; the
    Simon design's r1 < n1 < n and r1 ≤ r < n; the tables within this service's time limit."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "p0": 0.15, "p1": 0.35, "strata": EXAMPLE_STRATA, "model": {"kind": "hierarchical"},
        "conditional": {"sporadic": [2, 4]}}]})

    strata: list[StratumLooks] = Field(min_length=1, max_length=MAX_STRATA, examples=[EXAMPLE_STRATA])
    model: ResponseModelChoice = Field(default_factory=ResponseModelChoice, description="as in the response analysis",
                                       examples=[{"kind": "hierarchical"}])
    decision: DecisionRule = Field(default_factory=DecisionRule, description="as in the response analysis")  # type: ignore[valid-type]
    simon: SimonDesignFields | None = Field(None, description="a Simon design whose boundaries are shown beside, in every stratum")
    conditional: dict[StratumName, list[Responders]] | None = Field(
        None,
        description="coupled models (pooled, hierarchical, exnex): the other strata's cumulative responders at each of "
        "their looks that a stratum's boundaries are conditional on; strata not named take their expected counts under "
        "p0, floor(p0 · n + 1/2). Two strata also get the whole two-way table. Independent models ignore it",
        examples=[{"sporadic": [2, 4]}],
    )


class AtBoundary(ResultModel):
    responders: int
    prob_above_p0: float | None = Field(description="posterior P(p > p0) at this count (null for Simon's rule)")
    predictive_probability_of_success: float | None = Field(description="at interim looks; null at the final look")


class Boundaries(ResultModel):
    no_go_max: int | None = Field(description="largest responder count giving no-go (null: no count does)")
    go_min: int | None = Field(description="smallest responder count giving go, final or early (null: no count does)")
    continue_: list[int] | None = Field(alias="continue", description="[lowest, highest] count giving continue")
    monotone: bool = Field(description="the decisions over the counts read no-go … continue … go")
    note: str | None = Field(description="where the rule is not monotone: the counts that break the order")


class LookBoundaries(Boundaries):
    look: int = Field(description="the stratum's look, 1-based")
    analysis: int = Field(description="the simultaneous analysis, 0-based")
    n: int
    final: bool
    decisions: list[Literal["no-go", "continue", "go"]] = Field(description="the decision of every count y = 0..n")
    at_boundaries: dict[str, AtBoundary | None] = Field(description="no_go_max and go_min: the probabilities the rule read there")
    conditional_on: dict[str, int] | None = Field(description="coupled models: the other strata's responders at this analysis")


class TwoWayRow(Boundaries):
    other_responders: int


class TwoWayLook(ResultModel):
    look: int
    analysis: int
    n: int
    other: str
    other_n: int
    rows: list[TwoWayRow] = Field(description="the boundaries for every responder count of the other stratum")


class SimonLook(ResultModel):
    n: int
    no_go_max: int
    go_min: int | None
    continue_: list[int] | None = Field(alias="continue")


class SimonBoundaries(ResultModel):
    r1: int
    n1: int
    r: int
    n: int
    looks: list[SimonLook] = Field(description="no-go after n1 at ≤ r1; go at n at ≥ r + 1")


class StratumBoundaries(ResultModel):
    name: str
    coupled: bool = Field(description="the stratum's decisions depend on the other strata's data")
    looks: list[LookBoundaries]
    two_way: list[TwoWayLook] | None = Field(description="two coupled strata: per look, every count of the other stratum")
    simon: SimonBoundaries | None


class Conditioning(ResultModel):
    counts: dict[str, list[int]] = Field(description="each stratum's responders at each of its looks, as conditioned on")
    stated: list[str] = Field(description="strata whose counts the request stated")
    default: str = Field(description="how the counts of the others were set")


class BoundariesResult(ResultModel):
    p0: float
    p1: float
    model: dict | None
    decision_rule: dict
    method: Literal["closed-form", "quadrature"]
    conditioning: Conditioning | None = Field(description="coupled models: the counts the rows are conditional on")
    strata: list[StratumBoundaries]
    warnings: list[Warning]
    provenance: dict
