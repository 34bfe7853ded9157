"""ADaM datasets (ADSL, ADRS, ADTTE) mapped to a data cut's patients, as the protocol's ``adam`` section says.

    {"subject_variable": "USUBJID", "start_variable": "TRTSDT", "stratum_variable": "NF1FL",
     "strata": {"Y": "NF1-associated", "N": "sporadic"}, "population_variable": "SAFFL" | null,
     "response": {"paramcd": "BOR", "records": "best" | "visits", "responders": ["CR", "PR"],
                  "sd_min_days_applied": null | days} | null,
     "pfs": {"paramcd": "PFS", "unit": "days" | "weeks" | "months" | "years"} | null}

ADSL holds one row per subject: the subject, the treatment start (a date on or before the cut-off: the
patient's enrolment date and day 1 of the study days), the stratum (its value mapped to a declared
stratum) and, when a population variable is named, the flag that makes a row a patient ("Y"; "N" or
missing leave it out, with its ADRS and ADTTE records). ADRS and ADTTE are filtered on PARAMCD, and
every subject they name must be in ADSL.

- Response, records "best": one ADRS row per subject (e.g. PARAMCD BOR); AVALC in ``responders`` →
  "responder", NE → "not-evaluable", any other → "non-responder", no row → null (pending). SD or
  NON-CR/NON-PD among the responders (clinical benefit) needs ``sd_min_days_applied``: the days the
  sponsor's best-response derivation already required SD to last (a BOR of SD does not say how long it
  lasted, so the protocol's benefit_min_days could not be applied); without it, records "visits".
- Response, records "visits": one ADRS row per assessment (e.g. PARAMCD OVR), each after treatment
  start, on distinct dates → ``assessments`` {"treatment_start", "visits": [{"date", "overall"}]},
  for the protocol's derivation to judge (``designs.endpoints``).
- AVALC is one of CR, PR, SD, NON-CR/NON-PD, PD, NE (any case). A record's date is ADT, or ADY, the
  CDISC study day (day 1 = TRTSDT, no day 0, |ADY| ≤ 36525 as in ``designs.endpoints.assessments``),
  when ADT is absent; both must agree when both are given.
- PFS: one ADTTE row per subject; AVAL a finite number ≥ 0 in ``unit``; CNSR an integer ≥ 0 where
  **0 is the event and every other value a censoring** (the ADaM convention: CNSR = 2 is another
  censoring reason, never an event, so the event is CNSR == 0, not 1 − CNSR). When STARTDT and ADT are
  given: ADT ≥ STARTDT, ADT ≤ cut-off, and in days AVAL = ADT − STARTDT or ADT − STARTDT + 1 (the ADaM
  +1 convention, day of origin counted); anything else is a problem. time_months = days / 30.4375,
  weeks × 7 / 30.4375, months as given, years × 12, at most ``MAX_TIME_MONTHS`` (1200) and, with a
  cut-off, at most the follow-up from TRTSDT: days ≤ (cut-off − TRTSDT) + 1 (the +1 convention again);
  a longer time is a problem at its record (``adam/ADTTE/{row}/AVAL``), never left for the data cut.

Each variable is read by its role, whatever the file's types (CSV has none: every value is text):

- identifiers and codes (subject, stratum value, population flag, PARAMCD, AVALC) are text, compared as
  written; a number (an XPT, Dataset-JSON or JSON numeric) becomes text as SAS prints an integer
  (1.0 → "1"; 2.5 → "2.5"), so a numeric stratum is mapped as ``{"1": ...}``;
- numbers (AVAL, CNSR, ADY): numbers, or text holding a number (30, 30.0 and "30" are one value);
- dates (TRTSDT, STARTDT, ADT): a date value, an ISO text YYYY-MM-DD, or a number or numeric text, a SAS
  date (days since 1960-01-01).

Each patient carries ``source``: the variables used, per dataset, normalised by their role (codes as
text, numbers as numbers, dates ISO), so that a DMC can trace every value to its record and the same
records give the same ``source`` from JSON, CSV, XPT or Dataset-JSON. Nothing in a patient depends on
the file format. Problems are located at ``adam/{DATASET}/{row}/{VARIABLE}``,
rows numbered from 1 (the first data row), a missing variable at ``adam/{DATASET}/{VARIABLE}``; each
names the dataset, row, subject, variable and value. On any problem no patient is returned.

A dataset the mapping reads but ``datasets`` lacks is reported as missing, unless ``check`` already
holds a problem at ``adam/{DATASET}`` or under it: a caller that could not read the file says why, and
passes the datasets it could read (with the same ``check``), so that ADSL's problems are reported beside
an unreadable ADTTE; no patient is returned then either. ``cutoff=None`` (a cut-off reported bad by the
caller) skips only the comparisons with the cut-off.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from designs.adam.readers import NUMBER, VARIABLE_NAME, Dataset, normal_value, number_text, sas_date
from designs.core.validation import MAX_NAME_LENGTH, Checker, did_you_mean
from designs.endpoints.assessments import MAX_STUDY_DAY, date_of_study_day
from designs.endpoints.spec import DAYS_PER_MONTH, FOLLOW_UP_TOLERANCE_DAYS
from designs.survival.spec import MAX_TIME_MONTHS

AVALC = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")
RESPONDER_CHOICES = ("CR", "PR", "SD", "NON-CR/NON-PD")
RECORDS = ("best", "visits")
UNITS = {"days": (1, DAYS_PER_MONTH), "weeks": (7, DAYS_PER_MONTH), "months": (1, 1), "years": (12, 1)}
"""Months = AVAL × first / second (so that days give exactly days / 30.4375)."""
DAYS_PER_UNIT = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH, "years": 12 * DAYS_PER_MONTH}
POPULATION_VALUES = ("Y", "N")
MAX_PARAMCD_LENGTH = 8
_FIELDS = ("subject_variable", "start_variable", "stratum_variable", "strata", "population_variable", "response", "pfs")
_RESPONSE_FIELDS = ("paramcd", "records", "responders", "sd_min_days_applied")
BENEFIT_CHOICES = ("SD", "NON-CR/NON-PD")
"""Responders that make ``responders`` a clinical benefit, which needs ``sd_min_days_applied`` with records "best"."""
_PFS_FIELDS = ("paramcd", "unit")


@dataclass(frozen=True)
class AdamMapping:
    """The protocol's ``adam`` section, checked and normalised (variable names upper-case, defaults filled)."""

    subject_variable: str
    start_variable: str
    stratum_variable: str
    strata: dict[str, str]
    population_variable: str | None
    response: dict | None
    pfs: dict | None
    document: dict
    defaults: tuple[str, ...]

    @property
    def sd_min_days_applied(self) -> int | None:
        """With records "best" and SD (or NON-CR/NON-PD) among the responders: the days SD lasted at least, as the
        sponsor's best-response derivation required (to be checked against the protocol's benefit_min_days)."""
        return None if self.response is None else self.response.get("sd_min_days_applied")

    @classmethod
    def check(cls, check: Checker, where: str, body: Any, stratum_names: Sequence[str]) -> AdamMapping | None:
        """The mapping of ``body``, its problems at ``{where}/{field}``; None when there is any."""
        before = len(check.problems)
        if not isinstance(body, Mapping):
            check.add(where or "body", "the adam mapping must be an object")
            return None
        check.unknown(_at(where, ""), body, _FIELDS, "the adam mapping")
        defaults: list[str] = []

        def given(name: str, default: Any) -> Any:
            if body.get(name) is None:
                defaults.append(name)
                return default
            return body[name]

        subject = _variable(check, _at(where, "subject_variable"), given("subject_variable", "USUBJID"))
        start = _variable(check, _at(where, "start_variable"), given("start_variable", "TRTSDT"))
        stratum = _variable(check, _at(where, "stratum_variable"), body.get("stratum_variable"))
        population = given("population_variable", None)
        population = None if population is None else _variable(check, _at(where, "population_variable"), population)
        strata = _strata(check, _at(where, "strata"), body.get("strata"), stratum_names)
        response = _response(check, _at(where, "response"), given("response", None), defaults)
        pfs = _pfs(check, _at(where, "pfs"), given("pfs", None), defaults)
        if len(check.problems) > before:
            return None
        document = {"subject_variable": subject, "start_variable": start, "stratum_variable": stratum,
                    "strata": strata, "population_variable": population, "response": response, "pfs": pfs}
        return cls(subject, start, stratum, strata, population, response, pfs, document, tuple(defaults))


