"""Jobs that survive faults: a pool worker killed mid-job (the chunk is computed again once, the same
numbers; a second death fails the job with a worker-died problem; the next job succeeds), a pool
that breaks or cannot start (/health degraded), no orphan processes after the server is killed, and
the bounded job queue (running / queued in submission order, 503 with Retry-After beyond it)."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path

import pebble
import psutil
import pytest

from designs import oc
from service import jobs
from service.deps import get_job_manager
from service.jobs import backends
from service.problems import JobQueueFull, WorkerDied
from tests.conftest import assert_problem
from tests.service.compute_tasks import Sums

ROOT = Path(__file__).resolve().parent.parent.parent


def simon_plan() -> oc.OCPlan:
    strata = (oc.StratumPlan("NF1", (9, 17)), oc.StratumPlan("sporadic", (9, 17)))
    design = oc.OCDesign(0.05, 0.25, strata, oc.SimonStoppingRule(0, 2))
    return oc.plan(design, method="simulation", n_trials=20_000, seed=11, chunk_trials=4_000)


class HeldChunk:
    """A computation whose second chunk writes its worker's pid to ``directory/pid-<pid>`` and waits
    until ``directory/release`` exists, so that the test can kill the worker computing it (picklable).
    ``plan``: the OC plan whose chunks it computes (None: chunks are their own values)."""

    def __init__(self, directory: Path, plan: oc.OCPlan | None = None, n_chunks: int = 6):
        self.directory = directory
        self.plan = plan
        self.chunks = plan.chunks if plan is not None else list(range(n_chunks))

    def prepare(self):
        if self.plan is not None:
            self.plan = self.plan.prepare()
        return self

    def run_chunk(self, chunk):
        if chunk == self.chunks[1]:
            (self.directory / f"pid-{os.getpid()}").touch()
            deadline = time.monotonic() + 120  # never forever, whatever the test does
            while not (self.directory / "release").exists() and time.monotonic() < deadline:
                time.sleep(0.01)
        return self.plan.run_chunk(chunk) if self.plan is not None else chunk

    def reduce(self, pairs):
        if self.plan is not None:
            return self.plan.reduce(pairs)
        return {"total": sum(v for _, v in pairs)}


class PureHeldChunk(HeldChunk):
    pure = True  # the same chunk always gives the same value


def _wait_for(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)
    return value


def _pids(directory: Path) -> set[int]:
    return {int(p.name.removeprefix("pid-")) for p in directory.glob("pid-*")}


def _next_pid(directory: Path, seen: set[int]) -> int:
    """The pid of the next worker that starts the held chunk."""
    (pid,) = _wait_for(lambda: _pids(directory) - seen)
    return pid


@pytest.fixture
def pool_backend():
    backend = backends.ProcessPoolBackend(1)  # one worker: fewer processes to start again after each kill
    yield backend
    backend.close()


_opened: list[jobs.JobManager] = []


@pytest.fixture
def store(tmp_path):
    """SQLite only: these tests are about the backends' faults (test_jobs.py runs the store on both
    databases). The managers the test opened on it are closed before it is."""
    store = jobs.JobStore(f"sqlite:///{tmp_path / 'data' / 'gonogo.sqlite3'}")
    yield store
    while _opened:
        _opened.pop().close()
    store.close()


def _manager(backend, store, **kwargs) -> jobs.JobManager:
    manager = jobs.JobManager(backend, store, retention_hours=1, **kwargs)
    _opened.append(manager)
    return manager


@contextmanager
def serving(client, manager: jobs.JobManager):
    """``manager`` as the app's job manager (the one /health reports) for the block."""
    app_manager = client.app.state.job_manager
    client.app.state.job_manager = manager
    try:
        yield
    finally:
        client.app.state.job_manager = app_manager
        manager.close()


@pytest.fixture(scope="module")
def reference():
    return jobs.InProcessBackend().run(simon_plan())


