"""Request and response models for operating characteristics, calibration and jobs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, field_validator

from designs.core.validation import MAX_NAME_LENGTH, MAX_STRATA
from designs.oc.calibration import DEFAULT_THRESHOLDS
from designs.oc.design import MAX_LOOK_SIZE
from designs.oc.simulate import MAX_TRIALS_PER_SCENARIO
from service.schemas.common import (
    ClosedProbability,
    ErrorRate,
    OpenProbability,
    RatesAndStrata,
    ResultModel,
    Seed,
    StrictModel,
    Warning,
)
from service.schemas.response import DecisionRule, ResponseModelChoice
from service.schemas.simon import PlannedSimonDesign

LookSize = Annotated[int, Field(ge=1, le=MAX_LOOK_SIZE, description=f"cumulative evaluable patients (1–{MAX_LOOK_SIZE})")]
StratumName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]
Method = Literal["auto", "exact", "simulation"]


class StratumLooks(StrictModel):
    """A stratum's looks: strictly increasing."""

    name: StratumName = Field(description="unique among the strata", examples=["NF1-associated"])
    looks: list[LookSize] = Field(
        min_length=1, max_length=20, description="cumulative evaluable patients at each analysis, strictly increasing; "
        "the last is the final",
        examples=[[10, 21]],
    )

    @field_validator("looks")
    @classmethod
    def _strictly_increasing(cls, looks: list[int]) -> list[int]:
        for i in range(1, len(looks)):
            if looks[i] <= looks[i - 1]:
                raise ValueError(f"looks must be strictly increasing: look {i} ({looks[i]}) ≤ look {i - 1} ({looks[i - 1]})")
        return looks


class ScenarioSpec(StrictModel):
    """A scenario: the true response rate of every stratum of the design, and of no other."""

    name: str = Field(min_length=1, max_length=200, examples=["global null"])
    rates: dict[StratumName, ClosedProbability] = Field(
        min_length=1, description="true response rate of every stratum (named as in strata)",
        examples=[{"NF1-associated": 0.15, "sporadic": 0.15}]
    )


EXAMPLE_STRATA = [{"name": "NF1-associated", "looks": [10, 21]}, {"name": "sporadic", "looks": [10, 21]}]
EXAMPLE_SCENARIOS = [
    {"name": "global null", "rates": {"NF1-associated": 0.15, "sporadic": 0.15}},
    {"name": "NF1-associated active", "rates": {"NF1-associated": 0.35, "sporadic": 0.15}},
    {"name": "global alternative", "rates": {"NF1-associated": 0.35, "sporadic": 0.35}},
]
EXAMPLE_DESIGN = {"p0": 0.15, "p1": 0.35, "strata": EXAMPLE_STRATA, "model": {"kind": "hierarchical"},
                  "n_trials": 1000, "seed": 2026}


class _DesignFields(RatesAndStrata):
    strata: list[StratumLooks] = Field(min_length=1, max_length=MAX_STRATA, examples=[EXAMPLE_STRATA])
    model: ResponseModelChoice = Field(default_factory=ResponseModelChoice, description="as in the response analysis",
                                       examples=[{"kind": "hierarchical"}])
    decision: DecisionRule = Field(default_factory=DecisionRule, description="as in the response analysis")
    method: Method = Field(
        "auto",
        description="exact enumeration of outcomes or simulation; auto: exact for independent/pooled (and Simon), "
        "simulation for hierarchical/exnex. 'exact' works for any model while the joint outcomes are few",
    )
    n_trials: int = Field(10_000, ge=100, le=MAX_TRIALS_PER_SCENARIO, description="simulated trials per scenario",
                          examples=[1000])
    seed: Seed | None = Field(None, description="random seed; default: derived from the request's SHA-256")
    simon: PlannedSimonDesign | None = Field(None, description="a Simon design to show beside, in every stratum")


class OperatingCharacteristicsRequest(_DesignFields):
    """Operating characteristics of a Bayesian go/no-go design in each scenario.

    Across fields (checked at once with the schema's problems, each named by its field): p1 > p0;
    stratum names unique; each stratum's looks strictly increasing; every scenario rates every stratum
    and no other; the prior holds only parameters of the model's kind; the Simon design's r1 < n1 < n
    and r1 ≤ r < n; the decision tables within this service's time limits."""

    model_config = ConfigDict(json_schema_extra={"examples": [{**EXAMPLE_DESIGN, "scenarios": EXAMPLE_SCENARIOS}]})

    scenarios: list[ScenarioSpec] | None = Field(
        None, min_length=1, max_length=50,
        description="default: global null, global alternative, each stratum alone at p1", examples=[EXAMPLE_SCENARIOS],
    )