def _at(where: str, name: str) -> str:
    return f"{where}/{name}" if where else name


def _variable(check: Checker, where: str, value: Any) -> str | None:
    if not isinstance(value, str) or not VARIABLE_NAME.match(value):
        check.add(where, f"must be a variable name: letters, digits and _, starting with a letter or _, 32 characters "
                  f"at most (got {value!r})")
        return None
    return value.upper()


def _strata(check: Checker, where: str, strata: Any, declared: Sequence[str]) -> dict[str, str]:
    """Value (as text) → declared stratum; every declared stratum has a value, so that none is left empty."""
    if not isinstance(strata, Mapping) or not strata:
        check.add(where, f"required: an object mapping each value of the stratum variable to a declared stratum "
                  f"({', '.join(declared)})")
        return {}
    out = {}
    for value, name in strata.items():
        key = str(value).rstrip()
        if not key:
            check.add(f"{where}/{value}", "a stratum value must not be empty (a missing value is no stratum)")
        elif key in out:
            check.add(f"{where}/{value}", f"value {key!r} is mapped twice (values are compared without trailing "
                      "blanks)")
        elif name not in declared:
            check.add(f"{where}/{value}", f"{name!r} is not a declared stratum ({', '.join(declared)})"
                      + did_you_mean(name, list(declared)))
        else:
            out[key] = name
    unmapped = [s for s in declared if s not in strata.values()]
    if unmapped:
        check.add(where, f"declared strata without a value: {', '.join(repr(s) for s in unmapped)} (no patient could "
                  "be counted in them)")
    return out


