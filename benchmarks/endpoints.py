"""Speed of the response and PFS derivation: 200 patients × 12 visits (RECIST 1.1, measurements), the
whole request checked and derived (``designs.endpoints.derive.derive``).

Run: ``.venv/bin/python benchmarks/endpoints.py``. Prints the best and median seconds of repeated runs
and the ratio of the median to the goal (below 1 meets it).
Goal: under 50 ms for the 200 × 12 request (met: about 40–44 ms median on two shared cores, from about
76 ms; see docs/ENDPOINTS.md, "Speed").
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designs.endpoints.derive import derive  # noqa: E402

GOAL_SECONDS = 0.050
PATIENTS = 200
VISITS = 12


def _patient(i: int, rng: random.Random) -> dict:
    """A patient whose sums drift randomly every 8 weeks (some respond, some progress, some stay stable)."""
    start = dt.date(2023, 1, 2) + dt.timedelta(days=rng.randrange(200))
    total, visits = 100.0, []
    for k in range(1, VISITS + 1):
        total = max(0.0, round(total * rng.uniform(0.75, 1.15), 1))
        visits.append({"date": (start + dt.timedelta(days=56 * k)).isoformat(), "target_sum_mm": total,
                       "non_target": rng.choice(["non-CR/non-PD", "non-CR/non-PD", "NE"]), "new_lesions": False})
    return {"id": f"P-{i:03d}", "stratum": "A" if i % 2 else "B", "assessments": {
        "treatment_start": start.isoformat(), "baseline": {"date": start.isoformat(), "target_sum_mm": 100,
                                                           "non_target": True}, "visits": visits}}


def request() -> dict:
    rng = random.Random(20240110)
    return {"derivation": {"criterion": "recist1.1", "endpoint": "objective_response"}, "as_of": "2025-12-31",
            "patients": [_patient(i, rng) for i in range(PATIENTS)]}


def main(repeats: int = 21) -> None:
    body = request()
    derive(body)  # import-time and first-call costs
    times = []
    for _ in range(repeats):
        begin = time.perf_counter()
        derive(body)
        times.append(time.perf_counter() - begin)
    median = statistics.median(times)
    print(f"{PATIENTS} patients × {VISITS} visits, {repeats} runs: best {min(times):.4f} s, median {median:.4f} s; "
          f"goal {GOAL_SECONDS:.3f} s, ratio {median / GOAL_SECONDS:.3f} "
          f"({'met' if median < GOAL_SECONDS else 'NOT met'})")


if __name__ == "__main__":
    main()
