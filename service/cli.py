"""The ``gonogo`` command line: ``serve``, ``simon`` and ``simulate``."""

from __future__ import annotations

import argparse
import os
import sys


def _serve(args: argparse.Namespace) -> int:
    # Requests run side by side in worker threads; multithreaded BLAS in each would only contend
    # for the same cores (set before numpy is first imported; an explicit setting wins).
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    import uvicorn

    from service.settings import Settings

    overrides = {k: v for k, v in {"host": args.host, "port": args.port, "workers": args.workers}.items() if v is not None}
    settings = Settings(**overrides)
    uvicorn.run(
        "service.app:app",
        host=settings.host,
        port=settings.port,
        workers=settings.workers,
        log_level=settings.log_level,
    )
    return 0


def _simon(args: argparse.Namespace) -> int:
    from designs.core.errors import GonogoError
    from designs.simon import format_designs_table, search_designs

    try:
        result = search_designs(args.p0, args.p1, args.alpha, args.beta, nmax=args.nmax)
    except GonogoError as exc:
        print(f"gonogo simon: {exc}", file=sys.stderr)
        suggestion = getattr(exc, "suggestion", None)
        if suggestion:
            print(suggestion, file=sys.stderr)
        return 2
    print(format_designs_table(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gonogo", description="Design and monitor Bayesian adaptive phase II trials.")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTP service (defaults: 127.0.0.1:8000, 1 worker)")
    serve.add_argument("--host", default=None, help="interface to bind (default GONOGO_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, default=None, help="port (default GONOGO_PORT or 8000)")
    serve.add_argument("--workers", type=int, default=None, help="worker processes (default GONOGO_WORKERS or 1)")
    serve.set_defaults(func=_serve)

    simon = sub.add_parser("simon", help="print Simon two-stage designs (optimal, minimax, admissible)")
    simon.add_argument("--p0", type=float, required=True, help="uninteresting response rate")
    simon.add_argument("--p1", type=float, required=True, help="target response rate")
    simon.add_argument("--alpha", type=float, default=0.05, help="type I error (default 0.05)")
    simon.add_argument("--beta", type=float, default=0.20, help="type II error (default 0.20)")
    simon.add_argument("--nmax", type=int, default=100, help="largest total sample size searched (default 100)")
    simon.set_defaults(func=_simon)

    try:
        from service import simulate_cli
    except ImportError:  # pragma: no cover - operating characteristics not installed
        pass
    else:
        simulate_cli.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
