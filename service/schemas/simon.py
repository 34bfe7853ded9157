"""Request and response models for Simon two-stage designs."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, ValidationInfo, field_validator

from service.schemas.common import ClosedProbability, ErrorRate, OpenProbability, Rates, ResultModel, StrictModel, Warning

SampleSize = Annotated[int, Field(ge=1, le=1000)]
Count = Annotated[int, Field(ge=0, le=1000)]


class DesignSearchRequest(Rates):
    """Search Simon's optimal, minimax and admissible two-stage designs."""

    p0: OpenProbability = Field(description="uninteresting (null) response rate", examples=[0.05])
    p1: OpenProbability = Field(description="target response rate; must exceed p0", examples=[0.25])
    alpha: ErrorRate = Field(0.05, description="largest type I error at p0")
    beta: ErrorRate = Field(0.20, description="largest type II error at p1 (power ≥ 1 − beta)")
    nmax: int = Field(100, ge=2, le=1000, description="largest total sample size searched (≤ 1000)")


class Design(ResultModel):
    r1: int = Field(description="stop after stage 1 when responders ≤ r1")
    n1: int = Field(description="stage-1 sample size")
    r: int = Field(description="declare promising when total responders > r")
    n: int = Field(description="total sample size")
    expected_n_null: float = Field(description="expected sample size at p0")
    pet_null: float = Field(description="probability of early termination at p0")
    type_i_error: float
    power: float


class AdmissibleDesign(Design):
    q_range: tuple[float, float] = Field(description="weights q for which the design minimises q·n + (1−q)·EN(p0)")


class DesignSearchResult(ResultModel):
    p0: float
    p1: float
    alpha: float
    beta: float
    nmax: int
    optimal: Design
    minimax: Design
    admissible: list[AdmissibleDesign] = Field(description="every design on the admissible boundary, ordered by n")
    warnings: list[Warning] = Field(default_factory=list)
    provenance: dict


class _StageOne(StrictModel):
    r1: Count = Field(description="stop after stage 1 when responders ≤ r1")
    n1: SampleSize = Field(description="stage-1 sample size")

    @field_validator("n1")
    @classmethod
    def _r1_below_n1(cls, n1: int, info: ValidationInfo) -> int:
        r1 = info.data.get("r1")
        if r1 is not None and not r1 < n1:
            raise ValueError(f"n1 must exceed r1 (r1 = {r1}, n1 = {n1})")
        return n1


class SimonDesignFields(_StageOne):
    r: Count = Field(description="declare promising when total responders > r")
    n: SampleSize = Field(description="total sample size")

    @field_validator("r")
    @classmethod
    def _r_at_least_r1(cls, r: int, info: ValidationInfo) -> int:
        r1 = info.data.get("r1")
        if r1 is not None and r < r1:
            raise ValueError(f"r must be at least r1 (r1 = {r1}, r = {r})")
        return r

    @field_validator("n")
    @classmethod
    def _n_above_n1_and_r(cls, n: int, info: ValidationInfo) -> int:
        n1, r = info.data.get("n1"), info.data.get("r")
        if n1 is not None and not n1 < n:
            raise ValueError(f"n must exceed n1 (n1 = {n1}, n = {n})")
        if r is not None and not r < n:
            raise ValueError(f"n must exceed r (r = {r}, n = {n})")
        return n


class EvaluateRequest(SimonDesignFields):
    """Operating characteristics of a given Simon design at response rates p."""

    p: list[ClosedProbability] = Field(min_length=1, max_length=1000, description="true response rates")


class EvaluationRow(ResultModel):
    p: float
    pet: float = Field(description="probability of stopping after stage 1")
    expected_n: float
    prob_reject_null: float = Field(description="probability of declaring the treatment promising")


class EvaluateResult(ResultModel):
    design: dict
    evaluations: list[EvaluationRow]


class InferenceRequest(_StageOne):
    """Inference after a Simon two-stage trial (Jung & Kim 2004; Koyama & Chen 2008)."""

    n: SampleSize = Field(description="attained total sample size: n1 if the trial stopped after stage 1")
    p0: OpenProbability
    responders: Count = Field(description="total responders observed")
    alpha: ErrorRate = Field(0.05, description="each confidence bound is one-sided at level alpha")

    @field_validator("n")
    @classmethod
    def _n_at_least_n1(cls, n: int, info: ValidationInfo) -> int:
        n1 = info.data.get("n1")
        if n1 is not None and n < n1:
            raise ValueError(f"n (the attained total) must be at least n1 (n1 = {n1}, n = {n})")
        return n

    @field_validator("responders")
    @classmethod
    def _responders_possible(cls, responders: int, info: ValidationInfo) -> int:
        n, n1, r1 = info.data.get("n"), info.data.get("n1"), info.data.get("r1")
        if n is not None and responders > n:
            raise ValueError(f"responders cannot exceed n (n = {n})")
        if None not in (n, n1, r1):
            if n == n1 and responders > r1:
                raise ValueError(f"a trial that stopped after stage 1 (n = n1) has at most r1 = {r1} responders")
            if n > n1 and responders <= r1:
                raise ValueError(f"a trial that went on to stage 2 (n > n1) has more than r1 = {r1} responders")
        return responders


class InferenceResult(ResultModel):
    umvue: float
    p_value: float
    ci: tuple[float, float]