def _paramcd(check: Checker, where: str, value: Any) -> str | None:
    if not isinstance(value, str) or not 1 <= len(value.strip()) <= MAX_PARAMCD_LENGTH:
        check.add(where, f"must be a PARAMCD value of 1 to {MAX_PARAMCD_LENGTH} characters (got {value!r})")
        return None
    return value.strip()


def _section(check: Checker, where: str, body: Any, fields: Sequence[str], defaults: list[str],
             fill: Mapping[str, Any]) -> dict | None:
    """A nested section as given, with ``fill``'s defaults for its missing fields (listed in ``defaults``)."""
    if not isinstance(body, Mapping):
        check.add(where, "must be an object or null")
        return None
    check.unknown(f"{where}/", body, fields, where.rsplit("/", 1)[-1])
    out = dict(body)
    for name, default in fill.items():
        if out.get(name) is None:
            out[name] = default
            defaults.append(f"{where.rsplit('/', 1)[-1]}/{name}")
    return out


def _response(check: Checker, where: str, body: Any, defaults: list[str]) -> dict | None:
    if body is None:
        return None
    records = body.get("records") if isinstance(body, Mapping) else None
    fill = {"paramcd": "BOR" if records != "visits" else "OVR", "records": "best"}
    if records != "visits":
        fill["responders"] = ["CR", "PR"]
    section = _section(check, where, body, _RESPONSE_FIELDS, defaults, fill)
    if section is None:
        return None
    if records != "visits" and section.get("sd_min_days_applied") is None:
        defaults.append(f"{where.rsplit('/', 1)[-1]}/sd_min_days_applied")
    paramcd = _paramcd(check, f"{where}/paramcd", section["paramcd"])
    records = check.choice(f"{where}/records", section["records"], RECORDS)
    out = {"paramcd": paramcd, "records": records}
    if records == "visits":
        for name in ("responders", "sd_min_days_applied"):
            if body.get(name) is not None:
                check.add(f"{where}/{name}", "applies to records 'best' only: with 'visits' the protocol's derivation "
                          "judges each patient from the assessments")
        return out
    out["responders"] = _responders(check, f"{where}/responders", section["responders"])
    out["sd_min_days_applied"] = _sd_min_days_applied(check, where, out["responders"],
                                                      section.get("sd_min_days_applied"))
    return out


def _sd_min_days_applied(check: Checker, where: str, responders: Sequence[str], value: Any) -> int | None:
    """The days the sponsor's best response required SD to last (``sd_min_days_applied``), required when SD or
    NON-CR/NON-PD count as a response, refused otherwise: a BOR of SD says nothing of how long it lasted, so an SD
    on day 15 would count as clinical benefit and the protocol's duration rule (benefit_min_days) be ignored."""
    benefit = [r for r in responders if r in BENEFIT_CHOICES]
    if value is None:
        if benefit:
            check.add(f"{where}/responders", f"{' and '.join(benefit)} counted as a response (clinical benefit) from "
                      "one best-response record cannot tell how long the stable disease lasted: give records "
                      "'visits' (per-visit OVR, from which gonogo applies the protocol's benefit_min_days), or declare "
                      "sd_min_days_applied, the days your best-response derivation already required SD to last")
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_STUDY_DAY:
        check.add(f"{where}/sd_min_days_applied", f"must be a whole number of days from 1 to {MAX_STUDY_DAY}: the "
                  f"least duration of SD your best-response derivation required (got {value!r})")
        return None
    if not benefit:
        check.add(f"{where}/sd_min_days_applied", "applies only when responders include SD or NON-CR/NON-PD "
                  "(clinical benefit)")
        return None
    return value


def _responders(check: Checker, where: str, value: Any) -> list[str]:
    if not isinstance(value, list) or not value:
        check.add(where, f"must be a non-empty list of AVALC values among {', '.join(RESPONDER_CHOICES)}")
        return []
    given = set()
    for j, item in enumerate(value):
        text = item.upper() if isinstance(item, str) else item
        if text not in RESPONDER_CHOICES:
            why = " (PD and NE are never a response)" if text in ("PD", "NE") else ""
            check.add(f"{where}/{j}", f"must be one of {', '.join(RESPONDER_CHOICES)}{why} (got {item!r})")
        elif text in given:
            check.add(f"{where}/{j}", f"{item!r} is listed twice")
        given.add(text)
    return [r for r in RESPONDER_CHOICES if r in given]


