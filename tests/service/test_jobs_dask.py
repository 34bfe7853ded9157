"""Jobs on a real Dask cluster: ``dask scheduler`` and ``dask worker`` run as processes of their own on
127.0.0.1, and GONOGO_DASK_SCHEDULER points the job manager at them. A real OC design job gives the
numbers of an in-process run; a worker killed mid-job costs nothing but time: its chunk is computed
again elsewhere (by Dask itself, or, when Dask gives up on the task with ``KilledWorker``, by gonogo
once for a pure computation) with the same numbers; a computation not known to be pure fails with
the 503 worker-died problem (``service/jobs/backends.py``)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service import jobs
from service.settings import Settings
from tests.service.test_jobs_faults import HeldChunk, PureHeldChunk, simon_plan

ROOT = Path(__file__).resolve().parent.parent.parent
DASK = Path(sys.executable).with_name("dask")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)
    return value


class Cluster:
    """A scheduler and ``n_workers`` single-threaded workers without nannies (a killed worker stays
    dead), each a process of its own; ``env``: the scheduler's extra environment (Dask config)."""

    def __init__(self, tmp_path: Path, n_workers: int, env: dict[str, str] | None = None):
        self.address = f"tcp://127.0.0.1:{_free_port()}"
        # The workers import gonogo (and these tests' computations) from this tree.
        base = {**os.environ, "PYTHONPATH": str(ROOT)}
        self.logs = tmp_path / "dask-logs"
        self.logs.mkdir()
        self._log_files = []
        self.processes = [self._start("scheduler", [str(DASK), "scheduler", "--host", "127.0.0.1", "--port",
                                                    self.address.rsplit(":", 1)[1], "--no-dashboard"],
                                      {**base, **(env or {})})]
        for i in range(n_workers):
            self.processes.append(self._start(f"worker-{i}", [str(DASK), "worker", self.address, "--host", "127.0.0.1",
                                                              "--nthreads", "1", "--no-nanny", "--no-dashboard"], base))
        from distributed import Client

        self.client = Client(self.address, timeout=60, set_as_default=False)
        self.client.wait_for_workers(n_workers, timeout=120)
        self.worker_pids = set(self.client.run(os.getpid).values())

    def _start(self, name: str, argv: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = (self.logs / f"{name}.log").open("w")
        self._log_files.append(log)
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)

    def close(self) -> None:
        self.client.close()
        for process in reversed(self.processes):
            process.terminate()
        for process in self.processes:
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for log in self._log_files:
            log.close()


@pytest.fixture
def cluster_of(tmp_path):
    if not DASK.exists() and shutil.which("dask") is None:
        pytest.skip(f"the dask command line is not installed (looked for {DASK})")
    started: list[Cluster] = []

    def start(n_workers: int, env: dict[str, str] | None = None) -> Cluster:
        started.append(Cluster(tmp_path, n_workers, env))
        return started[-1]

    yield start
    for cluster in started:
        cluster.close()


@pytest.fixture
def manager_on(tmp_path):
    """A job manager as the service builds it from its settings (GONOGO_DASK_SCHEDULER)."""
    opened: list[jobs.JobManager] = []

    def open_(cluster: Cluster) -> jobs.JobManager:
        settings = Settings(dask_scheduler=cluster.address, database_url=f"sqlite:///{tmp_path / 'gonogo.sqlite3'}",
                            data_dir=tmp_path)
        opened.append(jobs.JobManager.from_settings(settings))
        return opened[-1]

    yield open_
    for manager in opened:
        manager.close()


@pytest.fixture(scope="module")
def reference():
    return jobs.InProcessBackend().run(simon_plan())


def _held_pid(directory: Path, seen: set[int]) -> int:
    """The pid of the next worker that starts the held chunk."""
    def new():
        return {int(p.name.removeprefix("pid-")) for p in directory.glob("pid-*")} - seen
    (pid,) = _wait_for(new)
    return pid


@pytest.mark.slow  # starts a scheduler and workers, kills one: ~20 s
def test_oc_job_on_dask_processes_gives_the_in_process_numbers_even_when_a_worker_is_killed(
        cluster_of, manager_on, tmp_path, reference):
    cluster = cluster_of(2)
    manager = manager_on(cluster)
    assert manager.backend.name == "dask"
    job = manager.wait(manager.submit("operating-characteristics", simon_plan(), request={"seed": 11}).id, 120)
    assert job.state == jobs.SUCCEEDED, job.error
    assert job.result == reference and job.backend == "dask"
    held = tmp_path / "held"
    held.mkdir()
    job_id = manager.submit("operating-characteristics", PureHeldChunk(held, simon_plan())).id
    first = _held_pid(held, set())
    assert first in cluster.worker_pids and first != os.getpid()  # the chunk runs in a worker process
    os.kill(first, signal.SIGKILL)
    second = _held_pid(held, {first})  # Dask ran the task again on the other worker
    assert second in cluster.worker_pids - {first}
    (held / "release").touch()
    job = manager.wait(job_id, 120)
    assert job.state == jobs.SUCCEEDED, job.error
    assert job.result == reference
    assert manager.health()["backend"]["state"] == "ok"


@pytest.mark.slow  # starts a scheduler and workers, kills two: ~20 s
def test_when_dask_gives_up_on_a_killed_workers_task_a_pure_chunk_is_computed_again_once_else_the_job_fails(
        cluster_of, manager_on, tmp_path, reference):
    # allowed-failures 0: the first worker death of a task is a KilledWorker for gonogo to handle.
    cluster = cluster_of(3, {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"})
    manager = manager_on(cluster)
    impure = tmp_path / "impure"
    impure.mkdir()
    job_id = manager.submit("slow", HeldChunk(impure), request={"seed": 1}).id
    os.kill(_held_pid(impure, set()), signal.SIGKILL)
    job = manager.wait(job_id, 120)
    assert job.state == jobs.FAILED and job.request == {"seed": 1}
    assert (job.error["status"], job.error["type"]) == (503, "/problems/worker-died")
    assert "not computed again" in job.error["detail"]
    pure = tmp_path / "pure"
    pure.mkdir()
    job_id = manager.submit("operating-characteristics", PureHeldChunk(pure, simon_plan())).id
    first = _held_pid(pure, set())
    os.kill(first, signal.SIGKILL)
    _held_pid(pure, {first})  # gonogo submitted the chunk again; it runs on the last worker
    (pure / "release").touch()
    job = manager.wait(job_id, 120)
    assert job.state == jobs.SUCCEEDED, job.error
    assert job.result == reference
