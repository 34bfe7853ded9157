"""Responders and PFS derived from tumour assessments: per visit, per patient, per request.

``derive_patient`` reads each visit by the criterion (``designs.endpoints.recist`` or ``.reins``), marks
which visits the best response uses (not those after the first PD, nor those after the response window),
derives the best overall response with confirmation and clinical benefit (``designs.endpoints.bor``),
the status and the responder, and PFS (``designs.endpoints.pfs``). Every result says why, in words a
data-monitoring committee member can check against the visits.

Status: "final" when the responder is established (an objective response, or clinical benefit, as the
endpoint says), or after a PD, a death or an off-study date, or once ``as_of`` reaches the last day of
the response window; otherwise "pending", and the responder is None. A final best response NE or
MISSING is "not-evaluable".

``derive(body)`` serves the route ``POST /v1/endpoints/response``: the whole body is checked with one
``Checker`` (every problem at once), then each patient is derived and the strata summarised.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from designs.core.provenance import provenance
from designs.core.validation import MAX_NAME_LENGTH, Checker
from designs.endpoints import recist, reins
from designs.endpoints.assessments import Assessment, PatientAssessments, parse_assessments, parse_date
from designs.endpoints.bor import Best, Row, awaited_confirmation, best_response, clinical_benefit
from designs.endpoints.pfs import derive_pfs
from designs.endpoints.readings import VisitReading, exact
from designs.endpoints.spec import CRITERIA, DAYS_PER_MONTH, DerivationSpec

MAX_PATIENTS = 500
TIME_UNIT = f"months = days / {DAYS_PER_MONTH}"
_FIELDS = ("derivation", "as_of", "patients")
_PATIENT_FIELDS = ("id", "stratum", "assessments")
_ENDPOINT_TEXT = {"objective_response": "objective response", "clinical_benefit": "clinical benefit"}


@dataclass(frozen=True)
class PatientDerivation:
    visits: tuple[dict, ...]
    best_response: str
    confirmed: bool | None
    objective_response: bool
    clinical_benefit: bool
    responder: str | None
    status: str
    reason: str
    pfs: dict

    def as_dict(self, *, copy: bool = True) -> dict[str, Any]:
        """JSON-able, keys in a stable order (``copy=False``: the visits' and PFS's own dicts, for a caller
        that drops this derivation)."""
        return {"best_response": self.best_response, "confirmed": self.confirmed,
                "objective_response": self.objective_response, "clinical_benefit": self.clinical_benefit,
                "responder": self.responder, "status": self.status, "reason": self.reason,
                "pfs": dict(self.pfs) if copy else self.pfs,
                "visits": [dict(v) for v in self.visits] if copy else list(self.visits)}


Reader = Callable[[Assessment, Decimal | None, Decimal | None, dt.date | None], VisitReading]
"""reader(visit, baseline, nadir, cr_on): the reading of one measured visit."""


def _reader(pa: PatientAssessments, spec: DerivationSpec) -> Reader:
    """The criterion's reading of one measured visit, chosen once per patient (``baseline`` and ``nadir``: exact
    sizes, None for non-target disease only; ``cr_on``: the date of the first documented CR, after which
    reappearance of disease is PD)."""
    if spec.criterion == "recist1.1":
        non_target = pa.baseline_non_target
        return lambda visit, baseline, nadir, cr_on: recist.read_visit(visit, baseline, non_target, nadir, cr_on)
    kind = spec.progression_reference
    return lambda visit, baseline, nadir, cr_on: reins.read_visit(
        visit, baseline, baseline if kind == "baseline" else nadir, kind, cr_on)  # type: ignore[arg-type]


def _recorded(overall: str) -> VisitReading:
    """A visit's overall response as recorded."""
    return VisitReading(overall, reason=f"overall response {overall} as recorded")


def read_visits(pa: PatientAssessments, spec: DerivationSpec) -> tuple[Row, ...]:
    """Every visit read in date order, the nadir (smallest size so far, baseline included) carried along;
    ``used``: before the first PD and within the response window. Once a visit's overall response is CR
    (CR documented), reappearance of disease at a later visit is PD (EORTC RECIST FAQ)."""
    size = None if pa.baseline is None else (pa.baseline.target_sum_mm or pa.baseline.volume_ml)
    baseline = nadir = None if not size else exact(size)
    rows, progressed, cr_on = [], "", None  # progressed: the note of the visits after the first PD
    window = spec.response_window_days
    read, start = _reader(pa, spec), pa.treatment_start
    # RECIST's common visit (a sum, no target_cr, no CR before) read in one call, its exact sum at hand
    sums, non_target, read_sum = spec.criterion == "recist1.1", pa.baseline_non_target, recist.read_sum
    for visit in pa.visits:
        day = (visit.on - start).days
        value = visit.target_sum_mm
        if sums and value is not None and nadir is not None and cr_on is None and visit.overall is None \
                and not visit.target_cr:
            given = visit.non_target
            reading, size = read_sum(value, ("NE" if non_target else None) if given is None else given,
                                     visit.new_lesions, baseline, nadir)  # type: ignore[arg-type]
        else:
            reading = read(visit, baseline, nadir, cr_on) if visit.overall is None else _recorded(visit.overall)
            size = None if reading.measure is None or nadir is None else exact(reading.measure)
        if cr_on is None and reading.response == "CR":
            cr_on = visit.on
        if size is not None and size < nadir:  # min(nadir, size): the nadir kept when equal
            nadir = size
        note = progressed
        if not note and window is not None and day > window:
            note = f"not used for the best response: day {day} is after the response window of {window} days"
        rows.append(Row(visit.on, day, reading, not note, note, reading.response))  # Row.of, without its call
        if not progressed and reading.response == "PD":
            progressed = f"not used: after the progression on {visit.on}"
    return tuple(rows)


