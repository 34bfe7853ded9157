"""HTTP: /v1/designs/operating-characteristics, /v1/designs/calibrate and /v1/jobs, in process."""

from __future__ import annotations

import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from designs.core.errors import InvalidInputError
from designs.core.provenance import input_hash
from designs.oc.calibration import CalibrationPlan
from service import jobs
from service.deps import get_job_manager
from service.schemas.designs import CalibrationRequest, OperatingCharacteristicsRequest
from service.settings import Settings, get_settings
from tests.conftest import assert_problem

OC = "/v1/designs/operating-characteristics"
CALIBRATE = "/v1/designs/calibrate"
MPNST = {
    "p0": 0.15,
    "p1": 0.35,
    "strata": [{"name": "NF1", "looks": [7, 14, 21]}, {"name": "sporadic", "looks": [7, 14, 21]}],
}
SIMON = {"r1": 1, "n1": 7, "r": 4, "n": 21}



def _poll(client, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status = client.get(f"/v1/jobs/{job_id}")
        assert status.status_code == 200, status.text
        body = status.json()
        if body["state"] in ("succeeded", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


# --------------------------------------------------------------------------------------------------
# Results


def test_independent_model_is_exact_with_simon_beside(client):
    body = {**MPNST, "model": {"kind": "independent"}, "simon": SIMON}
    r = client.post(OC, json=body)
    assert r.status_code == 200, r.text
    result = r.json()
    assert result["method"] == "exact" and result["n_trials"] is None
    assert [s["name"] for s in result["scenarios"]] == ["global null", "global alternative", "only NF1 active", "only sporadic active"]
    for scenario in result["scenarios"]:
        for stratum in scenario["strata"]:
            assert sum(stratum["prob_stop_at_look"]) == pytest.approx(1.0)
            assert len(stratum["n_distribution"]) == 3
            assert stratum["mcse"]["prob_go"] == 0.0
            assert set(stratum["simon"]) == {"prob_reject_null", "pet", "expected_n"}
    # independent strata: nothing to borrow; the Simon design 1/7, 4/21 does not fit p0 0.15 (type I error 0.124)
    assert [w["code"] for w in result["warnings"]] == ["simon-design-misfit"]
    assert result["provenance"]["model"]["kind"] == "independent"
    assert "exact" in result["provenance"]["method"]


def test_hierarchical_simulation_is_seeded_and_reports_borrowing(client):
    body = {**MPNST, "model": {"kind": "hierarchical"}, "n_trials": 2_000, "seed": 7,
            "scenarios": [{"name": "NF1 only", "rates": {"NF1": 0.35, "sporadic": 0.15}}]}
    first = client.post(OC, json=body)
    assert first.status_code == 200, first.text
    result = first.json()
    assert result["method"] == "simulation" and result["seed"] == 7 and result["n_trials"] == 2_000
    assert [s["name"] for s in result["scenarios"]] == ["NF1 only"]
    sporadic = result["scenarios"][0]["strata"][1]
    assert sporadic["type_i_inflation"] == pytest.approx(sporadic["prob_go"] - sporadic["prob_go_global_null"])
    assert result["borrowing"][0]["stratum"] == "sporadic"
    assert result["provenance"]["seed"] == 7 and result["provenance"]["engine"] == "quadrature"
    again = client.post(OC, json=body).json()
    assert again["scenarios"] == result["scenarios"]


def test_seed_defaults_to_one_derived_from_the_request(client):
    body = {**MPNST, "model": {"kind": "hierarchical"}, "n_trials": 500}
    a, b = client.post(OC, json=body).json(), client.post(OC, json=body).json()
    assert a["seed"] == b["seed"] and a["scenarios"] == b["scenarios"]


def test_calibrate_independent_meets_the_target(client):
    body = {**MPNST, "model": {"kind": "independent"}, "target_type_i_error": 0.10,
            "thresholds": [0.80, 0.85, 0.90, 0.95, 0.975]}
    r = client.post(CALIBRATE, json=body)
    assert r.status_code == 200, r.text
    result = r.json()
    chosen = next(c for c in result["candidates"] if c["final_threshold"] == result["final_threshold"])
    assert chosen["feasible"] and chosen["max_type_i_error"] <= 0.10
    assert result["decision"]["final_threshold"] == result["final_threshold"]
    null = result["operating_characteristics"]["scenarios"][0]
    assert max(s["prob_go"] for s in null["strata"]) == pytest.approx(chosen["max_type_i_error"])


def test_calibrate_with_a_posterior_futility_bar_tries_only_the_thresholds_above_it(client):
    """futility_prob_above_p0 = 0.6 with the default candidates (0.50 to 0.995): answered, not refused."""
    body = {**MPNST, "model": {"kind": "independent"}, "target_type_i_error": 0.10,
            "decision": {"futility_prob_above_p0": 0.6}}
    r = client.post(CALIBRATE, json=body)
    assert r.status_code == 200, r.text
    result = r.json()
    assert min(c["final_threshold"] for c in result["candidates"]) > 0.6
    assert [w["code"] for w in result["warnings"]].count("calibration-thresholds-skipped") == 1


def test_calibrate_infeasible_is_a_problem(client):
    body = {**MPNST, "model": {"kind": "independent"}, "target_type_i_error": 0.001, "thresholds": [0.5, 0.6]}
    body = assert_problem(client.post(CALIBRATE, json=body), 422)
    assert body["title"] == "No feasible design" and body["suggestion"]


# --------------------------------------------------------------------------------------------------
# Jobs over HTTP


def test_large_request_is_a_job_with_progress_and_result(client, in_process_jobs):
    body = {**MPNST, "model": {"kind": "independent"}, "method": "simulation", "n_trials": 100_000, "seed": 3}
    r = client.post(OC, json=body)  # 4 scenarios × 100,000 > the 200,000-trial threshold
    assert r.status_code == 202, r.text
    accepted = r.json()
    assert r.headers["location"] == f"/v1/jobs/{accepted['id']}" == accepted["links"]["self"]
    done = _poll(client, accepted["id"])
    assert done["state"] == "succeeded" and done["progress"] == 1.0
    assert done["result"]["method"] == "simulation" and done["result"]["provenance"]["seed"] == 3
    small = client.post(OC, json={**body, "n_trials": 1_000}, headers={"Prefer": "respond-async"})
    assert small.status_code == 202


@pytest.mark.parametrize("route", [OC, CALIBRATE])
def test_a_jobs_stored_request_resubmits_as_is_with_the_same_numbers_and_hash(client, in_process_jobs, route):
    """An interrupted job's ``request`` is what was sent, not the schema's filled-in nulls (a prior of
    the kind's fields plus ``"mu_sd": null`` ...): posted again it gives the job's result, hash included."""
    body = {**MPNST, "model": {"kind": "independent", "prior": {"a": 1, "b": 1}}, "decision": {"efficacy_ppos": None},
            "method": "simulation", "n_trials": 1_000, "seed": 3}
    if route == CALIBRATE:
        body["thresholds"] = [0.9, 0.95]
    r = client.post(route, json=body, headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    job = _poll(client, r.json()["id"])
    assert job["state"] == "succeeded", job
    assert job["request"] == body
    assert job["request_sha256"] == job["result"]["provenance"]["input_sha256"]
    again = client.post(route, json=job["request"])
    assert again.status_code == 200, again.text
    assert again.json() == job["result"]


def test_job_can_be_cancelled_and_unknown_jobs_are_404(client, in_process_jobs):
    body = {**MPNST, "model": {"kind": "independent"}, "method": "simulation", "n_trials": 1_000_000, "seed": 3}
    job_id = client.post(OC, json=body).json()["id"]
    r = client.delete(f"/v1/jobs/{job_id}")
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert_problem(client.delete(f"/v1/jobs/{job_id}"), 409)
    assert_problem(client.get("/v1/jobs/no-such-job"), 404)


def _failed_job_error(client, route: str, body: dict) -> dict:
    r = client.post(route, json=body, headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    done = _poll(client, r.json()["id"])
    assert done["state"] == "failed", done
    return done["error"]


def test_infeasible_calibration_is_the_same_problem_answered_now_or_by_a_job(client, in_process_jobs):
    """One error map: the document of a synchronous 422 is a failed job's ``error``, member for member."""
    body = {**MPNST, "model": {"kind": "independent"}, "target_type_i_error": 0.001, "thresholds": [0.5, 0.6]}
    now = assert_problem(client.post(CALIBRATE, json=body), 422)
    assert now["type"] == "/problems/infeasible-design" and now["suggestion"]
    assert _failed_job_error(client, CALIBRATE, body) == now


def test_invalid_input_inside_a_job_is_the_same_problem_as_answered_now(client, in_process_jobs, in_process_compute,
                                                                        monkeypatch):
    def refuse(self, index):
        raise InvalidInputError("thresholds/0", "refused by the test")

    monkeypatch.setattr(CalibrationPlan, "run_chunk", refuse)
    body = {**MPNST, "model": {"kind": "independent"}, "thresholds": [0.9]}
    now = assert_problem(client.post(CALIBRATE, json=body), 422, "thresholds/0")
    assert now["type"] == "/problems/invalid-request" and now["errors"] == [
        {"field": "thresholds/0", "reason": "refused by the test"}]
    assert _failed_job_error(client, CALIBRATE, body) == now


# --------------------------------------------------------------------------------------------------
# Bad input


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"strata": [{"name": "NF1", "looks": [7, 7, 21]}]}, "strata/0/looks"),
        ({"strata": [{"name": "NF1", "looks": [14, 7]}]}, "strata/0/looks"),
        ({"strata": [{"name": "NF1", "looks": [7, 14, 501]}]}, "strata/0/looks"),
        ({"strata": [{"name": "NF1", "looks": []}]}, "strata/0/looks"),
        ({"scenarios": [{"name": "x", "rates": {"NF1": 1.5, "sporadic": 0.1}}]}, "scenarios/0/rates/NF1"),
        ({"scenarios": [{"name": "x", "rates": {"NF1": -0.1, "sporadic": 0.1}}]}, "scenarios/0/rates/NF1"),
        ({"scenarios": [{"name": "x", "rates": {"NF1": 0.2, "plexiform": 0.1}}]}, "scenarios/0/rates/plexiform"),
        ({"n_trials": 1_000_001}, "n_trials"),
        ({"p1": 0.1}, "p1"),
        # Fuzzing: p0 = 1e-308 overflowed scipy's incomplete beta; a response rate lies in [0.001, 0.999].
        ({"p0": 1e-308}, "p0"),
        ({"p0": 0.0009}, "p0"),
        ({"p1": 0.9995}, "p1"),
        ({"model": {"kind": "independent", "prior": {"mu_sd": 1}}}, "model"),
        ({"decision": {"futility_ppos": 0.5, "efficacy_ppos": 0.4}}, "decision/efficacy_ppos"),
        ({"strata": [{"name": "NF1", "looks": [7]}, {"name": "NF1", "looks": [7]}]}, "strata"),
    ],
)
def test_bad_input_is_a_problem_naming_the_field(client, change, field):
    assert_problem(client.post(OC, json={**MPNST, **change}), 422, field)


