"""A server killed with SIGKILL inside a look's write transaction (after its inserts, before the
commit) leaves no partial look and no orphan audit event; restarted, it runs the look and the chain
holds (issue 10: "nothing lost, nothing doubled")."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from sqlalchemy import func, select

from service import auth
from service.registry.audit import verify_trail
from service.registry.repository import CRASH_AT
from service.schemas.registry import EXAMPLE_CUT, EXAMPLE_PROTOCOL
from service.store.engine import create_schema, default_url, make_engine
from service.store.tables import audit_events, looks

ROOT = Path(__file__).resolve().parent.parent.parent
TRIAL = EXAMPLE_PROTOCOL["id"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(data_dir: Path, port: int, **env: str) -> subprocess.Popen:
    environment = {**os.environ, "GONOGO_WARM_UP_MODELS": "false", "GONOGO_DATA_DIR": str(data_dir),
                   "GONOGO_LOG_LEVEL": "warning", "GONOGO_COMPUTE_WORKERS": "1", **env}
    environment.pop("GONOGO_DATABASE_URL", None)  # SQLite in the data directory
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve", "--port", str(port)], cwd=ROOT,
                              env=environment, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while True:
        assert server.poll() is None, server.stdout.read().decode()
        try:
            httpx.get(f"http://127.0.0.1:{port}/health", timeout=5)
            return server
        except httpx.TransportError:
            assert time.monotonic() < deadline, "server did not start within 90 s"
            time.sleep(0.1)


def _stop(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.terminate()
        server.wait(timeout=30)
    server.stdout.close()


def _counts(engine) -> tuple[int, int]:
    with engine.connect() as conn:
        return (conn.execute(select(func.count()).select_from(looks)).scalar_one(),
                conn.execute(select(func.count()).select_from(audit_events)).scalar_one())


def test_sigkill_inside_a_look_leaves_no_partial_look_and_no_orphan_event(tmp_path):
    engine = make_engine(default_url(tmp_path))
    create_schema(engine)
    token = auth.create_token(engine, name="stat", role="statistician", actor="test")[1]
    headers = {"Authorization": f"Bearer {token}"}
    port = _free_port()
    server = _serve(tmp_path, port, **{CRASH_AT: "look-before-commit"})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as client:
            assert client.post("/v1/trials", json=EXAMPLE_PROTOCOL).status_code == 201
            assert client.post(f"/v1/trials/{TRIAL}/data-cuts", json=EXAMPLE_CUT).status_code == 201
            before = _counts(engine)
            try:
                client.post(f"/v1/trials/{TRIAL}/looks", json={"data_cut": 1})
                raise AssertionError("the server answered a look it should have died in")
            except httpx.TransportError:
                pass
        assert server.wait(timeout=30) == -signal.SIGKILL
    finally:
        _stop(server)
    assert _counts(engine) == before  # no look, no event: the transaction died with the process
    report = verify_trail(engine)
    assert report.ok, report.as_dict()

    server = _serve(tmp_path, port)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=120) as client:
            look = client.post(f"/v1/trials/{TRIAL}/looks", json={"data_cut": 1})
            assert look.status_code == 201, look.text
            assert look.json()["look"] == 1
            assert client.get("/health").json()["status"] == "ok"
    finally:
        _stop(server)
    assert _counts(engine) == (1, before[1] + 2)  # look.create and design.create (the version's first look)
    assert verify_trail(engine).ok
    engine.dispose()
