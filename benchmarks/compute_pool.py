"""/health latency while many analyses run through the compute pool (a real server on 127.0.0.1).

Run: ``.venv/bin/python benchmarks/compute_pool.py [--clients 32] [--seconds 20] [--engine mcmc]``.
``--root DIR`` serves another checkout instead (e.g. one from before the compute pool, to compare).
Prints figures, not pass/fail: the goal of issue 9 is /health p99 ≤ 50 ms at 32 concurrent analyses,
every request answered with a result or an explicit 503.

- /health latency p50, p99 and max while ``--clients`` clients post two-stratum hierarchical analyses
  back to back (a refused one waits its Retry-After, at most 1 s here, before the next)
- analyses answered 200, refused 503 (by problem type) and anything else; analyses per second
- resident memory of the server and of its compute workers at the end
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
BODY = {  # as in benchmarks/service.py
    "p0": 0.15,
    "p1": 0.35,
    "strata": [
        {"name": "NF1-associated", "n": 10, "responders": 3, "n_planned": 21},
        {"name": "sporadic", "n": 10, "responders": 1, "n_planned": 21},
    ],
    "model": {"kind": "hierarchical"},
    "seed": 1,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def line(label: str, value: float, unit: str, goal: float | None = None) -> None:
    ratio = f"{value / goal:6.2f}× goal" if goal else ""
    met = "" if goal is None else ("met" if value <= goal else "NOT met")
    print(f"{label:58s} {value:10.3f} {unit:3s} {ratio:>14s} {met}")


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--engine", choices=("mcmc", "quadrature"), default="mcmc")
    parser.add_argument("--root", type=Path, default=ROOT, help="the checkout to serve (default: this one)")
    args = parser.parse_args()

    port = free_port()
    scratch = tempfile.mkdtemp(prefix="gonogo-bench-")
    env = {**os.environ, "GONOGO_PORT": str(port), "GONOGO_HOST": "127.0.0.1", "GONOGO_LOG_LEVEL": "warning",
           "GONOGO_DATA_DIR": os.environ.get("GONOGO_DATA_DIR", scratch)}
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], cwd=args.root, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=300) as client:
            while True:
                try:
                    health = client.get("/health").json()
                    if health["models"]["state"] not in ("compiling", "unknown"):
                        break
                except httpx.TransportError:
                    pass
                time.sleep(0.2)
            body = {**BODY, "engine": args.engine}
            client.post("/v1/analyses/response", json=body).raise_for_status()  # warm

        stop = threading.Event()
        outcomes: Counter[str] = Counter()
        lock = threading.Lock()

        def analyses(index: int) -> None:
            with httpx.Client(base_url=base, timeout=300) as c:
                seed = 1000 * index
                while not stop.is_set():
                    seed += 1
                    r = c.post("/v1/analyses/response", json={**body, "seed": seed})
                    kind = str(r.status_code) if r.status_code != 503 else f"503 {r.json()['type']}"
                    with lock:
                        outcomes[kind] += 1
                    if r.status_code == 503:
                        stop.wait(min(1.0, float(r.headers.get("retry-after", 1))))

        health_seconds: list[float] = []

        def health() -> None:
            with httpx.Client(base_url=base, timeout=60) as c:
                while not stop.is_set():
                    t = time.perf_counter()
                    c.get("/health").raise_for_status()
                    health_seconds.append(time.perf_counter() - t)
                    stop.wait(0.02)

        threads = [threading.Thread(target=analyses, args=(i,)) for i in range(args.clients)]
        threads.append(threading.Thread(target=health))
        started = time.perf_counter()
        for t in threads:
            t.start()
        time.sleep(args.seconds)
        rss_server = psutil.Process(server.pid).memory_info().rss
        rss_children = sum(p.memory_info().rss for p in psutil.Process(server.pid).children(recursive=True))
        stop.set()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started

        print(f"{args.clients} clients, {args.engine} analyses, {elapsed:.0f} s, serving {args.root}")
        line(f"/health p50 of {len(health_seconds)}", statistics.median(health_seconds), "s", 0.050)
        line("/health p99", percentile(health_seconds, 0.99), "s", 0.050)
        line("/health max", max(health_seconds), "s")
        for kind, count in sorted(outcomes.items()):
            print(f"{'analyses answered ' + kind:58s} {count:10d}")
        line("analyses answered 200 per second", outcomes["200"] / elapsed, "/s")
        line("RSS of the server", rss_server / 2**20, "MB")
        line("RSS of its child processes (compute workers ...)", rss_children / 2**20, "MB")
    finally:
        server.terminate()
        server.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
