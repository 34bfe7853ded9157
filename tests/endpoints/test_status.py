"""Pending or final: what is awaited, and when a patient's responder can no longer change."""

from __future__ import annotations

from tests.endpoints.support import derive_one, on, overall, recist, visit

BASE = {"treatment_start": "2024-01-10"}


def patient(*visits, as_of=None, **settings):
    more = {k: settings.pop(k) for k in ("death_date", "off_study_date") if k in settings}
    return derive_one({**BASE, "visits": list(visits), **more}, as_of=as_of, **settings)


def test_an_unconfirmed_pr_at_the_last_visit_is_pending_and_says_from_when_confirmation_may_come():
    result = patient(overall(56, "SD"), overall(84, "PR"))
    assert (result.status, result.responder, result.best_response) == ("pending", None, "SD")
    assert f"PR on {on(84)} awaits confirmation from {on(112)}" in result.reason


def test_a_confirmation_window_that_has_closed_is_not_awaited():
    result = patient(overall(56, "PR"), as_of=on(300), criterion="recist1.1", confirm_max_days=100)
    assert result.status == "pending" and "awaits confirmation" not in result.reason
    assert "awaits a CR or PR" in result.reason


def test_off_study_makes_it_final():
    result = patient(overall(56, "PR"), off_study_date=on(70))
    assert (result.status, result.responder) == ("final", "non-responder")
    assert f"off study on {on(70)}" in result.reason


def test_death_makes_it_final_and_without_assessments_not_evaluable():
    result = patient(death_date=on(20))
    assert (result.status, result.responder, result.best_response) == ("final", "not-evaluable", "MISSING")


def test_a_final_ne_best_response_is_not_evaluable():
    result = patient(overall(30, "NE"), overall(60, "PD"))
    assert (result.best_response, result.responder) == ("PD", "non-responder")
    result = patient(overall(30, "SD"), death_date=on(35))
    assert (result.best_response, result.responder) == ("NE", "not-evaluable")


def test_the_response_window_is_final_once_as_of_reaches_its_last_day():
    settings = {"response_window_days": 112}
    assert patient(overall(56, "SD"), as_of=on(111), **settings).status == "pending"
    final = patient(overall(56, "SD"), as_of=on(112), **settings)
    assert (final.status, final.responder) == ("final", "non-responder")
    assert "response window of 112 days ended" in final.reason


def test_without_as_of_the_response_window_never_closes():
    assert patient(overall(56, "SD"), response_window_days=112).status == "pending"


def test_a_responder_is_final_at_once():
    result = patient(overall(56, "CR"), overall(84, "CR"))
    assert (result.status, result.responder, result.confirmed) == ("final", "responder", True)


def test_clinical_benefit_pending_says_from_when_sd_counts():
    result = patient(overall(56, "SD"), endpoint="clinical_benefit")
    assert result.status == "pending" and f"SD or better on or after {on(112)}" in result.reason


def test_a_clinical_benefit_responder_after_progression_stays_one():
    result = patient(overall(56, "SD"), overall(112, "SD"), overall(168, "PD"), endpoint="clinical_benefit")
    assert (result.responder, result.objective_response, result.best_response) == ("responder", False, "SD")


def test_a_death_after_the_off_study_date_leaves_the_status_final_because_off_study():
    result = derive_one(recist(visit(56, 90), off_study_date=on(100), death_date=on(200)))
    assert result.status == "final" and "final: off study on" in result.reason
