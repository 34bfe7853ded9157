"""The compute budget at the boundary (service/budget.py): answer now, start a job, or refuse with the
fields to change — for the response and PFS analyses, as for the designs."""

from __future__ import annotations

import copy
import re
import time
from types import SimpleNamespace

import pytest

from service.deps import get_job_manager
from service.settings import Settings, get_settings
from tests.conftest import assert_problem

RESPONSE = "/v1/analyses/response"
PFS = "/v1/analyses/pfs"
BODY = {
    "p0": 0.15, "p1": 0.35,
    "strata": [{"name": "NF1-associated", "n": 10, "responders": 3, "n_planned": 21},
               {"name": "sporadic", "n": 10, "responders": 1, "n_planned": 21}],
    "model": {"kind": "hierarchical"}, "engine": "quadrature", "seed": 7,
}
# The issue's extremes: MCMC with 100,000 draws and warm-up on 8 chains, and quadrature with every
# prior scale at its largest and 200 planned patients in each of 3 strata.
MCMC_EXTREME = {**BODY, "engine": "mcmc", "mcmc": {"draws": 100_000, "tune": 100_000, "chains": 8}}
QUADRATURE_EXTREME = {
    **BODY,
    "strata": [{"name": f"s{k}", "n": 20, "responders": 5, "n_planned": 200} for k in range(3)],
    "model": {"kind": "hierarchical", "prior": {"mu_sd": 10, "tau_scale": 10}},
}
PFS_BODY = {
    "patients": [{"id": f"p{i}", "stratum": "NF1" if i % 2 else "sporadic", "time_months": 1.0 + i % 7,
                  "event": i % 3 == 0} for i in range(30)],
    "strata": [{"name": "NF1", "n_planned": 21}, {"name": "sporadic", "n_planned": 21}],
    "landmark_months": 4, "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35,
    "model": {"kind": "hierarchical-exponential"}, "engine": "quadrature", "seed": 3,
}


class RecordingJobs:
    """A job manager that records submissions and runs nothing."""

    def __init__(self):
        self.submitted = []

    def submit(self, kind, computation, finish=None, request=None, request_sha256=None):
        self.submitted.append(SimpleNamespace(kind=kind, computation=computation, request=request, sha=request_sha256))
        return SimpleNamespace(id=f"job{len(self.submitted)}", state="queued", progress=0.0)


@pytest.fixture
def recorded(overrides):
    manager = RecordingJobs()
    overrides[get_job_manager] = lambda: manager
    return manager



def _settings(**changes) -> Settings:
    return Settings(warm_up_models=False, **changes)


def _poll(client, job_id: str, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/v1/jobs/{job_id}").json()
        if body["state"] in ("succeeded", "failed", "cancelled"):
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.05)


def test_the_mcmc_extreme_of_the_issue_is_a_job_within_the_default_budget(client, recorded):
    """100,000 draws and warm-up on 8 chains: minutes, not seconds, but within the default memory
    (the predictive reweighting no longer holds futures × draws): a job, never a synchronous answer."""
    r = client.post(RESPONSE, json=MCMC_EXTREME)
    assert r.status_code == 202, r.text
    assert r.headers["location"] == f"/v1/jobs/{r.json()['id']}"
    (job,) = recorded.submitted
    assert job.kind == "response-analysis" and job.request == MCMC_EXTREME


