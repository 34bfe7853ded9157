"""Speed of the exact Simon two-stage design search against the reference R/Fortran figures.

Run: ``.venv/bin/python benchmarks/simon.py``. Prints seconds and ratios (ours / reference; below 1 is
faster). "cold" clears the per-process cache of binomial tables before every search; "warm" reuses it.

Reference figures (R clinfun::ph2simon, Fortran):
  * one search, p0 .20, p1 .35, alpha .05, beta .10, nmax 150: 43 ms
  * the 54 combinations below at nmax 250: 15.7 s in total
Targets: under 20 ms and under 3 s.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designs import simon  # noqa: E402
from designs.simon.binomial import binomial_tables  # noqa: E402

REFERENCE_SINGLE_SECONDS = 0.043
REFERENCE_GRID_SECONDS = 15.7
TARGET_SINGLE_SECONDS = 0.020
TARGET_GRID_SECONDS = 3.0

RATE_PAIRS = [
    (0.05, 0.25), (0.10, 0.30), (0.20, 0.40), (0.30, 0.50), (0.40, 0.60), (0.50, 0.70),
    (0.60, 0.80), (0.70, 0.90), (0.05, 0.20), (0.10, 0.25), (0.20, 0.35), (0.30, 0.45),
    (0.40, 0.55), (0.50, 0.65), (0.60, 0.75), (0.70, 0.85), (0.15, 0.35), (0.25, 0.45),
]
ERROR_PAIRS = [(0.05, 0.20), (0.05, 0.10), (0.10, 0.10)]


def _clear_cache() -> None:
    binomial_tables.cache_clear()


def single_search(cold: bool, repeats: int = 31) -> list[float]:
    """Seconds of each of ``repeats`` searches at nmax 150 (p0 .20, p1 .35, alpha .05, beta .10)."""
    times = []
    for _ in range(repeats):
        if cold:
            _clear_cache()
        start = time.perf_counter()
        simon.search_designs(0.20, 0.35, 0.05, 0.10, nmax=150)
        times.append(time.perf_counter() - start)
    return times


def grid(cold: bool, repeats: int = 5) -> list[float]:
    """Seconds for all 54 combinations at nmax 250, ``repeats`` times (cache cleared first when cold)."""
    times = []
    for _ in range(repeats):
        if cold:
            _clear_cache()
        start = time.perf_counter()
        for p0, p1 in RATE_PAIRS:
            for alpha, beta in ERROR_PAIRS:
                simon.search_designs(p0, p1, alpha, beta, nmax=250)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    simon.search_designs(0.20, 0.35, 0.05, 0.10, nmax=150)  # import-time and first-call costs
    rows = [
        ("1 search, nmax 150, cold cache", single_search(cold=True), REFERENCE_SINGLE_SECONDS,
         TARGET_SINGLE_SECONDS),
        ("1 search, nmax 150, warm cache", single_search(cold=False), REFERENCE_SINGLE_SECONDS,
         TARGET_SINGLE_SECONDS),
        ("54 searches, nmax 250, cold cache", grid(cold=True), REFERENCE_GRID_SECONDS, TARGET_GRID_SECONDS),
        ("54 searches, nmax 250, warm cache", grid(cold=False), REFERENCE_GRID_SECONDS, TARGET_GRID_SECONDS),
    ]
    print("seconds: best and median of repeated runs; ratio = median / reference (below 1 is faster)")
    print(f"{'benchmark':36s} {'best':>8s} {'median':>8s} {'reference':>9s} {'ratio':>7s} {'target':>7s}  met")
    for name, times, reference, target in rows:
        median = statistics.median(times)
        print(f"{name:36s} {min(times):8.4f} {median:8.4f} {reference:9.3f} {median / reference:7.3f} "
              f"{target:7.3f}  {'yes' if median < target else 'NO'}")


if __name__ == "__main__":
    main()
