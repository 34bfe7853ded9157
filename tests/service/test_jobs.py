"""Jobs: process pool and Dask backends give the numbers of an in-process run; a job store shared by
worker processes (progress, result and cancellation from any worker; interrupted jobs; retention)."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import ValidationError
from sqlalchemy import select, text, update

from designs import oc
from designs.core.provenance import input_hash
from service import jobs
from service.cli import main
from service.deps import get_job_manager
from service.settings import Settings, get_settings
from service.store.tables import jobs as jobs_table
from tests.conftest import assert_problem


def simon_plan(n_trials: int = 40_000, chunk_trials: int = 5_000) -> oc.OCPlan:
    strata = (oc.StratumPlan("NF1", (9, 17)), oc.StratumPlan("sporadic", (9, 17)))
    design = oc.OCDesign(0.05, 0.25, strata, oc.SimonStoppingRule(0, 2))
    return oc.plan(design, method="simulation", n_trials=n_trials, seed=11, chunk_trials=chunk_trials)


class SlowComputation:
    """Chunks that take a while, so that a job can be watched and cancelled (picklable)."""

    def __init__(self, n_chunks: int = 40, seconds: float = 0.1):
        self.chunks = list(range(n_chunks))
        self.seconds = seconds

    def prepare(self):
        return self

    def run_chunk(self, chunk):
        time.sleep(self.seconds)
        return chunk

    def reduce(self, pairs):
        return {"total": sum(v for _, v in pairs)}


class FailingComputation(SlowComputation):
    def run_chunk(self, chunk):
        if chunk == 3:
            raise RuntimeError("chunk 3 broke")
        return chunk


@pytest.fixture(scope="module")
def reference():
    return jobs.InProcessBackend().run(simon_plan())


@pytest.fixture(scope="module")
def pool():
    backend = jobs.backend_from_settings(Settings(job_workers=2))  # no GONOGO_DASK_SCHEDULER
    yield backend
    backend.close()


def test_process_pool_gives_the_in_process_numbers(pool, reference):
    assert pool.name == "process-pool"
    assert pool.run(simon_plan(chunk_trials=3_000)) == reference


def test_dask_scheduler_setting_runs_chunks_on_dask_with_the_in_process_numbers(reference, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        backend = jobs.backend_from_settings(Settings(dask_scheduler=cluster.scheduler_address))
        store = jobs.JobStore(f"sqlite:///{tmp_path / 'gonogo.sqlite3'}")
        manager = None
        try:
            progress: list[float] = []
            assert backend.run(simon_plan(chunk_trials=2_000), progress.append) == reference
            # The chunks ran as tasks on the cluster's scheduler, not here.
            assert {"prepare_computation", "run_computation_chunk"} <= set(cluster.scheduler.task_prefixes)
            assert progress[-1] == pytest.approx(1.0) and progress == sorted(progress)
            manager = jobs.JobManager(backend, store, retention_hours=1)
            job = manager.wait(manager.submit("operating-characteristics", simon_plan()).id, 60)
            assert job.state == jobs.SUCCEEDED and job.result == reference and job.backend == "dask"
            job_id = manager.submit("slow", SlowComputation(n_chunks=60, seconds=0.2)).id
            _wait_for(lambda: manager.get(job_id).progress > jobs.PREPARE_SHARE)
            manager.cancel(job_id)
            assert manager.wait(job_id, 10).state == jobs.CANCELLED
        finally:
            if manager is not None:
                manager.close()
            backend.close()
            store.close()


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


# --------------------------------------------------------------------------------------------------
# Jobs in the store: one manager per worker process, all on one database (SQLite and PostgreSQL)


_opened: list[jobs.JobManager] = []


@pytest.fixture
def store(database_url):
    """The store of a test; the managers the test opened on it are closed before it is."""
    store = jobs.JobStore(database_url)
    yield store
    while _opened:
        _opened.pop().close()
    store.close()


def _url(store) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def _update(store, **values) -> None:
    """Change rows behind the store's back (``where``: the rows' ids; default every row)."""
    where = values.pop("where", None)
    statement = update(jobs_table).values(**values)
    if where is not None:
        statement = statement.where(jobs_table.c.id.in_(where))
    with store.engine.begin() as conn:
        conn.execute(statement)


def _manager(backend, store, **kwargs) -> jobs.JobManager:
    manager = jobs.JobManager(backend, store, retention_hours=kwargs.pop("retention_hours", 168), **kwargs)
    _opened.append(manager)
    return manager


def test_job_reports_progress_then_the_result(pool, store):
    manager = _manager(pool, store)
    job_id = manager.submit("slow", SlowComputation(n_chunks=40, seconds=0.05), request={"n_chunks": 40}).id
    seen = []
    while (job := manager.get(job_id)).state not in jobs.FINISHED:
        seen.append(job.progress)
        time.sleep(0.01)
    assert job.state == jobs.SUCCEEDED and job.result == {"total": sum(range(40))}
    assert job.progress == 1.0 and len(set(seen)) > 2 and seen == sorted(seen)
    status = job.as_dict()
    assert status["finished_at"] >= status["started_at"] >= status["created_at"]
    assert status["request"] == {"n_chunks": 40}
    assert status["request_sha256"] == input_hash({"n_chunks": 40})


class CountingStore(jobs.JobStore):
    def __init__(self, database_url):
        super().__init__(database_url)
        self.progress_writes = 0

    def set_progress(self, job_id, fraction):
        self.progress_writes += 1
        super().set_progress(job_id, fraction)


def test_progress_is_written_a_few_times_a_second_not_at_every_chunk(database_url):
    store = CountingStore(database_url)
    manager = jobs.JobManager(jobs.InProcessBackend(), store, retention_hours=1)
    started = time.monotonic()
    job = manager.wait(manager.submit("slow", SlowComputation(n_chunks=100, seconds=0.01)).id, 30)
    seconds = time.monotonic() - started
    manager.close()
    store.close()
    assert job.state == jobs.SUCCEEDED
    assert 2 <= store.progress_writes <= seconds / jobs.PROGRESS_SECONDS + 2 < 100


def test_cancel_stops_a_running_job_between_chunks(pool, store):
    manager = _manager(pool, store)
    job_id = manager.submit("slow", SlowComputation(n_chunks=200, seconds=0.1)).id
    _wait_for(lambda: manager.get(job_id).progress > jobs.PREPARE_SHARE)
    manager.cancel(job_id)
    job = manager.wait(job_id, 10)
    assert job.state == jobs.CANCELLED and job.cancel_requested and job.result is None and job.progress < 1.0


def test_job_survives_its_caller_and_reports_failures(pool, store, caplog):
    """An unexpected failure is a 500 problem document, as over HTTP: its words go to the log, not to
    whoever reads the job."""
    manager = _manager(pool, store)
    job_id = manager.submit("broken", FailingComputation(n_chunks=6, seconds=0)).id
    with caplog.at_level("ERROR", logger="gonogo"):
        job = manager.wait(job_id, 30)
    assert job.state == jobs.FAILED and job.error["status"] == 500 and job.error["type"] == "/problems/internal-error"
    assert "chunk 3 broke" not in job.error["detail"]
    assert any("chunk 3 broke" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_a_second_worker_reads_progress_and_result_and_cancels(pool, store, reference):
    """Two managers on one store, as two uvicorn workers: the one that did not start a job still
    answers for it, reads its progress and result, and cancels it."""
    runner, other = _manager(pool, store), _manager(jobs.InProcessBackend(), store)
    job_id = runner.submit("slow", SlowComputation(n_chunks=40, seconds=0.05)).id
    seen = []
    while (job := other.get(job_id)).state not in jobs.FINISHED:
        seen.append(job.progress)
        time.sleep(0.02)
    assert job.state == jobs.SUCCEEDED and job.result == {"total": sum(range(40))} and job.backend == "process-pool"
    assert len(set(seen)) > 2 and seen == sorted(seen)
    # Same request and seed, same numbers: the stored result of a pool job is the in-process result.
    job_id = runner.submit("operating-characteristics", simon_plan(chunk_trials=4_000)).id
    assert other.wait(job_id, 60).result == reference
    job_id = runner.submit("slow", SlowComputation(n_chunks=200, seconds=0.1)).id
    _wait_for(lambda: other.get(job_id).progress > jobs.PREPARE_SHARE)
    assert other.cancel(job_id).cancel_requested
    job = other.wait(job_id, 10)
    assert job.state == jobs.CANCELLED and job.progress < 0.5
    assert runner.wait(job_id, 10).state == jobs.CANCELLED  # the runner's thread has stopped too


WORKER = """
import sys, time
from service import jobs
from service.jobs import manager as job_manager

