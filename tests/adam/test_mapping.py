"""ADaM mapped to data-cut patients: the protocol's adam section, the ADaM conventions (CNSR, the +1 day,
study days), the same patients from every file format, and every bad input located and reported at once."""

from __future__ import annotations

import datetime as dt
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designs.adam.mapping import DAYS_PER_MONTH, AdamMapping, patients_from_adam
from designs.adam.readers import read_dataset, read_datasets
from designs.core.errors import InvalidInputError
from designs.core.provenance import canonical_json
from designs.core.validation import Checker
from designs.survival.spec import MAX_TIME_MONTHS
from tests.adam.files import WRITERS, as_csv, as_xpt, example_adam, example_mapping

STRATA = ("NF1-associated", "sporadic")
CUTOFF = dt.date(2026, 6, 30)
EXAMPLE = example_adam(n_per_stratum=4, seed=11)


def mapping(body: dict | None = None, **changes) -> AdamMapping:
    check = Checker()
    spec = AdamMapping.check(check, "adam", {**(body or example_mapping()), **changes}, STRATA)
    assert not check.problems, check.problems
    return spec


def mapping_problems(body: dict) -> list[tuple[str, str]]:
    check = Checker()
    assert AdamMapping.check(check, "adam", body, STRATA) is None
    return [(p.field, p.reason) for p in check.problems]


def run(records: dict[str, list[dict]], spec: AdamMapping | None = None, cutoff: dt.date | None = CUTOFF):
    """(patients, problems as (location, reason)) of JSON records."""
    check = Checker()
    datasets = {name: read_dataset(name, rows) for name, rows in records.items()}
    patients = patients_from_adam(check, datasets, spec or mapping(), cutoff=cutoff)
    return patients, [(p.field, p.reason) for p in check.problems]


def adsl(*rows: tuple) -> list[dict]:
    return [{"USUBJID": s, "TRTSDT": start, "NF1FL": flag, "SAFFL": pop} for s, start, flag, pop in rows]


def adtte(*rows: tuple) -> list[dict]:
    return [{"USUBJID": s, "PARAMCD": "PFS", "AVAL": aval, "CNSR": cnsr, "STARTDT": start, "ADT": end}
            for s, aval, cnsr, start, end in rows]


ONE = adsl(("S-1", "2024-01-10", "Y", "Y"))
PFS_ONLY = {**example_mapping(), "response": None}


# ------------------------------------------------------------------------------------------ the mapping


def test_mapping_defaults_are_filled_and_listed():
    spec = mapping({"stratum_variable": "nf1fl", "strata": {"Y": "NF1-associated", "N": "sporadic"},
                    "response": {}, "pfs": {"unit": "weeks"}})
    assert spec.document == {
        "subject_variable": "USUBJID", "start_variable": "TRTSDT", "stratum_variable": "NF1FL",
        "strata": {"Y": "NF1-associated", "N": "sporadic"}, "population_variable": None,
        "response": {"paramcd": "BOR", "records": "best", "responders": ["CR", "PR"], "sd_min_days_applied": None},
        "pfs": {"paramcd": "PFS", "unit": "weeks"}}
    assert spec.defaults == ("subject_variable", "start_variable", "population_variable", "response/paramcd",
                             "response/records", "response/responders", "response/sd_min_days_applied", "pfs/paramcd")
    assert spec.sd_min_days_applied is None


def test_mapping_visits_default_to_ovr_records_and_take_no_responders():
    assert mapping(response={"records": "visits"}).response == {"paramcd": "OVR", "records": "visits"}
    body = {**example_mapping(), "response": {"records": "visits", "responders": ["CR"]}}
    assert [f for f, _ in mapping_problems(body)] == ["adam/response/responders"]


def test_mapping_problems_are_all_named():
    body = {"subject_variable": "USUBJID!", "stratum_variable": "NF1FL", "strata": {"Y": "NF1", "N": "sporadic"},
            "response": {"responders": ["PR", "PD"], "records": "all"}, "pfs": {"unit": "hours"}, "extra": 1}
    assert mapping_problems(body) == [
        ("adam/extra", "not a field of the adam mapping (subject_variable, start_variable, stratum_variable, strata, "
                       "population_variable, response, pfs)"),
        ("adam/subject_variable", "must be a variable name: letters, digits and _, starting with a letter or _, 32 "
                                  "characters at most (got 'USUBJID!')"),
        ("adam/strata/Y", "'NF1' is not a declared stratum (NF1-associated, sporadic)"),
        ("adam/strata", "declared strata without a value: 'NF1-associated' (no patient could be counted in them)"),
        ("adam/response/records", "must be one of best, visits (got 'all')"),
        ("adam/response/responders/1", "must be one of CR, PR, SD, NON-CR/NON-PD (PD and NE are never a response) "
                                       "(got 'PD')"),
        ("adam/pfs/unit", "must be one of days, weeks, months, years (got 'hours')"),
    ]


def test_mapping_without_strata_is_refused():
    assert mapping_problems({"stratum_variable": "NF1FL"})[0][0] == "adam/strata"


# ----------------------------------------------------------------------------------------- round trip

