"""Speed of the toxicity stopping boundaries: calibration plus exact OC at the default 7 rates.

Run: ``.venv/bin/python benchmarks/safety.py``. Prints the median and worst seconds of each case and the
ratio to the target (issue 13: boundaries and exact OC for n ≤ 100 in ≤ 50 ms; below 1 meets it).
The hardest case is a look after every patient up to 100 (100 looks, ~5 000 candidate constants).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designs.safety import SafetyDesign, safety_boundaries  # noqa: E402

TARGET_SECONDS = 0.050
CASES = {
    "every patient to 100": tuple(range(1, 101)),
    "cohorts of 5 to 100": tuple(range(5, 101, 5)),
    "4 looks to 100": (25, 50, 75, 100),
}


def timings(design: SafetyDesign, repeats: int = 15) -> list[float]:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        safety_boundaries(design)
        times.append(time.perf_counter() - start)
    return times


def main() -> None:
    print(f"{'method':<16}{'looks':<24}{'median s':>10}{'worst s':>10}{'median/target':>15}")
    for method in ("bayesian", "pocock", "obrien-fleming"):
        for name, looks in CASES.items():
            times = timings(SafetyDesign(0.2, looks, 0.1, method))
            median = statistics.median(times)
            print(f"{method:<16}{name:<24}{median:>10.4f}{max(times):>10.4f}{median / TARGET_SECONDS:>15.2f}")


if __name__ == "__main__":
    main()
