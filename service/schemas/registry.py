"""Request and response models of the trial registry, its audit trail and its tokens.

The protocol's endpoints (``response``, ``pfs``) take the fields of the analyses they run (model,
decision, engine, Simon design, sampler settings) and are validated by the core
(``designs.registry.protocol.ProtocolSpec.from_mapping``, the analyses' own code paths), which names
every bad field at once under ``response/...`` or ``pfs/...``; the schema checks the frame around them.
The optional ``safety`` section (toxicity monitoring) is checked the same way, by the safety code
(``designs.safety.boundaries.SafetyDesign``), under ``safety/...``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StrictBool

from designs.adam.readers import MAX_ROWS
from designs.core.validation import MAX_COUNT, MAX_NAME_LENGTH, MAX_STRATA
from designs.registry.datacut import MAX_PATIENTS, MAX_REASON_LENGTH, MAX_TIME_MONTHS
from designs.registry.protocol import MAX_DESCRIPTION_LENGTH, MAX_TITLE_LENGTH, NO_CONTROL, SLUG
from service.schemas.common import IsoDate, ResultModel, Seed, StrictModel
from service.store.tables import ROLES

TrialId = Annotated[str, Field(pattern=SLUG, examples=["sarc031"],
                               description="the trial's id: lower-case letters, digits and '-', 1 to 64 characters")]
Name = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=NO_CONTROL)]
Text = Annotated[str, Field(pattern=NO_CONTROL)]  # free text: no control characters (PostgreSQL refuses NUL)
Role = Literal[ROLES]  # type: ignore[valid-type]

EXAMPLE_PROTOCOL: dict[str, Any] = {
    "id": "sarc031",
    "title": "Selumetinib in MPNST (SARC031-like)",
    "strata": [{"name": "NF1-associated", "description": "NF1-associated MPNST"},
               {"name": "sporadic", "description": "sporadic MPNST"}],
    "response": {"p0": 0.05, "p1": 0.25, "engine": "quadrature",
                 "strata": [{"name": "NF1-associated", "n_planned": 21, "looks": [7, 21]},
                            {"name": "sporadic", "n_planned": 21, "looks": [7, 21]}]},
    "pfs": {"landmark_months": 4, "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35, "engine": "quadrature",
            "strata": [{"name": "NF1-associated", "n_planned": 21}, {"name": "sporadic", "n_planned": 21}]},
    "safety": {"p0": 0.25, "looks": [5, 10, 15, 20], "alpha": 0.1, "method": "bayesian", "scope": "pooled"},
    "seed": 20260101,
}
EXAMPLE_CUT: dict[str, Any] = {
    "cutoff_date": "2026-06-30",
    "patients": [
        {"id": "P-001", "stratum": "NF1-associated", "enrolled_on": "2026-01-12", "response": "responder",
         "pfs": {"time_months": 4.5, "event": False}, "toxicity": {"evaluable": True, "dose_limiting": False}},
        {"id": "P-002", "stratum": "sporadic", "enrolled_on": "2026-02-03", "response": "non-responder",
         "pfs": {"time_months": 1.6, "event": True}, "toxicity": {"evaluable": True, "dose_limiting": True}},
        {"id": "P-003", "stratum": "NF1-associated", "enrolled_on": "2026-05-20", "response": None, "pfs": None},
    ],
}


class StratumDeclaration(StrictModel):
    name: Name = Field(examples=["NF1-associated"])
    description: Text | None = Field(None, max_length=MAX_DESCRIPTION_LENGTH, examples=["NF1-associated MPNST"])


EXAMPLE_SAFETY: dict[str, Any] = EXAMPLE_PROTOCOL["safety"]


class ToxicityStatus(StrictModel):
    evaluable: StrictBool = Field(description="the patient can be counted by the toxicity rule (the DLT assessment is "
                            "complete)")
    dose_limiting: StrictBool = Field(description="the patient had a dose-limiting toxicity (true needs evaluable true)")


class ProtocolRequest(StrictModel):
    """A trial's protocol: declared strata, the response and/or PFS endpoint with their analyses, a seed.

    Across fields (checked at once with the schema's problems, each named by its field): at least one
    endpoint (response, pfs or both), each checked as its analysis request is (response: p1 > p0; pfs:
    target_landmark_pfs > benchmark_landmark_pfs); declared stratum names unique, and every stratum the
    endpoints, safety and adam name declared; response looks strictly increasing, the last at the
    stratum's n_planned; every safety look reachable within the planned enrolment; adam sections only
    for the endpoints the protocol has; the looks within this service's limits and compute budget."""

    model_config = {**StrictModel.model_config, "json_schema_extra": {"examples": [EXAMPLE_PROTOCOL]}}

    id: TrialId
    title: Text = Field(min_length=1, max_length=MAX_TITLE_LENGTH, examples=["Selumetinib in MPNST (SARC031-like)"])
    strata: list[StratumDeclaration] = Field(min_length=1, max_length=MAX_STRATA,
                                             description="every stratum a data cut may name (no other is accepted)",
                                             examples=[EXAMPLE_PROTOCOL["strata"]])
    response: dict[str, Any] | None = Field(
        None, description="the response endpoint: p0, p1, strata [{name, n_planned, looks}] (looks: cumulative "
        "evaluable patients, strictly increasing, the last = n_planned), model, decision, engine, simon, mcmc "
        "(as in POST /v1/analyses/response), not_evaluable ('exclude' or 'non-responder')",
        examples=[EXAMPLE_PROTOCOL["response"]])
    pfs: dict[str, Any] | None = Field(
        None, description="the PFS endpoint: landmark_months, benchmark_landmark_pfs, target_landmark_pfs, "
        "strata [{name, n_planned}], model, decision, engine, mcmc (as in POST /v1/analyses/pfs)",
        examples=[EXAMPLE_PROTOCOL["pfs"]])
    seed: Seed | None = None
    derivation: dict[str, Any] | None = Field(
        None, description="how responders and PFS are derived from tumour assessments in data cuts (as in "
        "POST /v1/endpoints/response: criterion 'recist1.1' or 'reins', endpoint 'objective_response' or "
        "'clinical_benefit', confirmation, confirm_min_days, confirm_max_days, max_ne_between, sd_min_days, "
        "benefit_min_days, progression_reference, response_window_days); see docs/ENDPOINTS.md",
        examples=[{"criterion": "recist1.1", "endpoint": "clinical_benefit", "benefit_min_days": 112}])
    adam: dict[str, Any] | None = Field(
        None, description="how CDISC ADaM datasets map onto this protocol: subject_variable (USUBJID), "
        "start_variable (TRTSDT), stratum_variable and strata {value: stratum name}, population_variable, "
        "response {paramcd, records 'best' | 'visits', responders, sd_min_days_applied (days; required when "
        "responders include SD or NON-CR/NON-PD)}, pfs {paramcd, unit}; see docs/ADAM.md",
        examples=[{"stratum_variable": "NF1FL", "strata": {"Y": "NF1-associated", "N": "sporadic"},
                   "response": {"paramcd": "BOR", "records": "best"}, "pfs": {"paramcd": "PFS", "unit": "days"}}])
    safety: dict[str, Any] | None = Field(
        None, description="safety monitoring of dose-limiting toxicities (optional; not an endpoint: the protocol "
        "still needs response or pfs): p0 (acceptable DLT rate), looks (cumulative safety-evaluable patients at each "
        "safety look, strictly increasing), alpha (largest P(stop | p0), default 0.10), method ('bayesian' (default), "
        "'pocock', 'obrien-fleming'), prior {a, b} (default Beta(1, 1)), scope ('per-stratum' (default): a crossing "
        "stops that stratum; 'pooled': the monitored strata together, a crossing stops them all), strata (the declared "
        "strata monitored, default all); as in POST /v1/designs/safety-boundaries. Each look applies every planned "
        "safety look n_j reached to the first n_j safety-evaluable patients by enrolment (a stop stays a stop); a look "
        "beyond the planned enrolment (per stratum: the largest monitored stratum's n_planned; pooled: their sum) is "
        "refused; see docs/SAFETY.md",
        examples=[EXAMPLE_SAFETY])


class AmendmentRequest(StrictModel):
    """Changes to the current protocol as a JSON merge patch (RFC 7396: null removes a member); the
    trial id cannot change. After the first look a reason is required. The amended protocol is checked
    as a new one is (``ProtocolRequest``), and must differ from the current one."""

    model_config = {**StrictModel.model_config, "json_schema_extra": {
        "examples": [{"changes": {"response": {"p1": 0.3}}, "reason": "target rate revised by the steering committee"}]}}

    changes: dict[str, Any] = Field(description="a JSON merge patch of the protocol document")
    reason: Text | None = Field(None, max_length=MAX_REASON_LENGTH)


class PFSObservation(StrictModel):
    time_months: float = Field(ge=0, le=MAX_TIME_MONTHS,
                               description="months from enrolment to progression, death or censoring")
    event: bool = Field(description="true: progression or death at time_months; false: censored then")


class PatientRecord(StrictModel):
    id: Name = Field(examples=["P-001"])
    stratum: Name = Field(examples=["NF1-associated"])
    enrolled_on: IsoDate | None = Field(None, examples=["2026-01-12"],
                                              description="required, but for a patient given by assessments "
                                              "(then the treatment start by default)")
    response: Literal["responder", "non-responder", "not-evaluable"] | None = Field(
        None, description="null: not yet assessed; derived (so not given) for a patient given by assessments")
    pfs: PFSObservation | None = Field(None, description="null: no follow-up yet; derived from the assessments "
                                       "when not given")
    toxicity: ToxicityStatus | None = Field(
        None, description="the patient's toxicity status for the protocol's safety monitoring; absent or null: not "
        "(yet) evaluable for safety", examples=[{"evaluable": True, "dose_limiting": False}])
    assessments: dict[str, Any] | None = Field(
        None, description="tumour assessments (treatment_start, baseline, visits, death_date, off_study_date; "
        "as in POST /v1/endpoints/response): the response and PFS are derived under the protocol's derivation "
        "as of the cut-off date, and the cut keeps the assessments and every derivation with its reasons")


AdamData = Annotated[list[dict[str, Any]], Field(max_length=MAX_ROWS)] | dict[str, Any]


class AdamDatasets(StrictModel):
    """ADaM datasets as JSON: each a list of records (``{"USUBJID": ..., ...}``) or a CDISC Dataset-JSON
    object (v1.0 or v1.1). As files, send them as multipart/form-data instead."""

    ADSL: AdamData = Field(description="one record per subject: USUBJID, TRTSDT, the stratum variable")
    ADRS: AdamData | None = Field(None, description="USUBJID, PARAMCD, AVALC, ADT or ADY (when the protocol's adam "
                                  "section has a response source)")
    ADTTE: AdamData | None = Field(None, description="USUBJID, PARAMCD, AVAL, CNSR (0 = event), STARTDT, ADT (when "
                                   "the protocol's adam section has a PFS source)")


class DataCutRequest(StrictModel):
    """Every patient known at the cut-off date. A correction of the latest cut names it in ``supersedes``
    with a ``reason``; without them, no patient of the previous cut may vanish or change in a way
    follow-up cannot explain.

    Across fields (checked at once with the schema's problems, each named by its field): patients or
    adam, not both (adam only with the protocol's adam section); cutoff_date not in the future nor
    before the previous cut's; supersedes only the latest cut, and a reason exactly with supersedes;
    patient ids unique, each stratum declared by the protocol, enrolled_on not after cutoff_date; a
    response only with a response endpoint (and a plan for its stratum), pfs only with a PFS endpoint,
    assessments only with a derivation section and not beside a response; a dose-limiting toxicity
    only in an evaluable patient."""

    model_config = {**StrictModel.model_config, "json_schema_extra": {"examples": [EXAMPLE_CUT]}}

    cutoff_date: IsoDate = Field(examples=["2026-06-30"])
    patients: list[PatientRecord] | None = Field(None, min_length=1, max_length=MAX_PATIENTS,
                                                 description="the patients (or adam: one of the two)",
                                                 examples=[EXAMPLE_CUT["patients"]])
    adam: AdamDatasets | None = Field(None, description="ADaM datasets, mapped by the protocol's adam section (or "
                                      "patients: one of the two)")
    supersedes: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = None
    reason: Text | None = Field(None, max_length=MAX_REASON_LENGTH)


class DataCutFiles(StrictModel):
    """A data cut of ADaM files (multipart/form-data): CSV, SAS transport (.xpt, v5 or v8) or
    Dataset-JSON, each recognised by its content."""

    cutoff_date: IsoDate = Field(examples=["2026-06-30"], description="a text field, YYYY-MM-DD")
    ADSL: bytes = Field(json_schema_extra={"format": "binary"},
                        description="the subject-level dataset: USUBJID, TRTSDT, the stratum variable (and the "
                        "population flag, when the protocol names one)")
    ADRS: bytes | None = Field(None, json_schema_extra={"format": "binary"},
                               description="responses: USUBJID, PARAMCD, AVALC, ADT or ADY (when the protocol's adam "
                               "section has a response source)")
    ADTTE: bytes | None = Field(None, json_schema_extra={"format": "binary"},
                                description="time to event: USUBJID, PARAMCD, AVAL, CNSR (0 = event), STARTDT, ADT (when "
                                "the protocol's adam section has a PFS source)")
    supersedes: Annotated[int, Field(ge=1, le=MAX_COUNT)] | None = None
    reason: Text | None = Field(None, max_length=MAX_REASON_LENGTH)


class LookRequest(StrictModel):
    """A look on one of the trial's data cuts: one that exists and is not superseded by a correction."""

    model_config = {**StrictModel.model_config, "json_schema_extra": {"examples": [{"data_cut": 1}]}}

    data_cut: Annotated[int, Field(ge=1, le=MAX_COUNT)] = Field(description="the number of one of this trial's data cuts",
                                                                examples=[1])


class TokenRequest(StrictModel):
    """A new token: a unique name (not 8 hexadecimal digits, not starting with 'cli:'), a role, its trials."""

    model_config = {**StrictModel.model_config, "json_schema_extra": {
        "examples": [{"name": "dmc-chair", "role": "dmc", "trials": ["sarc031"]}]}}

    name: Text = Field(min_length=1, max_length=128, description="unique; the audit trail's actor for this token; "
                       "not 8 hexadecimal digits (an id) nor starting with 'cli:'")
    role: Role = Field(description="admin: tokens; statistician: protocols, cuts, looks; dmc: reads everything "
                       "of its trials; sponsor: open views only")
    trials: list[TrialId] = Field(default_factory=list, max_length=1000,
                                  description="the trials the token may see; none: every trial")


class TrialAssignment(StrictModel):
    """The trials a token may see: a non-empty list of trials, or all_trials true with none (not both)."""

    model_config = {**StrictModel.model_config, "json_schema_extra": {"examples": [{"trials": ["sarc031"]}]}}

    trials: list[TrialId] = Field(default_factory=list, max_length=1000,
                                  description="the token's trials from now on (replacing its list)")
    all_trials: bool = Field(False, description="true (with no trials): the token may see every trial, also later ones")


# --------------------------------------------------------------------------------------------------
# Answers (documented shapes; extra members pass through)


class ProtocolVersion(ResultModel):
    version: int
    sha256: str
    etag: str
    changes: dict[str, Any] | None = Field(description="the merge patch sent (null: version 1)")
    effective_changes: dict[str, dict[str, Any]] | None = Field(
        None, description="what changed in effect, by path: {from, to} (defaults gonogo re-filled included)")
    reason: str | None
    after_look: int | None
    created_at: str
    created_by: str
    protocol: dict[str, Any] | None = None


class Trial(ResultModel):
    id: str
    title: str
    current_version: int
    etag: str
    protocol: dict[str, Any]
    history: list[ProtocolVersion]
    looks: int
    created_at: str
    created_by: str


class TrialSummary(ResultModel):
    id: str
    title: str
    current_version: int
    etag: str
    created_at: str
    created_by: str


class DataCut(ResultModel):
    trial: str
    number: int
    sha256: str = Field(description="SHA-256 of the canonical JSON of the cut's content")
    cutoff_date: str
    n_patients: int
    accrual: dict[str, dict[str, int]] = Field(description="patients enrolled per stratum")
    supersedes: int | None
    reason: str | None = Field(None, description="why a correction supersedes a cut (not shown to a sponsor)")
    protocol_version: int
    created_at: str
    created_by: str
    files: list[dict[str, Any]] = Field([], description="ADaM files the cut was read from: dataset, format, SHA-256 "
                                        "of the bytes, rows (not part of the cut's content: the same data in any "
                                        "format give the same cut)")
    excluded: list[dict[str, Any]] = Field([], description="ADSL subjects left out by the protocol's population "
                                           "flag, each with why (not shown to a sponsor)")
    patients: list[dict[str, Any]] | None = None


class CutRef(ResultModel):
    number: int
    sha256: str


class DataCutDiff(ResultModel):
    trial: str
    from_: CutRef = Field(alias="from")
    to: CutRef
    added: list[Any]
    removed: list[Any]
    changed: list[dict[str, Any]]
    unchanged: int


class Look(ResultModel):
    """A stored look: the whole result (closed; statistician and DMC) with its SHA-256 and seed."""

    look: int
    sha256: str | None = None
    seed: int | None = None
    created_at: str
    created_by: str | None = None
    result: dict[str, Any] | None = None
    open: dict[str, Any] | None = Field(None, description="the open view (sponsor): accrual and data-quality counts, nothing of efficacy or safety")


class DesignSummary(ResultModel):
    """A protocol version's design, computed once with the first look on the version and stored: the
    operating characteristics of its response plan (default scenarios; exact where enumerable, else
    10,000 seeded simulated trials) and its decision-boundary table."""

    protocol_version: int
    sha256: str
    computed_at: str
    software: dict[str, Any]
    method_note: str = Field(description="how the operating characteristics were computed (exact or simulated), or "
                                         "why they were not (too costly to compute with a look)")
    design: dict[str, Any] | None = Field(description="the design as an operating-characteristics request (null: "
                                          "no response plan, the summary holds the safety monitoring alone)")
    operating_characteristics: dict[str, Any] | None = Field(description="null when too costly to compute with a look")
    boundaries: dict[str, Any] | None = Field(description="null when too costly, or when the gonogo that computed it "
                                                          "had no boundary tables")
    safety: dict[str, Any] | None = Field(None, description="the protocol's toxicity stopping rule calibrated (as POST "
                                          "/v1/designs/safety-boundaries answers: stop counts per look, the constant, "
                                          "P(stop | p0), exact operating characteristics) with its scope and monitored "
                                          "strata, and family_wise (per stratum, k > 1 strata: P(some stratum stops | "
                                          "all at p0) = 1 − (1 − P(stop | p0))^k; alpha is per stratum; else null); "
                                          "null without safety monitoring")


class Reproduction(ResultModel):
    trial: str
    look: int
    identical: bool
    differences: list[dict[str, Any]]
    additions: list[str] = Field([], description="JSON paths the rerun has and the stored look lacks (computed by later "
                                 "software: new, not different; they do not make the rerun differ)")
    software: dict[str, Any]


class AuditEvent(ResultModel):
    seq: int
    at: str
    actor: str
    action: str
    trial_id: str | None
    resource: str
    content_sha256: str
    prev_hash: str
    hash: str


class TrialAudit(ResultModel):
    trial: str
    events: list[AuditEvent]
    next_after: int | None = Field(description="pass as ?after= for the next page; null: no more")


class AuditVerification(ResultModel):
    ok: bool
    events: int
    last_seq: int
    last_hash: str | None = None
    problems: list[dict[str, Any]] | None = Field(None, description="every break found (admin only)")


class TokenRecord(ResultModel):
    id: str
    name: str
    role: str
    all_trials: bool
    trials: list[str]
    created_at: str
    created_by: str
    revoked_at: str | None


class CreatedToken(TokenRecord):
    token: str = Field(description="the token itself, shown this once: only its SHA-256 is stored")