def _in_every_format(spec, records) -> dict[str, list[dict]]:
    """The patients of ``records`` written by every writer and read back, by writer (none may have a problem)."""
    results = {}
    for writer, write in WRITERS.items():
        check = Checker()
        datasets = read_datasets(check, {name: write(name, rows) for name, rows in records.items()})
        results[writer] = patients_from_adam(check, datasets, spec, cutoff=CUTOFF)
        assert not check.problems, (writer, check.problems)
    return results


@pytest.mark.parametrize("records", ["best", "visits"])
def test_every_file_format_gives_identical_patients(records):
    results = _in_every_format(mapping(example_mapping(records)), EXAMPLE)
    reference = results["json-records"]
    assert len(reference) == 8
    for writer, patients in results.items():
        assert patients == reference, writer
        assert canonical_json(patients) == canonical_json(reference), writer


def test_example_patients_have_strata_enrolment_response_and_pfs():
    patients, problems = run(EXAMPLE)
    assert not problems
    first = patients[0]
    assert first["id"] == "SARC031-001" and first["stratum"] == "NF1-associated"
    assert first["enrolled_on"] == EXAMPLE["ADSL"][0]["TRTSDT"]
    assert {p["stratum"] for p in patients} == set(STRATA)
    assert all(p["response"] in ("responder", "non-responder", "not-evaluable") for p in patients)
    assert set(first["source"]) == {"ADSL", "ADRS", "ADTTE"}
    assert first["source"]["ADSL"] == EXAMPLE["ADSL"][0]


# ------------------------------------------------------------------------------------------- ADaM PFS


def test_cnsr_0_is_the_event_and_1_and_2_are_censorings_adam_convention():
    """ADaM ADTTE: CNSR = 0 is the event, every positive code a censoring; 1 − CNSR would make CNSR 2 an event."""
    people = adsl(("S-0", "2024-01-10", "Y", "Y"), ("S-1", "2024-01-10", "Y", "Y"), ("S-2", "2024-01-10", "N", "Y"))
    tte = adtte(("S-0", 100, 0, None, None), ("S-1", 100, 1, None, None), ("S-2", 100, 2, None, None))
    patients, problems = run({"ADSL": people, "ADTTE": tte}, mapping(PFS_ONLY))
    assert not problems
    assert [p["pfs"]["event"] for p in patients] == [True, False, False]


@pytest.mark.parametrize(("unit", "aval", "months"), [
    ("days", 30.4375, 1.0), ("days", 100, 100 / 30.4375), ("weeks", 13, 13 * 7 / 30.4375),
    ("months", 6, 6.0), ("years", 1.5, 18.0)])
def test_aval_converted_to_months_of_30_4375_days(unit, aval, months):
    spec = mapping({**PFS_ONLY, "pfs": {"paramcd": "PFS", "unit": unit}})
    patients, problems = run({"ADSL": ONE, "ADTTE": adtte(("S-1", aval, 1, None, None))}, spec)
    assert not problems
    assert patients[0]["pfs"] == {"time_months": months, "event": False}
    assert DAYS_PER_MONTH == 30.4375


@pytest.mark.parametrize("extra", [0, 1])
def test_aval_days_is_adt_minus_startdt_or_one_more_adam_plus_one_convention(extra):
    tte = adtte(("S-1", 40 + extra, 0, "2024-01-10", "2024-02-19"))
    patients, problems = run({"ADSL": ONE, "ADTTE": tte}, mapping(PFS_ONLY))
    assert not problems
    assert patients[0]["pfs"] == {"time_months": (40 + extra) / 30.4375, "event": True}


@pytest.mark.parametrize("extra", [-1, 2])
def test_aval_days_off_by_more_than_the_plus_one_convention_is_refused(extra):
    tte = adtte(("S-1", 40 + extra, 0, "2024-01-10", "2024-02-19"))
    patients, problems = run({"ADSL": ONE, "ADTTE": tte}, mapping(PFS_ONLY))
    assert patients == []
    assert problems == [("adam/ADTTE/1/AVAL", f"ADTTE row 1 (subject 'S-1'): AVAL {40 + extra}: ADT 2024-02-19 − "
                         "STARTDT 2024-01-10 is 40 days: AVAL must be 40, or 41 with the ADaM +1 convention (the day "
                         "of origin counted)")]


def test_adt_before_startdt_is_refused():
    tte = adtte(("S-1", 0, 0, "2024-01-10", "2024-01-09"))
    assert run({"ADSL": ONE, "ADTTE": tte}, mapping(PFS_ONLY))[1] == [
        ("adam/ADTTE/1/ADT", "ADTTE row 1 (subject 'S-1'): ADT 2024-01-09: before STARTDT 2024-01-10")]


# ---------------------------------------------------------------------------------------------- ADRS


def bor(*rows: tuple) -> list[dict]:
    return [{"USUBJID": s, "PARAMCD": "BOR", "AVALC": avalc, "ADT": None} for s, avalc in rows]