job_manager.HEARTBEAT_SECONDS = 0.25  # stamps well within the 1 s after which a reader below calls them stale

class Slow:
    chunks = list(range(400))
    def prepare(self): return self
    def run_chunk(self, chunk): time.sleep(0.05); return chunk
    def reduce(self, pairs): return {"total": sum(v for _, v in pairs)}

manager = jobs.JobManager(jobs.InProcessBackend(), jobs.JobStore(sys.argv[1]), retention_hours=1)
job = manager.submit("slow", Slow(), request={"n_chunks": 400, "seed": 7})
print(job.id, flush=True)
print(manager.wait(job.id).state, flush=True)
"""


def _worker_process(store):
    """Another process running a 20-second job on ``store``; returns it and the job's id."""
    root = Path(__file__).resolve().parent.parent.parent
    process = subprocess.Popen([sys.executable, "-c", WORKER, _url(store)], cwd=root,
                               stdout=subprocess.PIPE, text=True)
    return process, process.stdout.readline().strip()


def test_a_job_in_another_process_is_read_and_cancelled_here(store):
    process, job_id = _worker_process(store)
    try:
        here = _manager(jobs.InProcessBackend(), store)
        _wait_for(lambda: here.get(job_id).progress > jobs.PREPARE_SHARE)
        assert here.get(job_id).state == jobs.RUNNING and here.get(job_id).backend == "in-process"
        here.cancel(job_id)
        assert here.wait(job_id, 10).state == jobs.CANCELLED
        assert process.stdout.readline().strip() == "cancelled"
        assert process.wait(30) == 0
    finally:
        process.kill()
        process.wait()
        process.stdout.close()