def _pfs(check: Checker, where: str, body: Any, defaults: list[str]) -> dict | None:
    if body is None:
        return None
    section = _section(check, where, body, _PFS_FIELDS, defaults, {"paramcd": "PFS", "unit": "days"})
    if section is None:
        return None
    return {"paramcd": _paramcd(check, f"{where}/paramcd", section["paramcd"]),
            "unit": check.choice(f"{where}/unit", section["unit"], tuple(UNITS))}


# ------------------------------------------------------------------------------------------------ cells


def shown(value: Any) -> str:
    """A value as a reason quotes it: text quoted, dates ISO, numbers as written."""
    if isinstance(value, dt.date):
        return value.isoformat()
    return repr(value) if isinstance(value, str) else f"{value}"


def plain(value: Any) -> Any:
    """A dataset value as JSON: dates ISO, the rest as read."""
    return value.isoformat() if isinstance(value, dt.date) else value


def as_text(value: Any) -> str | None:
    """An identifier or code (subject, stratum value, PARAMCD, AVALC, population flag) as compared: text as
    read; a number as SAS prints an integer (1.0 → "1"), any other number in the shortest form that reads
    back as it (2.5 → "2.5"); a date ISO; None for missing."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return repr(value) if isinstance(value, float) else str(value)


def numeric(value: Any) -> int | float:
    """A number, or text holding one (a CSV value), normalised (an int when integral, as the readers do);
    ValueError saying why for anything else: not a number, or one beyond the range of floating point."""
    if isinstance(value, str) and NUMBER.match(value.strip()):
        value = number_text(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a number")
    try:
        float(value)
        return normal_value(value)
    except (OverflowError, ValueError):
        raise ValueError("not a finite number (too large)") from None


def date_value(value: Any) -> dt.date:
    """A date: a date value, ISO text, or a SAS date (days since 1960-01-01) as a number or as numeric text."""
    if isinstance(value, str) and NUMBER.match(value.strip()):
        value = numeric(value)
    return sas_date(value)


ROLES = {"AVAL": "number", "CNSR": "number", "ADY": "number", "ADT": "date", "STARTDT": "date"}
"""How ADRS and ADTTE variables are read (every other variable used is a code, compared as text)."""


def by_role(value: Any, role: str) -> Any:
    """A value as ``source`` keeps it, the same from every format: codes as text, numbers as numbers, dates
    ISO; a value that does not read as its role (reported by the mapping) as read."""
    if value is None:
        return None
    try:
        if role == "number":
            return numeric(value)
        if role == "date":
            return date_value(value).isoformat()
    except ValueError:
        return plain(value)
    return as_text(value)


@dataclass(frozen=True)
class _Table:
    """A dataset being mapped: it locates and words every problem of one of its cells."""

    check: Checker
    dataset: Dataset

    @property
    def name(self) -> str:
        return self.dataset.name

    def has(self, variable: str | None) -> bool:
        return variable is not None and variable in self.dataset.columns

    def require(self, variables: Mapping[str, str]) -> bool:
        """Each variable (→ what it is for) present; one problem per missing variable. True when all are."""
        missing = [v for v in variables if not self.has(v)]
        for variable in missing:
            self.check.add(f"adam/{self.name}/{variable}", f"{self.name} has no variable {variable}, which the mapping "
                           f"needs ({variables[variable]})")
        return not missing

    def problem(self, row: int, variable: str, subject: str | None, value: Any, why: str) -> None:
        who = f" (subject {subject!r})" if subject is not None else ""
        what = f"{variable} is missing" if value is None else f"{variable} {shown(value)}"
        self.check.add(f"adam/{self.name}/{row}/{variable}", f"{self.name} row {row}{who}: {what}: {why}")

    def text(self, row: int, variable: str, subject: str | None, value: Any, why_missing: str) -> str | None:
        if value is None:
            self.problem(row, variable, subject, value, why_missing)
            return None
        return as_text(value)

    def date(self, row: int, variable: str, subject: str | None, value: Any, why_missing: str | None) -> dt.date | None:
        """A date (a date value, ISO text or SAS date); a missing one is a problem when ``why_missing`` says why."""
        if value is None:
            if why_missing:
                self.problem(row, variable, subject, value, why_missing)
            return None
        try:
            return date_value(value)
        except ValueError as error:
            self.problem(row, variable, subject, value, f"{error} (a date: YYYY-MM-DD, or a SAS date, days since "
                         "1960-01-01)")
            return None

    def number(self, row: int, variable: str, subject: str | None, value: Any) -> float | int | None:
        """A finite number (numeric text accepted: CSV values are text)."""
        if value is None:
            self.problem(row, variable, subject, value, "required")
            return None
        try:
            return numeric(value)
        except ValueError as error:
            self.problem(row, variable, subject, value, str(error))
            return None


def _subject(table: _Table, row: int, values: Mapping[str, Any], variable: str) -> str | None:
    subject = table.text(row, variable, None, values.get(variable), "every record names its subject")
    if subject is not None and len(subject) > MAX_NAME_LENGTH:
        table.problem(row, variable, None, subject, f"a subject id has at most {MAX_NAME_LENGTH} characters")
        return None
    if subject is not None and subject != subject.lstrip():
        table.problem(row, variable, None, subject, "a subject id does not start with blanks")
        return None
    return subject


# ------------------------------------------------------------------------------------------------- ADSL


@dataclass
class _Subjects:
    """ADSL read: the patients by id (in row order), every id ADSL names, and whether ADSL could be indexed."""

    patients: dict[str, dict] = field(default_factory=dict)
    named: set[str] = field(default_factory=set)
    excluded: set[str] = field(default_factory=set)
    indexed: bool = False


def _adsl(table: _Table, mapping: AdamMapping, cutoff: dt.date | None) -> _Subjects:
    needs = {mapping.subject_variable: "the subject", mapping.start_variable: "the treatment start",
             mapping.stratum_variable: "the stratum"}
    if mapping.population_variable:
        needs[mapping.population_variable] = "the population flag"
    before = len(table.check.problems)
    table.require(needs)
    out = _Subjects(indexed=table.has(mapping.subject_variable))
    if not out.indexed:
        return out
    first: dict[str, int] = {}
    for i, values in enumerate(table.dataset.rows, start=1):
        subject = _subject(table, i, values, mapping.subject_variable)
        if subject is None:
            continue
        if subject in first:
            table.problem(i, mapping.subject_variable, subject, subject, f"a second ADSL row for the subject (the "
                          f"first is row {first[subject]}); ADSL has one row per subject")
            out.patients.pop(subject, None)
            continue
        first[subject] = i
        out.named.add(subject)
        if not _in_population(table, i, values, subject, mapping.population_variable):
            out.excluded.add(subject)
            continue
        patient = _adsl_patient(table, i, values, subject, mapping, cutoff)
        if patient is not None:
            out.patients[subject] = patient
    if not out.patients and table.dataset.rows and len(table.check.problems) == before:
        flag = f" (none has {mapping.population_variable} = 'Y')" if mapping.population_variable else ""
        table.check.add(f"adam/{table.name}", f"{table.name} has no patient{flag}")
    elif not table.dataset.rows:
        table.check.add(f"adam/{table.name}", f"{table.name} has no rows: it lists the patients")
    return out


def _in_population(table: _Table, row: int, values: Mapping[str, Any], subject: str, variable: str | None) -> bool:
    if variable is None or not table.has(variable):
        return True
    flag = as_text(values.get(variable))
    if flag is not None and flag not in POPULATION_VALUES:
        table.problem(row, variable, subject, flag, "a population flag is 'Y' (a patient), 'N' or missing (not one)")
    return flag == "Y"


def _adsl_patient(table: _Table, row: int, values: Mapping[str, Any], subject: str, mapping: AdamMapping,
                  cutoff: dt.date | None) -> dict | None:
    start_variable, stratum_variable = mapping.start_variable, mapping.stratum_variable
    start = stratum = None
    if table.has(start_variable):
        start = table.date(row, start_variable, subject, values.get(start_variable),
                           "every patient needs a treatment start date")
        if start is not None and cutoff is not None and start > cutoff:
            table.problem(row, start_variable, subject, start, f"after the cut-off date {cutoff}")
            start = None
    if table.has(stratum_variable):
        value = table.text(row, stratum_variable, subject, values.get(stratum_variable), "every patient has a stratum")
        stratum = mapping.strata.get(value) if value is not None else None
        if value is not None and stratum is None:
            table.problem(row, stratum_variable, subject, values.get(stratum_variable),
                          f"not a value the mapping assigns to a stratum ({', '.join(map(repr, mapping.strata))})")
    if start is None or stratum is None:
        return None
    used = {mapping.subject_variable: "code", start_variable: "date", stratum_variable: "code",
            mapping.population_variable: "code"}
    source = {v: by_role(values.get(v), role) for v, role in used.items() if v is not None}
    return {"id": subject, "stratum": stratum, "enrolled_on": start.isoformat(), "start": start, "source": source}


# ------------------------------------------------------------------------------------------ ADRS, ADTTE


def _records(table: _Table, subjects: _Subjects, mapping: AdamMapping, paramcd: str,
             needs: Mapping[str, str]) -> Iterator[tuple[int, str, dict | None, Mapping[str, Any]]]:
    """The rows of ``table`` with PARAMCD ``paramcd`` whose subject is in ADSL and in the population:
    (row, subject, patient, values), the patient None when its ADSL row has a problem (its records are still
    checked, as far as they can be without it). A subject not in ADSL is a problem; one left out by the
    population flag is skipped. Rows come one at a time, so that problems are reported in row order."""
    if not table.require({mapping.subject_variable: "the subject", "PARAMCD": f"the records of {paramcd}", **needs}):
        return
    for i, values in enumerate(table.dataset.rows, start=1):
        if as_text(values.get("PARAMCD")) != paramcd:
            continue
        subject = _subject(table, i, values, mapping.subject_variable)
        if subject is None or subject in subjects.excluded:
            continue
        if subject not in subjects.named:
            if subjects.indexed:
                table.problem(i, mapping.subject_variable, subject, subject, "a subject that is not in ADSL")
            continue
        yield i, subject, subjects.patients.get(subject), values


def _one_per_subject(table: _Table, records: Iterable[tuple], variable: str, what: str) -> Iterator[tuple]:
    first: dict[str, int] = {}
    for record in records:
        row, subject = record[0], record[1]
        if subject in first:
            table.problem(row, variable, subject, subject, f"a second {what} record for the subject (the first is row "
                          f"{first[subject]}); one per subject")
        else:
            first[subject] = row
            yield record


def _study_day_date(table: _Table, row: int, subject: str, values: Mapping[str, Any], start: dt.date | None,
                    required: bool) -> dt.date | None:
    """A record's date: ADT, or ADY (CDISC study day: day 1 = start, day -1 the day before, no day 0)."""
    adt, ady = values.get("ADT"), values.get("ADY")
    if adt is None and ady is None:
        if required:
            table.problem(row, "ADT" if table.has("ADT") else "ADY", subject, None, "an assessment needs ADT or ADY")
        return None
    date = table.date(row, "ADT", subject, adt, None) if adt is not None else None
    if ady is None:
        return date
    day = table.number(row, "ADY", subject, ady)
    if day is None:
        return None
    if not float(day).is_integer() or day == 0:
        table.problem(row, "ADY", subject, ady, "a study day is a whole number and never 0 (day 1 = treatment start)")
        return None
    if abs(day) > MAX_STUDY_DAY:
        table.problem(row, "ADY", subject, ady, f"a study day lies within {MAX_STUDY_DAY} days (100 years) of "
                      "treatment start")
        return None
    if start is None:
        return date
    try:
        from_day = date_of_study_day(start, int(day))
    except OverflowError:
        table.problem(row, "ADY", subject, ady, f"study day {int(day)} from treatment start {start} is not a date "
                      "(beyond year 9999 or before year 1)")
        return None
    if date is not None and date != from_day:
        table.problem(row, "ADY", subject, ady, f"study day {int(day)} from treatment start {start} is {from_day}, "
                      f"not ADT {date}")
        return None
    return from_day if adt is None else date


