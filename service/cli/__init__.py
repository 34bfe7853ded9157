"""The ``gonogo`` command line: ``serve``, ``simon``, ``simulate``, ``db``, ``tokens``, ``audit``,
``example``, ``report`` and ``qualify`` (one module per command)."""

from __future__ import annotations

import argparse
import os

import designs

from service.cli import audit, db, example, qualify, report, serve, simon, simulate, tokens
from service.cli.text import plain_help


def build_parser() -> argparse.ArgumentParser:
    """The ``gonogo`` parser: a subcommand per module, every help text plain (no reStructuredText)."""
    parser = argparse.ArgumentParser(prog="gonogo", description="Design and monitor Bayesian adaptive phase II trials.",
                                     epilog="gonogo COMMAND --help: what a command does and its options.")
    parser.add_argument("--version", action="version", version=f"gonogo {designs.__version__}",
                        help="print gonogo's version (the one results' provenance reports) and exit")
    sub = parser.add_subparsers(dest="command", required=True)
    for command in (serve, simon, simulate, db, tokens, audit, example, report, qualify):
        command.add_parser(sub)
    return plain_help(parser)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    args = build_parser().parse_args(argv)
    return args.func(args)
