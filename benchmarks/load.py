"""Load figures against a real server (``gonogo serve`` on 127.0.0.1, a free port, a new data dir).

Run: ``.venv/bin/python benchmarks/load.py [--duration 20] [--levels 1 8 32]``. Prints figures for
issue 9 (goal at 32 concurrent clients: /health p99 ≤ 50 ms, every request answered with a result, a
202 or an explicit 503); not a pass/fail test, except that it exits 1 when a request got a 5xx other
than a 503, or no answer at all (a refused or dropped connection).

Once /health says the models are compiled, for each level of concurrent clients (default 1, 8, 32),
for ``--duration`` seconds, each client sends a fixed mix of realistic requests in turn:

- ``response-quadrature``: the MPNST two-stratum hierarchical analysis, quadrature engine
- ``response-mcmc``: the same with PyMC, 2 chains × 500 draws
- ``pfs``: the README's two-stratum PFS analysis (hierarchical exponential, PyMC)
- ``simon-evaluate``: exact operating characteristics of SARC031's Simon design at 4 rates

while a prober, in a process of its own, asks /health about ten times a second. A 503 (the service busy: admission control) is
counted with its Retry-After, and the client waits that long before its next request (as a
well-behaved client does; ``--ignore-retry-after`` sends the next at once); a 202 (a job) is counted. Per level it prints the
throughput, p50/p99 latency of each kind, the status counts, /health p50/p99/max, and the RSS of
the server and of its child processes (pool workers): before the first level, after each, and
idle after the last (``--idle`` seconds).
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import itertools
import multiprocessing
import multiprocessing.connection
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from common import free_port, quantile  # benchmarks/common.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
STRATA = [
    {"name": "NF1-associated", "n": 10, "responders": 3, "n_planned": 21},
    {"name": "sporadic", "n": 10, "responders": 1, "n_planned": 21},
]
RESPONSE = {
    "p0": 0.15, "p1": 0.35, "strata": STRATA,
    "model": {"kind": "hierarchical", "prior": {"mu_sd": 2.6159, "tau_scale": 1}},
    "decision": {"final_threshold": 0.95, "futility_ppos": 0.05, "efficacy_ppos": 0.95},
    "simon": {"r1": 0, "n1": 7, "r": 2, "n": 21},
}
PATIENTS = [
    ("N01", "NF1-associated", 5.2, False), ("N02", "NF1-associated", 1.1, True), ("N03", "NF1-associated", 3.9, True),
    ("S01", "sporadic", 0.9, True), ("S02", "sporadic", 4.4, False), ("S03", "sporadic", 2.0, True),
]
PFS = {
    "patients": [{"id": i, "stratum": s, "time_months": t, "event": e} for i, s, t, e in PATIENTS],
    "strata": [{"name": "NF1-associated", "n_planned": 21}, {"name": "sporadic", "n_planned": 21}],
    "landmark_months": 4, "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35,
    "model": {"kind": "hierarchical-exponential"},
}
# (kind, path, body): a client sends them in this order, the analyses with a new seed each time.
MIX = (
    ("response-quadrature", "/v1/analyses/response", {**RESPONSE, "engine": "quadrature"}),
    ("response-mcmc", "/v1/analyses/response", {**RESPONSE, "engine": "mcmc", "mcmc": {"draws": 500, "tune": 500, "chains": 2}}),
    ("pfs", "/v1/analyses/pfs", PFS),
    ("simon-evaluate", "/v1/simon/evaluate", {"r1": 0, "n1": 7, "r": 2, "n": 21, "p": [0.05, 0.15, 0.25, 0.35]}),
)
HEALTH_PERIOD = 0.1
REQUEST_TIMEOUT = 300.0


def rss_line(label: str, server: psutil.Process) -> None:
    """RSS of the server and of each of its child processes (pool workers, resource tracker), MB."""
    try:
        children = server.children(recursive=True)
        own = server.memory_info().rss
    except psutil.Error:
        print(f"RSS {label:24s} (server gone)")
        return
    sizes = []
    for child in children:
        try:
            sizes.append(child.memory_info().rss)
        except psutil.Error:
            pass
    each = " ".join(f"{size / 2**20:.0f}" for size in sizes) or "-"
    print(f"RSS {label:24s} server {own / 2**20:7.0f} MB   {len(sizes)} children {sum(sizes) / 2**20:7.0f} MB "
          f"({each})   total {(own + sum(sizes)) / 2**20:7.0f} MB")


class Level:
    """What one level of concurrency saw."""

    def __init__(self) -> None:
        self.latency: dict[str, list[float]] = collections.defaultdict(list)
        self.status: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
        self.retry_after: list[str] = []
        self.bad: list[str] = []  # 5xx other than 503, connection errors
        self.refused: list[str] = []  # 4xx: a request of the mix the service no longer takes
        self.health: list[float] = []
        self.health_bad = 0


async def client_loop(client: httpx.AsyncClient, start: int, stop_at: float, seeds: itertools.count, level: Level,
                      honour_retry_after: bool = True) -> None:
    for kind, path, body in itertools.islice(itertools.cycle(MIX), start, None):
        if time.perf_counter() >= stop_at:
            return
        t = time.perf_counter()
        try:
            seeded = {**body, "seed": next(seeds)} if path.startswith("/v1/analyses/") else body
            r = await client.post(path, json=seeded, timeout=REQUEST_TIMEOUT)
        except httpx.TransportError as exc:
            level.status[kind]["error"] += 1
            level.bad.append(f"{kind}: {type(exc).__name__} {exc}")
            continue
        elapsed = time.perf_counter() - t
        code = r.status_code
        level.status[kind][code if code in (200, 202, 503) else "other"] += 1
        if code == 200:
            level.latency[kind].append(elapsed)
        elif code == 503:
            retry_after = r.headers.get("retry-after", "(none)")
            level.retry_after.append(retry_after)
            if honour_retry_after and retry_after.isdigit():
                # A well-behaved client waits as told (the R client and httr2's req_retry do).
                await asyncio.sleep(min(float(retry_after), max(0.0, stop_at - time.perf_counter())))
        elif code >= 500:
            level.bad.append(f"{kind}: {code} {r.text[:200]}")
        elif code != 202:
            level.refused.append(f"{kind}: {code} {r.text[:200]}")


def probe_health(port: int, duration: float, out: multiprocessing.connection.Connection) -> None:
    """/health about ten times a second for ``duration`` seconds, in a process of its own over one
    keep-alive connection with a plain socket, so that the figure is the server's latency, not the
    load generator's (its event loop busy with 32 clients) or an HTTP client library's overhead.
    Sends (latencies in seconds, answers not 200) down ``out``."""
    latencies, bad = [], 0
    request = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
    stop_at = time.perf_counter() + duration
    sock = socket.create_connection(("127.0.0.1", port))
    stream = sock.makefile("rb")
    try:
        while time.perf_counter() < stop_at:
            t = time.perf_counter()
            try:
                sock.sendall(request)
                status = int(stream.readline().split()[1])
                length = 0
                while (header := stream.readline()) not in (b"\r\n", b""):
                    name, _, value = header.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                stream.read(length)
            except (OSError, ValueError, IndexError):
                bad += 1
                sock.close()
                sock = socket.create_connection(("127.0.0.1", port))
                stream = sock.makefile("rb")
                continue
            latencies.append(time.perf_counter() - t)
            bad += status != 200
            time.sleep(max(0.0, HEALTH_PERIOD - (time.perf_counter() - t)))
    finally:
        sock.close()
    out.send((latencies, bad))


async def run_level(base: str, clients: int, duration: float, seeds: itertools.count,
                    honour_retry_after: bool = True) -> Level:
    level = Level()
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)
    receiver, sender = multiprocessing.Pipe(duplex=False)
    prober = multiprocessing.get_context("spawn").Process(
        target=probe_health, args=(httpx.URL(base).port, duration, sender), daemon=True)
    prober.start()
    async with httpx.AsyncClient(base_url=base, limits=limits) as client:
        stop_at = time.perf_counter() + duration
        await asyncio.gather(*(client_loop(client, i % len(MIX), stop_at, seeds, level, honour_retry_after)
                               for i in range(clients)))
    level.health, level.health_bad = receiver.recv()
    prober.join()
    return level


def report(clients: int, level: Level, wall: float) -> None:
    answered = sum(sum(c.values()) for c in level.status.values())
    print(f"\n== {clients} concurrent client{'s' if clients > 1 else ''}: {answered} requests in {wall:.1f} s, "
          f"{answered / wall:.2f} requests/s ({sum(len(v) for v in level.latency.values()) / wall:.2f} results/s)")
    print(f"   {'kind':22s} {'n 200':>6s} {'p50 s':>8s} {'p99 s':>8s}   status counts (200/202/503/other/error)")
    for kind, _, _ in MIX:
        lat, st = level.latency[kind], level.status[kind]
        counts = "/".join(str(st[k]) for k in (200, 202, 503, "other", "error"))
        print(f"   {kind:22s} {len(lat):6d} {quantile(lat, 0.5):8.3f} {quantile(lat, 0.99):8.3f}   {counts}")
    if level.retry_after:
        print(f"   503 Retry-After values: {dict(collections.Counter(level.retry_after))}")
    h = level.health
    print(f"   /health ({len(h)} probes, {level.health_bad} not 200): p50 {quantile(h, 0.5) * 1000:.1f} ms, "
          f"p99 {quantile(h, 0.99) * 1000:.1f} ms, max {max(h, default=float('nan')) * 1000:.1f} ms")
    for line in sorted(set(level.refused))[:5]:
        print(f"   4xx: {line}")
    for line in sorted(set(level.bad))[:5]:
        print(f"   FAILED: {line}")


def wait_ready(base: str, server: subprocess.Popen, timeout: float = 300.0) -> dict:
    deadline = time.perf_counter() + timeout
    with httpx.Client(base_url=base, timeout=10) as client:
        while time.perf_counter() < deadline:
            if server.poll() is not None:
                raise SystemExit(f"the server exited with {server.returncode} before it was ready")
            try:
                models = client.get("/health").json()["models"]
                if models["state"] not in ("compiling", "unknown"):
                    return models
            except httpx.TransportError:
                pass
            time.sleep(0.2)
    raise SystemExit(f"the models were not ready after {timeout:.0f} s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=20.0, help="seconds per level (default 20)")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32], help="concurrent clients (default 1 8 32)")
    parser.add_argument("--ignore-retry-after", action="store_true",
                        help="send the next request at once after a 503 instead of waiting Retry-After seconds")
    parser.add_argument("--idle", type=float, default=10.0, help="seconds idle before the last RSS figure (default 10)")
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # figures as they come, also into a file
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop the server on the way out

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    failed = False
    with tempfile.TemporaryDirectory(prefix="gonogo-load-") as data_dir:
        env = {**os.environ, "GONOGO_HOST": "127.0.0.1", "GONOGO_PORT": str(port), "GONOGO_DATA_DIR": data_dir,
               "GONOGO_LOG_LEVEL": "warning"}
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], cwd=ROOT, env=env)
        try:
            models = wait_ready(base, server)
            print(f"server pid {server.pid} on {base}: models {models['state']} after {time.perf_counter() - started:.1f} s; "
                  f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
            process = psutil.Process(server.pid)
            rss_line("before", process)
            seeds = itertools.count(1)
            for clients in args.levels:
                t = time.perf_counter()
                level = asyncio.run(run_level(base, clients, args.duration, seeds, not args.ignore_retry_after))
                report(clients, level, time.perf_counter() - t)
                print(f"   load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
                rss_line(f"after {clients} clients", process)
                failed = failed or bool(level.bad)
            time.sleep(args.idle)
            rss_line(f"idle {args.idle:.0f} s after", process)
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
    if failed:
        print("\nFAILED: a request got a 5xx other than 503, or no answer")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
