"""Errors that say what to do (issue 14): a JSON syntax error gives its line and column (400), a key
sent twice is refused where it is, types are strict (no quoted numbers, no numbers for booleans, no
booleans for counts), a trailing slash serves the same resource, every problem of a request comes in
one answer naming the deepest field, and the usual slips get a hint: a percentage for a proportion,
a misspelt field name, a stratum name that differs only in case."""

from __future__ import annotations

import json

import pytest

from service.middleware import json_body_problem
from tests.conftest import assert_problem

SIMON = {"p0": 0.05, "p1": 0.25, "alpha": 0.05, "beta": 0.2}
RESPONSE = {"p0": 0.15, "p1": 0.35, "model": {"kind": "independent"},
            "strata": [{"name": "NF1", "n": 7, "responders": 2, "n_planned": 21},
                       {"name": "sporadic", "n": 7, "responders": 1, "n_planned": 21}]}
PFS = {"landmark_months": 4, "benchmark": 0.15, "target": 0.35, "model": {"kind": "independent-exponential"},
       "strata": [{"name": "NF1", "n_planned": 21}],
       "patients": [{"id": "P-1", "stratum": "NF1", "time_months": 3.0, "event": True}]}
JSON = {"content-type": "application/json"}


def _reasons(problem: dict) -> dict[str, str]:
    return {e["field"]: e["reason"] for e in problem["errors"]}


# --------------------------------------------------------------------------------------------------
# JSON itself


def test_a_json_syntax_error_is_a_400_giving_line_and_column(client):
    text = '{\n  "p0": 0.05,\n  "p1": 0.25\n  "alpha": 0.05\n}'
    r = client.post("/v1/simon/designs", content=text, headers=JSON)
    problem = assert_problem(r, 400)
    assert problem["type"] == "/problems/malformed-json"
    assert (problem["line"], problem["column"]) == (4, 3)
    assert "line 4, column 3" in problem["detail"] and "delimiter" in problem["detail"]
    assert "errors" not in problem or all(not e["field"].isdigit() for e in problem["errors"])


def test_a_body_that_is_not_utf8_is_a_400():
    problem = json_body_problem(b'{"name": "\xff"}')
    assert problem is not None and "UTF-8" in str(problem)


def test_a_key_sent_twice_is_refused_where_it_is_every_one_at_once(client):
    text = ('{"p0": 0.15, "p1": 0.35, "p0": 0.2, "strata": [{"name": "NF1", "n": 7, "responders": 2, "n_planned": 21},'
            ' {"name": "sporadic", "n": 7, "n": 8, "responders": 1, "n_planned": 21}]}')
    problem = assert_problem(client.post("/v1/analyses/response", content=text, headers=JSON), 422, "p0", "strata/1/n")
    assert "more than once" in _reasons(problem)["strata/1/n"]


def test_keys_that_repeat_in_different_objects_are_fine():
    assert json_body_problem(json.dumps(RESPONSE).encode()) is None


# --------------------------------------------------------------------------------------------------
# Strict types


@pytest.mark.parametrize(("path", "body", "field", "words"), [
    ("/v1/simon/designs", {**SIMON, "p0": "0.05"}, "p0", "not the string '0.05' (write numbers without quotes)"),
    ("/v1/analyses/pfs", {**PFS, "patients": [{**PFS["patients"][0], "event": "yes"}]}, "patients/0/event",
     "true or false, not the string 'yes'"),
    ("/v1/analyses/pfs", {**PFS, "patients": [{**PFS["patients"][0], "event": 1}]}, "patients/0/event",
     "true or false, not the number 1"),
    ("/v1/analyses/response", {**RESPONSE, "strata": [{**RESPONSE["strata"][0], "responders": False}]},
     "strata/0/responders", "not the boolean false"),
    ("/v1/analyses/response", {**RESPONSE, "strata": [{**RESPONSE["strata"][0], "n": 7.5}]},
     "strata/0/n", "whole number (got 7.5)"),
])
def test_types_are_strict_as_the_schema_says(client, path, body, field, words):
    problem = assert_problem(client.post(path, json=body), 422, field)
    assert words in _reasons(problem)[field]


def test_a_whole_number_written_with_a_zero_fraction_is_an_integer_as_json_schema_says(client, in_process_compute):
    body = {**RESPONSE, "strata": [{**s, "n": float(s["n"]), "n_planned": 21.0} for s in RESPONSE["strata"]]}
    as_floats, as_ints = client.post("/v1/analyses/response", json=body), client.post("/v1/analyses/response", json=RESPONSE)
    assert as_floats.status_code == 200, as_floats.text
    assert as_floats.json()["strata"] == as_ints.json()["strata"]


# --------------------------------------------------------------------------------------------------
# Paths


def test_a_trailing_slash_serves_the_same_resource(client, in_process_compute):
    with_slash, without = client.post("/v1/simon/designs/", json=SIMON), client.post("/v1/simon/designs", json=SIMON)
    assert with_slash.status_code == 200 and without.status_code == 200
    assert with_slash.json()["optimal"] == without.json()["optimal"] == {**with_slash.json()["optimal"], "n1": 9, "n": 17}
    assert client.get("/health/").status_code == 200