def _response_records(table: _Table, subjects: _Subjects, mapping: AdamMapping, cutoff: dt.date | None) -> None:
    """Each patient's ``response`` (records "best") or ``assessments`` (records "visits") from ADRS."""
    paramcd, kind = mapping.response["paramcd"], mapping.response["records"]
    if not (table.has("ADT") or table.has("ADY")) and kind == "visits":
        table.require({"ADT": "the date of each assessment (or ADY, the study day)"})
        return
    records = _records(table, subjects, mapping, paramcd, {"AVALC": "the response"})
    if kind == "best":
        records = _one_per_subject(table, records, mapping.subject_variable, paramcd)
    used = [v for v in ("PARAMCD", "AVALC", "ADT", "ADY") if table.has(v)]
    for row, subject, patient, values in records:
        avalc = table.text(row, "AVALC", subject, values.get("AVALC"), f"every {paramcd} record has a response")
        if avalc is not None and avalc.upper() not in AVALC:
            table.problem(row, "AVALC", subject, avalc, f"not a response ({', '.join(AVALC)})")
            avalc = None
        start = None if patient is None else patient["start"]
        date = _study_day_date(table, row, subject, values, start, kind == "visits")
        dated_by = "ADT" if values.get("ADT") is not None else "ADY"
        if date is not None and cutoff is not None and date > cutoff:
            table.problem(row, dated_by, subject, date, f"after the cut-off date {cutoff}")
            date = None
        if date is not None and kind == "visits" and start is not None and date <= start:
            table.problem(row, dated_by, subject, date, f"not after treatment start {start}: a response assessment "
                          "follows it")
            date = None
        if patient is not None and avalc is not None and (date is not None or kind == "best"):
            source = {v: by_role(values.get(v), ROLES.get(v, "code")) for v in used}
            patient.setdefault("adrs", []).append((date, row, avalc.upper(), source, dated_by))


