"""Service foundation: health, version, problem+json for every kind of bad input, no 500s."""

from __future__ import annotations

import json
import math
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from service.settings import Settings
from tests.conftest import assert_problem
from tests.service import compute_tasks

SIMON = {"p0": 0.05, "p1": 0.25, "alpha": 0.05, "beta": 0.2, "nmax": 40}


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "ok"
    assert r.json()["models"]["state"].startswith("not compiled")  # tests set GONOGO_WARM_UP_MODELS=false


def test_version_names_the_numerical_libraries(client):
    body = client.get("/v1/version").json()
    for name in ("gonogo", "python", "numpy", "scipy", "pymc", "arviz"):
        assert body[name], name


def test_unknown_field_is_named(client):
    r = client.post("/v1/simon/designs", json={**SIMON, "alpah": 0.05})
    body = assert_problem(r, 422, "alpah")
    assert "unknown field" in body["detail"]


def test_nan_and_infinity_are_rejected_with_the_field_named(client):
    for bad in ("NaN", "Infinity", "-Infinity"):
        text = json.dumps(SIMON).replace('"alpha": 0.05', f'"alpha": {bad}')
        r = client.post("/v1/simon/designs", content=text, headers={"content-type": "application/json"})
        assert_problem(r, 422, "alpha")


def test_malformed_json_is_a_problem_not_a_500(client):
    r = client.post("/v1/simon/designs", content="{not json", headers={"content-type": "application/json"})
    assert assert_problem(r, 400)["type"] == "/problems/malformed-json"


def test_out_of_range_probabilities_are_named(client):
    for field, value in (("p0", 0.0), ("p0", 1.0), ("p1", 1.2), ("p0", -0.1)):
        assert_problem(client.post("/v1/simon/designs", json={**SIMON, field: value}), 422, field)


def test_p1_not_above_p0_names_p1(client):
    body = assert_problem(client.post("/v1/simon/designs", json={**SIMON, "p1": 0.05}), 422, "p1")
    assert "greater than p0" in body["detail"]


def test_error_rates_outside_zero_half_are_named(client):
    for field, value in (("alpha", 0.0), ("alpha", 0.51), ("beta", 0.0), ("beta", 0.6)):
        assert_problem(client.post("/v1/simon/designs", json={**SIMON, field: value}), 422, field)


def test_nmax_above_1000_is_named(client):
    body = assert_problem(client.post("/v1/simon/designs", json={**SIMON, "nmax": 1001}), 422, "nmax")
    assert "1000" in body["detail"]


def test_wrong_types_are_named(client):
    assert_problem(client.post("/v1/simon/designs", json={**SIMON, "nmax": "many"}), 422, "nmax")
    assert_problem(client.post("/v1/simon/designs", json=[1, 2]), 422)


def test_a_body_that_is_not_json_gets_415_saying_what_to_send(client):
    """CSV or form data reached the schema as a string ("Input should be a valid dictionary"); now a 415
    problem says to send JSON with its content type (JSON without its content type included, which got
    the same 422). An empty body (curl -d '') is not refused for its type."""
    for kind, data in (("text/csv", "p0,p1\n0.05,0.25"), ("application/x-www-form-urlencoded", "p0=0.05")):
        r = client.post("/v1/simon/designs", content=data, headers={"content-type": kind})
        assert r.status_code == 415 and r.headers["content-type"].startswith("application/problem+json")
        assert "application/json" in r.json()["detail"] and kind in r.json()["detail"]
    import json

    r = client.post("/v1/simon/designs", content=json.dumps(SIMON), headers={"content-type": "application/json; charset=utf-8"})
    assert r.status_code == 200
    r = client.post("/v1/simon/designs", content=json.dumps(SIMON))
    assert r.status_code == 415 and "no content type" in r.json()["detail"]
    empty = client.post("/v1/simon/designs", content="", headers={"content-type": "application/x-www-form-urlencoded"})
    assert empty.status_code == 422  # no body: the schema says what is missing