def test_best_response_responders_non_responders_not_evaluable_and_pending():
    people = adsl(*[(f"S-{i}", "2024-01-10", "Y", "Y") for i in range(5)])
    rows = bor(("S-0", "cr"), ("S-1", "PR"), ("S-2", "SD"), ("S-3", "NE"))
    patients, problems = run({"ADSL": people, "ADRS": rows}, mapping({**example_mapping(), "pfs": None}))
    assert not problems
    assert [p["response"] for p in patients] == ["responder", "responder", "non-responder", "not-evaluable", None]


def test_clinical_benefit_counts_sd_as_a_response_when_the_sponsor_declares_the_sd_duration_applied():
    spec = mapping({**example_mapping(), "pfs": None,
                    "response": {"responders": ["CR", "PR", "SD"], "sd_min_days_applied": 112}})
    assert spec.sd_min_days_applied == 112 and spec.document["response"]["sd_min_days_applied"] == 112
    assert "response/sd_min_days_applied" not in spec.defaults
    patients, _ = run({"ADSL": ONE, "ADRS": bor(("S-1", "SD"))}, spec)
    assert patients[0]["response"] == "responder"


@pytest.mark.parametrize("responders", [["CR", "PR", "SD"], ["SD"], ["CR", "PR", "NON-CR/NON-PD"]])
def test_clinical_benefit_from_best_response_without_sd_min_days_applied_is_refused(responders):
    """A BOR of SD on day 15 (progression at 0.5 months) would count as clinical benefit, the protocol's 112-day
    rule silently ignored: the sponsor declares the duration their BOR required, or gives per-visit OVR."""
    benefit = " and ".join(r for r in responders if r in ("SD", "NON-CR/NON-PD"))
    assert mapping_problems({**example_mapping(), "response": {"responders": responders}}) == [
        ("adam/response/responders", f"{benefit} counted as a response (clinical benefit) from one best-response "
         "record cannot tell how long the stable disease lasted: give records 'visits' (per-visit OVR, from which "
         "gonogo applies the protocol's benefit_min_days), or declare sd_min_days_applied, the days your "
         "best-response derivation already required SD to last")]


@pytest.mark.parametrize(("days", "ok"), [(0, False), (1, True), (36525, True), (36526, False), (42.0, False),
                                          (True, False), ("112", False)])
def test_sd_min_days_applied_is_a_whole_number_of_days_from_1(days, ok):
    body = {**example_mapping(), "response": {"responders": ["CR", "PR", "SD"], "sd_min_days_applied": days}}
    if ok:
        assert mapping(body).sd_min_days_applied == days
        return
    assert mapping_problems(body) == [("adam/response/sd_min_days_applied", "must be a whole number of days from 1 "
                                       "to 36525: the least duration of SD your best-response derivation required "
                                       f"(got {days!r})")]


def test_sd_min_days_applied_is_refused_without_sd_responders_or_with_visits():
    best = {**example_mapping(), "response": {"responders": ["CR", "PR"], "sd_min_days_applied": 112}}
    assert mapping_problems(best) == [("adam/response/sd_min_days_applied", "applies only when responders include "
                                       "SD or NON-CR/NON-PD (clinical benefit)")]
    visits = {**example_mapping(), "response": {"records": "visits", "sd_min_days_applied": 112}}
    assert [f for f, _ in mapping_problems(visits)] == ["adam/response/sd_min_days_applied"]
    assert mapping(response={"records": "visits"}).sd_min_days_applied is None


def test_a_second_best_response_record_is_refused():
    spec = mapping({**example_mapping(), "pfs": None})
    _, problems = run({"ADSL": ONE, "ADRS": bor(("S-1", "PR"), ("S-1", "SD"))}, spec)
    assert problems == [("adam/ADRS/2/USUBJID", "ADRS row 2 (subject 'S-1'): USUBJID 'S-1': a second BOR record for "
                         "the subject (the first is row 1); one per subject")]


VISITS = {**example_mapping("visits"), "pfs": None}


def ovr(*rows: tuple) -> list[dict]:
    return [{"USUBJID": "S-1", "PARAMCD": "OVR", "AVALC": avalc, "ADT": adt, "ADY": ady} for avalc, adt, ady in rows]


def test_visits_become_assessments_in_date_order_dated_by_adt_or_study_day():
    rows = ovr(("PR", "2024-05-05", None), ("sd", None, 57), ("PR", "2024-07-01", 174))
    patients, problems = run({"ADSL": ONE, "ADRS": rows}, mapping(VISITS))
    assert not problems
    assert patients[0]["assessments"] == {"treatment_start": "2024-01-10", "visits": [
        {"date": "2024-03-06", "overall": "SD"}, {"date": "2024-05-05", "overall": "PR"},
        {"date": "2024-07-01", "overall": "PR"}]}
    assert "response" not in patients[0]


def test_study_day_has_no_day_0_cdisc():
    rows = ovr(("SD", None, 1), ("SD", None, 0), ("SD", "2024-03-06", 56))
    _, problems = run({"ADSL": ONE, "ADRS": rows}, mapping(VISITS))
    assert problems == [
        ("adam/ADRS/1/ADY", "ADRS row 1 (subject 'S-1'): ADY 2024-01-10: not after treatment start 2024-01-10: a "
                            "response assessment follows it"),
        ("adam/ADRS/2/ADY", "ADRS row 2 (subject 'S-1'): ADY 0: a study day is a whole number and never 0 (day 1 = "
                            "treatment start)"),
        ("adam/ADRS/3/ADY", "ADRS row 3 (subject 'S-1'): ADY 56: study day 56 from treatment start 2024-01-10 is "
                            "2024-03-05, not ADT 2024-03-06"),
    ]


