"""Benchmark: operating characteristics and calibration of the MPNST two-stratum design.

    .venv/bin/python benchmarks/operating_characteristics.py [--trials 10000] [--workers 2]

Figures printed:
* hierarchical model, looks 7/14/21, predictive probabilities at each interim, 10,000 simulated
  trials per scenario: decision tables (once per design) and simulation time per scenario, serial
  and on a 2-process pool; target ≤ 1 s per scenario (bhmbasket: 5.2 s for 10,000 trials with a
  single final look);
* calibration over 50 candidate thresholds (target ≤ 30 s);
* exact enumeration for the independent and pooled models;
* the borrowing inflation of sporadic's go probability when only NF1 is active.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from designs import oc  # noqa: E402
from designs.oc import calibration  # noqa: E402
from designs.oc.model_tables import clear_model_tables  # noqa: E402
from designs.response import spec as response_spec  # noqa: E402
from designs.response.decisions import DecisionRule  # noqa: E402
from service import jobs  # noqa: E402

BHMBASKET_SECONDS_PER_10K = 5.2
P0, P1 = 0.15, 0.35
LOOKS = (7, 14, 21)


def design(kind: str, **rule_changes) -> oc.OCDesign:
    strata = (oc.StratumPlan("NF1", LOOKS), oc.StratumPlan("sporadic", LOOKS))
    rule = DecisionRule(**rule_changes)
    return oc.OCDesign(P0, P1, strata, rule, response_spec.resolve(kind, {}, P0))


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    value = fn(*args, **kwargs)
    return value, time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pool-trials", type=int, default=250_000, help="trials per scenario for the pool comparison")
    parser.add_argument("--skip-pool", action="store_true")
    args = parser.parse_args()
    print(f"cores available: {os.cpu_count()}  (trials per scenario: {args.trials:,})")

    # 1. Hierarchical simulation
    hier = design("hierarchical")
    plan = oc.plan(hier, method="simulation", n_trials=args.trials, seed=1)
    _, t_tables = timed(plan.prepare)
    n_scen = len(plan.scenarios)
    pairs, t_sim = timed(lambda: [(c, plan.run_chunk(c)) for c in plan.chunks])
    result = plan.reduce(pairs)
    per_scenario = (t_tables + t_sim) / n_scen
    print("\nhierarchical, looks 7/14/21, PPoS at each interim, simulation")
    print(f"  decision tables (once per design, {oc.dense_cell_count(hier):,} outcome tuples): {t_tables:6.2f} s")
    print(f"  simulation, {n_scen} scenarios × {args.trials:,} trials:            {t_sim:6.2f} s "
          f"({t_sim / n_scen:.3f} s per scenario)")
    print(f"  total per scenario (tables amortised over {n_scen}):              {per_scenario:6.2f} s "
          f"(bhmbasket, single look: {BHMBASKET_SECONDS_PER_10K} s per 10,000 → ×{BHMBASKET_SECONDS_PER_10K / per_scenario:.1f})")
    print(f"  one scenario alone (tables + simulation):                     {t_tables + t_sim / n_scen:6.2f} s")

    if not args.skip_pool:
        big = args.pool_trials
        serial_plan = oc.plan(hier, method="simulation", n_trials=big, seed=1).prepare()
        serial, t_serial = timed(lambda: serial_plan.reduce([(c, serial_plan.run_chunk(c)) for c in serial_plan.chunks]))
        backend = jobs.ProcessPoolBackend(args.workers)
        backend.run(oc.plan(hier, method="simulation", n_trials=1_000, seed=1))  # start the workers, warm their caches
        pooled, t_pool = timed(backend.run, oc.plan(hier, method="simulation", n_trials=big, seed=1))
        backend.close()
        assert pooled["scenarios"] == serial["scenarios"], "pool and serial runs must agree"
        print(f"  {big:,} trials per scenario: serial simulation {t_serial:6.2f} s; process pool ({args.workers} workers, "
              f"tables included) {t_pool:6.2f} s → {t_pool / n_scen:.2f} s per scenario; identical numbers: yes")

    # 2. Borrowing
    print("\nborrowing: sporadic inactive (p = p0) while NF1 is active (p = p1)")
    for row in result["borrowing"]:
        print(f"  {row['scenario']:>22}  {row['stratum']:>9}: P(go) {row['prob_go']:.4f} vs {row['prob_go_global_null']:.4f} "
              f"under the global null (+{row['inflation']:.4f})")

    # 3. Exact enumeration
    print("\nexact enumeration (all scenarios)")
    for kind in ("independent", "pooled"):
        exact, t_exact = timed(oc.operating_characteristics, design(kind), method="exact")
        null = exact["scenarios"][0]
        print(f"  {kind:>12}: {t_exact:6.3f} s; type I error per stratum "
              f"{[round(s['prob_go'], 4) for s in null['strata']]}, P(any go | global null) {null['prob_any_go']:.4f}")
    clear_model_tables()
    hier_exact, t_hier_exact = timed(oc.operating_characteristics, hier, method="exact")
    null = hier_exact["scenarios"][0]
    print(f"  hierarchical: {t_hier_exact:6.3f} s (quadrature tables included); type I error per stratum "
          f"{[round(s['prob_go'], 4) for s in null['strata']]}, P(any go | global null) {null['prob_any_go']:.4f}")

    # 4. Calibration
    print("\ncalibration: 50 candidate thresholds, target per-stratum type I error 0.10")
    for kind, method in (("independent", "auto"), ("hierarchical", "simulation"), ("hierarchical", "exact")):
        clear_model_tables()
        cal_plan = calibration.calibration_plan(design(kind), target=0.10, method=method, n_trials=args.trials, seed=1)
        cal, t_cal = timed(lambda p=cal_plan: p.reduce([(i, p.run_chunk(i)) for i in p.chunks]))
        chosen = next(c for c in cal["candidates"] if c["final_threshold"] == cal["final_threshold"])
        print(f"  {kind:>12} ({cal_plan.method:>10}): {t_cal:6.2f} s serial (target ≤ 30 s); θ = {cal['final_threshold']}, "
              f"max type I {chosen['max_type_i_error']:.4f}, mean power {chosen['mean_power']:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
