"""Request and response models for the interim progression-free-survival analysis."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Discriminator, Field, StrictInt, Tag, ValidationError, ValidatorFunctionWrapHandler, WrapValidator
from pydantic_core import InitErrorDetails, PydanticCustomError

from designs.core.validation import MAX_COUNT, MAX_NAME_LENGTH, MAX_STRATA
from designs.survival import decisions, models, spec
from service.schemas.common import (
    OpenProbability,
    ResultModel,
    Seed,
    StrictModel,
    Warning,
    bounded_float,
    model_from_dataclass,
    model_from_fields,
)
from service.schemas.response import DIAGNOSTICS_DESCRIPTION, McmcSettings

Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]


class Patient(StrictModel):
    id: Name | StrictInt = Field(description="patient identifier, unique within the request", examples=["P-001"])
    stratum: Name = Field(examples=["NF1-associated"])
    # Finite and within [0, MAX_TIME_MONTHS] are checked by the spec so that the problem names the patient id.
    time_months: float = Field(
        allow_inf_nan=True,
        description=f"months from start of treatment to progression, death or censoring (0 to {spec.MAX_TIME_MONTHS:g})",
        examples=[4.5],
    )
    event: bool = Field(description="true: progression or death at time_months; false: censored then", examples=[False])


class PlannedStratum(StrictModel):
    name: Name = Field(examples=["NF1-associated"])
    n_planned: Annotated[int, Field(ge=1, le=MAX_COUNT)] = Field(
        description="planned patients of the stratum: its final analysis (go / no-go) comes when all are "
        "evaluable at the landmark; at least the patients enrolled in it",
        examples=[21],
    )


def _stratum_form(value: Any) -> str | None:
    return "name" if isinstance(value, str) else "planned" if isinstance(value, dict | PlannedStratum) else None


_STRATUM_FORMS = ("name", "planned")
Stratum = Annotated[
    Annotated[Name, Tag("name")] | Annotated[PlannedStratum, Tag("planned")],
    Discriminator(
        _stratum_form,
        custom_error_type="stratum",
        custom_error_message="a stratum is a name or an object {name, n_planned}",
    ),
]


def _untagged(strata: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    """Problems located at ``strata/1/n_planned``, as the spec locates them, not under the union's
    tag (``strata/1/planned/n_planned``)."""
    try:
        return handler(strata)
    except ValidationError as exc:
        errors = []
        for error in exc.errors():
            loc = error["loc"]
            if len(loc) > 1 and isinstance(loc[0], int) and loc[1] in _STRATUM_FORMS:
                loc = (loc[0], *loc[2:])
            # The discriminator's own error type is not one pydantic can rebuild by name.
            kind = PydanticCustomError(error["type"], error["msg"]) if error["type"] == "stratum" else error["type"]
            errors.append(InitErrorDetails(type=kind, loc=loc, input=error["input"], ctx=error.get("ctx", {})))
        raise ValidationError.from_exception_data(exc.title, errors) from None


# The numeric prior fields from the spec; PFSPrior adds the list of cut points.
_PriorNumbers = model_from_fields(
    "_PriorNumbers",
    "The numeric fields of PFSPrior.",
    {name: (p.bounds, p.description) for name, p in models.PRIOR_PARAMETERS.items() if name != "cut_points"},
)


class PFSPrior(_PriorNumbers):  # type: ignore[valid-type, misc]
    """Prior parameters (rates and hazards per month); omitted ones take the kind's defaults."""

    cut_points: list[bounded_float(models.CUT_POINT_BOUNDS)] | None = Field(  # type: ignore[valid-type]
        None,
        min_length=1,
        max_length=models.MAX_CUT_POINTS,
        description=models.PRIOR_PARAMETERS["cut_points"].description,
    )


class PFSModelChoice(StrictModel):
    kind: Literal[models.KINDS] = models.DEFAULT_KIND  # type: ignore[valid-type]
    prior: PFSPrior = Field(default_factory=PFSPrior)


PFSDecisionRule = model_from_dataclass("PFSDecisionRule", decisions.PFSDecisionRule)