def test_missing_stratum_in_a_scenario_is_named(client):
    body = {**MPNST, "scenarios": [{"name": "x", "rates": {"NF1": 0.2}}]}
    assert_problem(client.post(OC, json=body), 422, "scenarios/0/rates")


def test_exact_for_too_many_coupled_outcomes_is_a_problem(client):
    strata = [{"name": f"s{i}", "looks": [10, 20, 40]} for i in range(4)]
    body = {"p0": 0.15, "p1": 0.35, "strata": strata, "model": {"kind": "pooled"}, "method": "exact"}
    assert_problem(client.post(OC, json=body), 422, "method")


class IdleBackend:
    """Runs nothing until cancelled: for checking what becomes a job without computing it."""

    name = "idle"

    def run(self, computation, progress, cancelled):
        while not cancelled():
            time.sleep(0.005)
        raise jobs.Cancelled()

    def close(self):
        pass


def test_decision_tables_too_costly_to_build_are_refused_and_costly_ones_are_jobs(client, overrides):
    strata = [{"name": f"s{i}", "looks": [20, 40]} for i in range(12)]
    body = {"p0": 0.15, "p1": 0.35, "strata": strata, "model": {"kind": "hierarchical"}}
    problem = assert_problem(client.post(OC, json=body), 422, "strata")
    assert "fewer coupled strata" in problem["detail"]
    three = {**MPNST, "strata": [{"name": f"s{i}", "looks": [7, 14, 21]} for i in range(3)], "n_trials": 1_000}
    manager = jobs.JobManager.from_settings(get_settings(), IdleBackend())
    overrides[get_job_manager] = lambda: manager
    try:
        r = client.post(OC, json=three)  # seconds of quadrature: a job, though only 5,000 simulated trials
        assert r.status_code == 202, r.text
        assert client.delete(f"/v1/jobs/{r.json()['id']}").json()["state"] == "cancelled"
    finally:
        manager.close()


