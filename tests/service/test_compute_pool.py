"""The compute pool: admission (503 + Retry-After), time limit, cancellation when the client leaves,
dead and bloated workers replaced, errors that cross the process boundary as the same problem,
/health's view of the pool, and no worker outliving a killed server.

Most tests share one pool of one worker and a queue of one (``SMALL``); the functions its workers run
stand in for the core's behind the routes (tests/service/compute_tasks.py).
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest
from fastapi.testclient import TestClient

from designs import simon
from designs.core.errors import ConvergenceError, InvalidInputError
from service.app import create_app
from service.compute import pool_args, pool_for
from service.compute.pool import ComputePool
from service.deps import get_job_manager
from service.problems import problem_document
from service.settings import Settings, get_settings
from tests.conftest import assert_problem
from tests.service import compute_tasks

EVALUATE = "/v1/simon/evaluate"
DESIGN = {"r1": 0, "n1": 7, "r": 2, "n": 21, "p": [0.05, 0.25]}
RESPONSE = {"p0": 0.15, "p1": 0.35, "engine": "quadrature", "model": {"kind": "hierarchical"},
            "strata": [{"name": "NF1", "responders": 2, "n": 7, "n_planned": 21},
                       {"name": "sporadic", "responders": 1, "n": 7, "n_planned": 21}]}
SMALL = dict(compute_workers=1, compute_queue=1, request_timeout_s=60)
WAIT_SECONDS = 60  # generous bound on waiting for a worker to start or go (a loaded CI machine)


def _settings(**changes) -> Settings:
    return Settings(**{**SMALL, **changes})


@pytest.fixture(scope="module")
def small_pool():
    """The pool of ``SMALL`` (one worker, one waiting), shared by the module's tests, closed after them."""
    pool = pool_for(*pool_args(_settings()))
    yield pool
    pool.close()


def _app(settings: Settings):
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    app.state.compute = pool_for(*pool_args(settings))  # what the lifespan would hold (not run here)
    app.dependency_overrides[get_job_manager] = lambda: None  # these requests are answered now, never jobs
    return app


def _until(condition, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        time.sleep(0.02)
    return value


async def _until_async(condition, what: str):
    deadline = time.monotonic() + WAIT_SECONDS
    while not (value := condition()):
        assert time.monotonic() < deadline, what
        await asyncio.sleep(0.02)
    return value


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _worker_pid(pool: ComputePool) -> int:
    return pool.submit(compute_tasks.pid, timeout=WAIT_SECONDS).future.result(WAIT_SECONDS)


# --------------------------------------------------------------------------------------------------
# Admission


def test_a_request_beyond_the_workers_and_queue_is_refused_at_once_with_503_and_retry_after(small_pool, monkeypatch):
    """One worker, a queue of one: of three concurrent requests one runs, one waits, one is refused at
    once (before the others finish), as problem+json with Retry-After; /health sees one busy, one queued."""
    monkeypatch.setattr(simon, "design_evaluation", compute_tasks.slow_design_evaluation)
    app = _app(_settings())
    _worker_pid(small_pool)  # started

    async def scenario():
        finished = []
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            async def post(i):
                r = await client.post(EVALUATE, json=DESIGN)
                finished.append(i)
                return r

            calls = [asyncio.create_task(post(i)) for i in range(3)]
            await _until_async(lambda: finished and small_pool.status()["busy"] == small_pool.status()["queued"] == 1,
                               "one request refused, one running, one waiting")
            health = (await client.get("/health")).json()
            return await asyncio.gather(*calls), finished, health

    responses, finished, health = asyncio.run(scenario())
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 200, 503], [r.text for r in responses]
    refused = next(i for i, r in enumerate(responses) if r.status_code == 503)
    assert finished[0] == refused  # answered at once, not after the others
    problem = assert_problem(responses[refused], 503)
    assert problem["type"] == "/problems/busy" and "GONOGO_COMPUTE_QUEUE" in problem["detail"]
    assert int(responses[refused].headers["retry-after"]) >= 1
    assert health["compute"] == {"status": "ok", "workers": 1, "alive": 1, "busy": 1, "queued": 1, "queue_limit": 1}
    assert all(r.json()["design"]["n"] == 21 for r in responses if r.status_code == 200)


# --------------------------------------------------------------------------------------------------
# Time limit, cancellation, dead workers


def test_a_computation_past_the_time_limit_is_stopped_with_a_503_and_the_next_request_succeeds(small_pool, monkeypatch):
    before = _worker_pid(small_pool)
    monkeypatch.setattr(simon, "design_evaluation", compute_tasks.endless_design_evaluation)
    client = TestClient(_app(_settings(request_timeout_s=0.5)))
    problem = assert_problem(client.post(EVALUATE, json=DESIGN), 503)
    assert problem["type"] == "/problems/computation-timeout" and problem["timeout_seconds"] == 0.5
    assert "GONOGO_REQUEST_TIMEOUT_S" in problem["detail"] and "Prefer: respond-async" in problem["detail"]
    assert _until(lambda: _gone(before), "the timed-out worker is killed")
    monkeypatch.undo()
    assert client.post(EVALUATE, json=DESIGN).status_code == 200
    assert _worker_pid(small_pool) != before