# --------------------------------------------------------------------------------------------------
# Every problem at once, where it is, with a hint


def test_every_problem_of_every_layer_comes_in_one_answer_at_the_deepest_field(client):
    body = {"p0": 15, "p1": 0.35, "model": {"kind": "independent", "prior": {"a": 1, "mu_mean": 0}},
            "strata": [{"name": "NF1", "n": 7, "responders": 9, "n_planned": 21},
                       {"name": "sporadic", "n": "7", "responders": 1, "n_planned": 21, "respnders": 2}]}
    problem = assert_problem(client.post("/v1/analyses/response", json=body), 422,
                             "p0", "model/prior/mu_mean", "strata/0/responders", "strata/1/n", "strata/1/respnders")
    reasons = _reasons(problem)
    assert "did you mean 0.15?" in reasons["p0"] and "proportions, not percentages" in reasons["p0"]
    assert "did you mean 'responders'?" in reasons["strata/1/respnders"]
    assert "cannot exceed n" in reasons["strata/0/responders"]
    assert not any("Value error" in r or "Input should" in r for r in reasons.values()), reasons


def test_a_stratum_name_that_differs_only_in_case_gets_a_hint(client):
    body = {"p0": 0.15, "p1": 0.35, "strata": [{"name": "NF1", "looks": [7, 14, 21]}],
            "scenarios": [{"name": "null", "rates": {"nf1": 0.15}}]}
    problem = assert_problem(client.post("/v1/designs/operating-characteristics", json=body), 422,
                             "scenarios/0/rates/nf1")
    assert "did you mean 'NF1'? (names are case-sensitive)" in _reasons(problem)["scenarios/0/rates/nf1"]


def test_no_message_carries_pydantics_value_error_prefix(client):
    problem = assert_problem(client.post("/v1/simon/designs", json={**SIMON, "p1": 0.04}), 422, "p1")
    assert problem["errors"][0]["reason"].startswith("p1 must be greater than p0")


def test_a_number_of_more_digits_than_python_reads_is_a_400_not_a_500(client):
    text = '{"p0": ' + "1" * 5000 + "}"
    assert assert_problem(client.post("/v1/simon/designs", content=text, headers=JSON), 400)["type"] == \
        "/problems/malformed-json"


def test_deep_nesting_with_a_repeated_key_is_a_problem_not_a_500(client):
    """Read twice (the second time to locate the key): where the stack cannot take the depth, a 400
    saying so; where it can, the 422 naming the key. Never a 500."""
    text = '{"a":' * 990 + '{"x": 1, "x": 2}' + "}" * 990
    response = client.post("/v1/simon/designs", content=text, headers=JSON)
    assert response.status_code in (400, 422), response.status_code
    assert response.headers["content-type"] == "application/problem+json"


def test_a_whole_number_with_a_zero_fraction_is_not_blamed_when_another_field_is_wrong(client):
    body = {**RESPONSE, "seed": "1", "strata": [{**s, "n": 7.0, "n_planned": 21.0} for s in RESPONSE["strata"]]}
    problem = assert_problem(client.post("/v1/analyses/response", json=body), 422, "seed")
    assert [e["field"] for e in problem["errors"]] == ["seed"]


def test_behind_a_root_path_uploads_trailing_slashes_and_allow_read_the_routes_path(client, in_process_compute):
    """uvicorn --root-path /gonogo keeps the prefix in the request's path: the middleware and the 405's
    Allow read the path the routes see."""
    from fastapi.testclient import TestClient

    mounted = TestClient(client.app, root_path="/gonogo")
    upload = mounted.post("/gonogo/v1/trials/sarc031/data-cuts", files={"ADSL": ("adsl.csv", b"USUBJID\n1\n")},
                          data={"cutoff_date": "2026-06-30"})
    assert upload.status_code == 401  # the token is missing: not a 415 "send JSON"
    slash = mounted.post("/gonogo/v1/simon/designs/", json=SIMON)
    assert slash.status_code == 200 and slash.json()["optimal"]["n"] == 17
    wrong = mounted.put("/gonogo/v1/jobs/abc")
    assert wrong.status_code == 405 and wrong.headers["allow"] == "DELETE, GET, HEAD"


def test_a_query_parameter_no_route_reads_is_refused_but_health_takes_any(client):
    problem = assert_problem(client.post("/v1/simon/designs?alpah=0.1", json=SIMON), 422, "query/alpah")
    assert "this route takes none" in problem["errors"][0]["reason"]
    assert client.get("/health?_=1700000000").status_code == 200  # a load balancer's cache-buster


def test_head_answers_wherever_get_does_with_no_body(client):
    head, get = client.head("/health"), client.get("/health")
    assert head.status_code == get.status_code == 200 and head.content == b""
    assert head.headers["content-type"] == get.headers["content-type"]
    assert client.head("/v1/simon/designs").status_code == 405