EXAMPLE_PATIENTS = [
    {"id": f"P-{i + 1:03d}", "stratum": stratum, "time_months": time, "event": event}
    for i, (stratum, time, event) in enumerate([
        ("NF1-associated", 2.1, True), ("NF1-associated", 3.8, True), ("NF1-associated", 4.5, False),
        ("NF1-associated", 6.0, True), ("NF1-associated", 7.2, False), ("NF1-associated", 1.4, True),
        ("sporadic", 1.2, True), ("sporadic", 2.0, True), ("sporadic", 2.9, True),
        ("sporadic", 4.1, False), ("sporadic", 5.5, True), ("sporadic", 0.8, True),
    ])
]
EXAMPLE_STRATA = [{"name": "NF1-associated", "n_planned": 21}, {"name": "sporadic", "n_planned": 21}]
EXAMPLE_ANALYSIS = {"patients": EXAMPLE_PATIENTS, "strata": EXAMPLE_STRATA, "landmark_months": 4,
                    "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35,
                    "model": {"kind": "hierarchical-exponential"}, "engine": "quadrature", "seed": 2026}


class PFSAnalysisRequest(StrictModel):
    """An interim look at patient-level PFS data in one or more strata.

    Across fields (checked at once with the schema's problems, each named by its field):
    target_landmark_pfs > benchmark_landmark_pfs; patient ids unique; every time_months finite, within
    its bounds; strata named once, each with patients, and listing every stratum the patients name
    (required when they name more than one); a stratum's n_planned at least its patients; the prior
    holds only parameters of the model's kind; the engine one the kind has."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE_ANALYSIS]})

    # Types and bounds are checked here (and documented); designs.survival.spec.PFSAnalysisSpec checks
    # the rest (target > benchmark, times, unique ids and strata, prior fields of the kind, ...).

    patients: list[Patient] = Field(min_length=1, max_length=spec.MAX_PATIENTS, examples=[EXAMPLE_PATIENTS])
    strata: Annotated[list[Stratum], WrapValidator(_untagged)] | None = Field(
        None,
        min_length=1,
        max_length=MAX_STRATA,
        description="strata in reporting order, each a name or {name, n_planned}; every one must have patients. "
        "Required when the patients name more than one stratum (a name not listed is refused, not analysed as a "
        "stratum of its own). A stratum without n_planned gets no final analysis (only futility or early "
        "efficacy can decide it) and a no-planned-n warning",
        examples=[EXAMPLE_STRATA],
    )
    landmark_months: float = Field(
        spec.DEFAULT_LANDMARK_MONTHS, **spec.LANDMARK_BOUNDS.as_field_kwargs(), description="landmark time for the PFS rate, months"
    )
    benchmark_landmark_pfs: OpenProbability = Field(
        description="historical PFS rate at the landmark (e.g. 0.15 at 4 months)", examples=[0.15]
    )
    target_landmark_pfs: OpenProbability = Field(
        description="PFS rate at the landmark worth pursuing; must exceed the benchmark", examples=[0.35]
    )
    model: PFSModelChoice = Field(default_factory=PFSModelChoice, examples=[{"kind": "hierarchical-exponential"}])
    decision: PFSDecisionRule = Field(default_factory=PFSDecisionRule)  # type: ignore[valid-type]
    engine: Literal[spec.ENGINES] | None = Field(  # type: ignore[valid-type]
        None,
        description="hierarchical-exponential: mcmc (default, PyMC) or quadrature (deterministic); "
        "Weibull and piecewise: mcmc only; independent-exponential: closed-form (exact, the default and the only one)",
        examples=["quadrature"],
    )
    mcmc: McmcSettings = Field(default_factory=McmcSettings)
    seed: Seed | None = Field(None, description="random seed; default: derived from the request's SHA-256")


# --- response ---------------------------------------------------------------------------------


class Interval(ResultModel):
    median: float | None = Field(description="posterior median (null when unbounded)")
    ci95: tuple[float | None, float | None] = Field(description="95% equal-tailed credible interval")
    ci_level: float = Field(description="level of ci95: 0.95")


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
    curve: dict = Field(description="times, survival, at_risk, events, censored, ci95_lower, ci95_upper, and "
                        "ci_level (0.95), the level of the pointwise Greenwood interval")
    landmark: dict = Field(description="Ŝ(landmark), Greenwood SE and 95% CI (ci_level 0.95); null when beyond follow-up")


class PFSStratumResult(ResultModel):
    name: str
    n: int
    n_planned: int | None = Field(description="planned patients of the stratum, as requested; null: not given (no final analysis)")
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
    between_stratum_spread: dict | None = Field(
        description="posterior of τ (hierarchical kinds): mean, median, ci95 with its ci_level (0.95), and scale "
        "'log-hazard' (τ is the between-stratum sd of log hazards); null otherwise"
    )
    diagnostics: dict = Field(description=DIAGNOSTICS_DESCRIPTION)
    provenance: dict
    warnings: list[Warning]
