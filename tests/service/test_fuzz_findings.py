"""Regressions found by the fuzz test (tests/service/test_fuzz.py): each a request that once got a 500,
a body off its documented schema, or a 4xx that was not a complete problem document."""

from __future__ import annotations

from tests.conftest import assert_problem

SIMON = {"p0": 0.05, "p1": 0.25, "alpha": 0.05, "beta": 0.2, "nmax": 60}


def test_a_field_with_an_empty_name_is_named_by_the_object_holding_it(client):
    r = client.post("/v1/simon/designs", json={**SIMON, "": []})
    body = assert_problem(r, 422, "body")
    assert all(e["field"] for e in body["errors"]), body
    assert "empty name" in body["detail"]


def _refs(node):
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_every_ref_of_the_openapi_document_resolves_the_problem_schema_included(client):
    document = client.get("/openapi.json").json()
    components = document["components"]["schemas"]
    refs = set(_refs(document))
    assert "#/components/schemas/FieldError" in refs
    unresolved = [ref for ref in refs if not (ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in components)]
    assert not unresolved
    assert "$defs" not in components["Problem"]


def test_a_follow_up_time_beyond_a_century_is_refused_naming_the_patient_not_a_500(client):
    patients = [{"id": f"P{i}", "stratum": "A", "time_months": t, "event": i == 0}
                for i, t in enumerate((1e308, 1.7e308, 5.0))]
    for kind, engine in (("independent-exponential", None), ("hierarchical-exponential", "quadrature")):
        body = {"patients": patients, "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35, "model": {"kind": kind}}
        if engine:
            body["engine"] = engine
        problem = assert_problem(client.post("/v1/analyses/pfs", json=body), 422,
                                 "patients/0/time_months", "patients/1/time_months")
        assert "patients/2/time_months" not in {e["field"] for e in problem["errors"]}
        assert "'P0'" in problem["detail"]


def test_a_beta_prior_below_a_thousandth_is_refused_not_a_500(client):
    body = {"p0": 0.15, "p1": 0.35, "strata": [{"name": "A", "n": 0, "responders": 0, "n_planned": 1}],
            "model": {"kind": "pooled", "prior": {"a": 5e-324, "b": 5e-324}}}
    assert_problem(client.post("/v1/analyses/response", json=body), 422, "model/prior/a", "model/prior/b")
    body["model"]["prior"] = {"a": 1e-3, "b": 1e-3}
    assert client.post("/v1/analyses/response", json=body).status_code == 200


def test_a_gamma_prior_below_a_thousandth_is_refused(client):
    body = {"patients": [{"id": 1, "stratum": "A", "time_months": 2.0, "event": True}], "benchmark_landmark_pfs": 0.15,
            "target_landmark_pfs": 0.35, "model": {"kind": "independent-exponential", "prior": {"shape": 1e-300, "rate": 1e-300}}}
    assert_problem(client.post("/v1/analyses/pfs", json=body), 422, "model/prior/shape", "model/prior/rate")


def test_a_landmark_nearer_zero_than_three_days_is_refused_not_a_500(client):
    body = {"patients": [{"id": 1, "stratum": "A", "time_months": 0.0, "event": False}], "benchmark_landmark_pfs": 0.15,
            "target_landmark_pfs": 0.35, "landmark_months": 5e-324, "engine": "quadrature"}
    assert_problem(client.post("/v1/analyses/pfs", json=body), 422, "landmark_months")
    body["landmark_months"] = 0.1
    assert client.post("/v1/analyses/pfs", json=body).status_code == 200


def test_an_unknown_field_with_an_empty_name_inside_a_stratum_is_located_at_the_stratum(client):
    body = {"p0": 0.15, "p1": 0.35, "engine": "quadrature",
            "strata": [{"name": "A", "n": 1, "responders": 0, "n_planned": 2, "": 1}]}
    problem = assert_problem(client.post("/v1/analyses/response", json=body), 422, "strata/0")
    assert [e["field"] for e in problem["errors"]] == ["strata/0"]