def test_calibrate_bad_thresholds_are_named(client):
    assert_problem(client.post(CALIBRATE, json={**MPNST, "thresholds": [0.9, 1.0]}), 422, "thresholds/1")
    assert_problem(client.post(CALIBRATE, json={**MPNST, "target_type_i_error": 0}), 422, "target_type_i_error")


def test_operation_ids_and_tags(client):
    spec = client.get("/openapi.json").json()
    ops = {op["operationId"]: op for item in spec["paths"].values() for op in item.values()}
    for op_id, tag in (("designs-operating-characteristics", "designs"), ("designs-calibrate", "designs"),
                       ("jobs-get", "jobs"), ("jobs-cancel", "jobs")):
        assert ops[op_id]["tags"] == [tag]
    assert "202" in ops["designs-operating-characteristics"]["responses"]


def test_jobs_run_in_a_process_pool_by_default(client):
    """No GONOGO_DASK_SCHEDULER: the manager the app's lifespan opens runs jobs on spawned worker processes."""
    assert isinstance(client.app.state.job_manager.backend, jobs.ProcessPoolBackend)
    body = {**MPNST, "model": {"kind": "hierarchical"}, "n_trials": 2_000, "seed": 9}
    r = client.post(OC, json=body, headers={"Prefer": "respond-async"})
    assert r.status_code == 202
    done = _poll(client, r.json()["id"], timeout=120)
    assert done["state"] == "succeeded" and done["backend"] == "process-pool"
    direct = client.post(OC, json=body).json()
    assert done["result"]["scenarios"] == direct["scenarios"]  # the same numbers in the pool and in process


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)
FUZZ_BASE = {**MPNST, "model": {"kind": "independent"}, "n_trials": 500, "seed": 1, "simon": SIMON,
             "scenarios": [{"name": "a", "rates": {"NF1": 0.2, "sporadic": 0.1}}]}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(sorted(FUZZ_BASE)), value=json_values, route=st.sampled_from([OC, CALIBRATE]))
