"""GET /v1/qualification: an admin token only (other roles 403, none 401); the first request a 202 job
whose result is the report, kept in the data directory and answered at once (200) afterwards, for the
same version; ``?rerun=true`` runs it again; a kept report that no longer verifies is not served."""

from __future__ import annotations

import json
import time

import pytest
from fastapi.testclient import TestClient

from designs.qualification import cases as case_module
from designs.qualification import verify_report
from designs.qualification.cases import FREIREICH_6MP, LEE_LIU_2008
from service import auth, jobs
from service.api.qualification import report_path
from service.app import create_app
from service.deps import get_job_manager
from service.settings import get_settings
from tests.conftest import assert_problem


@pytest.fixture
def served(tmp_path, monkeypatch):
    """(client of an app on its own data directory, its jobs run in this process; tokens by role)."""
    monkeypatch.setattr(case_module, "CASES", (LEE_LIU_2008, FREIREICH_6MP))  # the machinery, in milliseconds
    settings = get_settings().model_copy(update={"data_dir": tmp_path, "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}"})
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    manager = jobs.JobManager.from_settings(settings, jobs.InProcessBackend())
    app.dependency_overrides[get_job_manager] = lambda: manager
    with TestClient(app) as client:
        tokens = {r: auth.create_token(client.app.state.database, name=f"{r}-token", role=r, trials=[], actor="test")[1]
                  for r in ("admin", "statistician", "dmc", "sponsor")}
        yield client, tokens, settings
    manager.close()


def _as(tokens, who):
    return {"Authorization": f"Bearer {tokens[who]}"}


def _finished(client, job_url: str) -> dict:
    for _ in range(200):
        status = client.get(job_url).json()
        if status["state"] not in ("queued", "running"):
            return status
        time.sleep(0.05)
    raise AssertionError(f"the job at {job_url} did not finish")


def test_without_a_token_401(served):
    client, _, _ = served
    response = client.get("/v1/qualification")
    assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("who", ["statistician", "dmc", "sponsor"])
def test_other_roles_than_admin_403(served, who):
    client, tokens, _ = served
    assert_problem(client.get("/v1/qualification", headers=_as(tokens, who)), 403)


def test_admin_gets_a_job_whose_result_is_the_report_then_the_kept_report_at_once(served):
    client, tokens, settings = served
    first = client.get("/v1/qualification", headers=_as(tokens, "admin"))
    assert first.status_code == 202, first.text
    assert first.json()["kind"] == "qualification" and first.headers["location"] == first.json()["links"]["self"]
    status = _finished(client, first.headers["location"])
    assert status["state"] == "succeeded", status
    report = status["result"]
    assert verify_report(report) and report["passed"]
    assert [c["id"] for c in report["cases"]] == [LEE_LIU_2008.id, FREIREICH_6MP.id]
    assert json.loads(report_path(settings.data_dir).read_text(encoding="utf-8")) == report

    again = client.get("/v1/qualification", headers=_as(tokens, "admin"))
    assert again.status_code == 200 and again.json() == report and verify_report(again.json())

    rerun = client.get("/v1/qualification", params={"rerun": "true"}, headers=_as(tokens, "admin"))
    assert rerun.status_code == 202
    assert _finished(client, rerun.headers["location"])["result"]["started_at"] >= report["started_at"]


def test_a_kept_report_altered_is_not_served_the_qualification_runs_again(served):
    client, tokens, settings = served
    first = client.get("/v1/qualification", headers=_as(tokens, "admin"))
    report = _finished(client, first.headers["location"])["result"]
    path = report_path(settings.data_dir)
    path.write_text(path.read_text(encoding="utf-8").replace('"passed": false', '"passed": true', 1)
                    .replace(str(report["counts"]["checks"]), str(report["counts"]["checks"] + 1), 1), encoding="utf-8")
    assert not verify_report(json.loads(path.read_text(encoding="utf-8")))
    assert client.get("/v1/qualification", headers=_as(tokens, "admin")).status_code == 202


def test_an_unknown_query_parameter_is_refused(served):
    client, tokens, _ = served
    assert_problem(client.get("/v1/qualification", params={"rerunn": "true"}, headers=_as(tokens, "admin")), 422)


def test_while_a_run_is_under_way_requests_answer_its_job_rather_than_start_another(served, monkeypatch):
    import dataclasses
    import threading

    client, tokens, _ = served
    release = threading.Event()

    def slow():
        release.wait(10)
        return {"PP(16 of 23, Nmax 40)": 0.5656}

    monkeypatch.setattr(case_module, "CASES", (dataclasses.replace(LEE_LIU_2008, compute=slow),))
    first = client.get("/v1/qualification", headers=_as(tokens, "admin"))
    second = client.get("/v1/qualification", headers=_as(tokens, "admin"))
    release.set()
    assert first.status_code == second.status_code == 202
    assert second.json()["id"] == first.json()["id"]
    assert _finished(client, first.headers["location"])["result"]["passed"]


def test_the_whole_set_as_a_job_of_the_servers_process_pool_passes_and_is_kept(tmp_path):
    """The server's own job backend (spawned worker processes, the computation pickled to them), the real
    set, MCMC included: the job succeeds with a passing report, kept and answered at once after."""
    settings = get_settings().model_copy(update={"data_dir": tmp_path, "database_url": f"sqlite:///{tmp_path / 'db.sqlite'}"})
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    with TestClient(app) as client:
        token = auth.create_token(client.app.state.database, name="admin-token", role="admin", trials=[], actor="test")[1]
        headers = {"Authorization": f"Bearer {token}"}
        first = client.get("/v1/qualification", headers=headers)
        assert first.status_code == 202, first.text
        for _ in range(600):
            status = client.get(first.headers["location"]).json()
            if status["state"] not in ("queued", "running"):
                break
            time.sleep(0.2)
        assert status["state"] == "succeeded", status
        report = status["result"]
        assert report["passed"] and verify_report(report), report["failed_cases"]
        assert report["counts"]["cases"] == len(case_module.CASES)
        again = client.get("/v1/qualification", headers=headers)
        assert again.status_code == 200 and again.json()["sha256"] == report["sha256"]


def test_a_kept_report_of_other_library_versions_is_not_served(served):
    """The same gonogo over another numpy (an upgrade in place): the kept report no longer describes this
    installation, so the qualification runs again."""
    from designs.qualification import report_sha256

    client, tokens, settings = served
    first = client.get("/v1/qualification", headers=_as(tokens, "admin"))
    report = _finished(client, first.headers["location"])["result"]
    report["software"]["numpy"] = "0.0.1"
    report["sha256"] = report_sha256(report)
    report_path(settings.data_dir).write_text(json.dumps(report), encoding="utf-8")
    assert client.get("/v1/qualification", headers=_as(tokens, "admin")).status_code == 202
