"""The trial registry's speed against a real server (``gonogo serve`` on 127.0.0.1, a free port), on
SQLite and on PostgreSQL.

Run: ``.venv/bin/python benchmarks/registry.py [--backends sqlite postgresql] [--repeats 20]``.
Prints figures, the goals of issue 10 and their ratios; not a pass/fail test. For each backend a new
database (a SQLite file in a temporary directory; a schema of its own on the PostgreSQL server of
``--postgres-url``, default ``GONOGO_TEST_DATABASE_URL`` or postgres@127.0.0.1:5432/test, dropped
afterwards), a server on it with the models compiled (``GONOGO_WARM_UP_MODELS=true``; their machine
code is kept in ``GONOGO_DATA_DIR`` between runs), and a statistician token of every trial:

- upload a 200-patient data cut (2 strata × 100 patients, 120 planned each) and run a look on it with
  the quadrature engine, response and PFS: p50 ≤ 150 ms (the two requests, one after the other)
- the same with PyMC for response and the hierarchical-exponential PFS model: p50 ≤ 1 s
- read a stored look (``GET .../looks/{n}``): p50 ≤ 10 ms
- 32 concurrent readers of stored looks (asyncio clients in this process): p99 ≤ 100 ms, no errors
- upload a 200-patient ADaM cut (ADSL, ADRS, ADTTE; issue 11) as SAS transport files, CSV files
  (multipart/form-data) and JSON records: p50 ≤ 300 ms each
- the closed report of a look of those trials (response and PFS, two strata; issue 12), rendered by
  the server: HTML ≤ 2 s, PDF ≤ 5 s
- verify an audit trail of 10,000 events: ≤ 1 s (``service.registry.audit.verify_trail`` in this
  process, and ``GET /v1/audit/verify`` through the server); the trail is filled to 10,000 events
  with events appended as the registry appends them (``service.registry.audit.append``)

Each trial of the figures is a new trial (a cut then a look: the first of that trial), so that the
figure is the same whichever iteration it is.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the service runs (gonogo serve), before numpy loads

import argparse  # noqa: E402
import asyncio  # noqa: E402
import math  # noqa: E402
import random  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from datetime import date, timedelta  # noqa: E402
from pathlib import Path  # noqa: E402

import httpx  # noqa: E402
from common import free_port, quantile  # noqa: E402 - benchmarks/common.py, beside this script

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
POSTGRES_URL = os.environ.get("GONOGO_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STRATA = ("NF1-associated", "sporadic")
PATIENTS_PER_STRATUM = 100
N_PLANNED = 120
CUTOFF = date(2026, 6, 30)
from designs.endpoints.spec import DAYS_PER_MONTH  # noqa: E402
AUDIT_EVENTS = 10_000


def line(label: str, value: float, unit: str, goal: float | None = None) -> None:
    ratio = f"{value / goal:6.2f}× goal" if goal else ""
    met = "" if goal is None else ("met" if value <= goal else "NOT met")
    print(f"{label:60s} {value:10.4f} {unit:3s} {ratio:>14s} {met}", flush=True)


def protocol(trial_id: str, engine: str) -> dict:
    """Two strata of 120 planned patients; response (hierarchical) and PFS (hierarchical exponential)
    both computed by ``engine``."""
    return {
        "id": trial_id,
        "title": f"registry benchmark ({engine})",
        "strata": [{"name": name, "description": name} for name in STRATA],
        "response": {
            "p0": 0.15, "p1": 0.35,
            "strata": [{"name": name, "n_planned": N_PLANNED, "looks": [40, 80, N_PLANNED]} for name in STRATA],
            "model": {"kind": "hierarchical"}, "engine": engine,
        },
        "pfs": {
            "landmark_months": 4, "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.30,
            "strata": [{"name": name, "n_planned": N_PLANNED} for name in STRATA],
            "model": {"kind": "hierarchical-exponential"}, "engine": engine,
        },
        "seed": 1,
    }


def data_cut(seed: int) -> dict:
    """200 patients enrolled over two years before the cut-off: clinical benefit when no progression
    before day 112 (pending before then), PFS censored at the cut-off."""
    rng = random.Random(seed)
    patients = []
    for s, name in enumerate(STRATA):
        hazard = -math.log((0.35, 0.2)[s]) / (4 * DAYS_PER_MONTH)
        for i in range(PATIENTS_PER_STRATUM):
            enrolled = CUTOFF - timedelta(days=730 - 7 * i - s)
            follow = (CUTOFF - enrolled).days
            progression = max(1, math.ceil(rng.expovariate(hazard)))
            known = min(progression, 112)
            response = None if follow < known else ("responder" if progression > 112 else "non-responder")
            time_days = min(progression, follow)
            patients.append({
                "id": f"{name[0]}{i:03d}", "stratum": name, "enrolled_on": enrolled.isoformat(), "response": response,
                "pfs": {"time_months": math.floor(time_days / DAYS_PER_MONTH * 1e4) / 1e4, "event": progression <= follow},
            })
    return {"cutoff_date": CUTOFF.isoformat(), "patients": patients}


# --------------------------------------------------------------------------------------------------
# A database and a server on it


@contextmanager
def database(backend: str, postgres_url: str):
    """A new, empty database URL on ``backend`` (removed afterwards)."""
    if backend == "sqlite":
        with tempfile.TemporaryDirectory(prefix="gonogo-bench-registry-") as scratch:
            yield f"sqlite:///{scratch}/gonogo.sqlite3"
        return
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    admin = create_engine(postgres_url)
    schema = f"gonogo_bench_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@contextmanager
def server(url: str, workers: int = 1):
    """``gonogo serve`` on a free loopback port and ``url`` (its schema migrated at start-up); yields its base URL."""
    port = free_port()
    env = {**os.environ, "GONOGO_HOST": "127.0.0.1", "GONOGO_PORT": str(port), "GONOGO_DATABASE_URL": url,
           "GONOGO_LOG_LEVEL": "warning", "GONOGO_WARM_UP_MODELS": "true", "GONOGO_WORKERS": str(workers)}
    process = subprocess.Popen([sys.executable, "-m", "service.cli", "serve"], cwd=ROOT, env=env)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.perf_counter() + 600
        with httpx.Client(base_url=base, timeout=10) as client:
            while True:
                if process.poll() is not None:
                    raise SystemExit(f"the server exited with {process.returncode} before it was ready")
                if time.perf_counter() > deadline:
                    raise SystemExit("the models were not ready after 600 s")
                try:
                    if client.get("/health").json()["models"]["state"] not in ("compiling", "unknown"):
                        break
                except (httpx.TransportError, ValueError, KeyError):
                    pass
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


def statistician_token(url: str) -> str:
    """A statistician token for every trial, made as ``gonogo tokens create`` makes it (service.auth)."""
    from service import auth
    from service.store.engine import make_engine

    engine = make_engine(url)
    try:
        return auth.create_token(engine, name=f"bench-{uuid.uuid4().hex[:6]}", role="statistician", trials=[],
                                 actor="benchmark")[1]
    finally:
        engine.dispose()


# --------------------------------------------------------------------------------------------------
# The figures


def check(response: httpx.Response, *expected: int) -> dict:
    if response.status_code not in expected:
        raise SystemExit(f"{response.request.method} {response.request.url}: {response.status_code} {response.text[:500]}")
    return response.json()


def upload_and_look(client: httpx.Client, engine: str, repeats: int, tag: str) -> tuple[list[float], list[float], list[str]]:
    """Per new trial: the seconds of POST data-cuts (200 patients) and of POST looks on it; the trials."""
    cuts, looks, trials = [], [], []
    for i in range(repeats):
        trial = f"bench-{tag}-{i}"
        check(client.post("/v1/trials", json=protocol(trial, engine)), 201)
        body = data_cut(i)
        t = time.perf_counter()
        cut = check(client.post(f"/v1/trials/{trial}/data-cuts", json=body), 201)
        t_cut = time.perf_counter()
        check(client.post(f"/v1/trials/{trial}/looks", json={"data_cut": cut["number"]}), 201)
        looks.append(time.perf_counter() - t_cut)
        cuts.append(t_cut - t)
        trials.append(trial)
    return cuts, looks, trials


ADAM_MAPPING = {"stratum_variable": "NF1FL", "strata": {"Y": STRATA[0], "N": STRATA[1]},
                "response": {"paramcd": "BOR", "records": "best"}, "pfs": {"paramcd": "PFS", "unit": "days"}}


def adam_upload(client: httpx.Client, repeats: int) -> dict[str, list[float]]:
    """Per way of sending it (XPT files, CSV files, JSON records): the seconds of POST data-cuts of a
    200-patient ADaM cut, each on a new trial (its first cut)."""
    from tests.adam import files

    adam = files.example_adam(n_per_stratum=PATIENTS_PER_STRATUM, seed=1)
    adam = {"ADSL": adam["ADSL"], "ADRS": [r for r in adam["ADRS"] if r["PARAMCD"] == "BOR"], "ADTTE": adam["ADTTE"]}
    cutoff = {"cutoff_date": CUTOFF.isoformat()}
    ways = {
        "xpt": {"data": cutoff, "files": {k: (f"{k.lower()}.xpt", files.as_xpt(k, v)) for k, v in adam.items()}},
        "csv": {"data": cutoff, "files": {k: (f"{k.lower()}.csv", files.as_csv(v)) for k, v in adam.items()}},
        "json": {"json": {**cutoff, "adam": adam}},
    }
    seconds: dict[str, list[float]] = {way: [] for way in ways}
    for i in range(repeats):
        for way, kwargs in ways.items():
            trial = f"bench-adam-{way}-{i}-{uuid.uuid4().hex[:6]}"
            check(client.post("/v1/trials", json={**protocol(trial, "quadrature"), "adam": ADAM_MAPPING}), 201)
            t = time.perf_counter()
            check(client.post(f"/v1/trials/{trial}/data-cuts", **kwargs), 201)
            seconds[way].append(time.perf_counter() - t)
    return seconds


def report_seconds(client: httpx.Client, looks: list[str], accept: str, repeats: int) -> list[float]:
    """Seconds of ``GET .../looks/{n}/report`` (closed: the statistician's) in ``accept``, after one
    unmeasured request (the renderer's first import)."""
    seconds = []
    for i in range(-1, repeats):
        path = f"{looks[max(i, 0) % len(looks)]}/report"
        t = time.perf_counter()
        response = client.get(path, headers={"accept": accept})
        if response.status_code != 200:
            raise SystemExit(f"GET {path} ({accept}): {response.status_code} {response.text[:300]}")
        if i >= 0:
            seconds.append(time.perf_counter() - t)
    return seconds


async def concurrent_readers(base: str, headers: dict, paths: list[str], readers: int, each: int) -> tuple[list[float], list[str]]:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=readers, max_keepalive_connections=readers)
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30, limits=limits) as client:
        async def reader(k: int) -> None:
            for j in range(each):
                path = paths[(k + j) % len(paths)]
                t = time.perf_counter()
                try:
                    r = await client.get(path)
                except httpx.TransportError as exc:
                    errors.append(f"{path}: {type(exc).__name__}")
                    continue
                if r.status_code != 200:
                    errors.append(f"{path}: {r.status_code}")
                    continue
                latencies.append(time.perf_counter() - t)

        await asyncio.gather(*(reader(k) for k in range(readers)))
    return latencies, errors