def test_a_job_whose_process_died_is_interrupted_and_keeps_its_request(store):
    process, job_id = _worker_process(store)
    try:
        reader = _manager(jobs.InProcessBackend(), store, stale_seconds=1.0)
        _wait_for(lambda: reader.get(job_id).progress > jobs.PREPARE_SHARE)
        time.sleep(1.5)
        assert reader.get(job_id).state == jobs.RUNNING  # alive: it stamps its job every quarter second
    finally:
        process.kill()  # SIGKILL: no shutdown, the job is left running in the store
        process.wait()
        process.stdout.close()
    assert reader.get(job_id).state == jobs.RUNNING
    time.sleep(1.5)
    job = reader.get(job_id)  # read after the stamp is stale
    assert job.state == jobs.INTERRUPTED and job.finished_at is not None
    assert job.request == {"n_chunks": 400, "seed": 7} and job.error["type"] == "/problems/job-interrupted"


def test_store_written_by_a_newer_schema_is_refused_untouched(store):
    """A database of a newer gonogo (a schema revision this one does not know) is not opened, nor
    migrated down, nor written (the migrations' own test checks the SQLite file byte for byte)."""
    store.insert(job_id="kept", kind="slow", backend="in-process", request_json='{"seed":1}', owner="o/0@h:1")
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(RuntimeError, match="newer gonogo.*9999_future"):
        jobs.JobStore(_url(store))
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all() == ["9999_future"]
        assert conn.execute(select(jobs_table.c.id, jobs_table.c.state)).all() == [("kept", "queued")]