def test_oc_and_calibration_plans_are_pure_so_their_lost_chunks_are_computed_again():
    assert backends.is_pure(simon_plan()) and backends.is_pure(PureHeldChunk(Path(".")))
    assert not backends.is_pure(HeldChunk(Path(".")))


class ScriptedPool(backends.ProcessPoolBackend):
    """Chunks computed at once in this thread, some lost: the first attempts at ``broken`` as with one
    pool that broke, the first attempt at ``died`` as with a worker killed by SIGKILL."""

    def __init__(self, broken=(), died=()):
        super().__init__(3)
        self.broken, self.died, self.attempts = set(broken), set(died), Counter()

    def _submit(self, fn, *args):
        future = concurrent.futures.Future()
        future.pool = "the one pool"
        key = args[1] if fn is backends.run_computation_chunk else "prepare"
        self.attempts[key] += 1
        if key in self.broken and self.attempts[key] == 1:
            future.set_exception(BrokenProcessPool("All workers expired"))
        elif key in self.died and self.attempts[key] == 1:
            future.set_exception(pebble.ProcessExpired("Abnormal termination", code=-signal.SIGKILL, pid=1))
        else:
            future.set_result(fn(*args))
        return future


def test_chunks_lost_together_with_their_pool_cost_one_retry_and_a_second_loss_fails_the_run():
    backend = ScriptedPool(broken={1, 2})
    assert backend.run(Sums()) == {"total": 15}
    assert (backend.attempts[1], backend.attempts[2], backend.attempts[3]) == (2, 2, 1)
    with pytest.raises(WorkerDied, match="computing chunk 5 of 6"):
        ScriptedPool(broken={1, 2}, died={4}).run(Sums())
    assert ScriptedPool(died={4}).run(Sums()) == {"total": 15}


# --------------------------------------------------------------------------------------------------
# A worker killed mid-job


@pytest.mark.slow  # starts, kills and starts again worker processes: several seconds
def test_killed_worker_chunk_is_computed_again_with_the_same_numbers_and_the_next_job_succeeds(
        pool_backend, store, tmp_path, reference):
    manager = _manager(pool_backend, store)
    job_id = manager.submit("operating-characteristics", PureHeldChunk(tmp_path, simon_plan())).id
    first = _next_pid(tmp_path, set())
    os.kill(first, signal.SIGKILL)  # as the kernel's out-of-memory killer would
    second = _next_pid(tmp_path, {first})  # the chunk again, on the worker pebble started instead
    assert second != first
    (tmp_path / "release").touch()
    job = manager.wait(job_id, 120)
    assert job.state == jobs.SUCCEEDED, job.error
    assert job.result == reference  # an undisturbed in-process run's numbers
    assert pool_backend.worker_deaths == 1 and pool_backend.health()["state"] == "ok"
    assert manager.wait(manager.submit("operating-characteristics", simon_plan()).id, 120).result == reference


@pytest.mark.slow  # starts, kills and starts again worker processes: several seconds
def test_worker_dying_twice_fails_the_job_with_a_worker_died_problem_and_the_next_job_succeeds(
        pool_backend, store, tmp_path, reference):
    manager = _manager(pool_backend, store)
    job_id = manager.submit("slow", PureHeldChunk(tmp_path), request={"seed": 1}).id
    first = _next_pid(tmp_path, set())
    os.kill(first, signal.SIGKILL)
    os.kill(_next_pid(tmp_path, {first}), signal.SIGKILL)
    job = manager.wait(job_id, 120)
    assert job.state == jobs.FAILED and job.request == {"seed": 1}
    problem = job.error
    assert (problem["status"], problem["type"], problem["exit_code"]) == (503, "/problems/worker-died", -signal.SIGKILL)
    assert "SIGKILL" in problem["detail"] and "computing chunk 2 of 6" in problem["detail"]
    assert "computed again once" in problem["detail"] and "Resubmit `request`" in problem["detail"]
    assert pool_backend.health()["state"] == "ok"  # the pool itself works: the next job succeeds
    assert manager.wait(manager.submit("operating-characteristics", simon_plan()).id, 120).result == reference