async def _post_then_leave(app, path: str, body: dict, pool: ComputePool) -> tuple[int, list[dict]]:
    """POST ``body`` as raw ASGI; once the pool runs it, the client disconnects. The worker's pid and
    what the app sent."""
    payload = json.dumps(body).encode()
    incoming = [{"type": "http.request", "body": payload, "more_body": False}]
    left = asyncio.Event()
    sent: list[dict] = []

    async def receive():
        if incoming:
            return incoming.pop(0)
        await left.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode())],
             "client": ("127.0.0.1", 50000), "server": ("test", 80)}
    call = asyncio.create_task(app(scope, receive, send))
    await _until_async(lambda: pool.status()["busy"] == 1, "the request runs")
    pid = pool.worker_pids()[0]
    left.set()
    await call
    return pid, sent


def test_a_client_that_disconnects_stops_its_computation_and_frees_the_worker(small_pool, monkeypatch):
    _worker_pid(small_pool)
    monkeypatch.setattr(simon, "design_evaluation", compute_tasks.endless_design_evaluation)
    pid, sent = asyncio.run(_post_then_leave(_app(_settings()), EVALUATE, DESIGN, small_pool))
    assert _until(lambda: _gone(pid), "the worker of the gone client is killed")
    assert sent[0]["status"] == 499  # nobody reads it; it says what happened in the access log
    assert small_pool.status()["busy"] == 0
    assert _worker_pid(small_pool) != pid  # replaced


def test_a_worker_killed_mid_request_gives_a_503_and_the_next_request_succeeds(small_pool, monkeypatch):
    _worker_pid(small_pool)
    monkeypatch.setattr(simon, "design_evaluation", compute_tasks.endless_design_evaluation)
    # A time limit far beyond the test's waits: on a loaded machine the request must end because its
    # worker was killed, never because the limit passed first (CI once saw computation-timeout here).
    app = _app(_settings(request_timeout_s=20 * WAIT_SECONDS))

    async def scenario():
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            call = asyncio.create_task(client.post(EVALUATE, json=DESIGN))
            await _until_async(lambda: small_pool.status()["busy"] == 1, "the request runs")
            pid = small_pool.worker_pids()[0]
            os.kill(pid, signal.SIGKILL)
            await _until_async(lambda: _gone(pid), "the killed worker is gone")
            return await asyncio.wait_for(call, 2 * WAIT_SECONDS)

    response = asyncio.run(scenario())
    problem = assert_problem(response, 503)
    assert problem["type"] == "/problems/worker-lost" and "signal 9" in problem["detail"]
    assert response.headers["retry-after"] == "1"
    monkeypatch.undo()
    assert TestClient(app).post(EVALUATE, json=DESIGN).status_code == 200


# --------------------------------------------------------------------------------------------------
# Memory


def test_a_worker_over_the_memory_limit_after_a_task_is_replaced_without_failing_the_next(small_pool):
    first = _worker_pid(small_pool)
    limit = small_pool.submit(compute_tasks.rss, timeout=WAIT_SECONDS).future.result() + 150 * 2**20
    # Within the limit: the same worker goes on.
    assert small_pool.submit(compute_tasks.pid, timeout=WAIT_SECONDS, max_rss_bytes=limit).future.result() == first
    # Over it after this task: the task is answered, then its worker retired.
    task = small_pool.submit(compute_tasks.hold_memory, 300, timeout=WAIT_SECONDS, max_rss_bytes=limit)
    assert task.future.result(WAIT_SECONDS) == first
    assert _worker_pid(small_pool) != first
    assert _gone(first)


# --------------------------------------------------------------------------------------------------
# Errors raised in a worker are the problems they were in the server


def test_a_convergence_error_in_a_worker_is_the_same_sampling_failed_problem(small_pool, monkeypatch):
    from service.api import response

    monkeypatch.setattr(response, "analyse_response", compute_tasks.sampler_fails)
    r = TestClient(_app(_settings())).post("/v1/analyses/response", json=RESPONSE)
    problem = assert_problem(r, 500)
    try:
        compute_tasks.sampler_fails(None)
    except ConvergenceError as exc:
        assert problem == problem_document(exc)[1]
    assert problem["type"] == "/problems/sampling-failed" and problem["diagnostics"]["error"] == "the worker's sampler broke"


def test_compute_workers_keep_their_caches_within_gonogo_cache_mb():
    settings = _settings().model_copy(update={"cache_mb": 32})
    pool = pool_for(*pool_args(settings))
    try:
        task = pool.submit(compute_tasks.cache_budget, timeout=WAIT_SECONDS, max_rss_bytes=None)
        assert task.future.result(WAIT_SECONDS) == 32 * 2**20
    finally:
        pool.close()