def core_look_seconds(engine: str, repeats: int = 5) -> float:
    """The median seconds of the core's ``run_look`` on the benchmark's protocol and a 200-patient cut, in
    this process (no HTTP, no database, no compute pool): what the look route adds is the rest."""
    from designs.registry.datacut import DataCutSpec
    from designs.registry.look import run_look
    from designs.registry.protocol import ProtocolSpec

    spec = ProtocolSpec.from_mapping(protocol("core", engine))
    cut = DataCutSpec.from_mapping(data_cut(0), spec)
    run_look(spec.document, cut.document, look_number=1, seed=1, context={})  # tables and grids built
    times = []
    for i in range(repeats):
        cut = DataCutSpec.from_mapping(data_cut(i + 1), spec)
        t = time.perf_counter()
        run_look(spec.document, cut.document, look_number=1, seed=1, context={})
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def fill_audit_trail(url: str, total: int) -> int:
    """Append events until the trail holds ``total`` (500 per transaction); returns how many it added."""
    from sqlalchemy import func, select

    from service.registry.audit import append
    from service.store.engine import make_engine, reading, writing
    from service.store.tables import audit_events

    engine = make_engine(url)
    try:
        with reading(engine) as conn:
            have = conn.execute(select(func.count()).select_from(audit_events)).scalar_one()
        added = 0
        while have + added < total:
            with writing(engine) as conn:
                for _ in range(min(500, total - have - added)):
                    added += 1
                    append(conn, actor="benchmark", action="benchmark.event", trial_id=None,
                           resource=f"/benchmarks/registry/{added}", content_sha256=f"{added:064x}")
        return added
    finally:
        engine.dispose()


