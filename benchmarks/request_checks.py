"""What the request boundary's JSON checks cost (issue 14): the body parsed once more to find a syntax
error's line and column and any key sent twice (``service.middleware.json_body_problem``), beside the
schema's own validation of the same body (strict types).

Run: ``.venv/bin/python benchmarks/request_checks.py``. Prints figures and ratios; not a pass/fail test.
Goal: the check costs at most a quarter of the schema's validation of the body, and ≤ 100 ms for the
largest body the defaults admit (GONOGO_MAX_BODY_BYTES, 5 MB).
"""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the project's service, not benchmarks/service.py

from service.middleware import json_body_problem  # noqa: E402
from service.schemas.registry import DataCutRequest  # noqa: E402
from service.settings import Settings  # noqa: E402

GOAL_RATIO = 0.25
GOAL_MS_AT_LIMIT = 100.0


def cut_of(patients: int) -> bytes:
    rows = [{"id": f"P-{i:05d}", "stratum": ("NF1-associated", "sporadic")[i % 2], "enrolled_on": "2026-01-12",
             "response": ("responder", "non-responder")[i % 3 == 0], "pfs": {"time_months": 1.5 + i % 17, "event": i % 2 == 0},
             "toxicity": {"evaluable": True, "dose_limiting": i % 7 == 0}} for i in range(patients)]
    return json.dumps({"cutoff_date": "2026-06-30", "patients": rows}).encode()


def median_ms(function, *args, repeat: int = 9) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    limit = Settings().max_body_bytes
    print(f"{'patients':>9} {'bytes':>10} {'json check ms':>14} {'schema ms':>10} {'ratio':>6}")
    for patients in (100, 500, 2000):  # 2000: the most a data cut may have (designs.survival.spec.MAX_PATIENTS)
        raw = cut_of(patients)
        check = median_ms(json_body_problem, raw)
        schema = median_ms(lambda b: DataCutRequest.model_validate(json.loads(b)), raw)
        print(f"{patients:>9} {len(raw):>10} {check:>14.2f} {schema:>10.2f} {check / schema:>6.2f}"
              f"  (goal ≤ {GOAL_RATIO})")
    # The largest body the defaults admit, of the same kind of rows (the check runs before the schema
    # refuses its number of patients).
    per_row = len(cut_of(1000)) / 1000
    raw = cut_of(int(limit / per_row))
    check = median_ms(json_body_problem, raw, repeat=5)
    print(f"at the body limit ({len(raw) / 1e6:.1f} MB): json check {check:.1f} ms, goal ≤ {GOAL_MS_AT_LIMIT:g} ms, "
          f"ratio {check / GOAL_MS_AT_LIMIT:.2f}")


if __name__ == "__main__":
    main()
