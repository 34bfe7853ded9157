"""A real gonogo server for tests that need one over TCP (a browser, the R client): started as
`gonogo serve` starts it, on a free loopback port, with its own data directory and no model warm-up;
stopped (SIGTERM, then SIGKILL) when the test is done."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
START_SECONDS = 120  # generous: a loaded CI machine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(data_dir: Path, **environment: str) -> Iterator[tuple[str, dict[str, str]]]:
    """(base URL, the server's environment) of a server whose data directory is ``data_dir``;
    ``environment`` adds GONOGO_* settings. Its output goes to ``data_dir/server.log``, shown if it
    stops while starting."""
    data_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {**os.environ, "GONOGO_WARM_UP_MODELS": "false", "GONOGO_LOG_LEVEL": "warning",
           "GONOGO_DATA_DIR": str(data_dir), **environment}
    env.pop("GONOGO_DATABASE_URL", None)  # the data directory's SQLite
    log = data_dir / "server.log"
    with log.open("wb") as output:  # a file, not a pipe nobody reads
        process = subprocess.Popen(
            [sys.executable, "-m", "service.cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_SECONDS
        while True:
            if process.poll() is not None:
                raise AssertionError(f"the server stopped while starting:\n{log.read_text(errors='replace')}")
            try:
                if httpx.get(f"{base}/health", timeout=30).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, f"the server did not start within {START_SECONDS} s"
            time.sleep(0.2)
        yield base, env
    finally:
        process.terminate()
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