def test_computation_not_known_to_be_pure_fails_at_its_first_lost_chunk(pool_backend, store, tmp_path):
    manager = _manager(pool_backend, store)
    job_id = manager.submit("slow", HeldChunk(tmp_path)).id
    os.kill(_next_pid(tmp_path, set()), signal.SIGKILL)
    job = manager.wait(job_id, 120)
    assert job.state == jobs.FAILED and job.error["type"] == "/problems/worker-died"
    assert "not computed again" in job.error["detail"]
    assert len(_pids(tmp_path)) == 1


@pytest.mark.slow  # starts, kills and starts again worker processes: several seconds
def test_pool_broken_by_an_idle_worker_death_is_replaced_for_the_next_job(pool_backend, store, reference):
    """Pebble's pool breaks as a whole when a worker dies while none runs a chunk."""
    pid = pool_backend._submit(backends.probe).result(60)
    os.kill(pid, signal.SIGKILL)
    old_pool = pool_backend._pool
    _wait_for(lambda: not old_pool.active)
    manager = _manager(pool_backend, store)
    assert manager.wait(manager.submit("operating-characteristics", simon_plan()).id, 120).result == reference
    assert pool_backend._pool is not old_pool and pool_backend.health()["state"] == "ok"


class StillbornPoolBackend(backends.ProcessPoolBackend):
    """A pool whose workers exit as they start (their initializer is told another parent), until fixed."""

    broken = True

    def _new_pool(self):
        import multiprocessing

        import pebble

        from service.processes import exit_with_parent

        parent = 1 if self.broken else os.getpid()
        return pebble.ProcessPool(self.workers, initializer=exit_with_parent, initargs=(parent,),
                                  context=multiprocessing.get_context("spawn"))


@pytest.mark.slow  # starts, kills and starts again worker processes: several seconds
def test_pool_that_cannot_start_fails_its_job_and_health_is_degraded_until_it_works_again(
        store, monkeypatch, client):
    monkeypatch.setattr(backends, "PROBE_SECONDS", 0.0)
    backend = StillbornPoolBackend(1)
    manager = _manager(backend, store)
    with serving(client, manager):
        job = manager.wait(manager.submit("slow", PureHeldChunk(Path("."))).id, 120)
        assert job.state == jobs.FAILED
        assert (job.error["status"], job.error["type"]) == (503, "/problems/job-backend-unavailable")
        health = client.get("/health").json()
        assert health["status"] == "degraded" and health["jobs"]["status"] == "degraded"
        assert "cannot run jobs" in health["jobs"]["reason"] and health["jobs"]["backend"]["state"] == "broken"
        backend.broken = False  # e.g. memory freed: the next probe starts a pool that works
        _wait_for(lambda: client.get("/health").json()["status"] == "ok", 120)
        assert client.get("/health").json()["jobs"]["backend"]["state"] == "ok"


def test_unreachable_dask_scheduler_fails_the_job_with_a_503_and_degrades_health(store):
    dask = pytest.importorskip("dask")
    pytest.importorskip("distributed")
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        manager = _manager(backends.DaskBackend("tcp://127.0.0.1:9"), store)  # the discard port: nothing listens
        try:
            job = manager.wait(manager.submit("operating-characteristics", simon_plan()).id, 60)
            assert job.state == jobs.FAILED and job.error["type"] == "/problems/job-backend-unavailable"
            assert job.error["status"] == 503 and "unreachable" in job.error["detail"]
            health = manager.health()
            assert health["status"] == "degraded" and "tcp://127.0.0.1:9" in health["reason"]
        finally:
            manager.close()