def test_two_assessments_on_one_date_are_refused():
    _, problems = run({"ADSL": ONE, "ADRS": ovr(("SD", "2024-03-06", None), ("PR", None, 57))}, mapping(VISITS))
    assert problems == [("adam/ADRS/2/ADY", "ADRS row 2 (subject 'S-1'): ADY 57: a second assessment on 2024-03-06 "
                         "(the first is row 1); assessments are on distinct dates")]


def test_records_of_other_parameters_are_ignored():
    rows = ovr(("SD", "2024-03-06", None)) + bor(("S-1", "junk"))
    patients, problems = run({"ADSL": ONE, "ADRS": rows}, mapping(VISITS))
    assert not problems and len(patients[0]["assessments"]["visits"]) == 1


# ------------------------------------------------------------------------------------------ population


def test_population_flag_keeps_only_rows_flagged_y():
    people = adsl(("S-1", "2024-01-10", "Y", "Y"), ("S-2", "2024-01-10", "N", "N"), ("S-3", None, "X", None))
    rows = bor(("S-1", "PR"), ("S-2", "junk"), ("S-3", "PR"))
    tte = adtte(("S-1", 10, 1, None, None), ("S-2", -1, "Y", None, None))
    patients, problems = run({"ADSL": people, "ADRS": rows, "ADTTE": tte})
    assert not problems
    assert [p["id"] for p in patients] == ["S-1"]


def test_population_flag_other_than_y_n_or_missing_is_refused():
    _, problems = run({"ADSL": adsl(("S-1", "2024-01-10", "Y", "y"))}, mapping({**example_mapping(), "response": None,
                                                                                  "pfs": None}))
    assert problems == [("adam/ADSL/1/SAFFL", "ADSL row 1 (subject 'S-1'): SAFFL 'y': a population flag is 'Y' (a "
                         "patient), 'N' or missing (not one)")]


def test_without_population_variable_every_adsl_row_is_a_patient():
    spec = mapping({**example_mapping(), "population_variable": None, "response": None, "pfs": None})
    patients, _ = run({"ADSL": adsl(("S-1", "2024-01-10", "Y", "N"), ("S-2", "2024-01-11", "N", None))}, spec)
    assert [p["id"] for p in patients] == ["S-1", "S-2"]
    assert patients[0] == {"id": "S-1", "stratum": "NF1-associated", "enrolled_on": "2024-01-10", "response": None,
                           "pfs": None, "source": {"ADSL": {"USUBJID": "S-1", "TRTSDT": "2024-01-10", "NF1FL": "Y"}}}


# ------------------------------------------------------------------------------------ every bad input


def test_every_bad_input_is_reported_at_once_by_dataset_row_and_variable():
    people = adsl(("S-1", "2024-01-10", "Y", "Y"), ("S-2", None, "N", "Y"), ("S-3", "2024-02-01", "Maybe", "Y"),
                  ("S-1", "2024-01-10", "Y", "Y"), ("S-4", "2026-07-01", "N", "Y"), ("S-5", "2024-03-01", "N", "Y"))
    rows = bor(("S-5", "VGPR"), ("S-9", "PR"))
    rows[0]["ADT"] = "2026-07-02"
    tte = adtte(("S-5", 10, 1.5, None, None), ("S-2", 10, -1, None, None), ("S-3", 10, "Y", None, None),
                ("S-7", 10, 0, None, None), ("S-4", 10, 0, None, "2026-07-01"))
    for row in tte:
        del row["STARTDT"]
    del tte[0]["AVAL"]
    check = Checker()
    datasets = {"ADSL": read_dataset("ADSL", as_csv(people)), "ADRS": read_dataset("ADRS", as_xpt("ADRS", rows)),
                "ADTTE": read_dataset("ADTTE", [{k: v for k, v in r.items() if k != "AVAL"} for r in tte])}
    assert patients_from_adam(check, datasets, mapping(), cutoff=CUTOFF) == []
    assert [(p.field, p.reason) for p in check.problems] == [
        ("adam/ADSL/2/TRTSDT", "ADSL row 2 (subject 'S-2'): TRTSDT is missing: every patient needs a treatment start "
                               "date"),
        ("adam/ADSL/3/NF1FL", "ADSL row 3 (subject 'S-3'): NF1FL 'Maybe': not a value the mapping assigns to a stratum "
                              "('Y', 'N')"),
        ("adam/ADSL/4/USUBJID", "ADSL row 4 (subject 'S-1'): USUBJID 'S-1': a second ADSL row for the subject (the "
                                "first is row 1); ADSL has one row per subject"),
        ("adam/ADSL/5/TRTSDT", "ADSL row 5 (subject 'S-4'): TRTSDT 2026-07-01: after the cut-off date 2026-06-30"),
        ("adam/ADRS/1/AVALC", "ADRS row 1 (subject 'S-5'): AVALC 'VGPR': not a response (CR, PR, SD, NON-CR/NON-PD, "
                              "PD, NE)"),
        ("adam/ADRS/1/ADT", "ADRS row 1 (subject 'S-5'): ADT 2026-07-02: after the cut-off date 2026-06-30"),
        ("adam/ADRS/2/USUBJID", "ADRS row 2 (subject 'S-9'): USUBJID 'S-9': a subject that is not in ADSL"),
        ("adam/ADTTE/AVAL", "ADTTE has no variable AVAL, which the mapping needs (the time, in days)"),
    ]