class CalibrationRequest(_DesignFields):
    """Find the final threshold θ (and optionally futility_ppos) meeting a per-stratum type I error target.

    Across fields (checked at once with the schema's problems, each named by its field): p1 > p0;
    stratum names unique; each stratum's looks strictly increasing; every scenario rates every stratum
    and no other; the prior holds only parameters of the model's kind; the Simon design's r1 < n1 < n
    and r1 ≤ r < n; the decision tables within this service's time limits."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        **EXAMPLE_DESIGN, "target_type_i_error": 0.1, "thresholds": [0.8, 0.85, 0.9, 0.95, 0.975],
        "scenarios": EXAMPLE_SCENARIOS}]})

    target_type_i_error: ErrorRate = Field(0.10, description="largest per-stratum P(go) under the global null")
    thresholds: list[OpenProbability] | None = Field(
        None, min_length=1, max_length=200,
        description=f"candidate final thresholds θ; default {len(DEFAULT_THRESHOLDS)} values from {DEFAULT_THRESHOLDS[0]:.2f} "
        f"to {DEFAULT_THRESHOLDS[-1]}",
        examples=[[0.8, 0.85, 0.9, 0.95, 0.975]],
    )
    futility_ppos: list[Annotated[float, Field(ge=0, lt=1)]] | None = Field(
        None, min_length=1, max_length=20,
        description="candidate futility cut-offs searched with θ; default: keep decision.futility_ppos",
    )
    scenarios: list[ScenarioSpec] | None = Field(
        None, min_length=1, max_length=50,
        description="scenarios of the final operating characteristics table (default set when omitted)",
        examples=[EXAMPLE_SCENARIOS],
    )


# --------------------------------------------------------------------------------------------------
# Results


class NPoint(ResultModel):
    n: int
    prob: float


class SimonColumn(ResultModel):
    prob_reject_null: float
    pet: float
    expected_n: float


class StratumOC(ResultModel):
    name: str
    prob_go: float = Field(description="P(go): final go or early go (efficacy_ppos)")
    prob_early_go: float
    prob_stop_at_look: list[float] = Field(description="P(enrolment ends at each look); the last is reaching the final analysis")
    prob_futility_at_look: list[float]
    prob_early_go_at_look: list[float]
    prob_early_stop: float
    expected_n: float
    n_distribution: list[NPoint]
    mcse: dict = Field(description="Monte Carlo standard errors (0 for exact results)")
    simon: SimonColumn | None = Field(None, description="exact OC of the given Simon design at this stratum's rate")
    prob_go_global_null: float | None = Field(None, description="for a stratum at p0 beside active ones: P(go) under the global null")
    type_i_inflation: float | None = Field(None, description="prob_go − prob_go_global_null: what borrowing adds")


class ScenarioOC(ResultModel):
    name: str
    rates: dict[str, float]
    prob_any_go: float = Field(description="family-wise: P(go in at least one stratum)")
    mcse: dict
    expected_total_n: float
    strata: list[StratumOC]


class BorrowingEntry(ResultModel):
    scenario: str
    stratum: str
    prob_go: float
    prob_go_global_null: float
    inflation: float


class OCSettings(ResultModel):
    """Every rule and model setting the computation used, defaults filled in (echoed, to read a result alone)."""

    p0: float
    p1: float
    strata: list[dict[str, Any]] = Field(description="each stratum's name and looks (cumulative evaluable patients)")
    model: dict | None = Field(description="kind and prior as applied (omitted prior fields take the kind's defaults)")
    fixed_tau: float | None = Field(description="τ fixed instead of its prior (null: τ has its prior)")
    decision: dict = Field(description="the decision rule's thresholds as applied, defaults filled in")
    engine: str = Field(description="what computed the posterior and predictive probabilities")
    method: Literal["exact", "simulation"] = Field(description="the method actually used (auto resolved)")
    n_trials: int | None = Field(description="simulated trials per scenario (null: exact enumeration)")
    seed: int | None = Field(description="the seed used, given or derived from the request (null: exact)")
    simon: dict | None = Field(description="the Simon design shown beside (null: none)")


class OperatingCharacteristicsResult(ResultModel):
    method: Literal["exact", "simulation"]
    n_trials: int | None
    seed: int | None
    scenarios: list[ScenarioOC]
    borrowing: list[BorrowingEntry] = Field(description="null strata beside active ones: go probability against the global null")
    settings: OCSettings | None = Field(None, description="every rule and model setting used, defaults filled in")
    warnings: list[Warning]
    provenance: dict


class CalibrationCandidate(ResultModel):
    final_threshold: float
    futility_ppos: float
    type_i_error: dict[str, float]
    power: dict[str, float]
    max_type_i_error: float
    mean_power: float
    expected_n_null: float
    feasible: bool


class CalibrationSettings(OCSettings):
    target_type_i_error: float
    thresholds: list[float] = Field(description="candidate final thresholds tried")
    thresholds_skipped: list[float] = Field(description="candidates not tried: at or below decision/futility_prob_above_p0")
    futility_ppos: list[float] | None = Field(description="candidate futility cut-offs searched (null: the rule's own)")


class CalibrationResult(ResultModel):
    final_threshold: float
    futility_ppos: float
    target_type_i_error: float
    decision: dict = Field(description="the decision rule with the calibrated thresholds")
    candidates: list[CalibrationCandidate]
    operating_characteristics: OperatingCharacteristicsResult
    settings: CalibrationSettings | None = Field(
        None, description="every rule and model setting used, defaults filled in (the decision as requested, before "
        "calibration), with the target and the candidates tried")
    warnings: list[Warning]
    provenance: dict


class JobAccepted(ResultModel):
    id: str
    kind: str
    state: str
    progress: float
    links: dict[str, str]


class JobStatus(ResultModel):
    id: str
    kind: str
    state: Literal["queued", "running", "succeeded", "failed", "cancelled", "interrupted"] = Field(
        description="interrupted: the worker running the job stopped (restart, crash); resubmit `request`")
    progress: float = Field(description="fraction done, 0–1")
    created_at: str
    started_at: str | None
    finished_at: str | None
    expires_at: str | None = Field(None, description="when a finished job's request and result are dropped (then 410)")
    backend: str
    cancel_requested: bool = False
    request_sha256: str | None = Field(None, description="SHA-256 of the canonical request (provenance.input_sha256)")
    request: Any = Field(None, description="the request as sent (the fields given): resubmit it to rerun the job")
    result: dict | None = Field(None, description="the endpoint's result once the job succeeded")
    error: dict | None = Field(None, description="a problem detail once the job failed or was interrupted")
