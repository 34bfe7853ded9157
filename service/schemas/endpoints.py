"""Request and response models of ``POST /v1/endpoints/response`` (responders and PFS from tumour assessments).

Types and shapes are checked here (and documented); ``designs.endpoints.derive.check_request`` checks the
rest (dates in order and before the cut-off, the baseline a visit needs, the criterion's measurements,
unique ids, ...), and names every problem at once. Numbers and flags are strict (``"68"`` is not 68), so
that the core reads the values as sent.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field, StrictBool, StrictFloat, StrictInt

from designs.core.validation import MAX_NAME_LENGTH
from designs.endpoints import assessments, derive, spec
from service.schemas.common import ResultModel, StrictModel

IsoDate = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$", description="a date YYYY-MM-DD")]
StudyDay = Annotated[StrictInt, Field(
    ge=-assessments.MAX_STUDY_DAY, le=assessments.MAX_STUDY_DAY,
    description="CDISC study day: day 1 = treatment start, day −1 the day before, no day 0")]
Size = Annotated[StrictInt | StrictFloat, Field(ge=0, le=assessments.MAX_SIZE, allow_inf_nan=False)]
Days = Annotated[StrictInt, Field(ge=0, le=spec.MAX_DAYS)]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]


class DerivationSettings(StrictModel):
    """How responses are read; omitted fields take the criterion's defaults (echoed in ``derivation``)."""

    criterion: Literal[spec.CRITERIA] = Field(  # type: ignore[valid-type]
        description="recist1.1 (Eisenhauer 2009) or reins (volumetric, Dombi 2013)")
    endpoint: Literal[spec.ENDPOINTS] = Field(  # type: ignore[valid-type]
        description="what makes a responder: objective_response (confirmed CR or PR) or clinical_benefit "
                    "(confirmed CR/PR, or SD or better at ≥ benefit_min_days)")
    confirmation: StrictBool = Field(True, description="CR and PR count only when confirmed (default true)")
    confirm_min_days: Days | None = Field(None, description="days from a response to its confirmation, at least; "
                                                            "default 28 (RECIST) / 91 (REiNS)")
    confirm_max_days: Days | None = Field(None, description="... at most; default none (RECIST) / 183 (REiNS)")
    max_ne_between: Days | None = Field(None, description="NE assessments allowed between a response and its "
                                                          "confirmation; default 1")
    sd_min_days: Days | None = Field(None, description="a best response SD needs SD or better at least this many "
                                                       "days after treatment start; default 42")
    benefit_min_days: Days | None = Field(None, description="clinical benefit: SD or better at least this many days "
                                                            "after treatment start; default 112 (SARC031)")
    progression_reference: Literal[spec.REFERENCES] | None = Field(  # type: ignore[valid-type]
        None, description="REiNS only: progression measured from the baseline (default) or the nadir volume")
    response_window_days: Days | None = Field(None, description="only assessments within this many days of "
                                                                "treatment start count for the best response; "
                                                                "default none; refused when it is at most "
                                                                "confirm_min_days (with confirmation) or below "
                                                                "sd_min_days or benefit_min_days (clinical benefit)")


class Baseline(StrictModel):
    date: IsoDate | None = None
    day: StudyDay | None = None
    target_sum_mm: Size | None = Field(
        None, description="RECIST: sum of target diameters (null or 0: non-target disease only)")
    volume_ml: Size | None = Field(None, description="REiNS: target lesion volume, above 0")
    non_target: StrictBool = Field(False, description="non-target lesions present at baseline")


class Visit(StrictModel):
    """Measurements, or ``overall`` (the visit's overall response as recorded) instead of them."""

    date: IsoDate | None = None
    day: StudyDay | None = None
    target_sum_mm: Size | None = Field(None, description="RECIST: sum of target diameters; null: not measured (NE)")
    target_cr: StrictBool | None = Field(None, description="RECIST: every non-nodal target gone and every node < 10 mm "
                                                           "(default: sum == 0)")
    volume_ml: Size | None = Field(None, description="REiNS: target lesion volume; null: not measured (NE)")
    non_target: Literal[spec.NON_TARGET] | None = Field(  # type: ignore[valid-type]
        None, description="null: not assessed")
    new_lesions: StrictBool = False
    overall: Literal[spec.OVERALL] | None = Field(  # type: ignore[valid-type]
        None, description="instead of measurements")


class Assessments(StrictModel):
    treatment_start: IsoDate
    baseline: Baseline | None = Field(None, description="required unless every visit gives overall")
    visits: list[Visit] = Field(default_factory=list, max_length=assessments.MAX_VISITS)
    death_date: IsoDate | None = None
    off_study_date: IsoDate | None = Field(None, description="follow-up ends here: no visit after it; a later "
                                           "death is no PFS event (censored at the last adequate assessment)")


class Patient(StrictModel):
    id: Name | StrictInt = Field(description="unique within the request", examples=["P-01"])
    stratum: Name | None = Field(None, examples=["NF1-associated"])
    assessments: Assessments


