"""PFS from assessments: the first PD or death (the earlier), else censored at the last adequate assessment."""

from __future__ import annotations

import pytest

from tests.endpoints.support import derive_one, on, overall, recist, visit

BASE = {"treatment_start": "2024-01-10"}


def pfs(*visits, **more):
    return derive_one({**BASE, "visits": list(visits), **more}).pfs


def test_pfs_event_at_the_first_pd_visit_months_are_days_over_30_4375():
    result = pfs(overall(56, "SD"), overall(112, "PD"), overall(140, "PD"))
    assert result == {"time_days": 112, "time_months": 112 / 30.4375, "event": True, "date": on(112),
                      "kind": "progression", "reason": result["reason"]}
    assert "days / 30.4375" in result["reason"]


def test_pfs_death_before_progression_is_the_event():
    result = pfs(overall(56, "SD"), death_date=on(70))
    assert (result["kind"], result["time_days"], result["event"]) == ("death", 70, True)


def test_pfs_progression_before_death_is_the_event():
    result = pfs(overall(56, "PD"), death_date=on(70))
    assert (result["kind"], result["time_days"]) == ("progression", 56)


def test_pfs_progression_and_death_on_the_same_day_is_progression():
    assert pfs(overall(56, "PD"), death_date=on(56))["kind"] == "progression"


def test_pfs_censored_at_the_last_adequate_assessment_an_ne_visit_does_not_extend_it():
    result = pfs(overall(56, "SD"), overall(112, "PR"), overall(168, "NE"))
    assert (result["kind"], result["event"], result["time_days"], result["date"]) == ("censored", False, 112, on(112))
    assert "NE visit(s) after it do not extend" in result["reason"]


@pytest.mark.parametrize("visits", [[], [overall(56, "NE")]])
def test_pfs_without_an_adequate_post_baseline_assessment_is_censored_at_day_0(visits):
    result = pfs(*visits)
    assert (result["time_days"], result["time_months"], result["event"], result["date"]) == (0, 0.0, False, on(0))


def test_pfs_counts_a_progression_after_the_response_window():
    result = derive_one({**BASE, "visits": [overall(56, "SD"), overall(200, "PD")]}, response_window_days=112)
    assert (result.pfs["kind"], result.pfs["time_days"]) == ("progression", 200)
    assert result.visits[1]["used"] is False


def test_pfs_from_measurements_uses_the_nadir_rule():
    result = derive_one(recist(visit(56, 50), visit(112, 60)))
    assert (result.pfs["kind"], result.pfs["time_days"]) == ("progression", 112)


def test_pfs_follow_up_ends_at_off_study_a_later_death_is_censored_at_the_last_adequate_assessment():
    result = pfs(overall(56, "SD"), overall(112, "SD"), off_study_date=on(120), death_date=on(200))
    assert (result["kind"], result["event"], result["time_days"]) == ("censored", False, 112)
    assert "death on" in result["reason"] and "after the off-study date" in result["reason"]


def test_pfs_a_death_on_the_off_study_date_is_an_event():
    result = pfs(overall(56, "SD"), off_study_date=on(120), death_date=on(120))
    assert (result["kind"], result["event"], result["time_days"]) == ("death", True, 120)