def test_no_input_produces_a_500(client, in_process_jobs, key, value, route):
    """Any one field replaced by arbitrary JSON: a result, a job or a problem+json 4xx, never a 500."""
    body = {**FUZZ_BASE, key: value}
    if isinstance(body.get("n_trials"), int) and body["n_trials"] > 2_000:
        body["n_trials"] = 2_000  # keep it cheap; limits are tested above
    r = client.post(route, json=body)
    assert r.status_code < 500, (route, body, r.text)
    if r.status_code >= 400:
        assert r.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("route", "schema"), [(OC, OperatingCharacteristicsRequest), (CALIBRATE, CalibrationRequest)])
def test_provenance_hashes_the_request_as_validated(client, route, schema):
    """The core stamps the result from the request the route validated (defaults filled in)."""
    body = {**MPNST, "model": {"kind": "independent"}, "thresholds": [0.9, 0.95]} if route == CALIBRATE else {**MPNST}
    result = client.post(route, json=body).json()
    assert result["provenance"]["input_sha256"] == input_hash(schema.model_validate(body).model_dump(mode="json"))


def test_design_limits_are_reported_with_the_design_problems(client, overrides):
    """GONOGO_MAX_STRATA and GONOGO_MAX_SIMULATED_TRIALS beside a scenario naming an unknown stratum."""
    overrides[get_settings] = lambda: Settings(max_strata=1, max_simulated_trials=5_000, warm_up_models=False)
    body = {**MPNST, "model": {"kind": "independent"}, "n_trials": 10_000,
            "scenarios": [{"name": "a", "rates": {"NF1": 0.2, "zzz": 0.1}}]}
    for route in (OC, CALIBRATE):
        problem = assert_problem(client.post(route, json=body), 422, "strata", "n_trials", "scenarios")
        assert "GONOGO_MAX_SIMULATED_TRIALS" in problem["detail"] and "GONOGO_MAX_STRATA" in problem["detail"]