def test_restart_marks_the_jobs_of_gone_workers_interrupted_and_spares_live_ones(store):
    store.insert(job_id="gone", kind="slow", backend="in-process", request_json='{"seed":1}', owner="dead/0@old:1")
    store.insert(job_id="alive", kind="slow", backend="in-process", request_json='{"seed":2}', owner="busy/0@other:2")
    _update(store, heartbeat_at=jobs_table.c.heartbeat_at - 60, where=["gone"])
    restarted = _manager(jobs.InProcessBackend(), store)  # start-up sweep, before any read
    assert [r["id"] for r in store.active()] == ["alive"]
    gone = restarted.get("gone")
    assert gone.state == jobs.INTERRUPTED and gone.request == {"seed": 1}
    assert restarted.get("alive").state == jobs.QUEUED


def test_shutdown_marks_running_jobs_interrupted_not_cancelled(store):
    manager = _manager(jobs.InProcessBackend(), store)
    job_id = manager.submit("slow", SlowComputation(n_chunks=200, seconds=0.05), request={"seed": 3}).id
    _wait_for(lambda: manager.get(job_id).progress > jobs.PREPARE_SHARE)
    manager.close()
    job = _manager(jobs.InProcessBackend(), store).get(job_id)
    assert job.state == jobs.INTERRUPTED and job.request == {"seed": 3}


def _finished_hours_ago(store, job_id: str, hours: float) -> None:
    moment = datetime.now(UTC) - timedelta(hours=hours)
    _update(store, finished_at=moment.isoformat(timespec="milliseconds"), where=[job_id])


def test_finished_jobs_expire_after_the_retention_then_are_forgotten(store):
    manager = _manager(jobs.InProcessBackend(), store, retention_hours=24)
    job_id = manager.submit("slow", SlowComputation(n_chunks=1, seconds=0), request={"seed": 4}).id
    job = manager.wait(job_id, 10)
    assert not job.expired and job.expires_at > job.finished_at
    _finished_hours_ago(store, job_id, 23)
    manager.purge()
    assert not manager.get(job_id).expired and manager.get(job_id).result == {"total": 0}
    _finished_hours_ago(store, job_id, 25)
    assert manager.get(job_id).expired  # expired at once, whether or not purged yet
    manager.purge()
    job = manager.get(job_id)
    assert job.expired and job.request is None and job.result is None and job.request_sha256 == input_hash({"seed": 4})
    _finished_hours_ago(store, job_id, 49)
    manager.purge()
    assert manager.get(job_id) is None


# --------------------------------------------------------------------------------------------------
# Over HTTP, on a store of the test's own


@pytest.fixture
def http_jobs(overrides, store):
    """The app's manager and a second one (another worker) on the same store."""
    app_manager = _manager(jobs.InProcessBackend(), store, retention_hours=24)
    overrides[get_job_manager] = lambda: app_manager
    yield app_manager, _manager(jobs.InProcessBackend(), store)


def test_any_worker_answers_for_any_job_over_http(client, http_jobs, store):
    _, other_worker = http_jobs
    job_id = other_worker.submit("slow", SlowComputation(n_chunks=30, seconds=0.02), request={"seed": 5}).id
    other_worker.wait(job_id, 10)
    status = client.get(f"/v1/jobs/{job_id}").json()
    assert status["state"] == "succeeded" and status["result"] == {"total": sum(range(30))}
    assert status["request"] == {"seed": 5} and status["request_sha256"] == input_hash({"seed": 5})
    assert_problem(client.delete(f"/v1/jobs/{job_id}"), 409)
    job_id = other_worker.submit("slow", SlowComputation(n_chunks=500, seconds=0.02)).id
    r = client.delete(f"/v1/jobs/{job_id}")
    assert r.status_code == 200 and r.json()["state"] == "cancelled" and r.json()["cancel_requested"]


def test_interrupted_job_over_http_shows_its_request(client, http_jobs, store):
    store.insert(job_id="gone", kind="operating-characteristics", backend="process-pool",
                 request_json='{"n_trials":100000,"seed":3}', owner="dead/0@old:1")
    _update(store, heartbeat_at=0)
    status = client.get("/v1/jobs/gone").json()
    assert status["state"] == "interrupted" and status["request"] == {"n_trials": 100000, "seed": 3}
    assert "resubmit" in status["error"]["detail"]
    assert_problem(client.delete("/v1/jobs/gone"), 409)