def _visits(table: _Table | None, patient: dict) -> list[dict]:
    """The patient's assessments in date order; two on one date are a problem (records exist only with a table)."""
    records = sorted(patient.get("adrs", []), key=lambda r: (r[0], r[1]))
    for before, after in zip(records, records[1:], strict=False):
        if before[0] == after[0] and table is not None:
            table.problem(after[1], after[4], patient["id"], after[3][after[4]], f"a second assessment on {after[0]} "
                          f"(the first is row {before[1]}); assessments are on distinct dates")
    return [{"date": r[0].isoformat(), "overall": r[2]} for r in records]


def _best(patient: dict, responders: Sequence[str]) -> str | None:
    records = patient.get("adrs", [])
    if not records:
        return None
    avalc = records[0][2]
    return "responder" if avalc in responders else "not-evaluable" if avalc == "NE" else "non-responder"


def _pfs_records(table: _Table, subjects: _Subjects, mapping: AdamMapping, cutoff: dt.date | None) -> None:
    """Each patient's ``pfs`` {time_months, event} from its ADTTE record (event: CNSR == 0)."""
    paramcd, unit = mapping.pfs["paramcd"], mapping.pfs["unit"]
    records = _records(table, subjects, mapping, paramcd, {"AVAL": f"the time, in {unit}", "CNSR": "the censoring"})
    records = _one_per_subject(table, records, mapping.subject_variable, paramcd)
    used = [v for v in ("PARAMCD", "AVAL", "CNSR", "STARTDT", "ADT") if table.has(v)]
    for row, subject, patient, values in records:
        aval = table.number(row, "AVAL", subject, values.get("AVAL"))
        if aval is not None and aval < 0:
            table.problem(row, "AVAL", subject, aval, "a time is never negative")
            aval = None
        censor = _censor(table, row, subject, values.get("CNSR"))
        if aval is not None and not _dates_agree(table, row, subject, values, aval, unit, cutoff):
            aval = None
        months = None if aval is None else _months(table, row, subject, aval, unit)
        start = None if patient is None else patient["start"]
        if months is not None and not _within_follow_up(table, row, subject, aval, unit, start, cutoff):
            months = None
        if patient is not None and months is not None and censor is not None:
            patient["pfs"] = {"time_months": months, "event": censor == 0}
            patient["adtte"] = {v: by_role(values.get(v), ROLES.get(v, "code")) for v in used}


