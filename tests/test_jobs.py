"""Jobs: process pool and Dask backends give the numbers of an in-process run; progress; cancellation."""

from __future__ import annotations

import time

import pytest

from designs import operating_characteristics as oc
from service import jobs


def simon_plan(n_trials: int = 40_000, chunk_trials: int = 5_000) -> oc.OCPlan:
    design = oc.Design(0.05, 0.25, (oc.StratumPlan("NF1", (9, 17)), oc.StratumPlan("sporadic", (9, 17))), oc.SimonRule(0, 2))
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
    backend = jobs.ProcessPoolBackend(2)
    yield backend
    backend.close()


def test_process_pool_gives_the_in_process_numbers(pool, reference):
    assert pool.run(simon_plan(chunk_trials=3_000)) == reference


def test_dask_local_cluster_gives_the_in_process_numbers(reference):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster:
        backend = jobs.DaskBackend(cluster.scheduler_address)  # as with GONOGO_DASK_SCHEDULER
        try:
            progress: list[float] = []
            assert backend.run(simon_plan(chunk_trials=2_000), progress.append) == reference
            assert progress[-1] == pytest.approx(1.0) and progress == sorted(progress)
            manager = jobs.JobManager(backend)
            job = manager.submit("operating-characteristics", simon_plan())
            manager.wait(job.id, 60)
            assert job.state == jobs.SUCCEEDED and job.result == reference and job.backend == "dask"
            job = manager.submit("slow", SlowComputation(n_chunks=60, seconds=0.2))
            _wait_for(lambda: job.progress > jobs.PREPARE_SHARE)
            manager.cancel(job.id)
            manager.wait(job.id, 10)
            assert job.state == jobs.CANCELLED
        finally:
            backend.close()


def test_backend_from_settings_is_dask_when_a_scheduler_is_set(monkeypatch):
    from service.settings import Settings

    monkeypatch.setattr("service.settings.get_settings", lambda: Settings(dask_scheduler="tcp://127.0.0.1:8786"))
    assert isinstance(jobs.backend_from_settings(), jobs.DaskBackend)
    monkeypatch.setattr("service.settings.get_settings", lambda: Settings())
    assert isinstance(jobs.backend_from_settings(), jobs.ProcessPoolBackend)


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_job_reports_progress_then_the_result(pool):
    manager = jobs.JobManager(pool)
    job = manager.submit("slow", SlowComputation(n_chunks=20, seconds=0.05))
    seen = set()
    while job.state not in jobs.FINISHED:
        seen.add(round(job.progress, 3))
        time.sleep(0.01)
    assert job.state == jobs.SUCCEEDED and job.result == {"total": sum(range(20))}
    assert job.progress == 1.0 and len(seen) > 2
    status = manager.get(job.id).as_dict()
    assert status["state"] == "succeeded" and status["finished_at"] >= status["started_at"]


def test_cancel_stops_a_running_job_between_chunks(pool):
    manager = jobs.JobManager(pool)
    job = manager.submit("slow", SlowComputation(n_chunks=200, seconds=0.1))
    _wait_for(lambda: job.progress > jobs.PREPARE_SHARE)
    manager.cancel(job.id)
    manager.wait(job.id, 10)
    assert job.state == jobs.CANCELLED and job.result is None and job.progress < 1.0


def test_job_survives_its_caller_and_reports_failures(pool):
    manager = jobs.JobManager(pool)
    job_id = manager.submit("broken", FailingComputation(n_chunks=6, seconds=0)).id
    # Nobody holds the Job object: the manager keeps it and its thread runs on.
    job = manager.wait(job_id, 30)
    assert job.state == jobs.FAILED and "chunk 3 broke" in job.error["detail"]


def test_finished_jobs_beyond_the_limit_are_forgotten_oldest_first():
    manager = jobs.JobManager(jobs.InProcessBackend(), max_finished=2)
    ids = []
    for _ in range(4):
        ids.append(manager.submit("slow", SlowComputation(n_chunks=1, seconds=0)).id)
        manager.wait(ids[-1], 10)
    assert manager.get(ids[0]) is None and manager.get(ids[-1]) is not None


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
    import json

    from service.cli import main

    path = tmp_path / "request.json"
    path.write_text(json.dumps(REQUEST), encoding="utf-8")
    assert main(["simulate", str(path), "--workers", "1"]) == 0
    captured = capsys.readouterr()
    result = json.loads(captured.out)
    assert result["method"] == "simulation" and result["seed"] == 5
    assert [s["name"] for s in result["scenarios"]][0] == "global null"
    assert "simulating [" in captured.err and "100.0%" in captured.err


def test_gonogo_simulate_calibrate_reads_stdin(monkeypatch, capsys):
    import io
    import json

    from service.cli import main

    request = {**REQUEST, "model": {"kind": "independent"}, "thresholds": [0.85, 0.9, 0.95]}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(request)))
    assert main(["simulate", "--calibrate", "--workers", "1", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["final_threshold"] in (0.85, 0.9, 0.95)
    assert captured.err == ""


def test_gonogo_simulate_bad_request_exits_2_naming_the_field(tmp_path, capsys):
    import json

    from service.cli import main

    path = tmp_path / "request.json"
    path.write_text(json.dumps({**REQUEST, "strata": [{"name": "NF1", "looks": [14, 7]}]}), encoding="utf-8")
    assert main(["simulate", str(path)]) == 2
    assert "strata/0/looks" in capsys.readouterr().err
