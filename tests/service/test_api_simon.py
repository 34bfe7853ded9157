"""Simon routes over HTTP: shapes, published numbers, field-naming errors."""

from __future__ import annotations

import pytest

from designs.core.provenance import input_hash
from tests.conftest import assert_problem


def _design(d: dict) -> tuple[int, int, int, int]:
    return d["r1"], d["n1"], d["r"], d["n"]


def test_simon_1989_p0_05_p1_25_over_http(client):
    """Simon (1989) Table 1, p0 .05, p1 .25, α .05, β .20: optimal 0/9, 2/17 (EN 12.0, PET .63); minimax 0/12, 2/16."""
    body = client.post("/v1/simon/designs", json={"p0": 0.05, "p1": 0.25, "alpha": 0.05, "beta": 0.2}).json()
    assert _design(body["optimal"]) == (0, 9, 2, 17)
    assert round(body["optimal"]["expected_n_null"], 1) == 12.0
    assert round(body["optimal"]["pet_null"], 2) == 0.63
    assert _design(body["minimax"]) == (0, 12, 2, 16)
    admissible = body["admissible"]
    assert [d["n"] for d in admissible] == sorted(d["n"] for d in admissible)
    assert admissible[0]["q_range"][0] == pytest.approx(0.0) or _design(admissible[0]) == _design(body["minimax"])
    assert {_design(body["optimal"]), _design(body["minimax"])} <= {_design(d) for d in admissible}
    assert body["provenance"]["input_sha256"] and body["provenance"]["software"]["scipy"]


def test_infeasible_search_is_a_422_suggesting_a_larger_nmax(client):
    r = client.post("/v1/simon/designs", json={"p0": 0.2, "p1": 0.25, "nmax": 30})
    body = assert_problem(r, 422)
    assert "nmax" in body["suggestion"]


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("designs", {"p0": 1e-308, "p1": 0.25}, "p0"),
        ("designs", {"p0": 0.05, "p1": 0.9995}, "p1"),
        ("inference", {"r1": 0, "n1": 9, "n": 17, "p0": 5e-324, "responders": 3}, "p0"),
    ],
)
def test_a_response_rate_outside_0_001_to_0_999_is_a_422_naming_it(client, route, body, field):
    """p0 and p1 of a design lie in [0.001, 0.999]; near 0, scipy's binomial overflowed (fuzzing)."""
    assert_problem(client.post(f"/v1/simon/{route}", json=body), 422, field)


def test_evaluate_at_a_near_zero_rate_answers_exactly(client):
    """Fuzzing: p = 1e-300 in /v1/simon/evaluate was an OverflowError; P(promising) of (0, 50, 0, 100) is 50p."""
    response = client.post("/v1/simon/evaluate", json={"r1": 0, "n1": 50, "r": 0, "n": 100, "p": [1e-300, 1e-308]})
    assert response.status_code == 200, response.text
    rows = response.json()["evaluations"]
    assert [row["prob_reject_null"] for row in rows] == [pytest.approx(5e-299, rel=1e-12), pytest.approx(5e-307, rel=1e-12)]


def test_evaluate_sarc031_design_at_several_rates(client):
    """SARC031: stop if 0/7 respond, otherwise continue to 21; exact PET at p = 0.05 is 0.95**7."""
    body = client.post(
        "/v1/simon/evaluate", json={"r1": 0, "n1": 7, "r": 2, "n": 21, "p": [0.05, 0.25]}
    ).json()
    first, second = body["evaluations"]
    assert first["pet"] == pytest.approx(0.95**7, rel=1e-12)
    assert first["expected_n"] == pytest.approx(7 + 14 * (1 - 0.95**7), rel=1e-12)
    assert 0 < first["prob_reject_null"] < second["prob_reject_null"] < 1


def test_evaluate_rejects_inconsistent_designs_naming_the_field(client):
    assert_problem(client.post("/v1/simon/evaluate", json={"r1": 7, "n1": 7, "r": 9, "n": 21, "p": [0.1]}), 422, "n1")
    assert_problem(client.post("/v1/simon/evaluate", json={"r1": 1, "n1": 7, "r": 0, "n": 21, "p": [0.1]}), 422, "r")
    assert_problem(client.post("/v1/simon/evaluate", json={"r1": 0, "n1": 7, "r": 2, "n": 7, "p": [0.1]}), 422, "n")
    assert_problem(client.post("/v1/simon/evaluate", json={"r1": 0, "n1": 7, "r": 2, "n": 21, "p": [1.5]}), 422, "p/0")
    assert_problem(client.post("/v1/simon/evaluate", json={"r1": 0, "n1": 7, "r": 2, "n": 21, "p": []}), 422, "p")


def test_inference_after_a_completed_trial(client):
    body = client.post(
        "/v1/simon/inference", json={"r1": 0, "n1": 7, "n": 21, "p0": 0.05, "responders": 3, "alpha": 0.05}
    ).json()
    lower, upper = body["ci"]
    assert 0 < lower < body["umvue"] < upper < 1
    assert 0 < body["p_value"] < 1


def test_inference_after_stopping_at_stage_one(client):
    body = client.post(
        "/v1/simon/inference", json={"r1": 0, "n1": 7, "n": 7, "p0": 0.05, "responders": 0, "alpha": 0.05}
    ).json()
    assert body["umvue"] == 0.0
    assert body["p_value"] == pytest.approx(1.0)
    assert body["ci"][0] == 0.0


def test_inference_rejects_impossible_outcomes_naming_the_field(client):
    stopped_but_too_many = {"r1": 0, "n1": 7, "n": 7, "p0": 0.05, "responders": 2}
    assert_problem(client.post("/v1/simon/inference", json=stopped_but_too_many), 422, "responders")
    continued_but_too_few = {"r1": 1, "n1": 7, "n": 21, "p0": 0.05, "responders": 1}
    assert_problem(client.post("/v1/simon/inference", json=continued_but_too_few), 422, "responders")
    n_below_n1 = {"r1": 0, "n1": 7, "n": 5, "p0": 0.05, "responders": 0}
    assert_problem(client.post("/v1/simon/inference", json=n_below_n1), 422, "n")
    more_than_n = {"r1": 0, "n1": 7, "n": 21, "p0": 0.05, "responders": 22}
    assert_problem(client.post("/v1/simon/inference", json=more_than_n), 422, "responders")


@pytest.mark.parametrize(
    ("route", "body", "validated"),
    [
        ("designs", {"p0": 0.05, "p1": 0.25}, {"p0": 0.05, "p1": 0.25, "alpha": 0.05, "beta": 0.2, "nmax": 100}),
        ("evaluate", {"r1": 0, "n1": 9, "r": 2, "n": 17, "p": [0.05, 1]}, {"r1": 0, "n1": 9, "r": 2, "n": 17, "p": [0.05, 1.0]}),
        ("inference", {"r1": 0, "n1": 9, "n": 17, "p0": 0.05, "responders": 3},
         {"r1": 0, "n1": 9, "n": 17, "p0": 0.05, "responders": 3, "alpha": 0.05}),
    ],
)
def test_provenance_hashes_the_request_as_validated_defaults_filled_in(client, route, body, validated):
    """The core stamps the result; the hash is that of the request with its defaults, as before the move."""
    provenance = client.post(f"/v1/simon/{route}", json=body).json()["provenance"]
    assert provenance["input_sha256"] == input_hash(validated)
    assert provenance["method"].startswith(("exact binomial enumeration", "UMVUE"))
