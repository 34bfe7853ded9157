"""``gonogo serve``: run the HTTP service under uvicorn."""

from __future__ import annotations

import argparse
import os
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``serve`` on the ``gonogo`` command line."""
    parser = subparsers.add_parser("serve", description=__doc__, help="run the HTTP service (defaults: 127.0.0.1:8000, 1 worker)")
    parser.add_argument("--host", default=None, help="interface to bind (default GONOGO_HOST or 127.0.0.1)")
    parser.add_argument("--port", type=int, default=None, help="port (default GONOGO_PORT or 8000)")
    parser.add_argument("--workers", type=int, default=None, help="worker processes (default GONOGO_WORKERS or 1)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    # Requests run side by side in worker threads; multithreaded BLAS in each would only contend
    # for the same cores (set before numpy is first imported; an explicit setting wins).
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(variable, "1")
    # Deferred: uvicorn is only needed to serve, and numpy must not load before the lines above.
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
