"""Assessments checked: study days, and every refusal of the contract reported at once, located and worded."""

from __future__ import annotations

import json

import pytest

from designs.core.errors import InvalidInputError
from designs.endpoints.assessments import date_of_study_day
from designs.endpoints.derive import derive
from tests.endpoints.support import START, derive_one, on, overall, recist, reins, visit, volume


def test_cdisc_study_day_1_is_treatment_start_and_there_is_no_day_0():
    assert date_of_study_day(START, 1) == START
    assert date_of_study_day(START, 57).isoformat() == on(56)
    assert date_of_study_day(START, -1).isoformat() == on(-1)


def test_a_study_day_gives_the_same_result_as_its_date():
    by_date = derive_one(recist(visit(56, 68), visit(84, 60)))
    by_day = derive_one({"treatment_start": START.isoformat(), "baseline": {"day": -7, "target_sum_mm": 100},
                         "visits": [{"day": 57, "target_sum_mm": 68}, {"day": 85, "target_sum_mm": 60}]})
    assert by_day == by_date


def problems(body):
    with pytest.raises(InvalidInputError) as error:
        derive(body)
    found: dict[str, str] = {}
    for p in error.value.problems:
        found[p.field] = f"{found[p.field]} | {p.reason}" if p.field in found else p.reason
    return found


def request(*patients, **derivation):
    return {"derivation": {"criterion": "recist1.1", "endpoint": "objective_response", **derivation},
            "as_of": "2024-12-31", "patients": [{"id": f"P-{i}", "assessments": a} for i, a in enumerate(patients)]}


def test_every_refusal_at_once_in_one_invalid_input_error():
    body = request(
        recist(visit(0, 50), visit(56, -1), visit(56, 60), visit(42, 60)),      # on start, negative, same date, order
        recist(visit(56, 60, volume_ml=10), death_date=on(30), extra=1),        # REiNS field, death before a visit
        {"treatment_start": on(0), "visits": [visit(56, 60)]},                  # no baseline
        recist(visit(400, 60)),                                                 # after as_of
        recist(overall(56, "PR") | {"target_sum_mm": 60}, death_date=on(-3)),  # overall and measurements; death
        sd_min_days=-1, progression_reference="nadir", colour="red",
    )
    body["patients"].append({"id": "P-0", "assessments": recist()})            # duplicate id
    found = problems(body)
    expected = {
        "patients/0/assessments/visits/0/date": "is on treatment start",
        "patients/0/assessments/visits/1/target_sum_mm": "must be a number in [0",
        "patients/0/assessments/visits/2/date": "on the same date as the visit before it",
        "patients/0/assessments/visits/3/date": "is before the visit before it",
        "patients/1/assessments/visits/0/volume_ml": "not a recist1.1 measurement",
        "patients/1/assessments/death_date": "death on 2024-02-09 is before the visit on 2024-03-06",
        "patients/1/assessments/extra": "not a field of the assessments",
        "patients/2/assessments/baseline": "required",
        "patients/3/assessments/visits/0/date": "after the cut-off 2024-12-31",
        "patients/4/assessments/visits/0/overall": "either overall or measurements",
        "patients/4/assessments/death_date": "before treatment start",
        "patients/5/id": "duplicate id",
        "derivation/sd_min_days": "whole number of days",
        "derivation/progression_reference": "REiNS only",
        "derivation/colour": "not a field",
    }
    for where, words in expected.items():
        assert words in found.get(where, ""), (where, found.get(where), sorted(found))
    assert found["patients/0/assessments/visits/2/date"].startswith("patient 'P-0': visit 2 on")


def test_a_reins_visit_with_a_sum_of_diameters_is_refused():
    body = request(reins(volume(56, 50) | {"target_sum_mm": 3}), criterion="reins")
    assert "not a reins measurement" in problems(body)["patients/0/assessments/visits/0/target_sum_mm"]