def test_unknown_route_and_method_are_problems(client):
    r = client.get("/v1/nothing-here")
    assert r.status_code == 404 and r.headers["content-type"].startswith("application/problem+json")
    r = client.get("/v1/simon/designs")
    assert r.status_code == 405 and r.headers["content-type"].startswith("application/problem+json")
    assert r.headers["allow"] == "POST"  # RFC 9110: a 405 names the methods the path takes


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def _mutations(base: dict):
    """Bodies near a valid one: each field replaced by an arbitrary JSON value, or dropped."""
    keys = st.sampled_from(sorted(base))
    replaced = st.tuples(keys, json_values).map(lambda kv: {**base, kv[0]: kv[1]})
    dropped = keys.map(lambda k: {x: v for x, v in base.items() if x != k})
    return replaced | dropped | json_values


def _post_routes(client) -> list[str]:
    spec = client.get("/openapi.json").json()
    return [path for path, item in spec["paths"].items() if "post" in item]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=_mutations(SIMON), route_index=st.integers(0, 100))
def test_no_input_produces_a_500(client, body, route_index):
    """Whatever JSON arrives, the answer is a result or a problem+json 4xx, never a 500."""
    routes = [r for r in _post_routes(client) if r.startswith("/v1/simon")]
    route = routes[route_index % len(routes)]
    if isinstance(body, dict) and isinstance(body.get("nmax"), int) and body["nmax"] > 200:
        body = {**body, "nmax": 200}  # keep the search cheap; limits are tested above
    r = client.post(route, json=body)
    assert r.status_code < 500, (route, body, r.text)
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")
    else:
        assert all(not (isinstance(v, float) and math.isnan(v)) for v in r.json().values())


def test_sampling_failure_is_a_500_problem_with_its_diagnostics(client, in_process_compute, monkeypatch):
    """A ConvergenceError from the PyMC seam answers /problems/sampling-failed, diagnostics included."""
    from designs.core.errors import ConvergenceError
    from designs.response import analysis

    diagnostics = {"converged": False, "stage": "sampling", "error": "the test's sampler broke", "attempt": 0}

    def broken_sampler(*args, **kwargs):
        raise ConvergenceError("MCMC sampling failed for model 'hierarchical': the test's sampler broke", diagnostics)

    monkeypatch.setattr(analysis, "sample_response", broken_sampler)
    body = {"p0": 0.15, "p1": 0.35, "model": {"kind": "hierarchical"}, "engine": "mcmc",
            "strata": [{"name": "NF1", "responders": 2, "n": 7, "n_planned": 21},
                       {"name": "sporadic", "responders": 1, "n": 7, "n_planned": 21}]}
    r = client.post("/v1/analyses/response", json=body)
    assert r.status_code == 500 and r.headers["content-type"].startswith("application/problem+json"), r.text
    problem = r.json()
    assert (problem["type"], problem["title"], problem["status"]) == ("/problems/sampling-failed", "Sampling failed", 500)
    assert "the test's sampler broke" in problem["detail"] and problem["diagnostics"] == diagnostics


# --------------------------------------------------------------------------------------------------
# Settings limits (GONOGO_MAX_STRATA, GONOGO_SIMON_NMAX_LIMIT, GONOGO_MAX_MCMC_DRAWS) at every route they concern

THREE_STRATA = ("NF1", "sporadic", "plexiform")
ANALYSES = {
    "/v1/analyses/response": {
        "p0": 0.15, "p1": 0.35, "model": {"kind": "independent"},
        "strata": [{"name": name, "responders": 1, "n": 7, "n_planned": 21} for name in THREE_STRATA],
    },
    "/v1/analyses/pfs": {
        "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35, "model": {"kind": "independent-exponential"},
        "patients": [{"id": f"{name}-{i}", "stratum": name, "time_months": 2.0 + i, "event": i % 2 == 0}
                     for name in THREE_STRATA for i in range(4)],
        "strata": list(THREE_STRATA),
    },
}
DESIGNS = {
    "/v1/designs/operating-characteristics": {
        "p0": 0.15, "p1": 0.35, "model": {"kind": "independent"},
        "strata": [{"name": name, "looks": [7, 14]} for name in THREE_STRATA],
    },
    "/v1/designs/calibrate": {
        "p0": 0.15, "p1": 0.35, "model": {"kind": "independent"}, "thresholds": [0.9],
        "strata": [{"name": name, "looks": [7, 14]} for name in THREE_STRATA],
    },
}


def _limited(overrides, **limits) -> None:
    from service.settings import Settings, get_settings

    overrides[get_settings] = lambda: Settings(**limits)


