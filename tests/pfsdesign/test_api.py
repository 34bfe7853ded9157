"""The PFS design routes over HTTP: answers, every bad field at once, jobs."""

from __future__ import annotations

import pytest

from tests.conftest import assert_problem
from tests.service.test_budget import _poll

OC = "/v1/designs/pfs-operating-characteristics"
CALIBRATE = "/v1/designs/pfs-calibrate"
BODY = {
    "strata": [
        {"name": "NF1", "n_planned": 20, "accrual_per_month": 2.0, "looks": {"by": "evaluable", "patients": [10, 20]}},
        {"name": "sporadic", "n_planned": 15, "accrual_per_month": 1.0, "looks": {"by": "calendar", "months": [6]}},
    ],
    "benchmark_landmark_pfs": 0.15,
    "target_landmark_pfs": 0.35,
    "model": {"kind": "independent-exponential"},
    "n_trials": 1000,
    "seed": 5,
}


def test_operating_characteristics_route(client, in_process_compute):
    r = client.post(OC, json=BODY)
    assert r.status_code == 200, r.text
    result = r.json()
    assert [s["name"] for s in result["scenarios"]] == ["benchmark", "target"]
    benchmark, target = result["scenarios"]
    assert benchmark["laws"]["NF1"]["landmark_pfs"] == pytest.approx(0.15)
    for a, b in zip(benchmark["strata"], target["strata"]):
        assert a["prob_go"] < b["prob_go"]
        assert a["monte_carlo_se"]["prob_go"] > 0
    assert result["provenance"]["engine"] == "closed-form" and "Monte Carlo" in result["provenance"]["method"]
    assert client.post(OC, json=BODY).json() == result  # same request and seed, same numbers


def test_hierarchical_operating_characteristics_route(client, in_process_compute):
    body = BODY | {"model": {"kind": "hierarchical-exponential"}, "n_trials": 200,
                   "scenarios": [{"name": "target", "laws": {"NF1": {"landmark_pfs": 0.35}, "sporadic": {"median_months": 3}}}]}
    r = client.post(OC, json=body)
    assert r.status_code == 200, r.text
    assert r.json()["provenance"]["engine"] == "quadrature"


def test_calibrate_route(client, in_process_compute):
    r = client.post(CALIBRATE, json=BODY | {"target_type_i_error": 0.1})
    assert r.status_code == 200, r.text
    result = r.json()
    assert len(result["curve"]) == 30
    assert result["decision"]["final_threshold"] == result["final_threshold"]
    assert result["comparator"] is None


def test_calibration_answers_the_comparator_it_is_asked_for(client, in_process_compute):
    """The request schema is shared with the OC route: a comparator asked of the calibration is answered,
    not dropped (the log-rank test against the benchmark and target scenarios it simulates)."""
    result = client.post(CALIBRATE, json=BODY | {"comparator": {"alpha": 0.05, "power": 0.8}, "n_trials": 200}).json()
    strata = result["comparator"]["strata"]
    assert [s["name"] for s in strata] == [s["name"] for s in BODY["strata"]]
    assert all(set(s["operating_characteristics"]) == {"benchmark", "target"} for s in strata)
    assert all(s["sample_size"]["n"] > 0 for s in strata)


def test_bad_input_names_every_field_at_once(client):
    body = {
        "strata": [
            {"name": "NF1", "n_planned": 20, "accrual_per_month": 0, "looks": {"by": "calendar", "months": [6, 3]}},
            {"name": "sporadic", "n_planned": 15, "accrual_per_month": 1.0, "looks": {"by": "evaluable", "patients": [5, 10]}},
        ],
        "benchmark_landmark_pfs": 0.15,
        "target_landmark_pfs": 1.2,
        "model": {"kind": "hierarchical-piecewise-exponential"},
        "max_follow_up_months": 2,
        "scenarios": [{"name": "s", "laws": {"NF1": {"kind": "weibull", "shape": 1.2, "median_months": -3},
                                             "Sporadic": {"hazard_per_month": 0.2}}}],
    }
    problem = assert_problem(
        client.post(OC, json=body), 422,
        "strata/0/accrual_per_month", "strata/0/looks/months/1", "strata/1/looks/patients/1", "target_landmark_pfs",
        "model/kind", "max_follow_up_months", "scenarios/0/laws/NF1/median_months", "scenarios/0/laws/Sporadic",
        "scenarios/0/laws/sporadic",
    )
    assert "MCMC" in next(e["reason"] for e in problem["errors"] if e["field"] == "model/kind")


def test_calibration_refuses_thresholds_below_the_futility_bar(client):
    r = client.post(CALIBRATE, json=BODY | {"thresholds": [0.05, 0.9], "target_type_i_error": 0.7})
    assert_problem(r, 422, "thresholds/0", "target_type_i_error")


def test_limits_refuse_more_trials_than_the_server_allows(client, overrides):
    from service.settings import Settings, get_settings

    overrides[get_settings] = lambda: Settings(max_simulated_trials=1000, max_compute_seconds=1.0, sync_compute_seconds=0.5)
    assert_problem(client.post(OC, json=BODY | {"n_trials": 5000}), 422, "n_trials")
    body = BODY | {"model": {"kind": "hierarchical-exponential"}}
    problem = assert_problem(client.post(OC, json=body), 422, "n_trials")
    assert "GONOGO_MAX_COMPUTE_SECONDS" in problem["detail"]
    overrides[get_settings] = lambda: Settings(max_compute_mb=64, sync_compute_mb=64)
    problem = assert_problem(client.post(OC, json=body), 422, "strata")
    assert "GONOGO_MAX_COMPUTE_MB" in problem["detail"]


def test_respond_async_gives_the_synchronous_document_as_the_jobs_result(client, in_process_compute, in_process_jobs):
    now = client.post(OC, json=BODY)
    assert now.status_code == 200, now.text
    r = client.post(OC, json=BODY, headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    assert r.headers["Location"] == f"/v1/jobs/{r.json()['id']}"
    job = _poll(client, r.json()["id"])
    assert job["state"] == "succeeded", job
    assert job["result"] == now.json()
    assert job["request_sha256"] == now.json()["provenance"]["input_sha256"]


def test_the_time_estimate_grows_with_the_strata_sizes_as_measured():
    """2 × 2,000 patients took 4.5–9 times the estimate made for 30-patient strata: the admission estimate
    scales by √(n / 30) (8.2 here), so such a request is neither answered synchronously for minutes nor
    let through as a 45-minute job."""
    from designs.pfsdesign.operating import PFSOCPlan
    from designs.pfsdesign.spec import PFSDesignSpec
    from service.api.pfs_design import estimated_seconds

    def estimate(n):
        strata = [{"name": f"s{i}", "n_planned": n, "accrual_per_month": 5.0, "looks": {"by": "calendar", "months": []}}
                  for i in range(2)]
        return estimated_seconds(PFSOCPlan.build(PFSDesignSpec.from_mapping(BODY | {"strata": strata})))

    assert estimate(2000) / estimate(30) == pytest.approx((2000 / 30) ** 0.5)
    assert estimate(20) == estimate(30)