def test_every_bad_value_of_adtte_is_reported_at_once():
    people = adsl(*[(f"S-{i}", "2024-01-10", "Y", "Y") for i in range(1, 5)])
    tte = adtte(("S-1", 10, 1.5, None, None), ("S-2", 10, -1, None, None), ("S-3", "ten", "Y", None, None),
                ("S-7", 10, 0, None, None), ("S-4", 10, 0, "2026-06-21", "2026-07-01"))
    _, problems = run({"ADSL": people, "ADTTE": tte}, mapping(PFS_ONLY))
    why = "a censoring code is an integer ≥ 0 (0 = event; 1, 2, ... = censored, each code a reason)"
    assert problems == [
        ("adam/ADTTE/1/CNSR", f"ADTTE row 1 (subject 'S-1'): CNSR 1.5: {why}"),
        ("adam/ADTTE/2/CNSR", f"ADTTE row 2 (subject 'S-2'): CNSR -1: {why}"),
        ("adam/ADTTE/3/AVAL", "ADTTE row 3 (subject 'S-3'): AVAL 'ten': not a number"),
        ("adam/ADTTE/3/CNSR", f"ADTTE row 3 (subject 'S-3'): CNSR 'Y': {why}"),
        ("adam/ADTTE/4/USUBJID", "ADTTE row 4 (subject 'S-7'): USUBJID 'S-7': a subject that is not in ADSL"),
        ("adam/ADTTE/5/ADT", "ADTTE row 5 (subject 'S-4'): ADT 2026-07-01: after the cut-off date 2026-06-30"),
    ]


def test_unreadable_files_and_bad_values_are_reported_together():
    check = Checker()
    people = adsl(("S-1", None, "Y", "Y"))
    sources = {"ADSL": as_csv(people), "ADRS": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
               "ADTTE": as_xpt("ADTTE", EXAMPLE["ADTTE"])[:-50]}
    datasets = read_datasets(check, sources, {"ADRS": "adrs.pdf", "ADTTE": "adtte.xpt"})
    assert patients_from_adam(check, datasets, mapping(), cutoff=CUTOFF) == []
    assert [p.field for p in check.problems] == ["adam/ADRS", "adam/ADTTE", "adam/ADSL/1/TRTSDT"]
    assert "not CSV: not UTF-8 text" in check.problems[0].reason
    assert "truncated" in check.problems[1].reason


def test_missing_and_unexpected_datasets_are_named():
    check = Checker()
    spec = mapping()
    datasets = {"ADSL": read_dataset("ADSL", ONE), "ADAE": read_dataset("ADAE", [{"USUBJID": "S-1"}])}
    assert patients_from_adam(check, datasets, spec, cutoff=CUTOFF) == []
    assert [(p.field, p.reason) for p in check.problems] == [
        ("adam/ADRS", "ADRS is missing: the mapping reads the responses, PARAMCD 'BOR' from it"),
        ("adam/ADTTE", "ADTTE is missing: the mapping reads PFS, PARAMCD 'PFS' from it"),
        ("adam/ADAE", "ADAE is not read by the mapping (it reads ADSL, ADRS, ADTTE); nothing uploaded is ignored "
                      "silently"),
    ]


def test_missing_adrs_is_named_for_visits_too():
    _, problems = run({"ADSL": ONE}, mapping(VISITS))
    assert problems == [("adam/ADRS", "ADRS is missing: the mapping reads the responses, PARAMCD 'OVR' from it")]


def test_a_mapping_that_is_not_an_object_is_refused():
    check = Checker()
    assert AdamMapping.check(check, "adam", ["NF1FL"], STRATA) is None
    assert [(p.field, p.reason) for p in check.problems] == [("adam", "the adam mapping must be an object")]


def test_each_missing_variable_is_one_problem():
    _, problems = run({"ADSL": [{"USUBJID": "S-1"}]}, mapping({**example_mapping(), "response": None, "pfs": None}))
    assert problems == [
        ("adam/ADSL/TRTSDT", "ADSL has no variable TRTSDT, which the mapping needs (the treatment start)"),
        ("adam/ADSL/NF1FL", "ADSL has no variable NF1FL, which the mapping needs (the stratum)"),
        ("adam/ADSL/SAFFL", "ADSL has no variable SAFFL, which the mapping needs (the population flag)"),
    ]