def test_above_the_hard_budget_the_problem_says_which_field_to_change_and_to_what(client, overrides, recorded):
    overrides[get_settings] = lambda: _settings(max_compute_seconds=60, sync_compute_seconds=5)
    problem = assert_problem(client.post(RESPONSE, json=MCMC_EXTREME), 422, "mcmc/draws", "mcmc/chains")
    reason = next(e["reason"] for e in problem["errors"] if e["field"] == "mcmc/draws")
    assert "with 8 chains and 2 strata at most" in reason and "GONOGO_MAX_COMPUTE_SECONDS" in reason
    assert "the request asks for 100,000" in reason
    most = int(re.search(r"at most ([\d,]+) draws", reason).group(1).replace(",", ""))
    assert 100 <= most < 100_000
    # Just under the budget: accepted (as a job: above the synchronous budget).
    fitting = copy.deepcopy(MCMC_EXTREME)
    fitting["mcmc"]["draws"] = most
    assert client.post(RESPONSE, json=fitting).status_code == 202
    fitting["mcmc"]["draws"] = most + max(most // 50, 1)
    assert_problem(client.post(RESPONSE, json=fitting), 422, "mcmc/draws")
    assert len(recorded.submitted) == 1


def test_the_quadrature_extreme_is_refused_naming_the_prior_scales_and_planned_patients(client, recorded):
    problem = assert_problem(client.post(RESPONSE, json=QUADRATURE_EXTREME), 422,
                             "model/prior/mu_sd", "strata/n_planned")
    reason = next(e["reason"] for e in problem["errors"] if e["field"] == "model/prior/mu_sd")
    assert "GONOGO_MAX_COMPUTE_MB" in reason and "the request asks for 10" in reason
    most = float(re.search(r"at most ([\d.e+-]+) fits", reason).group(1))
    assert 0.1 < most < 10
    fitting = copy.deepcopy(QUADRATURE_EXTREME)
    fitting["model"]["prior"]["mu_sd"] = most * 0.99
    assert client.post(RESPONSE, json=fitting).status_code == 202
    assert recorded.submitted[0].kind == "response-analysis"


def test_budget_problems_come_with_the_requests_other_problems(client, overrides, recorded):
    overrides[get_settings] = lambda: _settings(max_compute_seconds=60, sync_compute_seconds=5, max_mcmc_draws=50_000)
    body = copy.deepcopy(MCMC_EXTREME)
    body["mcmc"]["draws"] = 60_000
    problem = assert_problem(client.post(RESPONSE, json=body), 422, "mcmc/draws", "mcmc/chains")
    assert "GONOGO_MAX_MCMC_DRAWS" in problem["detail"]


def test_above_the_synchronous_budget_an_analysis_is_a_job(client, overrides, recorded):
    overrides[get_settings] = lambda: _settings(sync_compute_seconds=1e-6)
    assert client.post(RESPONSE, json=BODY).status_code == 202
    assert client.post(PFS, json=PFS_BODY).status_code == 202
    assert [j.kind for j in recorded.submitted] == ["response-analysis", "pfs-analysis"]


@pytest.mark.parametrize(("route", "body"), [(RESPONSE, BODY), (PFS, PFS_BODY)])
def test_respond_async_gives_the_synchronous_document_as_the_jobs_result(client, in_process_jobs, route, body):
    now = client.post(route, json=body)
    assert now.status_code == 200, now.text
    r = client.post(route, json=body, headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    job = _poll(client, r.json()["id"])
    assert job["state"] == "succeeded", job
    assert job["result"] == now.json()
    assert job["request"] == body
    assert job["request_sha256"] == now.json()["provenance"]["input_sha256"]


def test_the_analyses_document_their_202_job(client):
    ops = {op["operationId"]: op for item in client.get("/openapi.json").json()["paths"].values() for op in item.values()}
    for name in ("analyses-response", "analyses-pfs"):
        assert "202" in ops[name]["responses"], name


def test_a_synchronous_budget_above_the_hard_one_stops_the_service_at_start_up():
    with pytest.raises(ValueError):
        Settings(sync_compute_seconds=700, max_compute_seconds=600)


def test_an_analysis_job_travels_to_a_process_pool_worker_and_gives_the_same_numbers():
    """The pool pickles the computation: the unpickled one gives the analysis's document."""
    import pickle

    from designs.response.analysis import analyse_response
    from designs.response.spec import ResponseAnalysisSpec
    from designs.core.memory import CACHES
    from service.budget import AnalysisComputation

    spec = ResponseAnalysisSpec.from_mapping(BODY)
    computation = pickle.loads(pickle.dumps(AnalysisComputation(analyse_response, spec, CACHES.total_bytes)))
    prepared = computation.prepare()
    assert prepared.chunks == [0]
    assert prepared.reduce([(0, prepared.run_chunk(0))]) == analyse_response(spec)


def test_a_pfs_mcmc_request_beyond_the_budget_names_its_sampler_fields(client, overrides, recorded):
    overrides[get_settings] = lambda: _settings(max_compute_seconds=30, sync_compute_seconds=5)
    body = {**PFS_BODY, "engine": "mcmc", "model": {"kind": "hierarchical-weibull"},
            "mcmc": {"draws": 100_000, "tune": 1_000, "chains": 8}}
    problem = assert_problem(client.post(PFS, json=body), 422, "mcmc/draws")
    reason = next(e["reason"] for e in problem["errors"] if e["field"] == "mcmc/draws")
    most = int(re.search(r"at most ([\d,]+) draws", reason).group(1).replace(",", ""))
    body["mcmc"]["draws"] = most
    assert client.post(PFS, json=body).status_code == 202
    assert recorded.submitted[0].kind == "pfs-analysis"
