"""HTTP: POST /v1/designs/boundaries (computed on threads of the test process: the pool is tested in
tests/service/test_compute_pool.py, and the OC routes send it designs of the same kind)."""

from __future__ import annotations

from designs.core.provenance import input_hash
from service.schemas.boundaries import BoundariesRequest
from tests.conftest import assert_problem

ROUTE = "/v1/designs/boundaries"
MPNST = {
    "p0": 0.15,
    "p1": 0.35,
    "strata": [{"name": "NF1", "looks": [7, 14, 21]}, {"name": "sporadic", "looks": [7, 14, 21]}],
}


def test_hierarchical_table_with_two_way_provenance_and_same_bytes(client, in_process_compute):
    body = {**MPNST, "simon": {"r1": 0, "n1": 7, "r": 2, "n": 21}}
    first = client.post(ROUTE, json=body)
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["method"] == "quadrature" and result["model"]["kind"] == "hierarchical"
    nf1 = result["strata"][0]
    assert nf1["coupled"] and len(nf1["two_way"]) == 3 and len(nf1["two_way"][0]["rows"]) == 8
    final = nf1["looks"][2]
    assert final["final"] and final["conditional_on"] == {"sporadic": 3}
    assert final["go_min"] == final["no_go_max"] + 1 and "continue" in final
    assert final["at_boundaries"]["go_min"]["prob_above_p0"] > 0.95 >= final["at_boundaries"]["no_go_max"]["prob_above_p0"]
    assert nf1["simon"]["looks"][1]["go_min"] == 3
    assert result["conditioning"]["counts"] == {"NF1": [1, 2, 3], "sporadic": [1, 2, 3]}
    sent = client.post(ROUTE, json=body)  # same request, same bytes
    assert sent.content == first.content
    assert result["provenance"]["input_sha256"] == input_hash(BoundariesRequest.model_validate(body).model_dump(mode="json"))
    assert result["provenance"]["software"]["gonogo"]


def test_independent_table_is_closed_form_without_conditioning(client, in_process_compute):
    r = client.post(ROUTE, json={**MPNST, "model": {"kind": "independent"}, "decision": {"final_threshold": 0.9}})
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["method"] == "closed-form" and result["conditioning"] is None
    assert all(s["two_way"] is None and s["looks"][0]["conditional_on"] is None for s in result["strata"])


def test_every_bad_field_is_named_at_once(client):
    body = {
        **MPNST,
        "model": {"kind": "hierarchical", "prior": {"a": 1}},
        "conditional": {"ghost": [1, 2, 3], "NF1": [1, 2], "sporadic": [1, 9, 3]},
    }
    problem = assert_problem(client.post(ROUTE, json=body), 422, "model/prior/a", "conditional/ghost", "conditional/NF1",
                             "conditional/sporadic/1", "conditional/sporadic/2")
    assert len(problem["errors"]) == 5


def test_counts_above_n_and_tables_beyond_the_enumeration_limit_are_refused(client):
    too_big = {"p0": 0.2, "p1": 0.4, "strata": [{"name": n, "looks": [50, 100]} for n in "ABC"]}
    problem = assert_problem(client.post(ROUTE, json=too_big), 422, "strata")
    assert "limit" in problem["errors"][0]["reason"]
    assert_problem(client.post(ROUTE, json={**MPNST, "conditional": {"NF1": [8, 9, 10]}}), 422, "conditional/NF1/0")


def test_schema_refuses_unknown_fields_and_bad_looks(client):
    body = {**MPNST, "n_trials": 100, "strata": [{"name": "NF1", "looks": [7, 7]}]}
    assert_problem(client.post(ROUTE, json=body), 422, "n_trials", "strata/0/looks")


def test_two_way_tables_likely_to_outlast_the_request_timeout_are_refused_before_computing(client):
    body = {"p0": 0.15, "p1": 0.35, "strata": [{"name": n, "looks": [150, 300]} for n in ("A", "B")]}
    problem = assert_problem(client.post(ROUTE, json=body), 422, "strata")
    assert "GONOGO_REQUEST_TIMEOUT_S" in problem["errors"][0]["reason"]
