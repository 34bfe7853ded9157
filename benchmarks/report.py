"""Speed of the report of a look (issue 12, Speed): HTML and PDF of a two-stratum look with response
and PFS (the SARC031-like example's look 3, with its design block and next-look sentences).

Run: ``.venv/bin/python benchmarks/report.py``. Prints best and median seconds of repeated renders and
the ratio of the median to the goal (below 1 meets it). The first render of each kind (template
compilation, WeasyPrint's and matplotlib's imports and font loading) is timed apart as "first".
Goals: HTML ≤ 2 s, PDF ≤ 5 s.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from designs.reports import render  # noqa: E402
from tests.reports import bundles  # noqa: E402

GOAL_HTML_SECONDS = 2.0
GOAL_PDF_SECONDS = 5.0


def timed(function, *args, repeats: int) -> tuple[float, list[float]]:
    """Seconds of the first call, then of ``repeats`` further calls."""
    start = time.perf_counter()
    function(*args)
    first = time.perf_counter() - start
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function(*args)
        times.append(time.perf_counter() - start)
    return first, times


def main() -> None:
    bundle = bundles.with_next_look(bundles.with_design(bundles.stored(3)))
    rows = [
        ("HTML, closed report", *timed(render.render_html, bundle, repeats=10), GOAL_HTML_SECONDS),
        ("PDF, closed report", *timed(render.render_pdf, bundle, repeats=5), GOAL_PDF_SECONDS),
    ]
    print("seconds: first call, best and median of the repeats; ratio = median / goal (below 1 meets it)")
    print(f"{'benchmark':24s} {'first':>8s} {'best':>8s} {'median':>8s} {'goal':>6s} {'ratio':>7s}  met")
    for name, first, times, goal in rows:
        median = statistics.median(times)
        print(f"{name:24s} {first:8.3f} {min(times):8.3f} {median:8.3f} {goal:6.1f} {median / goal:7.3f}  "
              f"{'yes' if median <= goal else 'NO'}")


if __name__ == "__main__":
    main()