def _visit_dict(row: Row) -> dict[str, Any]:
    r = row.reading
    return {"date": row.on.isoformat(), "day": row.day, "response": r.response, "target": r.target,
            "non_target": r.non_target, "new_lesions": r.new_lesions, "measure": r.measure,
            "change_from_baseline": r.change_from_baseline, "change_from_reference": r.change_from_reference,
            "reference": r.reference, "used": row.used, "reason": f"{row.note}; {r.reason}" if row.note else r.reason}


def _final_because(rows: tuple[Row, ...], pa: PatientAssessments, spec: DerivationSpec,
                   as_of: dt.date | None) -> tuple[str, str] | None:
    """Why no later visit can change the responder, and the event that ended the wait in a few words
    ("death on day 22"); None when nothing has."""
    progression = next((row for row in rows if row.response == "PD"), None)
    if progression is not None:
        return f"progression on {progression.on}", f"the progression on day {progression.day}"
    off, death, start = pa.off_study_date, pa.death_date, pa.treatment_start
    if off is not None and (death is None or off < death):
        # follow-up ended there: a later death is after it
        return f"off study on {off}", f"going off study on day {(off - start).days}"
    if death is not None:
        return f"death on {death}", f"death on day {(death - start).days}"
    last = _window_end(pa, spec)
    if last is not None and as_of is not None and as_of >= last:
        return (f"the response window of {spec.response_window_days} days ended on {last} (as_of {as_of})",
                f"the response window ended on day {spec.response_window_days}")
    return None


def _window_end(pa: PatientAssessments, spec: DerivationSpec) -> dt.date | None:
    """The last date of the response window, None without one."""
    window = spec.response_window_days
    return None if window is None else pa.treatment_start + dt.timedelta(days=window)


def _awaited(used: list[Row], pa: PatientAssessments, spec: DerivationSpec, as_of: dt.date | None) -> str:
    confirming = awaited_confirmation(used, spec, as_of, _window_end(pa, spec)) if spec.confirmation else None
    wanted = "a CR or PR" + (" and its confirmation" if spec.confirmation else "")
    if spec.endpoint == "clinical_benefit":
        benefit_from = pa.treatment_start + dt.timedelta(days=spec.benefit_min_days)
        wanted += f", or an SD or better on or after {benefit_from} (day {spec.benefit_min_days} after start)"
    return confirming or f"awaits {wanted}"


def derive_patient(assessments: PatientAssessments, spec: DerivationSpec, as_of: dt.date | None) -> PatientDerivation:
    """The derivation of one patient's checked assessments (see the module docstring)."""
    rows = read_visits(assessments, spec)
    used = [row for row in rows if row.used]
    best: Best = best_response(used, spec, assessments.non_target_only)
    objective = best.response in ("CR", "PR")
    benefit, benefit_why = clinical_benefit(used, spec, objective, best)
    established = objective if spec.endpoint == "objective_response" else benefit
    ended = None if established else _final_because(rows, assessments, spec, as_of)
    head = f"Best overall response{'' if established or ended else ' so far'} {best.response}: {best.reason}."
    endpoint = _ENDPOINT_TEXT[spec.endpoint]
    if established:
        responder, status = "responder", "final"
        reason = f"{head} Responder ({endpoint}{'' if objective else ': ' + benefit_why})."
    elif ended is not None:
        status, (because, event) = "final", ended
        responder = "not-evaluable" if best.response in ("NE", "MISSING") else "non-responder"
        why = f"; {clinical_benefit(used, spec, objective, best, event)[1]}" if spec.endpoint == "clinical_benefit" \
            else ""
        reason = f"{head} {responder.capitalize()} ({endpoint}{why}), final: {because}."
    else:
        responder, status = None, "pending"
        reason = f"{head} Pending ({endpoint}): {_awaited(used, assessments, spec, as_of)}."
    return PatientDerivation(
        tuple([_visit_dict(row) for row in rows]), best.response, best.confirmed if objective else None,
        objective, benefit, responder, status, reason,
        derive_pfs(rows, assessments.treatment_start, assessments.death_date, assessments.off_study_date),
    )


# ------------------------------------------------------------------------------------------------
# The route's request


