"""`gonogo serve` starts a real server on loopback that answers over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_answers_health_and_a_simon_search(tmp_path):
    port = _free_port()
    env = {**os.environ, "GONOGO_WARM_UP_MODELS": "false", "GONOGO_DATA_DIR": str(tmp_path), "GONOGO_LOG_LEVEL": "warning"}
    server = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            while True:
                assert server.poll() is None, server.stdout.read().decode()
                try:
                    health = client.get("/health")
                    break
                except httpx.TransportError:
                    assert time.monotonic() < deadline, "server did not start within 60 s"
                    time.sleep(0.1)
            assert health.json()["status"] == "ok"
            designs = client.post("/v1/simon/designs", json={"p0": 0.1, "p1": 0.3}).json()
            assert (designs["optimal"]["n1"], designs["optimal"]["n"]) == (10, 29)  # Simon (1989): 1/10, 5/29
            problem = client.post("/v1/simon/designs", json={"p0": 0.3, "p1": 0.1})
            assert problem.status_code == 422
            assert problem.headers["content-type"].startswith("application/problem+json")
    finally:
        server.terminate()
        server.wait(timeout=30)
        server.stdout.close()
