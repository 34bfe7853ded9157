"""``gonogo simulate``: operating characteristics (or a calibration) from a JSON request, with a progress bar.

The request is the body of ``POST /v1/designs/operating-characteristics`` (or, with ``--calibrate``,
of ``/v1/designs/calibrate``), read from a file or stdin. A table goes to stdout: the method, model,
rule, simulated trials and seed, then per scenario and stratum P(go), P(no-go), P(stop) at each look
and the expected n, with Monte Carlo standard errors (``--json``: the result JSON, as the endpoint
answers it; ``--output FILE``: the JSON to FILE as well). The progress bar goes to stderr. Chunks run
in this process (``--workers 1``), in a process pool, or on Dask when ``GONOGO_DASK_SCHEDULER`` is set.
Exit status 2 on bad input.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any, TextIO

from pydantic import ValidationError

from designs.core.errors import GonogoError

BAR_WIDTH = 30


class ProgressBar:
    """``[#########.........]  42%  3.1 s`` on one line of ``stream``, redrawn at most 10 times a second."""

    def __init__(self, stream: TextIO, label: str):
        self.stream, self.label = stream, label
        self.start = time.monotonic()
        self._last_draw = -1.0
        self._fraction = 0.0

    def __call__(self, fraction: float) -> None:
        self._fraction = max(self._fraction, min(fraction, 1.0))
        now = time.monotonic()
        if now - self._last_draw >= 0.1 or self._fraction >= 1.0:
            self._draw(now)

    def _draw(self, now: float) -> None:
        self._last_draw = now
        filled = int(round(BAR_WIDTH * self._fraction))
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self.stream.write(f"\r{self.label} [{bar}] {100 * self._fraction:5.1f}%  {now - self.start:6.1f} s")
        self.stream.flush()

    def close(self) -> None:
        self._draw(time.monotonic())
        self.stream.write("\n")
        self.stream.flush()


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``simulate`` on the ``gonogo`` command line."""
    parser = subparsers.add_parser(
        "simulate",
        help="operating characteristics of a Bayesian go/no-go design from a JSON request (a table; --json: JSON)",
        description=__doc__,
    )
    parser.add_argument("request", nargs="?", default="-", help="JSON request file ('-' or omitted: stdin)")
    parser.add_argument("--calibrate", action="store_true", help="calibrate the final threshold instead")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default GONOGO_JOB_WORKERS; 1 = this process; ignored with Dask)")
    parser.add_argument("--json", action="store_true", help="print the result JSON instead of the table")
    parser.add_argument("--output", "-o", default=None,
                        help="also write the result JSON to this file (with --json: only there, nothing on stdout)")
    parser.add_argument("--quiet", "-q", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def _read(path: str) -> Any:
    if path == "-":
        return json.load(sys.stdin)
    with open(path, encoding="utf-8") as handle:
        return json.load(handle)


def _backend(workers: int | None):
    # Deferred (heavy): service.jobs loads FastAPI (its problem documents), which only `simulate` needs.
    from service import jobs
    from service.settings import get_settings

    settings = get_settings()
    workers = settings.job_workers if workers is None else workers
    if workers <= 1 and not settings.dask_scheduler:
        return jobs.InProcessBackend()
    return jobs.backend_from_settings(settings, workers)


def _complain(message: str) -> int:
    print(f"gonogo simulate: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run the request; 0 on success, 2 on bad input."""
    # Deferred (heavy): the computations and schemas load numpy and scipy, which `gonogo simon` need not
    # wait for and `gonogo serve` must configure first (cli/serve.py).
    from fastapi.exceptions import RequestValidationError

    from service import computations
    from service.problems import problem_document
    from service.schemas.designs import CalibrationRequest, OperatingCharacteristicsRequest

    try:
        payload = _read(args.request)
    except (OSError, json.JSONDecodeError) as exc:
        return _complain(f"cannot read the request: {exc}")
    schema = CalibrationRequest if args.calibrate else OperatingCharacteristicsRequest
    try:
        body = schema.model_validate(payload)
        prepare = computations.prepare_calibration if args.calibrate else computations.prepare_operating_characteristics
        computation, finish = prepare(body)
    except ValidationError as exc:
        # The service's words for the same mistakes (what was sent, hints), every one at once.
        _, problem = problem_document(RequestValidationError(exc.errors()), model=schema)
        return _complain("; ".join(f"{e['field']}: {e['reason']}" for e in problem["errors"]))
    except GonogoError as exc:
        return _complain(str(exc))
    if args.output and not os.access(os.path.dirname(os.path.abspath(args.output)), os.W_OK):
        return _complain(f"cannot write {args.output}: its directory does not exist or is not writable")

    backend = _backend(args.workers)
    bar = None if args.quiet else ProgressBar(sys.stderr, "calibrating" if args.calibrate else "simulating")
    try:
        result = finish(backend.run(computation, bar if bar is not None else (lambda fraction: None)))
    except GonogoError as exc:
        return _complain(str(exc))
    finally:
        if bar is not None:
            bar.close()
        backend.close()
    text = json.dumps(result, indent=2, ensure_ascii=False, allow_nan=False)
    written = True
    if args.output:
        try:
            with open(args.output, "w", encoding="utf-8") as handle:
                handle.write(text + "\n")
        except OSError as exc:  # the result is printed below all the same
            written = False
            print(f"gonogo simulate: cannot write {args.output}: {exc}", file=sys.stderr)
    if args.json:
        if not args.output or not written:
            sys.stdout.write(text + "\n")
    else:
        sys.stdout.write(table(result, body.model_dump(mode="json"), calibration=args.calibrate) + "\n")
    return 0 if written else 1


def table(result: dict[str, Any], request: dict[str, Any], *, calibration: bool) -> str:
    """The printed table of a result (``service.cli.oc_table``)."""
    from service.cli.oc_table import format_calibration, format_operating_characteristics

    return format_calibration(result, request) if calibration else format_operating_characteristics(result, request)
