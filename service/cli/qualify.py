"""``gonogo qualify [--output-dir DIR] [--json]``: run the on-site qualification set and write its report.

Every case (``designs.qualification``: published results the installed copy must reproduce, each with
its source and tolerance) runs in this process; a table of every checked value (case, value, expected,
obtained, tolerance, PASS/FAIL) is printed, then the report's files (JSON, HTML and, where WeasyPrint
can render, PDF) and its SHA-256. ``--json`` prints the report itself instead of the table. The exit
status is 0 only when every case passes, 1 when any fails.

The MCMC case's model is compiled once per installation: the server's compiled models are used where
``GONOGO_DATA_DIR/compiled-models`` exists, else the user's cache directory.

``gonogo qualify --verify FILE.json`` checks a report's SHA-256 against its content (exit 0 when it
holds, 1 when the file was altered or is not a report).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

COLUMNS = ("case", "value", "expected", "obtained", "tolerance", "result")


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``qualify`` on the ``gonogo`` command line."""
    parser = subparsers.add_parser("qualify", description=__doc__,
                                   help="run the qualification set: does this installation reproduce the published results?")
    parser.add_argument("--output-dir", type=Path, default=Path("."),
                        help="where to write the report's JSON, HTML and PDF (created if missing; default: here)")
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of the table")
    parser.add_argument("--no-pdf", action="store_true", help="write no PDF (JSON and HTML only)")
    parser.add_argument("--verify", type=Path, metavar="FILE", default=None,
                        help="check a report file's SHA-256 instead of running the qualification")
    parser.set_defaults(func=run)
    return parser


def number(value: Any) -> str:
    """A value as the table prints it: floats to 10 significant digits, lists comma-separated."""
    if isinstance(value, list):
        return ",".join("-" if v is None else number(v) for v in value)
    if isinstance(value, float):
        return f"{value:.10g}"
    return "-" if value is None else str(value)


def table(report: dict[str, Any]) -> str:
    """One line per checked value: case, value, expected, obtained, tolerance (and k·MCSE), PASS/FAIL."""
    rows = [COLUMNS]
    for case in report["cases"]:
        for check in case["checks"]:
            tolerance = number(check["tolerance"])
            if "mcse" in check:
                tolerance += f" + {number(check['k'])}×{check['mcse']:.2g}"
            rows.append((case["id"], check["name"], number(check["expected"]), number(check["obtained"]), tolerance,
                         "PASS" if check["passed"] else "FAIL"))
        if "error" in case:
            rows.append((case["id"], "error", "", case["error"], "", "FAIL"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS) - 1)]
    return "\n".join("  ".join(cell.ljust(w) for cell, w in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
                     for row in rows)


def verify(path: Path) -> int:
    from designs.qualification import verify_report

    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        print(f"gonogo qualify: {path}: not a readable JSON report ({exc})", file=sys.stderr)
        return 1
    if not isinstance(document, dict) or not verify_report(document):
        print(f"{path}: SHA-256 does NOT match the content: the report was altered or is not a qualification report")
        return 1
    print(f"{path}: SHA-256 {document['sha256']} matches the content")
    return 0


def use_the_servers_compiled_models() -> None:
    """Compile the MCMC model once per installation: where the server's data directory holds compiled
    models (``GONOGO_DATA_DIR/compiled-models``: a server ran, or the image compiled them), use them;
    else the user's cache directory (``designs.engines.pymc.default_cache_dir``)."""
    from designs.engines import pymc
    from service.settings import get_settings

    try:
        directory = get_settings().data_dir / "compiled-models"
    except Exception:  # noqa: BLE001 - settings a server would refuse do not stop the qualification
        return
    if directory.is_dir() and os.access(directory, os.R_OK | os.W_OK | os.X_OK):
        pymc.set_cache_dir(directory)


def run(args: argparse.Namespace) -> int:
    if args.verify is not None:
        return verify(args.verify)
    from designs.qualification import run_qualification, write_report

    directory = args.output_dir
    if directory.exists() and not directory.is_dir():
        print(f"gonogo qualify: --output-dir {directory}: not a directory", file=sys.stderr)
        return 1

    def progress(case: dict[str, Any]) -> None:
        print(f"  {'PASS' if case['passed'] else 'FAIL'}  {case['id']} ({case['seconds']:.1f} s)", file=sys.stderr)

    use_the_servers_compiled_models()
    print("gonogo qualify: running the qualification set", file=sys.stderr)
    report = run_qualification(on_case=progress)
    try:
        paths = write_report(report, directory, pdf=not args.no_pdf)
    except OSError as exc:
        print(f"gonogo qualify: cannot write the report to {directory}: {exc}", file=sys.stderr)
        return 1
    out = sys.stderr if args.json else sys.stdout
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False))
    else:
        print(table(report))
        print()
    counts = report["counts"]
    print(f"{'PASS' if report['passed'] else 'FAIL'}: {counts['passed']} of {counts['cases']} cases passed "
          f"({counts['checks']} values) in {report['seconds']:.1f} s", file=out)
    for kind in ("json", "html", "pdf"):
        if paths[kind] is not None:
            print(f"{kind.upper():4}  {paths[kind]}", file=out)
    if paths["pdf_note"]:
        print(paths["pdf_note"], file=out)
    print(f"SHA-256  {report['sha256']}  (verify: gonogo qualify --verify {paths['json']})", file=out)
    return 0 if report["passed"] else 1