def test_sas_date_numbers_and_iso_text_are_dates():
    people = [{"USUBJID": "S-1", "TRTSDT": 23385, "NF1FL": "Y", "SAFFL": "Y"},
              {"USUBJID": "S-2", "TRTSDT": "2024-01-10", "NF1FL": "N", "SAFFL": "Y"},
              {"USUBJID": "S-3", "TRTSDT": "10JAN2024", "NF1FL": "N", "SAFFL": "Y"}]
    patients, problems = run({"ADSL": people}, mapping({**example_mapping(), "response": None, "pfs": None}))
    assert problems == [("adam/ADSL/3/TRTSDT", "ADSL row 3 (subject 'S-3'): TRTSDT '10JAN2024': not an ISO date "
                         "YYYY-MM-DD (a date: YYYY-MM-DD, or a SAS date, days since 1960-01-01)")]
    check = Checker()
    ok = patients_from_adam(check, {"ADSL": read_dataset("ADSL", people[:2])},
                            mapping({**example_mapping(), "response": None, "pfs": None}), cutoff=None)
    assert [p["enrolled_on"] for p in ok] == ["2024-01-10", "2024-01-10"]


def test_numeric_stratum_values_are_matched_as_text():
    spec = mapping({**example_mapping(), "stratum_variable": "STRATN", "strata": {"1": "NF1-associated",
                                                                                  "2": "sporadic"},
                    "population_variable": None, "response": None, "pfs": None})
    patients, problems = run({"ADSL": [{"USUBJID": "S-1", "TRTSDT": "2024-01-10", "STRATN": 2.0}]}, spec)
    assert not problems and patients[0]["stratum"] == "sporadic"


def test_subject_ids_with_leading_blanks_are_refused():
    _, problems = run({"ADSL": adsl((" S-1", "2024-01-10", "Y", "Y"))},
                      mapping({**example_mapping(), "response": None, "pfs": None}))
    assert problems == [("adam/ADSL/1/USUBJID", "ADSL row 1: USUBJID ' S-1': a subject id does not start with blanks")]


# ------------------------------------------------------------------------ identifiers, codes and roles


TRICKY = {
    "ADSL": [{"USUBJID": s, "TRTSDT": "2024-01-10", "STRAT": code, "SAFFL": "Y"}
             for s, code in (("101.010", "1.0"), ("1E3", "2"), ("007", "1.0"), ("+7", "2"))],
    "ADRS": [{"USUBJID": s, "PARAMCD": "BOR", "AVALC": r, "ADT": "2024-03-06", "ADY": 57}
             for s, r in (("101.010", "PR"), ("1E3", "SD"), ("007", "NE"))],
    "ADTTE": [{"USUBJID": s, "PARAMCD": "PFS", "AVAL": aval, "CNSR": cnsr, "STARTDT": "2024-01-10", "ADT": adt}
              for s, aval, cnsr, adt in (("101.010", 57, 1, "2024-03-06"), ("1E3", 56.0, 0, "2024-03-06"),
                                         ("+7", 0.5, 2, None))],
}
TRICKY_MAPPING = {**example_mapping(), "stratum_variable": "STRAT", "strata": {"1.0": "NF1-associated",
                                                                               "2": "sporadic"}}


def test_identifiers_and_codes_keep_their_text_in_every_format_csv_too():
    """USUBJID "101.010", "1E3", "007", "+7" and the stratum code "1.0" are text: CSV must not read them as
    numbers (101.01, 1000, 7, 1), so JSON, CSV, XPT and Dataset-JSON give the same patients and hash."""
    results = _in_every_format(mapping(TRICKY_MAPPING), TRICKY)
    reference = results["json-records"]
    assert [(p["id"], p["stratum"], p["response"]) for p in reference] == [
        ("101.010", "NF1-associated", "responder"), ("1E3", "sporadic", "non-responder"),
        ("007", "NF1-associated", "not-evaluable"), ("+7", "sporadic", None)]
    assert reference[0]["source"] == {
        "ADSL": {"USUBJID": "101.010", "STRAT": "1.0", "SAFFL": "Y", "TRTSDT": "2024-01-10"},
        "ADRS": [{"PARAMCD": "BOR", "AVALC": "PR", "ADT": "2024-03-06", "ADY": 57}],
        "ADTTE": {"PARAMCD": "PFS", "AVAL": 57, "CNSR": 1, "STARTDT": "2024-01-10", "ADT": "2024-03-06"}}
    assert reference[1]["source"]["ADTTE"]["AVAL"] == 56 and reference[3]["source"]["ADTTE"]["AVAL"] == 0.5
    for writer, patients in results.items():
        assert canonical_json(patients) == canonical_json(reference), writer


def test_numeric_codes_are_text_as_sas_prints_an_integer():
    """A number where a code is expected (XPT, Dataset-JSON or JSON numeric) is compared as SAS prints it: 1.0 → "1"."""
    spec = mapping({**TRICKY_MAPPING, "strata": {"1": "NF1-associated", "2.5": "sporadic"}, "response": None,
                    "pfs": None})
    people = [{"USUBJID": 101.0, "TRTSDT": "2024-01-10", "STRAT": 1.0, "SAFFL": "Y"},
              {"USUBJID": 102, "TRTSDT": "2024-01-10", "STRAT": 2.5, "SAFFL": "Y"}]
    for data in (people, as_xpt("ADSL", people)):
        check = Checker()
        patients = patients_from_adam(check, {"ADSL": read_dataset("ADSL", data)}, spec, cutoff=CUTOFF)
        assert not check.problems
        assert [(p["id"], p["stratum"], p["source"]["ADSL"]["STRAT"]) for p in patients] == [
            ("101", "NF1-associated", "1"), ("102", "sporadic", "2.5")]


