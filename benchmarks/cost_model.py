"""Calibration of the cost model (``designs.core.cost``): estimate against measurement.

    .venv/bin/python benchmarks/cost_model.py [--only SUBSTRING] [--json out.json]

For a grid of response and PFS analyses (closed form, quadrature, MCMC; strata, planned patients,
prior scales, draws, chains), each in a fresh process with cold caches: the estimated seconds and
peak memory (``estimate_response`` / ``estimate_pfs``), the measured wall time of the analysis and
its CPU time (all threads: about twice the wall time of an MCMC fit on two idle cores; on a busy
machine the wall time grows and the CPU time much less), its peak RSS above the warm process's
(sampled every 2 ms; an MCMC model is compiled and run once before, as the service's start-up does),
and the ratios estimate / measured. A memory ratio below 1
is an underestimate; the model aims for time ratios within 1/3–3 and memory ratios ≥ 1.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _strata(j: int, n: int, planned: int, rate: float = 0.3) -> list[dict]:
    return [{"name": f"s{k}", "n": n, "responders": int(round(rate * n)) - (k % 2), "n_planned": planned} for k in range(j)]


def _response(j: int, n: int, planned: int, kind: str = "hierarchical", engine: str | None = None,
              scale: float | None = None, mcmc: dict | None = None) -> dict:
    prior = {} if scale is None else {"mu_sd": scale, "tau_scale": scale}
    if kind == "exnex" and scale is not None:
        prior["nex_sd"] = scale
    body = {"p0": 0.15, "p1": 0.35, "strata": _strata(j, n, planned), "model": {"kind": kind, "prior": prior},
            "seed": 7}
    if engine:
        body["engine"] = engine
    if mcmc:
        body["mcmc"] = mcmc
    return body


def _pfs(j: int, per_stratum: int, kind: str = "hierarchical-exponential", engine: str | None = None,
         mcmc: dict | None = None) -> dict:
    import numpy as np

    rng = np.random.default_rng(3)
    patients = []
    for k in range(j):
        t = rng.exponential(5.0 + k, per_stratum)
        cens = rng.uniform(0, 12, per_stratum)
        for i in range(per_stratum):
            patients.append({"id": f"p{k}-{i}", "stratum": f"s{k}", "time_months": round(float(min(t[i], cens[i])), 3),
                             "event": bool(t[i] <= cens[i])})
    model = {"kind": kind}
    body = {"patients": patients, "strata": [{"name": f"s{k}", "n_planned": per_stratum + 5} for k in range(j)],
            "landmark_months": 4, "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35, "model": model, "seed": 7}
    if engine:
        body["engine"] = engine
    if mcmc:
        body["mcmc"] = mcmc
    return body


CASES: list[tuple[str, str, dict]] = [
    ("response closed form, 2 strata", "response", _response(2, 10, 21, kind="independent")),
    ("response quadrature, 2 strata, n_planned 21", "response", _response(2, 10, 21, engine="quadrature")),
    ("response quadrature, 3 strata, n_planned 21", "response", _response(3, 10, 21, engine="quadrature")),
    ("response quadrature, 4 strata, n_planned 25", "response", _response(4, 12, 25, engine="quadrature")),
    ("response quadrature, 3 strata, n_planned 60 (MC futures)", "response", _response(3, 10, 60, engine="quadrature")),
    ("response quadrature, 6 strata, n_planned 30 (MC futures)", "response", _response(6, 10, 30, engine="quadrature")),
    ("response quadrature, 1 stratum, scale 10, n_planned 200", "response", _response(1, 20, 200, engine="quadrature", scale=10)),
    ("response quadrature, 3 strata, scale 10, n_planned 200", "response", _response(3, 20, 200, engine="quadrature", scale=10)),
    ("response quadrature, exnex 3 strata, n_planned 40", "response", _response(3, 10, 40, kind="exnex", engine="quadrature")),
    ("response quadrature, 12 strata, n_planned 20", "response", _response(12, 10, 20, engine="quadrature")),
    ("response mcmc, 2 strata, defaults", "response", _response(2, 10, 21)),
    ("response mcmc, 6 strata, defaults", "response", _response(6, 10, 21)),
    ("response mcmc, 12 strata, defaults", "response", _response(12, 10, 21)),
    ("response mcmc, exnex 3 strata, defaults", "response", _response(3, 10, 21, kind="exnex")),
    ("response mcmc, 2 strata, 10,000 draws × 4", "response", _response(2, 10, 21, mcmc={"draws": 10_000, "tune": 1000})),
    ("response mcmc, 2 strata, 20,000 draws × 8, tune 5,000", "response",
     _response(2, 10, 21, mcmc={"draws": 20_000, "tune": 5_000, "chains": 8})),
    ("response mcmc, 3 strata, n_planned 200 (MC futures)", "response", _response(3, 20, 200, scale=10)),
    ("pfs closed form, 2 strata × 40", "pfs", _pfs(2, 40, kind="independent-exponential")),
    ("pfs quadrature, 2 strata × 40", "pfs", _pfs(2, 40, engine="quadrature")),
    ("pfs quadrature, 1 stratum × 1500", "pfs", _pfs(1, 1500, engine="quadrature")),
    ("pfs mcmc exponential, 2 strata × 40", "pfs", _pfs(2, 40)),
    ("pfs mcmc weibull, 2 strata × 100", "pfs", _pfs(2, 100, kind="hierarchical-weibull")),
    ("pfs mcmc piecewise, 3 strata × 40", "pfs", _pfs(3, 40, kind="hierarchical-piecewise-exponential")),
]


def _spec_and_estimate(capability: str, body: dict):
    if capability == "response":
        from designs.response.cost import estimate_response
        from designs.response.spec import ResponseAnalysisSpec

        spec = ResponseAnalysisSpec.from_mapping(body)
        return spec, estimate_response(spec)
    from designs.survival.cost import estimate_pfs
    from designs.survival.spec import PFSAnalysisSpec

    spec = PFSAnalysisSpec.from_mapping(body)
    return spec, estimate_pfs(spec)


def measure(capability: str, body: dict) -> dict:
    """In this process: warm the MCMC model, then time one cold-cache analysis and sample its RSS."""
    import psutil

    from designs.response import predictive
    from designs.response.analysis import analyse_response
    from designs.survival.analysis import analyse_pfs

    analyse = analyse_response if capability == "response" else analyse_pfs
    spec, estimate = _spec_and_estimate(capability, body)
    if "draws_per_chain" in estimate.parts:
        tiny = json.loads(json.dumps(body))
        tiny["mcmc"] = {"draws": 100, "tune": 100, "chains": 2}
        analyse(_spec_and_estimate(capability, tiny)[0])
    predictive.clear_caches()
    process = psutil.Process()
    base = process.memory_info().rss
    peak = [base]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.002)

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    start, cpu = time.perf_counter(), time.process_time()
    result = analyse(spec)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    done.set()
    watcher.join()
    peak[0] = max(peak[0], process.memory_info().rss)
    reruns = (result.get("diagnostics") or {}).get("reruns")
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_bytes": peak[0] - base, "estimate_seconds": estimate.seconds,
            "estimate_rerun_seconds": estimate.rerun_seconds, "estimate_bytes": estimate.peak_bytes,
            "reruns": reruns, "parts": estimate.parts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="run the cases whose label contains this")
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:
        capability, body = json.loads(args.one)
        print(json.dumps(measure(capability, body)))
        return
    rows = []
    print(f"{'request':60s} {'est s':>8s} {'meas s':>8s} {'ratio':>6s} {'cpu s':>8s} {'est MB':>8s} {'meas MB':>8s} {'ratio':>6s}")
    for label, capability, body in CASES:
        if args.only not in label:
            continue
        out = subprocess.run([sys.executable, __file__, "--one", json.dumps([capability, body])], capture_output=True,
                             text=True, cwd=ROOT, env={**os.environ, "PYTHONWARNINGS": "ignore"})
        if out.returncode != 0:
            print(f"{label:60s} failed: {out.stderr.strip().splitlines()[-1:]}")
            continue
        row = json.loads(out.stdout.strip().splitlines()[-1])
        row["label"] = label
        rows.append(row)
        mb = 2**20
        measured_mb = max(row["peak_bytes"], 1) / mb
        print(f"{label:60s} {row['estimate_seconds']:8.2f} {row['seconds']:8.2f} "
              f"{row['estimate_seconds'] / row['seconds']:6.2f} {row['cpu_seconds']:8.2f} "
              f"{row['estimate_bytes'] / mb:8.0f} {measured_mb:8.0f} "
              f"{row['estimate_bytes'] / mb / measured_mb:6.2f}" + (f"  reruns {row['reruns']}" if row["reruns"] else ""),
              flush=True)
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