@pytest.mark.parametrize("route", [*ANALYSES, *DESIGNS])
def test_max_strata_setting_is_enforced(client, overrides, route):
    body = {**ANALYSES, **DESIGNS}[route]
    assert client.post(route, json=body).status_code == 200  # 3 strata under the default limit of 12
    _limited(overrides, max_strata=2)
    # A PFS request that declares no strata has those its patients name: the problem is theirs.
    field = "patients" if "strata" not in body else "strata"
    problem = assert_problem(client.post(route, json=body), 422, field)
    assert "at most 2 strata (GONOGO_MAX_STRATA)" in problem["detail"] and "asks for 3" in problem["detail"]


@pytest.mark.parametrize("route", list(ANALYSES))
def test_max_mcmc_draws_setting_is_enforced(client, overrides, route):
    body = {**ANALYSES[route], "mcmc": {"draws": 1000}}
    _limited(overrides, max_mcmc_draws=1000)
    assert client.post(route, json=body).status_code == 200  # at the limit
    _limited(overrides, max_mcmc_draws=999)
    problem = assert_problem(client.post(route, json=body), 422, "mcmc/draws")
    assert "at most 999 draws per chain (GONOGO_MAX_MCMC_DRAWS)" in problem["detail"]


def test_simon_nmax_limit_setting_is_enforced(client, overrides):
    _limited(overrides, simon_nmax_limit=40)
    assert client.post("/v1/simon/designs", json=SIMON).status_code == 200  # nmax 40: at the limit
    problem = assert_problem(client.post("/v1/simon/designs", json={**SIMON, "nmax": 41}), 422, "nmax")
    assert "at most 40 (GONOGO_SIMON_NMAX_LIMIT)" in problem["detail"] and "asks for 41" in problem["detail"]


# --------------------------------------------------------------------------------------------------
# /health follows the model warm-up started by the lifespan


def _health_during_start_up(monkeypatch, tmp_path, warm_up) -> tuple[dict, dict]:
    """/health just after start-up and once the compute workers have warmed up, with ``warm_up`` (a
    function of tests/service/compute_tasks.py that waits for a gate file) as the PyMC engine's
    compile step (GONOGO_WARM_UP_MODELS=true through the settings dependency)."""
    from fastapi.testclient import TestClient

    from designs.engines import pymc
    from service.app import create_app
    from service.settings import Settings, get_settings

    gate = tmp_path / "warm-up-may-go"
    monkeypatch.setenv(compute_tasks.GATE, str(gate))
    monkeypatch.setattr(pymc, "warm_up", warm_up)
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(warm_up_models=True, compute_workers=1)
    with TestClient(app) as client:
        during = client.get("/health").json()
        gate.touch()
        deadline = time.monotonic() + 60
        while (after := client.get("/health").json())["models"]["state"] == "compiling":
            assert time.monotonic() < deadline, after
            time.sleep(0.05)
    return during, after


def test_health_reports_compiling_then_ready(monkeypatch, tmp_path):
    during, after = _health_during_start_up(monkeypatch, tmp_path, compute_tasks.gated_warm_up)
    assert during["status"] == "ok" and during["models"] == {"state": "compiling"}
    assert after["status"] == "ok"
    assert after["models"] == {"state": "ready", "compile_seconds": {"hierarchical": 1.23, "exnex": 2.0}}


def test_health_reports_a_failed_compilation_with_its_detail(monkeypatch, tmp_path):
    during, after = _health_during_start_up(monkeypatch, tmp_path, compute_tasks.gated_broken_warm_up)
    assert during["models"] == {"state": "compiling"}
    assert after["status"] == "ok" and after["models"]["state"] == "failed"
    assert "RuntimeError" in after["models"]["detail"] and "no C compiler found" in after["models"]["detail"]


@pytest.mark.parametrize(
    ("variable", "value"),
    [("GONOGO_MAX_STRATA", "13"), ("GONOGO_SIMON_NMAX_LIMIT", "1001"), ("GONOGO_MAX_MCMC_DRAWS", "100001"),
     ("GONOGO_MAX_SIMULATED_TRIALS", "1000001")],
)
def test_a_limit_above_what_the_core_can_do_stops_the_service_at_start_up(monkeypatch, variable, value):
    """A setting may lower a limit, not raise it past the core's: such a value fails at start-up."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValidationError):
        Settings()