def test_expired_job_is_410_gone_then_404(client, http_jobs, store):
    app_manager, _ = http_jobs
    job_id = app_manager.wait(app_manager.submit("slow", SlowComputation(n_chunks=1, seconds=0)).id, 10).id
    _finished_hours_ago(store, job_id, 30)
    app_manager.purge()
    problem = assert_problem(client.get(f"/v1/jobs/{job_id}"), 410)
    assert problem["type"] == "/problems/job-expired" and problem["id"] == job_id and problem["expired_at"]
    assert_problem(client.delete(f"/v1/jobs/{job_id}"), 410)
    _finished_hours_ago(store, job_id, 49)
    app_manager.purge()
    assert_problem(client.get(f"/v1/jobs/{job_id}"), 404)


def test_job_routing_limits_are_settings(client, http_jobs, overrides):
    body = {"p0": 0.15, "p1": 0.35, "strata": [{"name": "NF1", "looks": [7, 14, 21]}, {"name": "sporadic", "looks": [7, 14, 21]}],
            "model": {"kind": "hierarchical"}, "n_trials": 1_000, "seed": 5}
    url = "/v1/designs/operating-characteristics"
    overrides[get_settings] = lambda: Settings(job_decision_seconds=0.001)
    r = client.post(url, json=body)  # ~0.2 s of decision tables: a job under this setting
    assert r.status_code == 202, r.text
    assert client.get(r.headers["location"]).json()["request"]["seed"] == 5
    client.delete(r.headers["location"])
    overrides[get_settings] = lambda: Settings(job_decision_seconds=0.001, max_decision_seconds=0.002)
    assert "fewer coupled strata" in assert_problem(client.post(url, json=body), 422, "strata")["detail"]


def test_settings_defaults_for_jobs(monkeypatch, tmp_path):
    monkeypatch.delenv("GONOGO_DATA_DIR", raising=False)
    settings = Settings()
    assert (settings.job_decision_seconds, settings.max_decision_seconds, settings.job_retention_hours) == (5.0, 3600.0, 168.0)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert Settings().data_dir == tmp_path / "gonogo"
    monkeypatch.setenv("GONOGO_DATA_DIR", "~/elsewhere")
    assert Settings().data_dir == Path.home() / "elsewhere"
    with pytest.raises(ValidationError):
        Settings(job_decision_seconds=10, max_decision_seconds=5)


# --------------------------------------------------------------------------------------------------
# gonogo simulate

REQUEST = {
    "p0": 0.15,
    "p1": 0.35,
    "strata": [{"name": "NF1", "looks": [7, 14, 21]}, {"name": "sporadic", "looks": [7, 14, 21]}],
    "model": {"kind": "hierarchical"},
    "n_trials": 2_000,
    "seed": 5,
}


def test_gonogo_simulate_prints_the_result_and_a_progress_bar(tmp_path, capsys):
    path = tmp_path / "request.json"
    path.write_text(json.dumps(REQUEST), encoding="utf-8")
    assert main(["simulate", str(path), "--workers", "1", "--json"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["method"] == "simulation" and result["seed"] == 5
    assert [s["name"] for s in result["scenarios"]][0] == "global null"
    assert "simulating [" in captured.err and "100.0%" in captured.err


def test_gonogo_simulate_calibrate_reads_stdin(monkeypatch, capsys):
    request = {**REQUEST, "model": {"kind": "independent"}, "thresholds": [0.85, 0.9, 0.95]}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(request)))
    assert main(["simulate", "--calibrate", "--workers", "1", "--quiet", "--json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["final_threshold"] in (0.85, 0.9, 0.95)
    assert captured.err == ""


def test_gonogo_simulate_bad_request_exits_2_naming_the_field(tmp_path, capsys):
    path = tmp_path / "request.json"
    path.write_text(json.dumps({**REQUEST, "strata": [{"name": "NF1", "looks": [14, 7]}]}), encoding="utf-8")
    assert main(["simulate", str(path)]) == 2
    assert "strata/0/looks" in capsys.readouterr().err
