"""Speed of the response and PFS derivation: 200 patients × 12 visits (RECIST 1.1, measurements), the
whole request checked and derived (``designs.endpoints.derive.derive``).

Run: ``.venv/bin/python benchmarks/endpoints.py``. Prints the best and median seconds of 21 requests of
different patients (what a new request costs: the derivation caches sizes and percentages, which new
data do not find) and of one request sent 21 times, each with the ratio of its median to the goal
(below 1 meets it). Goal: under 50 ms for the 200 × 12 request (see docs/ENDPOINTS.md, "Speed").
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


def request(seed: int = 20240110) -> dict:
    rng = random.Random(seed)
    return {"derivation": {"criterion": "recist1.1", "endpoint": "objective_response"}, "as_of": "2025-12-31",
            "patients": [_patient(i, rng) for i in range(PATIENTS)]}


def _line(label: str, times: list[float]) -> None:
    median = statistics.median(times)
    print(f"{label}: best {min(times):.4f} s, median {median:.4f} s; goal {GOAL_SECONDS:.3f} s, "
          f"ratio {median / GOAL_SECONDS:.3f} ({'met' if median < GOAL_SECONDS else 'NOT met'})")


def _timed(body: dict) -> float:
    begin = time.perf_counter()
    derive(body)
    return time.perf_counter() - begin


def main(repeats: int = 21) -> None:
    body = request()
    derive(body)  # import-time and first-call costs
    # New data each time: the derivation's caches of sizes and percentages hold nothing of it (as a
    # request of new patients finds them); then the same request again and again (its values cached).
    fresh = [_timed(request(seed)) for seed in range(1, repeats + 1)]
    _line(f"{PATIENTS} patients × {VISITS} visits, {repeats} different requests", fresh)
    _line(f"{PATIENTS} patients × {VISITS} visits, one request {repeats} times", [_timed(body) for _ in range(repeats)])


if __name__ == "__main__":
    main()