def test_an_error_whose_class_cannot_be_rebuilt_is_a_500_and_the_worker_goes_on(small_pool):
    task = small_pool.submit(compute_tasks.raises_unrebuildable, None, timeout=WAIT_SECONDS, max_rss_bytes=None)
    with pytest.raises(RuntimeError, match="NeedsItsArguments"):
        task.future.result(WAIT_SECONDS)
    assert small_pool.submit(compute_tasks.pid, timeout=WAIT_SECONDS, max_rss_bytes=None).future.result(WAIT_SECONDS) > 0


def test_invalid_input_found_in_a_worker_is_the_same_422_naming_its_field(small_pool, monkeypatch):
    from service.api import response

    monkeypatch.setattr(response, "analyse_response", compute_tasks.refuses)
    problem = assert_problem(TestClient(_app(_settings())).post("/v1/analyses/response", json=RESPONSE), 422,
                             "strata/1/responders")
    assert problem == problem_document(InvalidInputError("strata/1/responders", "refused in the worker"))[1]


# --------------------------------------------------------------------------------------------------
# A pool that cannot start its workers


def test_health_is_degraded_and_requests_503_while_no_worker_can_start(monkeypatch):
    from designs.engines import pymc

    monkeypatch.setattr(pymc, "warm_up", compute_tasks.dying_warm_up)
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: _settings(warm_up_models=True)
    with TestClient(app) as client:
        health = _until(lambda: (h := client.get("/health").json())["status"] == "degraded" and h, "degraded")
        assert health["compute"]["alive"] == 0 and "exit code 3" in health["compute"]["reason"]
        problem = assert_problem(client.post(EVALUATE, json=DESIGN), 503)
        assert problem["type"] == "/problems/compute-unavailable" and "exit code 3" in problem["detail"]


# --------------------------------------------------------------------------------------------------
# No orphans

# A server: the app and a started pool of two workers; it prints the heavy modules it has loaded (none:
# it computes nothing itself) and its workers' pids.
SERVER = """
import sys, time
import service.app
from service.compute import tasks
from service.compute.pool import ComputePool
pool = ComputePool(2, 0, None, None).start()
while pool.status()["alive"] < 2:
    time.sleep(0.05)
print(pool.submit(tasks.simon_designs, 0.05, 0.25, 0.05, 0.2, 40, timeout=60).future.result()["optimal"]["n"])
print(sorted(m for m in ("pymc", "nutpie", "numba", "pytensor") if m in sys.modules))
print(*pool.worker_pids(), flush=True)
time.sleep(600)
"""


@pytest.mark.slow
def test_workers_exit_when_their_server_is_killed_and_the_server_never_loads_pymc():
    root = Path(__file__).resolve().parents[2]
    parent = subprocess.Popen([sys.executable, "-c", SERVER], cwd=root, stdout=subprocess.PIPE, text=True)
    try:
        assert int(parent.stdout.readline()) > 0  # a computation ran, in a worker
        assert parent.stdout.readline().strip() == "[]"
        pids = [int(p) for p in parent.stdout.readline().split()]
        assert len(pids) == 2 and all(not _gone(p) for p in pids)
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        assert _until(lambda: all(_gone(p) for p in pids), "the workers end with their parent")
    finally:
        parent.kill()
        parent.stdout.close()


def test_the_routes_declare_503_in_the_openapi_document():
    spec = create_app().openapi()
    for path in (EVALUATE, "/v1/simon/designs", "/v1/simon/inference", "/v1/analyses/response", "/v1/analyses/pfs",
                 "/v1/designs/operating-characteristics", "/v1/designs/calibrate"):
        assert "503" in spec["paths"][path]["post"]["responses"], path


def test_compute_settings_defaults_and_bounds(monkeypatch):
    for variable in ("GONOGO_COMPUTE_WORKERS", "GONOGO_COMPUTE_QUEUE", "GONOGO_REQUEST_TIMEOUT_S",
                     "GONOGO_COMPUTE_WORKER_MAX_RSS_MB"):
        monkeypatch.delenv(variable, raising=False)
    default = Settings()
    assert default.compute_workers == max(1, min(len(os.sched_getaffinity(0)), 64))
    assert default.compute_queue_limit == 2 * default.compute_workers
    assert (default.request_timeout_s, default.compute_worker_max_rss_mb) == (120.0, 1500)
    monkeypatch.setenv("GONOGO_COMPUTE_QUEUE", "0")
    assert Settings().compute_queue_limit == 0
    for variable, value in (("GONOGO_COMPUTE_WORKERS", "0"), ("GONOGO_COMPUTE_QUEUE", "-1"),
                            ("GONOGO_REQUEST_TIMEOUT_S", "0"), ("GONOGO_COMPUTE_WORKER_MAX_RSS_MB", "99")):
        monkeypatch.setenv(variable, value)
        with pytest.raises(ValueError):
            Settings()
        monkeypatch.delenv(variable)
