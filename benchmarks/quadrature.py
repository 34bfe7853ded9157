"""Timings and accuracy of the quadrature engine, the predictive probability and the batch path.

Run: .venv/bin/python benchmarks/quadrature.py   (prints figures and ratios; no assertions)

BLAS runs single-threaded, as in the service (``gonogo serve`` and the Dockerfile set
OPENBLAS_NUM_THREADS=1): on a busy machine a threaded BLAS call of a few microseconds can wait
milliseconds for its second thread. An explicit setting in the environment wins.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # before numpy is first imported

import math  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from designs.engines.quadrature import BinomialLikelihood, NormalHierarchy, QuadratureEngine, TableCache  # noqa: E402
from designs.response import predictive  # noqa: E402
from designs.response.analysis import analyse_response  # noqa: E402
from designs.response.spec import ResponseAnalysisSpec  # noqa: E402

P0, P1 = 0.15, 0.35
HIERARCHY = NormalHierarchy(math.log(P0 / (1 - P0)), 2.6159, 1.0)
EXNEX = NormalHierarchy(math.log(P0 / (1 - P0)), 2.6159, 1.0, weight_exchangeable=0.5, nex_mean=math.log(P0 / (1 - P0)), nex_sd=2.8006)


def timed(fn, repeat: int = 5) -> tuple[float, float]:
    """(first call, median of the following calls) in milliseconds."""
    start = time.perf_counter()
    fn()
    first = (time.perf_counter() - start) * 1e3
    runs = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - start) * 1e3)
    return first, statistics.median(runs)


def single(hierarchy: NormalHierarchy, ys, ns, label: str) -> None:
    liks = [BinomialLikelihood(y, n) for y, n in zip(ys, ns, strict=True)]

    def cold():
        QuadratureEngine.for_likelihoods(hierarchy, liks, cache=TableCache()).analyse(liks, thresholds=(P0, P1))

    engine = QuadratureEngine.for_likelihoods(hierarchy, liks, cache=TableCache())
    _, warm = timed(lambda: engine.analyse(liks, thresholds=(P0, P1)))
    _, fresh = timed(cold, repeat=3)
    coarse = engine.analyse(liks, thresholds=(P0, P1))
    fine = QuadratureEngine.for_likelihoods(hierarchy, liks, resolution=2.0).analyse(liks, thresholds=(P0, P1))
    diff = max(abs(a.prob_above[c] - b.prob_above[c]) for a, b in zip(coarse.strata, fine.strata, strict=True) for c in (P0, P1))
    grid = engine.grid.describe()
    print(
        f"{label:<38} new engine {fresh:7.1f} ms   cached tables {warm:7.1f} ms   "
        f"grid {grid['theta_nodes']}θ×{grid['tau_nodes']}τ   |Δprob| vs 2× grid {diff:.1e}"
    )


def batch(n: int) -> None:
    liks = [[BinomialLikelihood(y, n) for y in range(n + 1)] for _ in range(2)]
    outcomes = np.indices((n + 1, n + 1)).reshape(2, -1).T
    for label, kwargs in (("P(p>p0), P(p>p1), means", {"thresholds": (P0, P1)}), ("P(p>p0) only (OC)", {"thresholds": (P0,), "means": False})):
        engine = QuadratureEngine.for_likelihoods(HIERARCHY, liks, cache=TableCache())
        cold, warm = timed(lambda engine=engine, kwargs=kwargs: engine.batch(liks, outcomes, **kwargs), repeat=3)
        print(f"batch J=2, n={n}: {outcomes.shape[0]} tuples, {label:<26} first {cold:7.1f} ms   cached {warm:7.1f} ms   "
              f"({warm * 1e3 / outcomes.shape[0]:.0f} µs per tuple)")


def response_analysis() -> None:
    """The issue's case: two strata (NF1 3/10, sporadic 1/10 of 21 planned each), p0 0.15, p1 0.35,
    posterior and predictive probability of success. Goal: ≤ 10 ms p50 for a repeated look at a
    design (engine, tables and final table kept across calls); the first look builds them."""
    def strata(nf1: int, sporadic: int) -> list[dict]:
        return [
            {"name": "NF1", "n": 10, "responders": nf1, "n_planned": 21},
            {"name": "sporadic", "n": 10, "responders": sporadic, "n_planned": 21},
        ]

    for label, kind in (("hierarchical", "hierarchical"), ("exnex", "exnex")):
        def run(nf1: int = 3, sporadic: int = 1, kind: str = kind) -> None:
            request = {"p0": P0, "p1": P1, "strata": strata(nf1, sporadic), "model": {"kind": kind},
                       "engine": "quadrature", "seed": 1}
            analyse_response(ResponseAnalysisSpec.from_mapping(request))

        first = []
        for _ in range(3):
            predictive.clear_caches()
            start = time.perf_counter()
            run()
            first.append((time.perf_counter() - start) * 1e3)
        run()
        repeated = []
        for _ in range(21):
            start = time.perf_counter()
            run()
            repeated.append((time.perf_counter() - start) * 1e3)
        other_data = []
        for nf1, sporadic in ((0, 0), (5, 2), (7, 6), (2, 9), (10, 10), (4, 4)):
            start = time.perf_counter()
            run(nf1, sporadic)
            other_data.append((time.perf_counter() - start) * 1e3)
        print(
            f"analyse_response {label:<13} first look (cold) {statistics.median(first):6.1f} ms   "
            f"repeated look p50 {statistics.median(repeated):5.1f} ms (min {min(repeated):4.1f})   "
            f"new data, same design p50 {statistics.median(other_data):5.1f} ms"
        )


def predictive_probability() -> None:
    for label, hierarchy, ys, ns, planned in (
        ("hierarchical 3/12, 9/14 → 30, 30", HIERARCHY, [3, 9], [12, 14], [30, 30]),
        ("exnex 3/12, 9/14 → 30, 30", EXNEX, [3, 9], [12, 14], [30, 30]),
        ("hierarchical 4 strata (MC futures)", HIERARCHY, [3, 9, 1, 4], [12, 14, 6, 10], [30, 30, 25, 30]),
    ):
        result = None

        def run(hierarchy=hierarchy, ys=ys, ns=ns, planned=planned):
            nonlocal result
            result = predictive.predictive_probability_hierarchical(hierarchy, ys, ns, planned, P0, 0.95, seed=1)

        predictive.clear_caches()
        cold, warm = timed(run, repeat=3)
        print(f"PP {label:<36} first {cold:7.1f} ms   repeated {warm:7.1f} ms   {result.method[:70]}")
    engine = QuadratureEngine.for_likelihoods(HIERARCHY, [[BinomialLikelihood(y, 40) for y in range(41)]] * 2, cache=TableCache())
    start = time.perf_counter()
    table = predictive.HierarchicalPredictive(engine, [40, 40], P0, 0.95)
    built = (time.perf_counter() - start) * 1e3
    interim = np.indices((21, 21)).reshape(2, -1).T
    start = time.perf_counter()
    _, mass = table.probability(interim, [20, 20])
    used = (time.perf_counter() - start) * 1e3
    print(f"PP table J=2 to n=40: final table {built:.0f} ms; all {interim.shape[0]} interim tuples at n=20 "
          f"in {used:.0f} ms; max |Σ P(f|y) − 1| = {np.abs(mass - 1).max():.1e}")


if __name__ == "__main__":
    print("single analyses (target ≤ 20 ms for two strata)")
    single(HIERARCHY, (3, 9), (12, 14), "hierarchical 2 strata, n 12/14")
    single(HIERARCHY, (8, 17), (40, 40), "hierarchical 2 strata, n 40/40")
    single(EXNEX, (3, 9), (12, 14), "exnex 2 strata, n 12/14")
    single(HIERARCHY, (3, 0, 5, 2, 7, 1, 4, 9, 0, 3, 6, 2), (12, 5, 14, 9, 20, 4, 11, 21, 3, 10, 15, 8), "hierarchical 12 strata, n ≤ 21")
    single(HIERARCHY, (30, 25, 35, 28, 40, 31, 22, 29, 33, 27, 45, 30), (200,) * 12, "hierarchical 12 strata, n = 200 each")
    print()
    print("response analysis, quadrature engine (goal ≤ 10 ms p50 for a repeated look)")
    response_analysis()
    print()
    print("batch (target: ~3,700 tuples well under a second)")
    batch(60)
    print()
    predictive_probability()
