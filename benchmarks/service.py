"""End-to-end HTTP figures against a real server (uvicorn on 127.0.0.1, a free port).

Run: ``.venv/bin/python benchmarks/service.py [--startup-only]``. Prints figures and their ratios
to the goals of issues 3 (interim response analyses) and 8 (start-up); not a pass/fail test.

- time from start to ``models.state: ready`` on /health (goal ≤ 10 s), first with empty caches
  (a new data dir and PyTensor compile dir: a first install) and again with the caches it left
- time from start to the first answered two-stratum hierarchical analysis (goal ≤ 15 s)
- warm latency of that analysis, p50 and p90 over 20 requests (goal p50 ≤ 300 ms, bulk ESS ≥ 1000)
- quadrature engine, p50 (goal ≤ 20 ms in the core; this figure includes HTTP)
- /health latency while 4 analyses run (goal < 50 ms)
- 8 concurrent analyses: answered, or 503 beyond the compute pool's workers and queue
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from common import free_port  # benchmarks/common.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
BODY = {
    "p0": 0.15,
    "p1": 0.35,
    "strata": [
        {"name": "NF1-associated", "n": 10, "responders": 3, "n_planned": 21},
        {"name": "sporadic", "n": 10, "responders": 1, "n_planned": 21},
    ],
    "model": {"kind": "hierarchical"},
    "seed": 1,
}


def line(label: str, value: float, unit: str, goal: float | None = None, better: str = "lower") -> None:
    ratio = f"{value / goal:6.2f}× goal" if goal else ""
    met = "" if goal is None else ("met" if (value <= goal if better == "lower" else value >= goal) else "NOT met")
    print(f"{label:58s} {value:10.3f} {unit:3s} {ratio:>14s} {met}")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux; NaN elsewhere): a figure that other load on
    the machine does not inflate as much as wall time."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return float("nan")
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def seconds_to_ready(extra_env: dict[str, str]) -> tuple[float, float, dict]:
    """Start a server, wait for /health to report the models ready (or failed), stop it.

    Returns wall seconds, the server's CPU seconds and the models block of /health."""
    port = free_port()
    env = {**os.environ, "GONOGO_PORT": str(port), "GONOGO_HOST": "127.0.0.1", "GONOGO_LOG_LEVEL": "warning",
           **extra_env}
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], cwd=ROOT, env=env)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            while True:
                try:
                    models = client.get("/health").json()["models"]
                    if models["state"] not in ("compiling", "unknown"):
                        return time.perf_counter() - started, cpu_seconds(server.pid), models
                except httpx.TransportError:
                    pass
                time.sleep(0.05)
    finally:
        server.terminate()
        server.wait(timeout=30)


def startup_figures() -> None:
    with tempfile.TemporaryDirectory() as scratch:
        env = {"GONOGO_DATA_DIR": f"{scratch}/data", "PYTENSOR_FLAGS": f"base_compiledir={scratch}/pytensor"}
        for label in ("first start, empty caches", "second start, caches kept"):
            seconds, cpu, models = seconds_to_ready(env)
            line(f"start → models ready ({label})", seconds, "s", 10.0)
            line("  CPU time of the server until then", cpu, "s")
            if models["state"] != "ready":
                print(f"  models: {models}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--startup-only", action="store_true", help="only the start-up figures")
    args = parser.parse_args()
    startup_figures()
    if args.startup_only:
        return 0
    port = free_port()
    env = {**os.environ, "GONOGO_PORT": str(port), "GONOGO_HOST": "127.0.0.1", "GONOGO_LOG_LEVEL": "warning"}
    started = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            while True:
                try:
                    if client.get("/health").status_code == 200:
                        break
                except httpx.TransportError:
                    time.sleep(0.05)
            line("start → /health answers", time.perf_counter() - started, "s")
            r = client.post("/v1/analyses/response", json=BODY)
            r.raise_for_status()
            line("start → first hierarchical analysis answered", time.perf_counter() - started, "s", 15.0)

            def analysis(seed: int, engine: str | None = None) -> tuple[float, dict]:
                t = time.perf_counter()
                body = {**BODY, "seed": seed, **({"engine": engine} if engine else {})}
                resp = client.post("/v1/analyses/response", json=body)
                resp.raise_for_status()
                return time.perf_counter() - t, resp.json()

            while client.get("/health").json()["models"]["state"] == "compiling":
                time.sleep(0.5)  # warm figures only once the background compilation has finished
            line("start → every model compiled (background warm-up)", time.perf_counter() - started, "s")
            runs = [analysis(100 + i) for i in range(20)]
            times = sorted(t for t, _ in runs)
            ess_p = min(r["diagnostics"]["quantities"]["p"]["min_ess_bulk"] for _, r in runs)
            ess_all = min(r["diagnostics"]["min_ess_bulk"] for _, r in runs)
            line("warm hierarchical analysis (MCMC) p50", statistics.median(times), "s", 0.300)
            line("warm hierarchical analysis (MCMC) p90", times[int(0.9 * len(times)) - 1], "s")
            line("  smallest bulk ESS of the response rates p_j", ess_p, "", 1000, better="higher")
            line("  smallest bulk ESS of any parameter (μ, τ, z)", ess_all, "", 400, better="higher")
            qtimes = sorted(analysis(200 + i, "quadrature")[0] for i in range(20))
            line("warm hierarchical analysis (quadrature) p50, HTTP", statistics.median(qtimes), "s", 0.020)

            with cf.ThreadPoolExecutor(4) as pool:
                futures = [pool.submit(analysis, 300 + i) for i in range(4)]
                time.sleep(0.05)
                health = []
                while not all(f.done() for f in futures):
                    t = time.perf_counter()
                    client.get("/health").raise_for_status()
                    health.append(time.perf_counter() - t)
                    time.sleep(0.01)
                [f.result() for f in futures]
            health.sort()
            line(f"/health while 4 analyses run: p50 of {len(health)}", statistics.median(health), "s", 0.050)
            line("/health while 4 analyses run: max", health[-1], "s", 0.050)

            # Beyond GONOGO_COMPUTE_WORKERS running and GONOGO_COMPUTE_QUEUE waiting, the rest are 503 Busy.
            with cf.ThreadPoolExecutor(8) as pool:
                statuses = list(pool.map(lambda s: client.post("/v1/analyses/response", json={**BODY, "seed": 400 + s})
                                         .status_code, range(8)))
            print(f"{'8 concurrent analyses answered 200':58s} {statuses.count(200):10d}     of 8")
            print(f"{'  and 503 (busy: retry after Retry-After)':58s} {statuses.count(503):10d}     of 8")
    finally:
        server.terminate()
        server.wait(timeout=30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