def test_health_reports_running_and_queued_jobs(client, store):
    gate = GateBackend()
    manager = _manager(gate, store, max_running=1, max_queued=3)
    with serving(client, manager):
        for i in range(3):
            manager.submit("slow", Named(f"job{i}"))
        _wait_for(lambda: gate.started)
        health = client.get("/health").json()
        assert health["status"] == "ok"
        assert {k: health["jobs"][k] for k in ("running", "queued", "max_running", "max_queued")} == {
            "running": 1, "queued": 2, "max_running": 1, "max_queued": 3}


# --------------------------------------------------------------------------------------------------
# No orphans after the server is killed

SERVER = """
import sys, time
from collections import Counter
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from service import jobs
from tests.service.test_jobs_faults import PureHeldChunk

directory = Path(sys.argv[2])
manager = jobs.JobManager(jobs.ProcessPoolBackend(2), jobs.JobStore(sys.argv[1]), retention_hours=1)
manager.submit("slow", PureHeldChunk(directory))
print("submitted", flush=True)
time.sleep(600)
"""


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE  # ended, not yet reaped by its new parent
    except psutil.NoSuchProcess:
        return True


@pytest.mark.slow  # starts, kills and starts again worker processes: several seconds
def test_killed_server_leaves_no_pool_worker_nor_resource_tracker(store, tmp_path):
    server = subprocess.Popen([sys.executable, "-c", SERVER, str(store.engine.url), str(tmp_path)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout.readline().strip() == "submitted"
        busy = _next_pid(tmp_path, set())  # a worker computing the held chunk
        children = psutil.Process(server.pid).children(recursive=True)
        trackers = [c.pid for c in children if "resource_tracker" in " ".join(c.cmdline())]
        workers = [c.pid for c in children if c.pid not in trackers]
        assert busy in workers and len(workers) == 2 and len(trackers) == 1
    finally:
        server.kill()  # SIGKILL: no shutdown, no clean-up
        server.wait()
        server.stdout.close()
    _wait_for(lambda: all(_gone(pid) for pid in workers + trackers), 15)


# --------------------------------------------------------------------------------------------------
# The bounded queue


class Named:
    """A one-chunk computation that only has a name (run by ``GateBackend``)."""

    def __init__(self, name: str):
        self.name = name
        self.chunks = [0]


class GateBackend:
    """Runs a computation once the test lets one through (``release``), recording what started."""

    name = "gate"

    def __init__(self):
        self.started: list[str] = []
        self._gate = threading.Semaphore(0)

    def release(self, n: int = 1) -> None:
        for _ in range(n):
            self._gate.release()

    def run(self, computation, progress, cancelled):
        name = getattr(computation, "name", f"job{len(self.started)}")
        self.started.append(name)
        while not self._gate.acquire(timeout=0.005):
            if cancelled():
                raise jobs.Cancelled()
        return {"name": name}

    def health(self):
        return {"state": "ok"}

    def close(self):
        pass


def _states(manager, ids):
    return [manager.get(i).state for i in ids]


def test_one_runner_and_a_queue_of_two_refuse_the_fourth_then_run_in_submission_order(store):
    gate = GateBackend()
    manager = _manager(gate, store, max_running=1, max_queued=2)
    try:
        ids = [manager.submit("slow", Named(f"job{i}"), request={"seed": i}).id for i in range(3)]
        _wait_for(lambda: gate.started == ["job0"])
        assert _states(manager, ids) == ["running", "queued", "queued"]
        with pytest.raises(JobQueueFull) as refused:
            manager.submit("slow", Named("job3"))
        assert refused.value.retry_after >= 1 and len(store.active()) == 3  # the refused job is not recorded
        gate.release()  # job0 finishes: job1, the next submitted, runs
        _wait_for(lambda: gate.started == ["job0", "job1"])
        assert _states(manager, ids) == ["succeeded", "running", "queued"]
        assert manager.get(ids[0]).result == {"name": "job0"}
        manager.submit("slow", Named("job3"))  # a place in the queue is free again
        gate.release(3)
        _wait_for(lambda: len(gate.started) == 4)
        assert gate.started == ["job0", "job1", "job2", "job3"]
    finally:
        gate.release(10)
        manager.close()


def test_cancelled_queued_job_never_runs_and_frees_its_place(store):
    gate = GateBackend()
    manager = _manager(gate, store, max_running=1, max_queued=1)
    try:
        running = manager.submit("slow", Named("running")).id
        queued = manager.submit("slow", Named("queued"), request={"seed": 2}).id
        job = manager.cancel(queued)
        assert job.state == jobs.CANCELLED and job.started_at is None and job.request == {"seed": 2}
        waiting = manager.submit("slow", Named("next")).id  # its place is free
        gate.release(2)
        assert manager.wait(running, 30).state == manager.wait(waiting, 30).state == jobs.SUCCEEDED
        assert gate.started == ["running", "next"]
    finally:
        gate.release(10)
        manager.close()


def test_queued_job_of_another_worker_is_cancelled_at_once_and_never_runs(store):
    gate = GateBackend()
    owner, other = _manager(gate, store, max_running=1, max_queued=1), _manager(jobs.InProcessBackend(), store)
    try:
        owner.submit("slow", Named("running"))
        queued = owner.submit("slow", Named("queued")).id
        assert other.cancel(queued).state == jobs.CANCELLED
        # The owner drops it from its queue when it next stamps its jobs: a place is free again.
        _wait_for(lambda: owner.health()["queued"] == 0)
        owner.submit("slow", Named("next"))
        gate.release(2)
        _wait_for(lambda: len(gate.started) == 2)
        assert gate.started == ["running", "next"]
    finally:
        gate.release(10)
        owner.close()


def test_queued_jobs_are_stamped_while_they_wait_and_interrupted_at_shutdown_with_their_request(store):
    gate = GateBackend()
    owner = _manager(gate, store, max_running=1, max_queued=1)
    reader = _manager(jobs.InProcessBackend(), store, stale_seconds=1.0)
    running = owner.submit("slow", Named("running"), request={"seed": 1}).id
    queued = owner.submit("slow", Named("queued"), request={"seed": 2}).id
    time.sleep(2.5)  # longer than stale_seconds: only the owner's stamps keep the queued job alive
    assert reader.get(queued).state == jobs.QUEUED
    owner.close()
    for job_id, seed, detail in ((running, 1, "while the job ran"), (queued, 2, "before the job started")):
        job = reader.get(job_id)
        assert job.state == jobs.INTERRUPTED and job.request == {"seed": seed} and detail in job.error["detail"]
    assert gate.started == ["running"]


def test_fourth_job_over_http_is_503_with_retry_after(client, overrides, store):
    gate = GateBackend()
    manager = _manager(gate, store, max_running=1, max_queued=2)
    overrides[get_job_manager] = lambda: manager
    body = {"p0": 0.15, "p1": 0.35, "strata": [{"name": "NF1", "looks": [7, 14, 21]}],
            "model": {"kind": "independent"}, "n_trials": 1_000}
    url, prefer = "/v1/designs/operating-characteristics", {"Prefer": "respond-async"}
    try:
        accepted = [client.post(url, json={**body, "seed": i}, headers=prefer) for i in range(3)]
        assert [r.status_code for r in accepted] == [202, 202, 202]
        _wait_for(lambda: len(gate.started) == 1)
        assert [client.get(r.headers["location"]).json()["state"] for r in accepted] == ["running", "queued", "queued"]
        refused = client.post(url, json={**body, "seed": 3}, headers=prefer)
        problem = assert_problem(refused, 503)
        assert problem["type"] == "/problems/job-queue-full" and (problem["running"], problem["queued"]) == (1, 2)
        assert int(refused.headers["retry-after"]) == problem["retry_after_seconds"] >= 1
        assert "GONOGO_MAX_QUEUED_JOBS=2" in problem["detail"]
        assert client.delete(accepted[2].headers["location"]).json()["state"] == "cancelled"
        assert client.post(url, json={**body, "seed": 3}, headers=prefer).status_code == 202
    finally:
        gate.release(10)
        manager.close()
