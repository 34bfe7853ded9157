"""``gonogo simon``: print the optimal, minimax and admissible Simon two-stage designs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from designs.core.errors import GonogoError


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``simon`` on the ``gonogo`` command line."""
    parser = subparsers.add_parser("simon", description=__doc__, help="print Simon two-stage designs (optimal, minimax, admissible)")
    parser.add_argument("--p0", type=float, required=True, help="uninteresting response rate")
    parser.add_argument("--p1", type=float, required=True, help="target response rate")
    parser.add_argument("--alpha", type=float, default=0.05, help="type I error (default 0.05)")
    parser.add_argument("--beta", type=float, default=0.20, help="type II error (default 0.20)")
    parser.add_argument("--nmax", type=int, default=100, help="largest total sample size searched (default 100)")
    parser.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """Print the designs; 2 when none is feasible (with a suggestion)."""
    # Deferred (heavy): designs.simon loads numpy and scipy, which the other commands need not wait
    # for, and which `gonogo serve` must configure first (cli/serve.py).
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
