"""Request and response models for Simon two-stage designs."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import ConfigDict, Field, ValidationInfo, field_validator

from designs.simon.validation import NMAX_LIMIT, order_problem
from service.schemas.common import ClosedProbability, ErrorRate, Rates, ResponseRate, ResultModel, StrictModel, Warning

SampleSize = Annotated[int, Field(ge=1, le=NMAX_LIMIT)]
Count = Annotated[int, Field(ge=0, le=NMAX_LIMIT)]


class DesignSearchRequest(Rates):
    """Search Simon's optimal, minimax and admissible two-stage designs (p1 must exceed p0)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"p0": 0.05, "p1": 0.25, "alpha": 0.05, "beta": 0.2,
                                                               "nmax": 60}]})

    p0: ResponseRate = Field(description="uninteresting (null) response rate", examples=[0.05])
    p1: ResponseRate = Field(description="target response rate; must exceed p0", examples=[0.25])
    alpha: ErrorRate = Field(0.05, description="largest type I error at p0")
    beta: ErrorRate = Field(0.20, description="largest type II error at p1 (power ≥ 1 − beta)")
    nmax: int = Field(100, ge=2, le=NMAX_LIMIT, description=f"largest total sample size searched (≤ {NMAX_LIMIT})")


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
    # A design's n is planned (n > n1); an InferenceRequest's is the attained total (n ≥ n1).
    _attained: ClassVar[bool] = False

    r1: Count = Field(description="stop after stage 1 when responders ≤ r1 (r1 < n1)", examples=[0])
    n1: SampleSize = Field(description="stage-1 sample size", examples=[9])

    @field_validator("n1", "r", "n", "responders", check_fields=False)
    @classmethod
    def _in_simon_order(cls, value: int, info: ValidationInfo) -> int:
        problem = order_problem(info.field_name, value, info.data, attained=cls._attained)
        if problem is not None:
            raise ValueError(problem)
        return value


class SimonDesignFields(_StageOne):
    """A Simon two-stage design: r1 < n1 < n and r1 ≤ r < n."""

    r: Count = Field(description="declare promising when total responders > r (r1 ≤ r < n)", examples=[2])
    n: SampleSize = Field(description="total sample size (n > n1)", examples=[17])


class PlannedSimonDesign(SimonDesignFields):
    """A Simon two-stage design reported beside a Bayesian analysis or design (r1 < n1 < n, r1 ≤ r < n),
    with the error rates it was planned for: the result warns (``simon-design-misfit``) when its exact
    type I error at the request's p0 exceeds alpha or its power at p1 falls short of 1 − beta (alpha and
    beta not given: the Simon search's defaults, 0.05 and 0.20)."""

    alpha: ErrorRate | None = Field(None, description="the type I error the design was planned for (default 0.05)",
                                    examples=[0.05])
    beta: ErrorRate | None = Field(None, description="the type II error it was planned for (default 0.20)",
                                   examples=[0.2])


class EvaluateRequest(SimonDesignFields):
    """Operating characteristics of a given Simon design at response rates p (r1 < n1 < n, r1 ≤ r < n)."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"r1": 0, "n1": 9, "r": 2, "n": 17,
                                                               "p": [0.05, 0.15, 0.25]}]})

    p: list[ClosedProbability] = Field(min_length=1, max_length=1000, description="true response rates",
                                       examples=[[0.05, 0.25]])


class EvaluationRow(ResultModel):
    p: float
    pet: float = Field(description="probability of stopping after stage 1")
    expected_n: float
    prob_reject_null: float = Field(description="probability of declaring the treatment promising")


class EvaluateResult(ResultModel):
    design: dict
    evaluations: list[EvaluationRow]


class InferenceRequest(_StageOne):
    """Inference after a Simon two-stage trial (Jung & Kim 2004; Koyama & Chen 2008). Across fields:
    r1 < n1 ≤ n; a trial stopped after stage 1 (n = n1) has responders ≤ r1, one that went on
    (n > n1) has r1 < responders ≤ n."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"r1": 0, "n1": 9, "n": 17, "p0": 0.05,
                                                               "responders": 3, "alpha": 0.05}]})

    _attained: ClassVar[bool] = True
    n: SampleSize = Field(description="attained total sample size: n1 if the trial stopped after stage 1 (n ≥ n1)",
                          examples=[17])
    p0: ResponseRate = Field(examples=[0.05])
    responders: Count = Field(description="total responders observed: ≤ r1 when n = n1, above r1 and ≤ n otherwise",
                              examples=[3])
    alpha: ErrorRate = Field(0.05, description="each confidence bound is one-sided at level alpha")


class InferenceResult(ResultModel):
    umvue: float
    p_value: float
    ci: tuple[float, float] = Field(
        description="exact confidence interval (lower, upper): each bound one-sided at level alpha, so the interval is "
        "two-sided at level ci_level = 1 − 2·alpha (coverage at least ci_level)"
    )
    ci_level: float = Field(description="two-sided level of ci: 1 − 2·alpha (0.90 for alpha 0.05)")
