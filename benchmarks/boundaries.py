"""Speed of decision-boundary tables (``designs.boundaries.boundary_table``) against issue 12's goal.

Run: ``.venv/bin/python benchmarks/boundaries.py``. Prints seconds and the ratio to the goal (below 1
meets it). "cold" forgets every posterior grid, quadrature engine and predictive table of the process
(``designs.oc.model_tables.clear_model_tables``) before each table; "warm" reuses them.

Goal (issue 12): the table of two strata × 3 looks (7/14/21), hierarchical model, two-way included: ≤ 1 s.
Also shown, for scale: EXNEX and the independent model (closed form) on the same design.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designs.boundaries import boundary_table  # noqa: E402
from designs.oc import OCDesign, StratumPlan  # noqa: E402
from designs.oc.model_tables import clear_model_tables  # noqa: E402
from designs.response import spec  # noqa: E402
from designs.response.decisions import DecisionRule  # noqa: E402

GOAL_SECONDS = 1.0
STRATA = (StratumPlan("NF1-associated", (7, 14, 21)), StratumPlan("sporadic", (7, 14, 21)))


def design(kind: str) -> OCDesign:
    return OCDesign(0.15, 0.35, STRATA, DecisionRule(), spec.resolve(kind, None, 0.15))


def timings(kind: str, cold: bool, repeats: int) -> list[float]:
    """Seconds of each of ``repeats`` tables of ``kind`` (caches cleared before each when cold)."""
    times = []
    for _ in range(repeats):
        if cold:
            clear_model_tables()
        start = time.perf_counter()
        boundary_table(design(kind))
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    boundary_table(design("independent"))  # import-time and first-call costs
    rows = [(f"{kind}, {'cold' if cold else 'warm'}", timings(kind, cold, 7 if cold else 15))
            for kind in ("hierarchical", "exnex", "independent") for cold in (True, False)]
    print("two strata x 3 looks (7/14/21), two-way table included")
    print("seconds: best and median of repeated runs; ratio = median / goal (below 1 meets it)")
    print(f"{'benchmark':24s} {'best':>8s} {'median':>8s} {'goal':>6s} {'ratio':>7s}  met")
    for name, times in rows:
        median = statistics.median(times)
        print(f"{name:24s} {min(times):8.4f} {median:8.4f} {GOAL_SECONDS:6.2f} {median / GOAL_SECONDS:7.3f}  "
              f"{'yes' if median <= GOAL_SECONDS else 'NO'}")


if __name__ == "__main__":
    main()
