"""Run the qualification set and build its report: every case with its expected value, tolerance,
obtained value, pass or fail and time; the software versions, platform and CPU; and the report's SHA-256.

The SHA-256 is that of the report's canonical JSON without its ``sha256`` field (sorted keys, compact
separators, UTF-8, floats in repr form: ``designs.core.provenance.canonical_json``). To verify a report
file: load it, remove ``sha256``, serialise it canonically and compare (``verify_report``, or
``gonogo qualify --verify FILE``, or ``python -c`` with ``json.dumps(d, sort_keys=True,
separators=(",", ":"), ensure_ascii=False)``).

A case never raises out of the run: an exception in a case's computation makes that case fail, with the
error in the report. Non-finite obtained values fail and are reported as strings ("nan"), so that the
report stays valid JSON.
"""

from __future__ import annotations

import math
import os
import platform
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import designs
from designs.core.provenance import canonical_json, input_hash, software_versions
from designs.qualification import cases as case_module
from designs.qualification.cases import Case, Check, Measured

FORMAT = "gonogo-qualification/1"
"""The report's format (its ``format`` field)."""
_MORE_DISTRIBUTIONS = ("numba", "pandas", "jinja2", "weasyprint", "fastapi")
"""Beyond the provenance's numerical libraries: those the report names when installed."""


def now_utc() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def versions() -> dict[str, str]:
    """gonogo, Python and the libraries the results depend on (each when installed)."""
    found = dict(software_versions())
    for name in _MORE_DISTRIBUTIONS:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.lower().startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def environment() -> dict[str, Any]:
    """The platform and CPU the qualification ran on."""
    try:
        usable = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        usable = os.cpu_count() or 0
    return {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "python_implementation": platform.python_implementation(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count() or 0,
        "cpus_usable": usable,
        "hostname": platform.node(),
    }


# --------------------------------------------------------------------------------------------------
# Comparing


def _json_value(value: Any) -> Any:
    """A value as the report holds it: numbers as they are, non-finite numbers as strings, numpy scalars
    and arrays as Python numbers and lists."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return repr(value)
    if isinstance(value, list | tuple):
        return [_json_value(v) for v in value]
    return value


def _is_finite_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _scalar_difference(expected: Any, obtained: Any) -> float | None:
    """|obtained − expected| for two numbers; 0 for the same non-number (None, True, False); None when
    they cannot be compared (a non-number against anything else, a non-finite number)."""
    if isinstance(expected, bool) or isinstance(obtained, bool) or expected is None or obtained is None:
        return 0.0 if expected is obtained else None  # None, True and False are singletons
    if not (_is_finite_number(expected) and _is_finite_number(obtained)):
        return None
    return abs(float(obtained) - float(expected))


def difference(expected: Any, obtained: Any) -> float | None:
    """The largest absolute difference, elementwise for lists (None: not comparable, e.g. a different
    length or a missing value where a number was expected)."""
    if isinstance(expected, list):
        if not isinstance(obtained, list) or len(obtained) != len(expected):
            return None
        parts = [_scalar_difference(e, o) for e, o in zip(expected, obtained, strict=True)]
        return None if any(p is None for p in parts) else max(parts, default=0.0)
    return _scalar_difference(expected, obtained)


def check_result(check: Check, obtained: Any, mcse: float | None, k: float | None) -> dict[str, Any]:
    """One check's row of the report: expected, tolerance (and the MCSE part), obtained, difference, pass."""
    obtained = _json_value(obtained)
    allowed = check.tolerance
    row: dict[str, Any] = {"name": check.name, "expected": check.expected, "tolerance": check.tolerance}
    if k is not None and mcse is not None:
        allowed = check.tolerance + k * float(mcse)
        row |= {"mcse": float(mcse), "k": k, "allowed": allowed}
    diff = difference(check.expected, obtained)
    row |= {"obtained": obtained, "difference": diff, "passed": diff is not None and diff <= allowed}
    return row


def run_case(case: Case) -> dict[str, Any]:
    """Run one case: its checks' rows, pass or fail, seconds, and its error when it raised."""
    start = time.perf_counter()
    record: dict[str, Any] = {"id": case.id, "title": case.title, "source": case.source,
                              "how_obtained": case.how_obtained, "tolerance_why": case.tolerance_why}
    if case.mcse_k is not None:
        record["mcse_k"] = case.mcse_k
    try:
        measured = case.compute()
    except Exception as exc:  # noqa: BLE001 - a case that cannot compute fails, the run goes on
        rows = [{"name": c.name, "expected": c.expected, "tolerance": c.tolerance, "obtained": None,
                 "difference": None, "passed": False} for c in case.checks]
        record |= {"checks": rows, "passed": False, "error": f"{type(exc).__name__}: {exc}"}
    else:
        values, mcse = (measured.values, measured.mcse) if isinstance(measured, Measured) else (measured, {})
        if isinstance(measured, Measured) and measured.notes:
            record["notes"] = measured.notes
        rows = []
        for check in case.checks:
            if check.name not in values:
                rows.append({"name": check.name, "expected": check.expected, "tolerance": check.tolerance,
                             "obtained": None, "difference": None, "passed": False})
                continue
            rows.append(check_result(check, values[check.name], mcse.get(check.name), case.mcse_k))
        record |= {"checks": rows, "passed": all(row["passed"] for row in rows)}
    record["seconds"] = round(time.perf_counter() - start, 3)
    return record


# --------------------------------------------------------------------------------------------------
# The report


def report_sha256(report: Mapping[str, Any]) -> str:
    """SHA-256 of the canonical JSON of ``report`` without its ``sha256`` field."""
    return input_hash({key: value for key, value in report.items() if key != "sha256"})


def verify_report(report: Mapping[str, Any]) -> bool:
    """Whether ``report`` (as loaded from its JSON) carries the SHA-256 of its own content."""
    return isinstance(report.get("sha256"), str) and report["sha256"] == report_sha256(report)


def run_qualification(cases: Iterable[Case] | None = None,
                      on_case: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run every case (``cases.CASES`` unless given), calling ``on_case`` with each case's record as
    it finishes, and return the report with its SHA-256."""
    cases = tuple(case_module.CASES if cases is None else cases)
    started, start = now_utc(), time.perf_counter()
    records = []
    for case in cases:
        record = run_case(case)
        records.append(record)
        if on_case is not None:
            on_case(record)
    failed = [r["id"] for r in records if not r["passed"]]
    report: dict[str, Any] = {
        "format": FORMAT,
        "gonogo_version": designs.__version__,
        "passed": not failed and bool(records),
        "counts": {"cases": len(records), "passed": len(records) - len(failed), "failed": len(failed),
                   "checks": sum(len(r["checks"]) for r in records)},
        "failed_cases": failed,
        "started_at": started,
        "finished_at": now_utc(),
        "seconds": round(time.perf_counter() - start, 3),
        "software": versions(),
        "platform": environment(),
        "cases": records,
        "sha256_covers": "the canonical JSON of this report without its sha256 field (sorted keys, compact "
                         "separators, UTF-8)",
    }
    canonical_json(report)  # refuses NaN: the report is always valid JSON
    report["sha256"] = report_sha256(report)
    return report