def test_source_keeps_values_by_role_whatever_their_form():
    """A SAS date number and an ISO date, 30 and "30.0", give one source: dates ISO, numbers as numbers."""
    spec = mapping(PFS_ONLY)
    forms = [({"TRTSDT": 23385}, {"AVAL": "30.0", "CNSR": "1", "ADT": 23414}),
             ({"TRTSDT": "2024-01-10"}, {"AVAL": 30, "CNSR": 1.0, "ADT": "2024-02-08"})]
    sources = []
    for adsl_values, adtte_values in forms:
        people = [{**ONE[0], **adsl_values}]
        tte = [{"USUBJID": "S-1", "PARAMCD": "PFS", "STARTDT": "2024-01-10", **adtte_values}]
        patients, problems = run({"ADSL": people, "ADTTE": tte}, spec)
        assert not problems
        sources.append(patients[0]["source"])
    assert sources[0] == sources[1]
    assert sources[0]["ADSL"]["TRTSDT"] == "2024-01-10"
    assert sources[0]["ADTTE"] == {"PARAMCD": "PFS", "AVAL": 30, "CNSR": 1, "STARTDT": "2024-01-10",
                                   "ADT": "2024-02-08"}


# ------------------------------------------------------------------------------- bounds and exceptions


@pytest.mark.parametrize("ady", [36526, -36526, 10_000_000, 2**70, -1_000_000, "1e400"])
def test_a_study_day_beyond_100_years_is_a_located_problem(ady):
    _, problems = run({"ADSL": ONE, "ADRS": ovr(("SD", None, ady))}, mapping(VISITS))
    assert [field for field, _ in problems] == ["adam/ADRS/1/ADY"]
    assert problems[0][1].startswith("ADRS row 1 (subject 'S-1'): ADY ")


@pytest.mark.parametrize("ady", [36525, -36525])
def test_a_study_day_of_100_years_is_a_date(ady):
    patients, problems = run({"ADSL": ONE, "ADRS": ovr(("SD", None, ady))}, mapping({**VISITS}), cutoff=None)
    if ady > 0:
        assert not problems and patients[0]["assessments"]["visits"] == [{"date": "2124-01-10", "overall": "SD"}]
    else:
        assert [field for field, _ in problems] == ["adam/ADRS/1/ADY"]  # before treatment start


HUGE = (10**400, -(10**400), int(sys.float_info.max), int(sys.float_info.max) + 1, 2**53 + 1, 2020464000)
VALUES = (st.none() | st.integers() | st.integers(min_value=-(2**80), max_value=2**80) | st.floats(allow_nan=False,
          allow_infinity=False) | st.text(max_size=12) | st.sampled_from(["1e400", "-1e400", "2024-02-30", "9999-12-31",
                                                                          "0001-01-01", " 7", "NaN", "inf", *HUGE])
          | st.integers(min_value=-(10**1000), max_value=10**1000))


@settings(max_examples=200, deadline=None)
@given(ady=VALUES, aval=VALUES, adt=VALUES, trtsdt=VALUES, cnsr=VALUES, startdt=VALUES)
def test_any_value_is_mapped_or_refused_with_located_problems(ady, aval, adt, trtsdt, cnsr, startdt):
    """Whatever ADY, AVAL, ADT, TRTSDT, CNSR or STARTDT hold: patients or InvalidInputError, never another error."""
    records = {"ADSL": [{**ONE[0], "TRTSDT": trtsdt}],
               "ADRS": [{"USUBJID": "S-1", "PARAMCD": "OVR", "AVALC": "SD", "ADT": adt, "ADY": ady}],
               "ADTTE": [{"USUBJID": "S-1", "PARAMCD": "PFS", "AVAL": aval, "CNSR": cnsr, "STARTDT": startdt,
                          "ADT": adt}]}
    forms = ("json-records", "json-records-bytes", "csv", "dataset-json-1.1", "dataset-json-1.0")
    for data in ({name: WRITERS[form](name, rows) for name, rows in records.items()} for form in forms):
        check = Checker()
        try:
            datasets = {name: read_dataset(name, rows) for name, rows in data.items()}
            patients = patients_from_adam(check, datasets, mapping(example_mapping("visits")), cutoff=CUTOFF)
            check.raise_if_any()
        except InvalidInputError as error:
            assert error.problems and all(p.field.startswith("adam/") for p in error.problems)
            continue
        assert len(patients) == 1
        pfs = patients[0]["pfs"]
        assert pfs is None or 0 <= pfs["time_months"] <= MAX_TIME_MONTHS


@pytest.mark.parametrize(("unit", "aval", "ok"), [("years", 100, True), ("years", 100.0001, False),
                                                  ("months", 1200, True), ("months", 1200.5, False),
                                                  ("days", 1e308, False), ("weeks", 1e308, False)])