EXAMPLE: dict[str, Any] = {
    "derivation": {"criterion": "recist1.1", "endpoint": "objective_response"},
    "as_of": "2024-09-01",
    "patients": [
        {"id": "P-01", "stratum": "sporadic", "assessments": {
            "treatment_start": "2024-01-10",
            "baseline": {"date": "2024-01-03", "target_sum_mm": 100, "non_target": True},
            "visits": [{"date": "2024-03-05", "target_sum_mm": 68, "non_target": "non-CR/non-PD"},
                       {"date": "2024-04-02", "target_sum_mm": 62, "non_target": "non-CR/non-PD"},
                       {"date": "2024-05-28", "target_sum_mm": 80, "non_target": "non-CR/non-PD"}]}},
        {"id": "P-02", "stratum": "sporadic", "assessments": {
            "treatment_start": "2024-02-01",
            "baseline": {"day": -3, "target_sum_mm": 50},
            "visits": [{"day": 57, "target_sum_mm": 45}, {"day": 113, "target_sum_mm": 61}]}},
        {"id": "P-03", "stratum": "sporadic", "assessments": {
            "treatment_start": "2024-06-03",
            "baseline": {"date": "2024-05-30", "target_sum_mm": 42},
            "visits": [{"date": "2024-07-29", "target_sum_mm": 25}]}},
        {"id": "P-04", "stratum": "sporadic", "assessments": {
            "treatment_start": "2024-03-01", "baseline": {"date": "2024-02-26", "target_sum_mm": 30},
            "visits": [], "death_date": "2024-03-20"}},
    ],
}
"""The documented example (docs/ENDPOINTS.md): a confirmed PR (responder), SD then PD (non-responder),
an unconfirmed PR (pending) and a death before any assessment (not evaluable)."""


class EndpointsRequest(StrictModel):
    """Tumour assessments of up to 500 patients, read under one derivation.

    Across fields (checked at once with the schema's problems, each named by its field): patient ids
    unique; each assessment dated by exactly one of date and day; visits after treatment start and each
    after the one before, none after as_of or the off-study date; death not before treatment start, the
    last visit or after as_of; measurements of the criterion's kind (RECIST 1.1: target_sum_mm; REiNS:
    volume_ml), none the baseline cannot be compared with; a baseline whenever visits are measured;
    confirm_max_days ≥ confirm_min_days; progression_reference for REiNS only; response_window_days long
    enough for the rule."""

    model_config = ConfigDict(json_schema_extra={"examples": [EXAMPLE]})

    derivation: DerivationSettings
    as_of: IsoDate | None = Field(None, description="the cut-off: no assessment, death or off-study date after it; "
                                                    "a response window is over once as_of reaches its last day")
    patients: list[Patient] = Field(min_length=1, max_length=derive.MAX_PATIENTS)


# --- response ---------------------------------------------------------------------------------


class VisitResult(ResultModel):
    date: str
    day: int = Field(description="days since treatment start (date − start)")
    response: Literal[spec.OVERALL]  # type: ignore[valid-type]
    target: str | None
    non_target: str | None
    new_lesions: bool
    measure: float | None = Field(description="sum of diameters (mm) or volume (ml), as given")
    change_from_baseline: float | None = Field(description="(measure − baseline) / baseline; −0.3 is 30 % below")
    change_from_reference: float | None = Field(description="the same against the reference (nadir or baseline)")
    reference: float | None = Field(
        description="the nadir (RECIST; REiNS with progression_reference nadir) or baseline")
    used: bool = Field(description="counted for the best response (not after the first PD or the response window)")
    reason: str


class PFSResult(ResultModel):
    time_days: int
    time_months: float = Field(description="time_days / 30.4375")
    event: bool
    date: str
    kind: Literal["progression", "death", "censored"]
    reason: str


class PatientResult(ResultModel):
    id: str | int
    stratum: str | None
    best_response: Literal[spec.BEST]  # type: ignore[valid-type]
    confirmed: bool | None = Field(description="whether the best response CR or PR is confirmed; null otherwise")
    objective_response: bool
    clinical_benefit: bool
    responder: Literal["responder", "non-responder", "not-evaluable"] | None = Field(description="null: pending")
    status: Literal["final", "pending"]
    reason: str
    pfs: PFSResult
    visits: list[VisitResult]


class StratumSummary(ResultModel):
    stratum: str | None
    n: int
    responders: int
    non_responders: int
    not_evaluable: int
    pending: int
    pfs_events: int
    pfs_censored: int


class EndpointsResult(ResultModel):
    derivation: dict = Field(description="the derivation settings as applied, every default filled")
    defaults: list[str] = Field(description="the settings gonogo filled in")
    thresholds: dict = Field(description="the criterion's defining thresholds (constants, not parameters)")
    as_of: str | None
    patients: list[PatientResult]
    summary: list[StratumSummary]
    time_unit: str
    provenance: dict
