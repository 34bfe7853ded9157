"""Warm end-to-end latency of POST /v1/analyses/pfs: 60 patients in two strata.

Run: ``.venv/bin/python benchmarks/pfs.py [repeats]``. Requests go through the whole app in process
(Starlette's TestClient: routing, pydantic validation, the analysis, JSON serialisation). The first
request of each model compiles it (reported apart); the figures are the median (p50) and 90th
percentile of the warm requests after it, with the request defaults (MCMC: 4 chains × 1000 draws
after 1000 warm-up, target_accept 0.95, one rerun when a check fails).

Targets (issue 4): hierarchical exponential p50 ≤ 300 ms; Weibull and piecewise ≤ 1 s; closed-form
models ≤ 10 ms. The quadrature engine of the hierarchical exponential is shown for comparison.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("GONOGO_WARM_UP_MODELS", "false")

import numpy as np  # noqa: E402

CASES = [
    # (label, model, engine, target p50 seconds, repeats)
    ("independent-exponential (closed form)", {"kind": "independent-exponential"}, None, 0.010, 50),
    ("hierarchical-exponential (quadrature)", {"kind": "hierarchical-exponential"}, "quadrature", None, 20),
    ("hierarchical-exponential (MCMC)", {"kind": "hierarchical-exponential"}, None, 0.300, 10),
    ("hierarchical-weibull (MCMC)", {"kind": "hierarchical-weibull"}, None, 1.0, 10),
    ("hierarchical-piecewise-exponential (MCMC)", {"kind": "hierarchical-piecewise-exponential"}, None, 1.0, 10),
]


def sixty_patients(seed: int = 2024) -> list[dict]:
    """30 per stratum: exponential PFS (medians 2 and 1.4 months), uniform censoring over 2–10 months."""
    rng = np.random.default_rng(seed)
    patients = []
    for name, hazard in (("NF1-associated", 0.35), ("sporadic", 0.5)):
        pfs, censor = rng.exponential(1 / hazard, 30), rng.uniform(2, 10, 30)
        for i, (t, c) in enumerate(zip(pfs, censor)):
            patients.append({"id": f"{name[:3]}-{i:02d}", "stratum": name, "time_months": round(float(min(t, c)), 3),
                             "event": bool(t <= c)})
    return patients


def main() -> None:
    scale = float(sys.argv[1]) if len(sys.argv) > 1 else 1.0
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Using `httpx` with `starlette.testclient`")  # a notice, not a problem
        from fastapi.testclient import TestClient

        from service.app import app

    base = {"patients": sixty_patients(), "strata": ["NF1-associated", "sporadic"], "landmark_months": 4, "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35}
    print(f"{'model':44s} {'first (s)':>9s} {'p50 (s)':>8s} {'p90 (s)':>8s} {'target':>7s}  met   notes")
    with TestClient(app) as client:
        for label, model, engine, target, repeats in CASES:
            body = base | {"model": model} | ({"engine": engine} if engine else {})
            start = time.perf_counter()
            first = client.post("/v1/analyses/pfs", json=body)
            first_seconds = time.perf_counter() - start
            if first.status_code != 200:
                print(f"{label:44s} failed: {first.status_code} {first.text[:200]}")
                continue
            seconds, reruns, divergences = [], 0, 0
            for _ in range(max(3, int(repeats * scale))):
                start = time.perf_counter()
                result = client.post("/v1/analyses/pfs", json=body).json()
                seconds.append(time.perf_counter() - start)
                reruns += (result["provenance"].get("sampler") or {}).get("reruns", 0)
                divergences += result["diagnostics"]["divergences"] or 0  # null for closed form and quadrature
            p50 = statistics.median(seconds)
            p90 = float(np.quantile(seconds, 0.9))
            met = "-" if target is None else ("yes" if p50 <= target else "NO")
            notes = f"reruns {reruns}/{len(seconds)}, divergences {divergences}" if "MCMC" in label else ""
            target_text = "-" if target is None else f"{target:.3f}"
            print(f"{label:44s} {first_seconds:9.3f} {p50:8.4f} {p90:8.4f} {target_text:>7s}  {met:4s}  {notes}")


if __name__ == "__main__":
    main()
