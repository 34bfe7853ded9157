"""Several replicas on one PostgreSQL job store: replica A runs in a process of its own, replica B in
the test's. A job submitted to A is read (state, progress, request) and cancelled through B; when A is
killed while its job runs, B reports the job interrupted with its request kept, and a job submitted to
B runs to success."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from service import jobs
from tests.service.compute_tasks import Sums

ROOT = Path(__file__).resolve().parent.parent.parent

REPLICA = """
import sys, time
from service import jobs
from service.jobs import manager as job_manager

job_manager.HEARTBEAT_SECONDS = 0.25  # stamps well within the 1.5 s after which replica B calls them stale

class Slow:
    def __init__(self, n, seconds):
        self.chunks, self.seconds = list(range(n)), seconds
    def prepare(self): return self
    def run_chunk(self, chunk): time.sleep(self.seconds); return chunk
    def reduce(self, pairs): return {"total": sum(v for _, v in pairs)}

manager = jobs.JobManager(jobs.InProcessBackend(), jobs.JobStore(sys.argv[1]), retention_hours=1)
print("ready", flush=True)
for line in sys.stdin:
    command, *args = line.split()
    if command == "submit":
        n = int(args[0])
        print(manager.submit("slow", Slow(n, 0.05), request={"n_chunks": n, "seed": 7}).id, flush=True)
    elif command == "wait":
        print(manager.wait(args[0]).state, flush=True)
    elif command == "close":
        manager.close()
        print("closed", flush=True)
"""


class Replica:
    """Replica A: a JobManager in another process, driven line by line."""

    def __init__(self, url: str):
        self.process = subprocess.Popen([sys.executable, "-c", REPLICA, url], cwd=ROOT, stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, text=True)
        assert self.read() == "ready"

    def ask(self, line: str) -> str:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return self.read()

    def read(self) -> str:
        return self.process.stdout.readline().strip()

    def kill(self) -> None:
        self.process.send_signal(signal.SIGKILL)  # no shutdown: its jobs are left running in the store
        self.process.wait()

    def stop(self) -> None:
        if self.process.poll() is None:
            self.kill()
        self.process.stdin.close()
        self.process.stdout.close()


def _wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.02)


@pytest.fixture
def replicas(database_url):
    """Replica A (another process) and replica B (this one) on one PostgreSQL store."""
    a = Replica(database_url)
    store = jobs.JobStore(database_url)
    b = jobs.JobManager(jobs.InProcessBackend(), store, retention_hours=1, stale_seconds=1.5)
    try:
        yield a, b
    finally:
        a.stop()
        b.close()
        store.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_job_of_replica_a_is_read_and_cancelled_through_replica_b(replicas):
    a, b = replicas
    job_id = a.ask("submit 400")
    _wait_for(lambda: b.get(job_id).progress > jobs.PREPARE_SHARE)
    job = b.get(job_id)
    assert job.state == jobs.RUNNING and job.request == {"n_chunks": 400, "seed": 7} and job.backend == "in-process"
    seen = []
    for _ in range(3):
        time.sleep(0.3)
        seen.append(b.get(job_id).progress)
    assert seen == sorted(seen) and seen[-1] > seen[0]  # A's progress, as B reads it
    assert b.cancel(job_id).cancel_requested
    assert b.wait(job_id, 10).state == jobs.CANCELLED
    assert a.ask(f"wait {job_id}") == "cancelled"  # A's thread stopped at its next chunk


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_replica_a_killed_mid_job_leaves_it_interrupted_for_replica_b_which_runs_new_jobs(replicas):
    a, b = replicas
    job_id = a.ask("submit 400")
    _wait_for(lambda: b.get(job_id).progress > jobs.PREPARE_SHARE)
    time.sleep(2.0)  # longer than B's stale_seconds: only A's stamps keep the job running
    assert b.get(job_id).state == jobs.RUNNING
    a.kill()
    _wait_for(lambda: b.get(job_id).state != jobs.RUNNING, timeout=10)
    job = b.get(job_id)
    assert job.state == jobs.INTERRUPTED and job.finished_at is not None
    assert job.request == {"n_chunks": 400, "seed": 7} and job.error["type"] == "/problems/job-interrupted"
    assert "resubmit" in job.error["detail"]
    b.interrupt_orphans()  # the sweep a starting replica makes: nothing changes twice
    assert b.get(job_id).finished_at == job.finished_at

    new = b.wait(b.submit("sums", Sums(5), request={"seed": 8}).id, 30)
    assert new.state == jobs.SUCCEEDED and new.result == {"total": 10}


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_replica_a_shut_down_mid_job_leaves_it_interrupted_at_once(replicas):
    a, b = replicas
    job_id = a.ask("submit 400")
    _wait_for(lambda: b.get(job_id).progress > jobs.PREPARE_SHARE)
    assert a.ask("close") == "closed"
    job = b.get(job_id)  # no stale stamp to wait for: A said so itself
    assert job.state == jobs.INTERRUPTED and "shut down while the job ran" in job.error["detail"]
