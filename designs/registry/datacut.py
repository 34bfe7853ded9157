"""A data cut: every patient of a trial as known on its cut-off date, checked against the protocol and
against the previous cut, with a canonical content and its SHA-256.

    {"cutoff_date": "YYYY-MM-DD",
     "patients": [{"id", "stratum", "enrolled_on": "YYYY-MM-DD",
                   "response": "responder" | "non-responder" | "not-evaluable" | null,
                   "pfs": {"time_months", "event"} | null,
                   "toxicity": {"evaluable": bool, "dose_limiting": bool} (optional)}],
     "supersedes": k | null, "reason": text | null}

Patient-level data (the protocol's ``derivation`` and ``adam`` sections say how it is read):

* a patient may carry ``"assessments"`` (treatment start, baseline, visits, death; see
  ``designs.endpoints.assessments``) instead of a ``response``: gonogo derives the response (and PFS,
  unless ``pfs`` is given) under the protocol's derivation as of the cut-off date, and the canonical
  patient keeps the assessments and the whole derivation with its reasons (``derivation``), so that a
  DMC can audit every responder. ``enrolled_on`` defaults to the treatment start;
* instead of ``patients``, a cut may give ``"adam": {"ADSL", "ADRS", "ADTTE"}`` (JSON records, a
  Dataset-JSON object, or a file read by ``designs.adam.readers``): ``designs.adam.mapping`` turns them
  into patients, each keeping the ADaM values it came from (``source``). The same data as JSON, CSV,
  SAS transport or Dataset-JSON give the same canonical cut: the files' formats and SHA-256 are not in
  it but in ``DataCutSpec.files``.

Toxicity (for the protocol's ``safety`` monitoring): ``evaluable`` says whether the patient can be
counted by the toxicity rule (the dose-limiting toxicity assessment is complete), ``dose_limiting``
whether they had a dose-limiting toxicity; both are required, strictly true or false, and a
dose-limiting toxicity in a patient who is not evaluable is refused (such a patient is evaluable by
definition). A patient without ``toxicity`` is not (yet) evaluable for safety: record it once the
assessment is complete. It appears in the canonical patient only when given, so that cuts without
toxicity keep the content (and SHA-256) they had. Cuts may carry toxicity whether or not the protocol
monitors safety (a later amendment may). ADaM cuts carry none for now (ADAE is not mapped): give
toxicity in a JSON cut.

Cuts are immutable; a correction is a new cut that ``supersedes`` the latest one and says why. Without
``supersedes``, a new cut may only add patients and follow-up: every patient of the previous cut must
still be there, with the same stratum and enrolment date, the same response once known, and PFS that
follow-up can explain (an event stays, at the same time; a censored time can only grow or become an
event at or after it). Silent changes in the data are what a DMC fears most: they are refused here and
listed by ``diff`` whenever a correction makes them on purpose.

A cut-off date after today (UTC) is refused: a cut records what is known, not what will be. Patient
ids are compared after Unicode NFC normalisation ("é" typed as one character or as "e" + a combining
accent is one id: a duplicate within a cut, the same patient across cuts); ids and the reason must not
hold control characters (NUL, escapes; the reason may span lines) or lone surrogates, which no
database stores faithfully and no reader sees.

The canonical document has the patients sorted by id and every field present (null where unknown);
its SHA-256 (``designs.core.provenance.input_hash``) identifies the cut in looks and the audit trail.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from designs.adam.mapping import AdamMapping, as_text, patients_from_adam
from designs.adam.readers import Dataset, read_dataset
from designs.core.errors import InvalidInputError
from designs.core.provenance import input_hash
from designs.core.validation import MAX_NAME_LENGTH, Checker, did_you_mean, is_number
from designs.endpoints.assessments import parse_assessments
from designs.endpoints.derive import derive_patient
from designs.endpoints.spec import DAYS_PER_MONTH, FOLLOW_UP_TOLERANCE_DAYS
from designs.registry.protocol import ProtocolSpec
from designs.survival.spec import MAX_PATIENTS, MAX_TIME_MONTHS

RESPONSES = ("responder", "non-responder", "not-evaluable")
ADAM_FOLLOW_UP_SLACK_DAYS = 1
"""An ADTTE ``AVAL`` may count the start day (ADaM's ADT − STARTDT + 1): one day beyond the cut-off's
follow-up is that convention, not data from the future (``designs.adam.mapping`` checks ADT ≤ cut-off)."""
ADAM_DATASETS = ("ADSL", "ADRS", "ADTTE")
MAX_REASON_LENGTH = 2000
_FIELDS = ("cutoff_date", "patients", "adam", "supersedes", "reason")
_PATIENT_FIELDS = ("id", "stratum", "enrolled_on", "response", "pfs", "toxicity")
_INPUT_FIELDS = (*_PATIENT_FIELDS, "assessments")
_EXTRA_FIELDS = ("assessments", "derivation", "source")  # kept in the canonical patient when present
_PFS_FIELDS = ("time_months", "event")
_TOXICITY_FIELDS = ("evaluable", "dose_limiting")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class PatientRow:
    """One patient in a cut; ``pfs`` is (time_months, event) or None (no PFS follow-up yet)."""

    id: str
    stratum: str
    enrolled_on: dt.date
    response: str | None
    pfs: tuple[float, bool] | None
    extra: Mapping[str, Any] | None = None
    """What the row was derived from (``assessments`` and their ``derivation``, or ADaM ``source``)."""
    toxicity: tuple[bool, bool] | None = None
    """(evaluable, dose_limiting); None: no toxicity status recorded (not evaluable for safety)."""

    def as_dict(self) -> dict[str, Any]:
        row = {
            "id": self.id,
            "stratum": self.stratum,
            "enrolled_on": self.enrolled_on.isoformat(),
            "response": self.response,
            "pfs": None if self.pfs is None else {"time_months": self.pfs[0], "event": self.pfs[1]},
            **(self.extra or {}),
        }
        if self.toxicity is not None:
            row["toxicity"] = {"evaluable": self.toxicity[0], "dose_limiting": self.toxicity[1]}
        return row


@dataclass(frozen=True)
class DataCutSpec:
    """A checked data cut (build it with :meth:`from_mapping`); ``document`` is its canonical content."""

    cutoff_date: dt.date
    patients: tuple[PatientRow, ...]
    supersedes: int | None
    reason: str | None
    document: dict
    sha256: str
    files: tuple[dict[str, Any], ...] = ()
    """ADaM datasets read from files: name, format, SHA-256 of the bytes, rows (not in ``document``)."""

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> DataCutSpec:
        """A stored canonical document back as a spec (trusted: it was checked when stored)."""
        patients = tuple(
            PatientRow(p["id"], p["stratum"], dt.date.fromisoformat(p["enrolled_on"]), p["response"],
                       None if p["pfs"] is None else (float(p["pfs"]["time_months"]), bool(p["pfs"]["event"])),
                       {k: p[k] for k in _EXTRA_FIELDS if k in p} or None,
                       None if p.get("toxicity") is None else (p["toxicity"]["evaluable"], p["toxicity"]["dose_limiting"]))
            for p in document["patients"]
        )
        doc = dict(document)
        return cls(dt.date.fromisoformat(doc["cutoff_date"]), patients, doc.get("supersedes"), doc.get("reason"), doc,
                   input_hash(doc))

    @classmethod
    def from_mapping(cls, body: Any, protocol: ProtocolSpec, previous: DataCutSpec | None = None, *,
                     previous_number: int | None = None, today: dt.date | None = None) -> DataCutSpec:
        """The cut of a JSON-shaped upload, checked against ``protocol`` and against ``previous``, the
        trial's latest cut (number ``previous_number``), if any, and against ``today`` (default: today's
        date in UTC). Raises ``InvalidInputError`` naming every bad field at once (patients located as
        ``patients/<index>/<field>`` and named by id)."""
        check = Checker()
        body = check.mapping("body", body)
        check.unknown("", body, _FIELDS, "a data cut")
        cutoff = _date(check, "cutoff_date", body.get("cutoff_date"), "the cut-off date")
        today = dt.datetime.now(dt.timezone.utc).date() if today is None else today
        if cutoff is not None and cutoff > today:
            check.add("cutoff_date", f"in the future: the cut-off date {cutoff} is after today ({today}, UTC); a cut "
                      "records the data known on a date that has come")
        supersedes, reason = _correction(check, body, previous, previous_number)
        if cutoff is not None and previous is not None and cutoff < previous.cutoff_date and supersedes is None:
            check.add("cutoff_date", f"the cut-off date {cutoff} is before the previous cut's "
                      f"({previous.cutoff_date}); a correction needs supersedes and a reason")
        given, files, excluded = body.get("patients"), (), []
        if "adam" in body:
            if "patients" in body:
                check.add("adam", "a cut gives its patients once: as patients or as ADaM datasets, not both")
            given, files, excluded = _from_adam(check, body["adam"], protocol, cutoff)
        from_adam = "adam" in body
        patients = [] if from_adam and given is None else _patients(check, given, protocol, cutoff, from_adam=from_adam)
        if previous is not None and supersedes is None and not check.problems:
            _follows(check, patients, previous, previous_number)
        check.raise_if_any()
        document = {
            "cutoff_date": cutoff.isoformat(),
            "patients": [p.as_dict() for p in sorted(patients, key=lambda p: p.id)],
            "supersedes": supersedes,
            "reason": reason,
        }
        if excluded:  # only ADaM cuts have it: the canonical document of other cuts is as it was
            document["excluded"] = excluded
        return cls(cutoff, tuple(sorted(patients, key=lambda p: p.id)), supersedes, reason, document,
                   input_hash(document), files)


def _date(check: Checker, where: str, value: Any, what: str) -> dt.date | None:
    if value is None:
        check.add(where, f"{what} is missing: an ISO date YYYY-MM-DD is required")
        return None
    if not isinstance(value, str) or not _ISO_DATE.match(value):
        check.add(where, f"{what} must be an ISO date YYYY-MM-DD (got {value!r})")
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        check.add(where, f"{what} is not a calendar date (got {value!r})")
        return None


def _correction(check: Checker, body: Mapping[str, Any], previous: DataCutSpec | None,
                previous_number: int | None) -> tuple[int | None, str | None]:
    """``supersedes`` (the latest cut's number) and its ``reason``: both or neither."""
    supersedes, reason = body.get("supersedes"), body.get("reason")
    if reason is not None and (not isinstance(reason, str) or not 1 <= len(reason.strip()) <= MAX_REASON_LENGTH):
        check.add("reason", f"must be a non-empty string of at most {MAX_REASON_LENGTH} characters")
        reason = None
    elif reason is not None and (bad := _unprintable(reason, allowed="\t\n\r")):
        check.add("reason", f"must not contain {bad}")
        reason = None
    if supersedes is None:
        if body.get("reason") is not None:
            check.add("reason", "a reason goes with supersedes: a cut that corrects the latest one names it")
        return None, None
    if previous is None or previous_number is None:
        check.add("supersedes", f"there is no cut to supersede (got {supersedes!r})")
        return None, None
    if isinstance(supersedes, bool) or not isinstance(supersedes, int) or supersedes != previous_number:
        check.add("supersedes", f"a correction supersedes the latest cut, number {previous_number} (got {supersedes!r})")
        return None, None
    if body.get("reason") is None:
        check.add("reason", "required with supersedes: say why the cut is corrected")
    return supersedes, reason


def id_key(pid: str) -> str:
    """A patient id as compared: NFC-normalised, so that one id typed two ways is one patient."""
    return unicodedata.normalize("NFC", pid)


def _unprintable(text: str, allowed: str = "") -> str | None:
    """What in ``text`` is a control character (Unicode category Cc, except ``allowed``) or a lone
    surrogate (Cs), described with its position; None when there is none."""
    for i, char in enumerate(text):
        if char not in allowed and unicodedata.category(char) in ("Cc", "Cs"):
            kind = "a lone surrogate" if unicodedata.category(char) == "Cs" else "a control character"
            return f"{kind} (U+{ord(char):04X} at position {i})"
    return None


def _from_adam(check: Checker, adam: Any, protocol: ProtocolSpec, cutoff: dt.date | None
               ) -> tuple[list[dict[str, Any]] | None, tuple[dict[str, Any], ...], list[dict[str, Any]]]:
    """The patients of ADaM datasets (None when they cannot be read or mapped: the problems are in
    ``check``), what was read from files, and the ADSL subjects left out (by the population flag)."""
    if protocol.adam is None:
        check.add("adam", "the protocol has no adam section: it maps the datasets' variables to strata and "
                  "endpoints (amend the protocol, or send patients)")
        return None, (), []
    if not isinstance(adam, Mapping) or not adam:
        check.add("adam", f"must be an object of datasets by name ({', '.join(ADAM_DATASETS)})")
        return None, (), []
    # A name gonogo does not know is named here (with the likely one); which of the datasets the
    # protocol's mapping reads, and which are missing, the mapping says (``patients_from_adam``).
    datasets: dict[str, Dataset] = {}
    for name, value in adam.items():
        upper = str(name).upper()
        if upper not in ADAM_DATASETS:
            like = difflib.get_close_matches(upper, ADAM_DATASETS, n=1, cutoff=0.6)
            check.add(f"adam/{name}", f"not a dataset gonogo reads ({', '.join(ADAM_DATASETS)})"
                      + (f": did you mean {like[0]}?" if like else ""))
        elif isinstance(value, InvalidInputError):  # a file that could not be read (service.registry.uploads)
            check.problems.extend(value.problems)
        elif upper in datasets:
            check.add(f"adam/{name}", f"{upper} given twice (names differing only in case)")
        elif (read := value if isinstance(value, Dataset) else check.attempt(read_dataset, upper, value)) is not None:
            datasets[upper] = read
    # Mapped whatever else is wrong (a bad cut-off date, an unreadable ADTTE: that source is skipped), so
    # that one answer names every problem.
    patients = patients_from_adam(check, datasets, protocol.adam, cutoff=cutoff)
    files = tuple({"dataset": name, "format": d.format, "sha256": d.sha256, "rows": len(d.rows)}
                  for name, d in sorted(datasets.items()) if d.sha256 is not None)
    if check.problems:
        return None, files, []
    return patients, files, _excluded(datasets["ADSL"], protocol.adam, {p["id"] for p in patients})


def _excluded(adsl: Dataset, mapping: AdamMapping, kept: set[str]) -> list[dict[str, Any]]:
    """The ADSL subjects that are not patients of the cut (the population flag left them out), each with
    its flag's value: a DMC sees who was left out and why, not only how many."""
    out = []
    for row in adsl.rows:
        subject = as_text(row.get(mapping.subject_variable))
        if subject is not None and subject not in kept:
            flag = mapping.population_variable
            out.append({"id": subject, "reason": f"{flag} = {as_text(row.get(flag))!r}, not 'Y': outside the "
                        "population (the protocol's adam population_variable)" if flag else "not mapped"})
    return sorted(out, key=lambda e: e["id"])


def _derived(check: Checker, where: str, label: str, patient: Mapping[str, Any], protocol: ProtocolSpec,
             cutoff: dt.date | None) -> tuple[Any, Any, Any, dict[str, Any]] | None:
    """(enrolled_on, response, pfs, extra) of a patient given by its ``assessments``: derived under the
    protocol's derivation as of the cut-off (``pfs`` as given when given); None when there are none."""
    if "assessments" not in patient:
        return None
    if protocol.derivation is None:
        check.add(f"{where}/assessments", f"{label}: the protocol has no derivation section to derive a "
                  "response from assessments (amend the protocol, or send the response)")
        return None
    if patient.get("response") is not None:
        check.add(f"{where}/response", f"{label}: give assessments or a response, not both: the response is "
                  "derived from the assessments")
    assessments = parse_assessments(check, f"{where}/assessments", patient["assessments"], protocol.derivation,
                                    label=label, as_of=cutoff)
    if assessments is None:
        return None
    derivation = derive_patient(assessments, protocol.derivation, cutoff)
    enrolled = patient.get("enrolled_on") or assessments.treatment_start.isoformat()
    if isinstance(enrolled, str) and _ISO_DATE.match(enrolled) and enrolled > assessments.treatment_start.isoformat():
        check.add(f"{where}/enrolled_on", f"{label}: enrolled on {enrolled}, after the treatment start "
                  f"{assessments.treatment_start}")
    response = derivation.responder if protocol.response is not None else None
    pfs = patient.get("pfs")
    derived = derivation.as_dict()
    if pfs is None and protocol.pfs is not None:
        pfs = {"time_months": derivation.pfs["time_months"], "event": derivation.pfs["event"]}
        derived["pfs"] = {**derived["pfs"], "used": True}
    else:  # beside a PFS the cut gives (ADaM ADTTE: its AVAL may count the start day) it is shown, not used
        derived["pfs"] = {**derived["pfs"], "used": False, "note": "not the cut's PFS: " + (
            "the protocol has no PFS endpoint" if protocol.pfs is None else
            "the cut gives the patient's PFS (for an ADaM cut, ADTTE), which is used")}
    extra = {"assessments": assessments.document, "derivation": derived}
    return enrolled, response, pfs, extra


def _patients(check: Checker, patients: Any, protocol: ProtocolSpec, cutoff: dt.date | None, *,
              from_adam: bool = False) -> list[PatientRow]:
    if not check.size("patients", patients, 1, MAX_PATIENTS, "patients"):
        return []
    declared = protocol.stratum_names
    response_strata = {s.name for s in protocol.response.strata} if protocol.response else set()
    pfs_strata = {s.name for s in protocol.pfs.strata} if protocol.pfs else set()
    seen: dict[str, int] = {}
    out = []
    for i, patient in enumerate(patients):
        where = f"patients/{i}"
        patient = check.mapping(where, patient)
        source = patient.get("source")  # set by the ADaM mapping, never by a user (not an input field)
        check.unknown(f"{where}/", {k: v for k, v in patient.items() if k != "source" or not from_adam}, _INPUT_FIELDS,
                      "a patient")
        pid = patient.get("id")
        label = f"patient {pid!r}"
        before = len(check.problems)
        derived = _derived(check, where, label, patient, protocol, cutoff)
        if derived is not None:  # a stratum without a plan for an endpoint gets none derived for it
            patient = {**patient, "enrolled_on": derived[0],
                       "response": derived[1] if patient.get("stratum") in response_strata else None,
                       "pfs": derived[2] if patient.get("stratum") in pfs_strata or "pfs" in patient else None}
        extra = derived[3] if derived is not None else None
        if from_adam and source is not None:
            extra = {**(extra or {}), "source": source}
        if not isinstance(pid, str) or not 1 <= len(pid) <= MAX_NAME_LENGTH or pid != pid.strip():
            check.add(f"{where}/id", f"{label}: id must be a string of 1 to {MAX_NAME_LENGTH} characters, "
                      "without leading or trailing spaces")
        elif bad := _unprintable(pid):
            check.add(f"{where}/id", f"{label}: id must not contain {bad}")
        elif id_key(pid) in seen:
            first = seen[id_key(pid)]
            same = "" if patients[first].get("id") == pid else " (the same id once Unicode-normalised, NFC)"
            check.add(f"{where}/id", f"{label}: duplicate id{same} (first at patients/{first})")
        else:
            seen[id_key(pid)] = i
        stratum = patient.get("stratum")
        if stratum not in declared:
            check.add(f"{where}/stratum", f"{label}: stratum {stratum!r} is not declared "
                      f"(declared strata: {', '.join(declared)})" + did_you_mean(stratum, list(declared)))
        enrolled = _date(check, f"{where}/enrolled_on", patient.get("enrolled_on"), f"{label}: the enrolment date")
        if enrolled is not None and cutoff is not None and enrolled > cutoff:
            check.add(f"{where}/enrolled_on", f"{label}: enrolled on {enrolled}, after the cut-off date {cutoff}")
        response = patient.get("response")
        if response is not None:
            if protocol.response is None:
                check.add(f"{where}/response", f"{label}: the protocol has no response endpoint")
            elif response not in RESPONSES:
                check.add(f"{where}/response", f"{label}: must be one of {', '.join(RESPONSES)} or null (got {response!r})")
            elif stratum in declared and stratum not in response_strata:
                check.add(f"{where}/response", f"{label}: stratum '{stratum}' has no response plan")
        pfs = _pfs(check, where, label, patient.get("pfs"), protocol, stratum, declared, pfs_strata)
        if pfs is not None and enrolled is not None and cutoff is not None:
            days = pfs[0] * DAYS_PER_MONTH
            available = (cutoff - enrolled).days
            slack = ADAM_FOLLOW_UP_SLACK_DAYS if from_adam else 0
            if days > available + slack + FOLLOW_UP_TOLERANCE_DAYS:
                check.add(f"{where}/pfs/time_months", f"{label}: {pfs[0]:g} months ({days:.1f} days) from enrolment on "
                          f"{enrolled} reach beyond the cut-off date {cutoff} ({available} days of follow-up at most, "
                          f"{available / DAYS_PER_MONTH:.2f} months)")
        toxicity = _toxicity(check, where, label, patient.get("toxicity"))
        if len(check.problems) == before:
            out.append(PatientRow(pid, stratum, enrolled, response, pfs, extra, toxicity))
    return out


def _toxicity(check: Checker, where: str, label: str, toxicity: Any) -> tuple[bool, bool] | None:
    """(evaluable, dose_limiting) of a patient's toxicity status: both strictly true or false, and no
    dose-limiting toxicity in a patient who is not evaluable; None when not given."""
    if toxicity is None:
        return None
    if not isinstance(toxicity, Mapping):
        check.add(f"{where}/toxicity", f"{label}: must be an object {{evaluable, dose_limiting}} or null")
        return None
    check.unknown(f"{where}/toxicity/", toxicity, _TOXICITY_FIELDS, "a patient's toxicity status")
    values = []
    for name in _TOXICITY_FIELDS:
        value = toxicity.get(name)
        if not isinstance(value, bool):
            check.add(f"{where}/toxicity/{name}", f"{label}: {name} must be true or false (got {value!r})")
        values.append(value)
    evaluable, dose_limiting = values
    if dose_limiting is True and evaluable is False:
        check.add(f"{where}/toxicity/dose_limiting", f"{label}: a dose-limiting toxicity in a patient who is not "
                  "evaluable for toxicity: a patient with a dose-limiting toxicity is evaluable (evaluable: true)")
    if not all(isinstance(v, bool) for v in values) or (dose_limiting and not evaluable):
        return None
    return evaluable, dose_limiting


def _pfs(check: Checker, where: str, label: str, pfs: Any, protocol: ProtocolSpec, stratum: Any,
         declared: tuple[str, ...], pfs_strata: set[str]) -> tuple[float, bool] | None:
    if pfs is None:
        return None
    if protocol.pfs is None:
        check.add(f"{where}/pfs", f"{label}: the protocol has no PFS endpoint")
        return None
    if not isinstance(pfs, Mapping):
        check.add(f"{where}/pfs", f"{label}: must be an object {{time_months, event}} or null")
        return None
    check.unknown(f"{where}/pfs/", pfs, _PFS_FIELDS, "a patient's PFS")
    if stratum in declared and stratum not in pfs_strata:
        check.add(f"{where}/pfs", f"{label}: stratum '{stratum}' has no PFS plan")
    t, event = pfs.get("time_months"), pfs.get("event")
    ok = True
    if not is_number(t) or not 0 <= t <= MAX_TIME_MONTHS:
        check.add(f"{where}/pfs/time_months", f"{label}: time must be a finite number in [0, {MAX_TIME_MONTHS:g}] months (got {t!r})")
        ok = False
    if not isinstance(event, bool):
        check.add(f"{where}/pfs/event", f"{label}: event must be true or false (got {event!r})")
        ok = False
    return (float(t), event) if ok else None


def _follows(check: Checker, patients: list[PatientRow], previous: DataCutSpec, previous_number: int | None) -> None:
    """Without supersedes: every patient of ``previous`` is here, changed only as follow-up explains."""
    index = {id_key(p.id): i for i, p in enumerate(patients)}
    now = {id_key(p.id): p for p in patients}
    cut = f"cut {previous_number}" if previous_number is not None else "the previous cut"
    fix = "a correction needs supersedes and a reason"
    missing = [p.id for p in previous.patients if id_key(p.id) not in now]
    if missing:
        check.add("patients", f"patients of {cut} missing: {', '.join(repr(m) for m in missing)} ({fix})")
    for old in previous.patients:
        new = now.get(id_key(old.id))
        if new is None:
            continue
        where, label = f"patients/{index[id_key(old.id)]}", f"patient {old.id!r}"
        if new.id != old.id:
            check.add(f"{where}/id", f"{label}: written {new.id!r} now, the same id once Unicode-normalised (NFC) but "
                      f"another text ({fix})")
        if new.stratum != old.stratum:
            check.add(f"{where}/stratum", f"{label}: stratum was '{old.stratum}' in {cut}, now '{new.stratum}' ({fix})")
        if new.enrolled_on != old.enrolled_on:
            check.add(f"{where}/enrolled_on", f"{label}: enrolled on {old.enrolled_on} in {cut}, now {new.enrolled_on} ({fix})")
        if old.response is not None and new.response != old.response:
            check.add(f"{where}/response", f"{label}: response was '{old.response}' in {cut}, now "
                      f"{'null' if new.response is None else repr(new.response)} ({fix})")
        if old.toxicity is not None and new.toxicity != old.toxicity:
            check.add(f"{where}/toxicity", f"{label}: toxicity status was {_toxicity_text(old.toxicity)} in {cut}, now "
                      f"{_toxicity_text(new.toxicity)} ({fix})")
        problem = _pfs_change(old.pfs, new.pfs)
        if problem:
            check.add(f"{where}/pfs", f"{label}: {problem} since {cut} ({fix})")
        for problem in _assessments_changes(old.extra, new.extra):
            check.add(f"{where}/assessments", f"{label}: {problem} since {cut} ({fix})")
        for problem in _source_changes(old.extra, new.extra):
            check.add(f"{where}/source", f"{label}: {problem} since {cut} ({fix})")


def _toxicity_text(toxicity: tuple[bool, bool] | None) -> str:
    if toxicity is None:
        return "not recorded"
    evaluable, dose_limiting = toxicity
    return ("evaluable, " + ("dose-limiting toxicity" if dose_limiting else "no dose-limiting toxicity")
            if evaluable else "not evaluable")


def _assessments_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    """How the assessments of a patient changed other than by more follow-up: what was recorded (the
    treatment start, the baseline, every visit, a death or off-study date) must stay as it was; visits
    may be added, also between earlier ones (data entered late), and a death or off-study date may be
    added. A response that the additions change is caught as a changed response."""
    before = (old or {}).get("assessments")
    if before is None:
        return []
    after = (new or {}).get("assessments")
    if after is None:
        return ["assessments withdrawn"]
    problems = []
    for field in ("treatment_start", "baseline"):
        if after.get(field) != before.get(field):
            problems.append(f"{field} was {before.get(field)!r}, now {after.get(field)!r}")
    visits = {v["date"]: v for v in after.get("visits", [])}
    for visit in before.get("visits", []):
        now = visits.get(visit["date"])
        if now is None:
            problems.append(f"the visit on {visit['date']} removed")
        elif now != visit:
            changed = ", ".join(f"{k} {visit.get(k)!r} → {now.get(k)!r}" for k in sorted(visit.keys() | now.keys())
                                if visit.get(k) != now.get(k))
            problems.append(f"the visit on {visit['date']} changed ({changed})")
    for field in ("death_date", "off_study_date"):
        if before.get(field) is not None and after.get(field) != before.get(field):
            problems.append(f"{field} was {before[field]}, now {after.get(field)}")
    return problems


def _source_changes(old: Mapping[str, Any] | None, new: Mapping[str, Any] | None) -> list[str]:
    """How the ADaM records of a patient changed other than by more follow-up: its ADSL values and every
    ADRS record must stay as they were (records may be added); its ADTTE record may change only to a
    later date of its own (``ADT``, else a longer ``AVAL``), and an event (``CNSR`` 0) not at all."""
    before = (old or {}).get("source")
    if before is None:
        return []
    after = (new or {}).get("source") or {}
    problems = []
    if after.get("ADSL") != before.get("ADSL"):
        problems.append(f"ADSL was {before.get('ADSL')}, now {after.get('ADSL')}")
    kept = list(after.get("ADRS") or [])
    for record in before.get("ADRS") or []:
        if record in kept:
            kept.remove(record)
        else:
            problems.append(f"the ADRS record {record} changed or removed")
    then, now = before.get("ADTTE"), after.get("ADTTE")
    if then is not None and now != then:
        if now is None:
            problems.append("the ADTTE record removed")
        elif then.get("CNSR") == 0:
            problems.append(f"the ADTTE event record {then} changed to {now}")
        elif not _later(then, now):
            problems.append(f"the ADTTE record {then} changed to {now} without later follow-up (a later ADT)")
    return problems


def _later(then: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    """Whether an ADTTE record ``now`` reaches later than ``then``: by its date when both have one (ISO
    dates compare as text), else by its analysis value."""
    if then.get("ADT") is not None and now.get("ADT") is not None:
        return now["ADT"] > then["ADT"]
    return is_number(now.get("AVAL")) and is_number(then.get("AVAL")) and now["AVAL"] > then["AVAL"]


def _pfs_change(old: tuple[float, bool] | None, new: tuple[float, bool] | None) -> str | None:
    """Why a PFS change cannot come from more follow-up, or None when it can."""
    if old is None:
        return None
    if new is None:
        return "PFS follow-up withdrawn"
    (t0, e0), (t1, e1) = old, new
    if e0 and not e1:
        return f"the event at {t0:g} months withdrawn"
    if e0 and t1 != t0:
        return f"the event time changed from {t0:g} to {t1:g} months"
    if t1 < t0:
        return f"follow-up shortened from {t0:g} to {t1:g} months"
    return None


def _visit_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, list[Any]]:
    """A patient's visits between two cuts, by date: those added, removed, and changed (each with its
    value in both), so that a reader sees "a visit added on 2026-06-15", not two whole documents."""
    before = {v["date"]: v for v in old.get("visits") or []}
    after = {v["date"]: v for v in new.get("visits") or []}
    return {
        "added": [after[d] for d in sorted(after.keys() - before.keys())],
        "removed": [before[d] for d in sorted(before.keys() - after.keys())],
        "changed": [{"date": d, "from": before[d], "to": after[d]} for d in sorted(before.keys() & after.keys())
                    if before[d] != after[d]],
    }


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, Any]:
    """The patients added, removed and changed between two cut documents (field by field, each with its
    value in ``old`` and in ``new``), and how many are unchanged."""
    before = {id_key(p["id"]): p for p in old["patients"]}
    after = {id_key(p["id"]): p for p in new["patients"]}
    changed = []
    unchanged = 0
    for pid in sorted(before.keys() & after.keys()):
        a, b = before[pid], after[pid]
        changes = {k: {"from": a.get(k), "to": b.get(k)} for k in (*_PATIENT_FIELDS, "assessments", "source")
                   if a.get(k) != b.get(k)}
        if "assessments" in changes and a.get("assessments") and b.get("assessments"):
            changes["assessments"]["visits"] = _visit_changes(a["assessments"], b["assessments"])
        if changes:
            changed.append({"id": a["id"], "changes": changes})
        else:
            unchanged += 1
    return {
        "added": [after[pid] for pid in sorted(after.keys() - before.keys())],
        "removed": [before[pid] for pid in sorted(before.keys() - after.keys())],
        "changed": changed,
        "unchanged": unchanged,
        "cutoff_date": {"from": old.get("cutoff_date"), "to": new.get("cutoff_date")},
    }
