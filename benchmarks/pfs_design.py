"""Speed of the PFS design: simulated operating characteristics and calibration of a PFS rule.

Run: ``.venv/bin/python benchmarks/pfs_design.py [n_trials]``. Prints the seconds of each case and the
ratio to its target (issue 13: 10,000 trials × 2 strata × 3 looks under the hierarchical-exponential
model in ≤ 5 s per scenario on 2 cores; a calibration over 30 thresholds in ≤ 60 s; below 1 meets it).
Computed in this process (chunks side by side on threads, BLAS on one thread each). The CPU seconds
(all threads) are printed too: on a shared machine the wall time depends on the other processes, the
CPU time much less; CPU / 2 is what 2 free cores would take at best.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designs.pfsdesign.operating import PFSCalibrationPlan, PFSOCPlan, run  # noqa: E402
from designs.pfsdesign.spec import PFSDesignSpec  # noqa: E402

SCENARIO_TARGET_SECONDS = 5.0
CALIBRATION_TARGET_SECONDS = 60.0


def _body(kind: str, looks: str, n_trials: int) -> dict:
    if looks == "evaluable":
        schedule = {"by": "evaluable", "patients": [10, 20, 30]}
    else:
        schedule = {"by": "calendar", "months": [6, 12]}
    return {
        "strata": [
            {"name": "NF1-associated", "n_planned": 30, "accrual_per_month": 2.0, "looks": schedule},
            {"name": "sporadic", "n_planned": 30, "accrual_per_month": 1.5, "looks": schedule},
        ],
        "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35, "model": {"kind": kind},
        "n_trials": n_trials, "seed": 2026,
    }


def main() -> None:
    n_trials = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    print(f"{'case':<58}{'seconds':>10}{'cpu s':>8}{'per scenario':>14}{'ratio':>8}")
    for kind in ("hierarchical-exponential", "independent-exponential"):
        for looks in ("evaluable", "calendar"):
            plan = PFSOCPlan.build(PFSDesignSpec.from_mapping(_body(kind, looks, n_trials)))
            start, cpu = time.perf_counter(), time.process_time()
            run(plan)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            per = seconds / len(plan.spec.scenarios)
            name = f"OC {kind}, 3 looks by {looks}, {n_trials:,} trials"
            print(f"{name:<58}{seconds:>10.2f}{cpu:>8.2f}{per:>14.2f}{per / SCENARIO_TARGET_SECONDS:>8.2f}")
    body = _body("hierarchical-exponential", "evaluable", n_trials) | {"target_type_i_error": 0.1}
    plan = PFSCalibrationPlan.build(PFSDesignSpec.calibration_from_mapping(body))
    start, cpu = time.perf_counter(), time.process_time()
    result = run(plan)
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    name = f"calibration, {len(result['curve'])} thresholds, hierarchical"
    print(f"{name:<58}{seconds:>10.2f}{cpu:>8.2f}{'':>14}{seconds / CALIBRATION_TARGET_SECONDS:>8.2f}")


if __name__ == "__main__":
    main()
