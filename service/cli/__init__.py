"""The ``gonogo`` command line: ``serve``, ``simon``, ``simulate``, ``db``, ``tokens``, ``audit``,
``example`` and ``report`` (one module per command)."""

from __future__ import annotations

import argparse
import os

import designs

from service.cli import audit, db, example, report, serve, simon, simulate, tokens


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gonogo", description="Design and monitor Bayesian adaptive phase II trials.")
    parser.add_argument("--version", action="version", version=f"gonogo {designs.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (serve, simon, simulate, db, tokens, audit, example, report):
        command.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    args = build_parser().parse_args(argv)
    return args.func(args)
