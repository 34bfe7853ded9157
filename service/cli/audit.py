"""``gonogo audit verify``: walk the whole audit trail of the settings' database and report every
break of its hash chain and every stored protocol version, data cut or look that no longer matches
its SHA-256 or its audit event (exit 0: intact; 1: broken, each problem printed)."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("audit", description=__doc__, help="verify the audit trail")
    sub = parser.add_subparsers(dest="audit_command", required=True)
    verify = sub.add_parser("verify", help="verify the hash chain of every audit event (exit 1 when broken)")
    verify.set_defaults(func=verify_command)
    return parser


def verify_command(args: argparse.Namespace) -> int:
    from service.cli.tokens import open_database
    from service.registry.audit import verify_trail

    report = verify_trail(open_database())
    if report.ok:
        print(f"audit trail intact: {report.events} events, last seq {report.last_seq}, last hash {report.last_hash}")
        return 0
    print(f"audit trail BROKEN: {len(report.problems)} problem(s) in {report.events} events", file=sys.stderr)
    for problem in report.problems:
        where = f" {problem['resource']}" if problem.get("resource") else ""
        print(f"  seq {problem['seq']}{where}: {problem['problem']}", file=sys.stderr)
    return 1