def verify_in_process(url: str, repeats: int = 3) -> tuple[float, int, bool]:
    from service.registry.audit import verify_trail
    from service.store.engine import make_engine

    engine = make_engine(url)
    try:
        times, result = [], None
        for _ in range(repeats):
            t = time.perf_counter()
            result = verify_trail(engine)
            times.append(time.perf_counter() - t)
        return statistics.median(times), result.events, result.ok
    finally:
        engine.dispose()


def run_backend(backend: str, args: argparse.Namespace) -> None:
    print(f"== {backend} ==", flush=True)
    with database(backend, args.postgres_url) as url, server(url, args.workers) as base:
        headers = {"authorization": f"Bearer {statistician_token(url)}"}
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            upload_and_look(client, "quadrature", 2, "warm-q")  # first requests: connections, caches
            cuts, looks, trials = upload_and_look(client, "quadrature", args.repeats, "q")
            total = [c + k for c, k in zip(cuts, looks, strict=True)]
            line(f"upload 200 patients + look, quadrature: p50 of {len(total)}", statistics.median(total), "s", 0.150)
            line("  of which the upload (POST data-cuts) p50", statistics.median(cuts), "s")
            line("  of which the look (POST looks) p50", statistics.median(looks), "s")
            line("  p90 of both", quantile(total, 0.9), "s")
            line("  the look's analyses alone (run_look in this process) p50", core_look_seconds("quadrature"), "s")
            adam_upload(client, 1)  # warm
            for way, seconds in adam_upload(client, args.repeats).items():
                line(f"upload a 200-patient ADaM cut ({way}): p50 of {len(seconds)}", statistics.median(seconds), "s", 0.300)
            if not args.no_mcmc:
                upload_and_look(client, "mcmc", 1, "warm-m")
                cuts, looks, _ = upload_and_look(client, "mcmc", args.mcmc_repeats, "m")
                total = [c + k for c, k in zip(cuts, looks, strict=True)]
                line(f"upload 200 patients + look, PyMC (response + PFS): p50 of {len(total)}", statistics.median(total), "s", 1.0)
                line("  p90", quantile(total, 0.9), "s")

            paths = [f"/v1/trials/{trial}/looks/1" for trial in trials]
            size = len(client.get(paths[0]).content)
            reads = []
            for i in range(args.reads):
                t = time.perf_counter()
                check(client.get(paths[i % len(paths)]), 200)
                reads.append(time.perf_counter() - t)
            line(f"read a stored look ({size / 1024:.0f} KiB): p50 of {len(reads)}", statistics.median(reads), "s", 0.010)
            line("  p99", quantile(reads, 0.99), "s")
            for accept, goal in (("text/html", 2.0), ("application/pdf", 5.0)):
                seconds = report_seconds(client, paths, accept, args.report_repeats)
                line(f"the closed report of a look ({accept}): p50 of {len(seconds)}", statistics.median(seconds), "s", goal)

        t = time.perf_counter()
        latencies, errors = asyncio.run(concurrent_readers(base, headers, paths, args.readers, args.reads_each))
        wall = time.perf_counter() - t
        line(f"{args.readers} concurrent readers, {len(latencies) + len(errors)} reads: p99", quantile(latencies, 0.99), "s", 0.100)
        line("  p50", statistics.median(latencies), "s")
        line("  max", max(latencies), "s")
        line("  throughput (reads per second)", len(latencies) / wall, "/s")
        print(f"{'  errors (non-200 or no answer)':60s} {len(errors):10d}     goal 0 {'met' if not errors else 'NOT met'}")
        for error in errors[:5]:
            print(f"    {error}")

        added = fill_audit_trail(url, AUDIT_EVENTS)
        seconds, events, ok = verify_in_process(url)
        line(f"verify an audit trail of {events} events (+{added} appended here), in process", seconds, "s", 1.0)
        if not ok:
            print("  the chain did NOT verify")
        with httpx.Client(base_url=base, headers=headers, timeout=120) as client:
            times = []
            for _ in range(3):
                t = time.perf_counter()
                check(client.get("/v1/audit/verify"), 200)
                times.append(time.perf_counter() - t)
            line("  GET /v1/audit/verify, median of 3", statistics.median(times), "s", 1.0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backends", nargs="+", choices=["sqlite", "postgresql"], default=["sqlite", "postgresql"])
    parser.add_argument("--postgres-url", default=POSTGRES_URL, help="a PostgreSQL server where a schema may be created")
    parser.add_argument("--repeats", type=int, default=20, help="trials uploaded and looked at with quadrature (default 20)")
    parser.add_argument("--mcmc-repeats", type=int, default=10, help="the same with PyMC (default 10)")
    parser.add_argument("--no-mcmc", action="store_true", help="skip the PyMC figure")
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes of the server (default 1)")
    parser.add_argument("--reads", type=int, default=200, help="sequential reads of stored looks (default 200)")
    parser.add_argument("--readers", type=int, default=32, help="concurrent readers (default 32)")
    parser.add_argument("--report-repeats", type=int, default=5, help="reports rendered per format (default 5)")
    parser.add_argument("--reads-each", type=int, default=25, help="reads per concurrent reader (default 25)")
    args = parser.parse_args()
    for backend in args.backends:
        print(f"\n{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (other processes inflate every figure;"
              f" compute workers run niced), {args.workers} server worker(s)")
        run_backend(backend, args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