def _months(table: _Table, row: int, subject: str, aval: float, unit: str) -> float | None:
    """AVAL in months, when it is at most ``MAX_TIME_MONTHS`` (the longest time a data cut takes)."""
    times, per = UNITS[unit]
    months = float(aval) * times / per  # a float overflows to inf, never raises
    if not months <= MAX_TIME_MONTHS:
        table.problem(row, "AVAL", subject, aval, f"in {unit}, more than {MAX_TIME_MONTHS:g} months, the longest time "
                      "a data cut takes")
        return None
    return months


def _within_follow_up(table: _Table, row: int, subject: str, aval: float, unit: str, start: dt.date | None,
                      cutoff: dt.date | None) -> bool:
    """AVAL at most the follow-up from treatment start to the cut-off, the day of origin counted (ADaM's +1):
    days ≤ (cut-off − TRTSDT) + 1."""
    if start is None or cutoff is None:
        return True
    days = float(aval) * DAYS_PER_UNIT[unit]
    available = (cutoff - start).days + 1
    if days <= available + FOLLOW_UP_TOLERANCE_DAYS:
        return True
    what = f"{days:g} days" if unit == "days" else f"{aval:g} {unit} ({days:.1f} days)"
    table.problem(row, "AVAL", subject, aval, f"{what} from treatment start {start} reach beyond the cut-off date "
                  f"{cutoff}: {available} days of follow-up at most (the day of origin counted, the ADaM +1 "
                  "convention)")
    return False


def _censor(table: _Table, row: int, subject: str, value: Any) -> int | None:
    """CNSR: an integer ≥ 0; 0 is the event, any other value a censoring (ADaM)."""
    try:
        number = numeric(value)
    except ValueError:
        number = None
    if number is None or not float(number).is_integer() or number < 0:
        table.problem(row, "CNSR", subject, value, "a censoring code is an integer ≥ 0 (0 = event; 1, 2, ... = "
                      "censored, each code a reason)")
        return None
    return int(number)