@pytest.mark.parametrize(("item", "where", "words"), [
    ({"day": 0}, "day", "no day 0"),
    ({"date": on(56), "day": 57}, "date", "exactly one of date and day"),
    ({"date": "2024-02-30"}, "date", "YYYY-MM-DD"),
    ({"date": on(56), "target_sum_mm": 50, "target_cr": False, "non_target": "CR"}, "non_target", "no non-target"),
    ({"date": on(56), "target_sum_mm": 0, "target_cr": False}, "target_cr", "complete response"),
    ({"date": on(56), "target_cr": True}, "target_cr", "needs target_sum_mm"),
    ({"date": on(56), "overall": "GOOD"}, "overall", "must be one of"),
    ({"date": on(56), "new_lesions": "yes"}, "new_lesions", "true or false"),
])
def test_bad_visits_are_located_at_their_field(item, where, words):
    assert words in problems(request(recist(item)))[f"patients/0/assessments/visits/0/{where}"]


def test_a_baseline_with_no_disease_is_refused_and_one_after_start_too():
    body = request({"treatment_start": on(0), "baseline": {"date": on(1), "target_sum_mm": 0}})
    found = problems(body)
    assert "nothing to assess" in found["patients/0/assessments/baseline/target_sum_mm"]
    assert "after treatment start" in found["patients/0/assessments/baseline/date"]


def test_a_reins_baseline_needs_a_volume():
    body = request({"treatment_start": on(0), "baseline": {"date": on(-1)}, "visits": []}, criterion="reins")
    assert "volume_ml above 0" in problems(body)["patients/0/assessments/baseline/volume_ml"]


def test_the_request_itself_is_checked():
    found = problems({"derivation": {"criterion": "who"}, "as_of": "soon", "patients": [], "more": 1})
    assert set(found) >= {"derivation/criterion", "derivation/endpoint", "as_of", "patients", "more"}


def test_visits_that_all_give_overall_need_no_baseline():
    result = derive_one({"treatment_start": on(0), "visits": [overall(56, "PR"), overall(84, "PR")]})
    assert result.best_response == "PR"


def test_a_negative_baseline_volume_is_one_problem():
    body = request({"treatment_start": on(0), "baseline": {"date": on(-1), "volume_ml": -3}}, criterion="reins")
    found = problems(body)["patients/0/assessments/baseline/volume_ml"]
    assert "must be a number in [0" in found and " | " not in found


def test_visits_after_the_off_study_date_are_refused_each_named():
    body = request(recist(visit(56, 80), visit(120, 70), visit(180, 60), off_study_date=on(100)))
    found = problems(body)
    for j, days in ((1, 120), (2, 180)):
        reason = found[f"patients/0/assessments/visits/{j}/date"]
        assert f"patient 'P-0': visit {j} on {on(days)} is after the off-study date {on(100)}" in reason
    assert "patients/0/assessments/visits/0/date" not in found


def test_a_visit_on_the_off_study_date_is_accepted():
    assert derive_one(recist(visit(56, 80), off_study_date=on(56))).status == "final"


@pytest.mark.parametrize(("first", "second"), [(70, 70.0), (0, 0.0), (100, 100.0)])
def test_the_same_numbers_written_as_int_or_float_give_one_document_and_one_result(first, second):
    """70 and 70.0 are one number: the assessments document (hashed in data cuts) and the result agree."""
    def document(size):
        from designs.core.validation import Checker
        from designs.endpoints.assessments import parse_assessments
        from tests.endpoints.support import spec_of
        check = Checker()
        body = recist(visit(56, size), visit(84, 50.0), baseline=100.0 if size == 100 else 100)
        return parse_assessments(check, "a", body, spec_of(), label="patient 'T'", as_of=None).document
    assert document(first) == document(second)
    assert json.dumps(document(first)) == json.dumps(document(second))
    assert json.dumps(document(second)["visits"][1]["target_sum_mm"]) == "50"


