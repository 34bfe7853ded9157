"""Speed of the report of a look (issue 12, Speed): HTML and PDF of a two-stratum look with response
and PFS (the SARC031-like example's look 3, with its design block and next-look sentences).

Run: ``.venv/bin/python benchmarks/report.py``. Prints best and median seconds of repeated renders and
the ratio of the median to the goal (below 1 meets it), and the median CPU seconds of this process
(wall time on a loaded machine overstates the cost; CPU time does not). The first render of each kind
(template compilation, WeasyPrint's and matplotlib's imports and font loading) is timed apart as
"first". Goals: HTML ≤ 2 s, PDF ≤ 5 s.
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


def timed(function, *args, repeats: int) -> tuple[float, list[float], list[float]]:
    """Wall seconds of the first call, then wall and CPU seconds of ``repeats`` further calls."""
    start = time.perf_counter()
    function(*args)
    first = time.perf_counter() - start
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        function(*args)
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return first, wall, cpu


def main() -> None:
    bundle = bundles.with_next_look(bundles.with_design(bundles.stored(3)))
    rows = [
        ("HTML, closed report", *timed(render.render_html, bundle, repeats=10), GOAL_HTML_SECONDS),
        ("PDF, closed report", *timed(render.render_pdf, bundle, repeats=5), GOAL_PDF_SECONDS),
    ]
    print("wall seconds: first call, best and median of the repeats; ratio = median / goal (below 1 meets it); "
          "cpu: median CPU seconds")
    print(f"{'benchmark':24s} {'first':>8s} {'best':>8s} {'median':>8s} {'cpu':>8s} {'goal':>6s} {'ratio':>7s}  met")
    for name, first, wall, cpu, goal in rows:
        median = statistics.median(wall)
        print(f"{name:24s} {first:8.3f} {min(wall):8.3f} {median:8.3f} {statistics.median(cpu):8.3f} {goal:6.1f} "
              f"{median / goal:7.3f}  {'yes' if median <= goal else 'NO'}")


if __name__ == "__main__":
    main()