def test_a_pfs_time_beyond_max_time_months_is_refused_at_its_record(unit, aval, ok):
    spec = mapping({**PFS_ONLY, "pfs": {"paramcd": "PFS", "unit": unit}})
    patients, problems = run({"ADSL": ONE, "ADTTE": adtte(("S-1", aval, 1, None, None))}, spec, cutoff=None)
    if ok:
        assert not problems and patients[0]["pfs"]["time_months"] == MAX_TIME_MONTHS
        return
    assert problems == [("adam/ADTTE/1/AVAL", f"ADTTE row 1 (subject 'S-1'): AVAL {aval}: in {unit}, more than "
                         f"{MAX_TIME_MONTHS:g} months, the longest time a data cut takes")]


# TRTSDT 2024-01-10 to the cut-off 2026-06-30 is 902 days: 903 with the day of origin counted.
@pytest.mark.parametrize(("unit", "aval", "ok"), [("days", 903, True), ("days", 903.5, False), ("days", 904, False),
                                                  ("weeks", 129, True), ("weeks", 129.01, False),
                                                  ("months", 903 / DAYS_PER_MONTH, True), ("months", 29.7, False)])
def test_a_pfs_time_beyond_the_follow_up_to_the_cutoff_plus_one_day_is_refused_at_its_record(unit, aval, ok):
    """days ≤ (cut-off − TRTSDT) + 1: the ADaM +1 convention counts the day of origin, nothing more."""
    spec = mapping({**PFS_ONLY, "pfs": {"paramcd": "PFS", "unit": unit}})
    patients, problems = run({"ADSL": ONE, "ADTTE": adtte(("S-1", aval, 1, None, None))}, spec)
    if ok:
        assert not problems and patients[0]["pfs"]["time_months"] <= 903 / DAYS_PER_MONTH + 1e-9
        return
    (field, reason), = problems
    assert field == "adam/ADTTE/1/AVAL"
    assert reason.startswith(f"ADTTE row 1 (subject 'S-1'): AVAL {aval}: ")
    assert reason.endswith("from treatment start 2024-01-10 reach beyond the cut-off date 2026-06-30: 903 days of "
                           "follow-up at most (the day of origin counted, the ADaM +1 convention)")


def test_follow_up_is_counted_from_trtsdt_even_when_startdt_is_earlier():
    tte = adtte(("S-1", 904, 0, "2024-01-08", "2026-06-29"))
    _, problems = run({"ADSL": ONE, "ADTTE": tte}, mapping(PFS_ONLY))
    assert problems == [("adam/ADTTE/1/AVAL", "ADTTE row 1 (subject 'S-1'): AVAL 904: 904 days from treatment start "
                         "2024-01-10 reach beyond the cut-off date 2026-06-30: 903 days of follow-up at most (the day "
                         "of origin counted, the ADaM +1 convention)")]


# ------------------------------------------------------------------------------------- the lead's calls


def test_a_dataset_the_caller_could_not_read_is_skipped_and_adsl_problems_still_reported():
    """The caller reads each file and passes only those read, with their problems in ``check``: an
    unreadable ADTTE is not reported again as missing, ADSL's problems are reported beside it."""
    check = Checker()
    datasets = read_datasets(check, {"ADSL": adsl(("S-1", None, "Y", "Y")), "ADRS": bor(("S-1", "PR")),
                                     "ADTTE": b"\x00not a file"})
    assert set(datasets) == {"ADSL", "ADRS"}
    assert patients_from_adam(check, datasets, mapping(), cutoff=CUTOFF) == []
    assert [p.field for p in check.problems] == ["adam/ADTTE", "adam/ADSL/1/TRTSDT"]


def test_a_dataset_absent_after_a_problem_in_one_of_its_values_gives_no_patient_and_no_second_problem():
    check = Checker()
    check.add("adam/ADTTE/3/AVAL", "reported by the caller")
    datasets = {"ADSL": read_dataset("ADSL", ONE), "ADRS": read_dataset("ADRS", bor(("S-1", "PR")))}
    assert patients_from_adam(check, datasets, mapping(), cutoff=CUTOFF) == []
    assert [p.field for p in check.problems] == ["adam/ADTTE/3/AVAL"]


def test_without_a_cutoff_every_check_but_the_cutoffs_is_made():
    """A bad cut-off date is reported by the caller, which then maps with cutoff None."""
    tte = adtte(("S-1", 5000, 0, None, "2030-01-01"))
    patients, problems = run({"ADSL": ONE, "ADRS": bor(("S-1", "PR")), "ADTTE": tte}, cutoff=None)
    assert not problems and patients[0]["pfs"] == {"time_months": 5000 / DAYS_PER_MONTH, "event": True}
    _, problems = run({"ADSL": adsl(("S-1", "2024-01-10", "X", "Y")), "ADRS": bor(("S-1", "VGPR")), "ADTTE": tte},
                      cutoff=None)
    assert [field for field, _ in problems] == ["adam/ADSL/1/NF1FL", "adam/ADRS/1/AVALC"]
