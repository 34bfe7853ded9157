"""Request and response models of the safety stopping boundaries (``designs.safety.boundaries``).

The limits are the core's (``designs.safety.boundaries``); the core validates again, so that a bad
design is reported the same way whether it comes over HTTP or from Python."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from designs.safety.boundaries import DEFAULT_PRIOR, MAX_LOOK_N, MAX_RATES, PRIOR_PARAMETER, SAFETY_DEFAULTS
from service.schemas.common import ClosedProbability, ErrorRate, ResponseRate, ResultModel, StrictModel, Warning

LookSize = Annotated[int, Field(ge=1, le=MAX_LOOK_N)]
PriorParameter = Annotated[float, Field(**PRIOR_PARAMETER.as_field_kwargs())]
SafetyMethod = Literal["bayesian", "pocock", "obrien-fleming"]


class BetaPrior(StrictModel):
    a: PriorParameter = Field(DEFAULT_PRIOR[0], description="Beta prior's a (pseudo-toxicities)")
    b: PriorParameter = Field(DEFAULT_PRIOR[1], description="Beta prior's b (pseudo-non-toxicities)")


class SafetyBoundariesRequest(StrictModel):
    """A toxicity stopping rule to calibrate: stop when toxicities among the first n evaluable ≥ b_n.

    Across fields: looks strictly increasing; a prior only with the bayesian method."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"p0": 0.2, "looks": [10, 20, 30, 40], "alpha": 0.1,
                                                               "method": "bayesian"}]})

    p0: ResponseRate = Field(description="acceptable toxicity rate", examples=[0.2])
    looks: list[LookSize] = Field(min_length=1, max_length=MAX_LOOK_N, examples=[[10, 20, 30, 40]],
                                  description="cumulative number of evaluable patients at each analysis, strictly "
                                              "increasing (every patient: 1, 2, …, N; cohorts of 5: 5, 10, …)")
    alpha: ErrorRate = Field(SAFETY_DEFAULTS["alpha"], description="largest P(stop | p0) allowed (default 0.10, as "
                             "a protocol's safety section and the safety analysis)", examples=[0.1])
    method: SafetyMethod = Field(
        SAFETY_DEFAULTS["method"],
        description="(default bayesian, as a protocol's safety section and the safety analysis) bayesian: Geller et al. (2003) beta-binomial; pocock / obrien-fleming: binomial boundaries "
                    "with a constant or shrinking-with-information nominal level (Ivanova, Qaqish & Schell 2005)")
    prior: BetaPrior | None = Field(None, description="Beta prior of the bayesian method (default Beta(1, 1)); "
                                                      "null for the others")
    rates: list[ClosedProbability] | None = Field(None, min_length=1, max_length=MAX_RATES,
                                                  description="true toxicity rates for the operating characteristics "
                                                              "(default p0, p0 + 0.05, …, 7 rates below 1)")

    @field_validator("prior")
    @classmethod
    def _prior_of_the_bayesian_method(cls, prior: Any, info: ValidationInfo) -> Any:
        method = info.data.get("method")
        if prior is not None and method is not None and method != "bayesian":
            raise ValueError(f"the {method} method uses no prior (only bayesian does): leave prior out, or use "
                             "method bayesian")
        return prior

    @field_validator("looks")
    @classmethod
    def _increasing(cls, looks: list[int]) -> list[int]:
        for before, after in zip(looks, looks[1:]):
            if after <= before:
                raise ValueError(f"looks must be strictly increasing ({after} follows {before})")
        return looks


class SafetyLook(ResultModel):
    look: int
    n: int = Field(description="cumulative evaluable patients")
    stop_at: int | None = Field(description="stop when toxicities ≥ stop_at; null: no count stops at this look")


class SafetyOperatingCharacteristics(ResultModel):
    rate: float = Field(description="true toxicity rate")
    prob_stop: float
    prob_stop_by_look: list[float]
    expected_n: float = Field(description="expected number of evaluable patients")
    expected_toxicities: float = Field(description="expected number of patients with a toxicity when the trial ends, stopped or complete")


class SafetyBoundariesResult(ResultModel):
    method: str
    p0: float
    alpha: float
    prior: dict | None
    constant: float | None = Field(description="the calibrated constant: c (bayesian), the nominal level gamma "
                                               "(pocock) or z (obrien-fleming); null when the rule never stops")
    looks: list[SafetyLook]
    operating_characteristics: list[SafetyOperatingCharacteristics]
    calibration: dict = Field(description="the constant, the number of distinct candidates, P(stop | p0), and the next "
                                          "less conservative boundaries with their P(stop | p0) > alpha")
    warnings: list[Warning] = Field(default_factory=list)
    provenance: dict