@dataclass(frozen=True)
class PatientRequest:
    id: str | int
    stratum: str | None
    assessments: PatientAssessments


@dataclass(frozen=True)
class DerivationRequest:
    """A checked request of ``POST /v1/endpoints/response`` (build it with ``check_request``)."""

    spec: DerivationSpec
    as_of: dt.date | None
    patients: tuple[PatientRequest, ...]
    body: dict


def _parsing_spec(check: Checker, body: Mapping[str, Any]) -> DerivationSpec | None:
    """The derivation spec, else (when it has problems) the criterion's defaults, so that the
    patients' assessments are checked too."""
    spec = DerivationSpec.check(check, "derivation", body.get("derivation"))
    if spec is not None:
        return spec
    derivation = body.get("derivation")
    criterion = derivation.get("criterion") if isinstance(derivation, Mapping) else None
    return DerivationSpec.default(criterion) if criterion in CRITERIA else None


def _patient_id(check: Checker, i: int, pid: Any, seen: dict[str, int]) -> None:
    where = f"patients/{i}"
    if isinstance(pid, bool) or not isinstance(pid, str | int) or pid == "" or len(str(pid)) > MAX_NAME_LENGTH:
        check.add(f"{where}/id",
                  f"patient {pid!r}: id must be a string of 1 to {MAX_NAME_LENGTH} characters or an integer")
    elif str(pid) in seen:
        check.add(f"{where}/id", f"patient {pid!r}: duplicate id (first at patients/{seen[str(pid)]})")
    else:
        seen[str(pid)] = i


def _patients(check: Checker, patients: Any, spec: DerivationSpec | None,
              as_of: dt.date | None) -> list[PatientRequest]:
    if not check.size("patients", patients, 1, MAX_PATIENTS, "patients"):
        return []
    out: list[PatientRequest] = []
    seen: dict[str, int] = {}
    for i, patient in enumerate(patients):
        where = f"patients/{i}"
        patient = check.mapping(where, patient)
        check.unknown(f"{where}/", patient, _PATIENT_FIELDS, "a patient")
        pid = patient.get("id")
        _patient_id(check, i, pid, seen)
        stratum = patient.get("stratum")
        if stratum is not None:
            stratum = check.name(f"{where}/stratum", stratum)
        if "assessments" not in patient:
            check.add(f"{where}/assessments", f"patient {pid!r}: required")
            continue
        if spec is None:
            continue
        parsed = parse_assessments(check, f"{where}/assessments", patient["assessments"], spec,
                                   label=f"patient {pid!r}", as_of=as_of)
        if parsed is not None:
            out.append(PatientRequest(pid, stratum, parsed))
    return out


def check_request(body: Any) -> DerivationRequest:
    """The checked request ``{derivation, as_of, patients: [{id, stratum, assessments}]}``; raises
    ``InvalidInputError`` naming every problem at once."""
    check = Checker()
    body = check.mapping("body", body)
    check.unknown("", body, _FIELDS, "the derivation request")
    as_of = None if body.get("as_of") is None else parse_date(check, "as_of", body["as_of"], "as_of")
    spec = _parsing_spec(check, body)
    patients = _patients(check, body.get("patients"), spec, as_of)
    check.raise_if_any()
    assert spec is not None
    return DerivationRequest(spec, as_of, tuple(patients), dict(body))


def _summary(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per stratum, in order of first appearance: counts of responders, pending, PFS events..."""
    strata: dict[Any, dict[str, Any]] = {}
    for row in rows:
        s = strata.setdefault(row["stratum"], {"stratum": row["stratum"], "n": 0, "responders": 0, "non_responders": 0,
                                               "not_evaluable": 0, "pending": 0, "pfs_events": 0, "pfs_censored": 0})
        s["n"] += 1
        key = {"responder": "responders", "non-responder": "non_responders", "not-evaluable": "not_evaluable",
               None: "pending"}[row["responder"]]
        s[key] += 1
        s["pfs_events" if row["pfs"]["event"] else "pfs_censored"] += 1
    return list(strata.values())


def derive_request(request: DerivationRequest) -> dict[str, Any]:
    """The answer to a checked request."""
    spec = request.spec
    patients = [{"id": p.id, "stratum": p.stratum,
                 **derive_patient(p.assessments, spec, request.as_of).as_dict(copy=False)} for p in request.patients]
    return {
        "derivation": spec.document,
        "defaults": list(spec.defaults),
        "thresholds": spec.thresholds(),
        "as_of": None if request.as_of is None else request.as_of.isoformat(),
        "patients": patients,
        "summary": _summary(patients),
        "time_unit": TIME_UNIT,
        "provenance": provenance(request.body, method=f"{spec.thresholds()['criterion']}; best overall response "
                                 "with confirmation after admiral derive_param_confirmed_bor; PFS from the first PD "
                                 "or death, else censored at the last adequate assessment"),
    }


def derive(body: Mapping[str, Any]) -> dict[str, Any]:
    """``POST /v1/endpoints/response``: check the whole body (every problem at once), then derive."""
    return derive_request(check_request(body))