@pytest.mark.parametrize("day", [10**9, 2**70, -(2**70), 36_525])
def test_a_huge_study_day_is_a_located_problem_never_an_exception(day):
    body = request({"treatment_start": on(0), "baseline": {"day": -1, "target_sum_mm": 50},
                    "visits": [{"day": day, "target_sum_mm": 40}]})
    assert "patients/0/assessments/visits/0/day" in problems(body)


def test_a_study_day_whose_date_is_after_2199_is_refused_like_a_date():
    """Day 36 000 after a start in 2150 is in 2248: outside 1900–2199, as a date would be."""
    body = {"derivation": {"criterion": "recist1.1", "endpoint": "objective_response"}, "patients": [
        {"id": "P-0", "assessments": {"treatment_start": "2150-01-01", "baseline": {"day": -1, "target_sum_mm": 50},
                                      "visits": [{"day": 36_000, "target_sum_mm": 40}]}}]}
    reason = problems(body)["patients/0/assessments/visits/0/day"]
    assert "between 1900-01-01 and 2199-12-31" in reason and "2248" in reason


def test_every_visit_before_treatment_start_is_named_not_only_the_first():
    found = problems(request(recist(visit(-5, 50), visit(-2, 50), visit(30, 50))))
    assert "before treatment start" in found["patients/0/assessments/visits/0/date"]
    assert "before treatment start" in found["patients/0/assessments/visits/1/date"]


def test_a_checked_assessment_is_the_assessment():
    """``Assessment.checked`` (the fast build of a checked visit) gives what the frozen dataclass gives."""
    import dataclasses
    import datetime as dt

    from designs.endpoints.assessments import Assessment
    fast = Assessment.checked(dt.date(2024, 3, 5), 68, False, None, "NE", True)
    slow = Assessment(dt.date(2024, 3, 5), 68, False, None, "NE", True)
    assert (fast, hash(fast), repr(fast), dataclasses.astuple(fast)) == (slow, hash(slow), repr(slow),
                                                                          dataclasses.astuple(slow))
    with pytest.raises(dataclasses.FrozenInstanceError):
        fast.target_sum_mm = 1  # type: ignore[misc]


def _document(assessments, criterion="recist1.1"):
    from designs.core.validation import Checker
    from designs.endpoints.assessments import parse_assessments
    from tests.endpoints.support import spec_of
    check = Checker()
    parsed = parse_assessments(check, "a", assessments, spec_of(criterion), label="patient 'T'", as_of=None)
    check.raise_if_any()
    return parsed.document


@pytest.mark.parametrize(("build", "criterion", "size"), [
    (recist, "recist1.1", "target_sum_mm"), (reins, "reins", "volume_ml")])
def test_an_omitted_non_target_is_stored_as_read_ne_when_the_baseline_has_non_target_lesions(build, criterion,
                                                                                               size):
    def body(**non_target):
        assessments = build({"date": on(56), size: 68, **non_target}, {"date": on(84), size: 60, **non_target})
        assessments["baseline"]["non_target"] = True
        return assessments
    omitted, explicit = _document(body(), criterion), _document(body(non_target="NE"), criterion)
    assert omitted == explicit and omitted["visits"][0]["non_target"] == "NE"
    assert json.dumps(omitted, sort_keys=True) == json.dumps(explicit, sort_keys=True)  # so one data-cut hash


def test_an_omitted_non_target_stays_null_without_non_target_lesions_at_baseline():
    assert _document(recist(visit(56, 68)))["visits"][0]["non_target"] is None


def test_a_baseline_without_targets_is_stored_one_way_whether_its_sum_is_0_or_omitted():
    visits = ({"date": on(56), "non_target": "CR"},)
    zero, omitted = _document(recist(*visits, baseline=0, non_target=True)), _document(
        recist(*visits, baseline=None, non_target=True))
    assert zero == omitted and zero["baseline"]["target_sum_mm"] is None
    assert derive_one(recist(*visits, baseline=0, non_target=True)) == derive_one(
        recist(*visits, baseline=None, non_target=True))