def _dates_agree(table: _Table, row: int, subject: str, values: Mapping[str, Any], aval: float, unit: str,
                 cutoff: dt.date | None) -> bool:
    """STARTDT and ADT, when given: ADT ≥ STARTDT, ADT ≤ cut-off, and in days AVAL = ADT − STARTDT (+1)."""
    start = table.date(row, "STARTDT", subject, values.get("STARTDT"), None)
    end = table.date(row, "ADT", subject, values.get("ADT"), None)
    if (values.get("STARTDT") is not None and start is None) or (values.get("ADT") is not None and end is None):
        return False
    if end is not None and cutoff is not None and end > cutoff:
        table.problem(row, "ADT", subject, end, f"after the cut-off date {cutoff}")
        return False
    if start is None or end is None:
        return True
    if end < start:
        table.problem(row, "ADT", subject, end, f"before STARTDT {start}")
        return False
    days = (end - start).days
    if unit == "days" and aval not in (days, days + 1):
        table.problem(row, "AVAL", subject, aval, f"ADT {end} − STARTDT {start} is {days} days: AVAL must be {days}, "
                      f"or {days + 1} with the ADaM +1 convention (the day of origin counted)")
        return False
    return True


# ------------------------------------------------------------------------------------------------ patients


def patients_from_adam(check: Checker, datasets: Mapping[str, Dataset], mapping: AdamMapping, *,
                       cutoff: dt.date | None) -> list[dict]:
    """The data cut's patients from ``datasets`` (ADSL, and ADRS / ADTTE as the mapping reads them), in ADSL
    order; every problem is added to ``check`` and then no patient is returned."""
    before = len(check.problems)
    tables = _tables(check, datasets, mapping)
    if "ADSL" not in tables:
        return []
    complete = all(name in tables for name in _wanted(mapping))
    subjects = _adsl(tables["ADSL"], mapping, cutoff)
    if mapping.response is not None and "ADRS" in tables:
        _response_records(tables["ADRS"], subjects, mapping, cutoff)
    if mapping.pfs is not None and "ADTTE" in tables:
        _pfs_records(tables["ADTTE"], subjects, mapping, cutoff)
    patients = [_patient(tables, p, mapping) for p in subjects.patients.values()]
    return [] if len(check.problems) > before or not complete else patients


def _wanted(mapping: AdamMapping) -> dict[str, str]:
    """The datasets the mapping reads → what it reads from each."""
    wanted = {"ADSL": "the patients"}
    if mapping.response is not None:
        wanted["ADRS"] = f"the responses, PARAMCD {mapping.response['paramcd']!r}"
    if mapping.pfs is not None:
        wanted["ADTTE"] = f"PFS, PARAMCD {mapping.pfs['paramcd']!r}"
    return wanted


def _tables(check: Checker, datasets: Mapping[str, Dataset], mapping: AdamMapping) -> dict[str, _Table]:
    wanted = _wanted(mapping)
    given = {str(name).upper(): dataset for name, dataset in datasets.items()}
    for name, purpose in wanted.items():
        if name not in given and not _reported(check, name):
            check.add(f"adam/{name}", f"{name} is missing: the mapping reads {purpose} from it")
    for name in given:
        if name not in wanted:
            check.add(f"adam/{name}", f"{name} is not read by the mapping (it reads {', '.join(wanted)}); "
                      "nothing uploaded is ignored silently")
    return {name: _Table(check, given[name]) for name in wanted if name in given}


def _reported(check: Checker, name: str) -> bool:
    """Whether ``check`` holds a problem of dataset ``name`` (at ``adam/{name}`` or under it): the caller
    reported why it could not be read, and its absence is not reported again."""
    where = f"adam/{name}"
    return any(p.field == where or p.field.startswith(f"{where}/") for p in check.problems)


def _patient(tables: Mapping[str, _Table], patient: dict, mapping: AdamMapping) -> dict:
    out: dict[str, Any] = {"id": patient["id"], "stratum": patient["stratum"], "enrolled_on": patient["enrolled_on"]}
    source: dict[str, Any] = {"ADSL": patient["source"]}
    if mapping.response is None or mapping.response["records"] == "best":
        out["response"] = None if mapping.response is None else _best(patient, mapping.response["responders"])
    else:
        visits = _visits(tables.get("ADRS"), patient)
        out["assessments"] = {"treatment_start": patient["enrolled_on"], "visits": visits}
    if mapping.response is not None:
        source["ADRS"] = [r[3] for r in sorted(patient.get("adrs", []), key=lambda r: (r[0] or dt.date.min, r[1]))]
    out["pfs"] = patient.get("pfs")
    if mapping.pfs is not None:
        source["ADTTE"] = patient.get("adtte")
    out["source"] = source
    return out


