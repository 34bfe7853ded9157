"""POST /v1/endpoints/response in process: the documented example, a SARC031-like clinical-benefit cut, and
problem+json naming every bad field (the schema's and the core's at once)."""

from __future__ import annotations

import copy
import datetime as dt

from service.schemas.endpoints import EXAMPLE
from tests.conftest import assert_problem

URL = "/v1/endpoints/response"


def test_the_documented_example_answers_with_the_expected_responders(client):
    response = client.post(URL, json=EXAMPLE)
    assert response.status_code == 200, response.text
    result = response.json()
    assert [(p["id"], p["best_response"], p["responder"], p["status"]) for p in result["patients"]] == [
        ("P-01", "PR", "responder", "final"),
        ("P-02", "SD", "non-responder", "final"),
        ("P-03", "SD", None, "pending"),
        ("P-04", "MISSING", "not-evaluable", "final"),
    ]
    assert result["summary"] == [{"stratum": "sporadic", "n": 4, "responders": 1, "non_responders": 1,
                                  "not_evaluable": 1, "pending": 1, "pfs_events": 3, "pfs_censored": 1}]
    assert result["derivation"]["confirm_min_days"] == 28 and "confirm_min_days" in result["defaults"]
    assert result["time_unit"] == "months = days / 30.4375"
    assert len(result["provenance"]["input_sha256"]) == 64


def _sarc031_patient(pid, sd_day, then_pd):
    start = dt.date(2023, 5, 1)
    day = lambda d: (start + dt.timedelta(days=d)).isoformat()  # noqa: E731
    visits = [{"date": day(56), "volume_ml": 310}, {"date": day(sd_day), "volume_ml": 330}]
    if then_pd:
        visits.append({"date": day(sd_day + 56), "volume_ml": 420})
    return {"id": pid, "stratum": "NF1-associated", "assessments": {
        "treatment_start": start.isoformat(), "baseline": {"date": day(-10), "volume_ml": 300}, "visits": visits}}


def test_sarc031_like_clinical_benefit_needs_sd_at_112_days(client):
    """REiNS, clinical benefit: SD (volume within ±20 % of 300 ml) until day 112 is a responder, until day 111
    (then PD) is not."""
    body = {"derivation": {"criterion": "reins", "endpoint": "clinical_benefit"}, "as_of": "2024-06-01",
            "patients": [_sarc031_patient("S-112", 112, True), _sarc031_patient("S-111", 111, True)]}
    response = client.post(URL, json=body)
    assert response.status_code == 200, response.text
    patients = {p["id"]: p for p in response.json()["patients"]}
    assert (patients["S-112"]["responder"], patients["S-112"]["clinical_benefit"]) == ("responder", True)
    assert (patients["S-111"]["responder"], patients["S-111"]["clinical_benefit"]) == ("non-responder", False)
    assert patients["S-111"]["pfs"]["kind"] == "progression" and patients["S-111"]["pfs"]["time_days"] == 167
    assert "no SD or better at least 112 days after treatment start" in patients["S-111"]["reason"]
    assert response.json()["derivation"]["confirm_min_days"] == 91


def test_bad_input_is_a_422_naming_every_field(client):
    body = copy.deepcopy(EXAMPLE)
    body["derivation"]["sd_min_days"] = "six weeks"                                 # schema
    body["as_of"] = "2024-02-30"                                                    # core: no such date
    body["patients"][0]["assessments"]["visits"][1]["date"] = "2024-03-01"          # core: out of order
    body["patients"][1]["id"] = "P-01"                                              # core: duplicate id
    body["patients"][2]["assessments"]["visits"][0]["target_sum_mm"] = -5           # schema and core
    body["patients"][3]["assessments"]["death_date"] = "2024-02-01"                 # core: before start
    body["patients"][3]["assessments"]["colour"] = "red"                            # schema: unknown field
    problem = assert_problem(
        client.post(URL, json=body), 422,
        "derivation/sd_min_days", "as_of", "patients/0/assessments/visits/1/date", "patients/1/id",
        "patients/2/assessments/visits/0/target_sum_mm", "patients/3/assessments/death_date",
        "patients/3/assessments/colour",
    )
    assert problem["type"] == "/problems/invalid-request"
    assert "patient 'P-01': visit 1 on 2024-03-01 is before the visit before it" in problem["detail"]


def test_core_only_problems_are_a_422_too(client):
    body = copy.deepcopy(EXAMPLE)
    body["patients"][0]["assessments"]["visits"][0]["date"] = "2024-10-01"
    problem = assert_problem(client.post(URL, json=body), 422, "patients/0/assessments/visits/0/date")
    assert "after the cut-off 2024-09-01" in problem["detail"]


def test_numbers_are_strict(client):
    body = copy.deepcopy(EXAMPLE)
    body["patients"][0]["assessments"]["visits"][0]["target_sum_mm"] = "68"
    assert_problem(client.post(URL, json=body), 422, "patients/0/assessments/visits/0/target_sum_mm")


def test_a_response_window_too_short_for_confirmation_is_a_422_naming_the_rule(client):
    body = copy.deepcopy(EXAMPLE)
    body["derivation"]["response_window_days"] = 28
    problem = assert_problem(client.post(URL, json=body), 422, "derivation/response_window_days")
    assert "confirm_min_days" in problem["detail"] and "sd_min_days" in problem["detail"]
