"""``gonogo tokens create|list|revoke|assign``: tokens on the database of the settings
(``GONOGO_DATABASE_URL``, else SQLite in ``GONOGO_DATA_DIR``), written as actor ``cli:<os user>``.

The first admin token of a deployment comes from here; ``create`` prints the token once (only its
SHA-256 is stored).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from designs.core.errors import InvalidInputError
from service.store.tables import ROLES


def cli_actor() -> str:
    """The audit trail's actor of a command: ``cli:<os user>``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"cli:{user}"


def open_database():
    """The engine of the settings' database, brought to the current schema."""
    from service.settings import get_settings
    from service.store.engine import create_schema, database_url, make_engine

    engine = make_engine(database_url(get_settings()))
    create_schema(engine)
    return engine


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    parser = subparsers.add_parser("tokens", description=__doc__, help="create, list, revoke tokens and assign them trials")
    sub = parser.add_subparsers(dest="tokens_command", required=True)
    create = sub.add_parser("create", help="create a token and print it (shown once)")
    create.add_argument("--name", required=True, help="unique; the audit trail's actor for this token")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--trial", action="append", default=[], metavar="TRIAL",
                        help="a trial the token may see (repeat; none: every trial)")
    create.set_defaults(func=create_command)
    listing = sub.add_parser("list", help="list tokens (never their secrets)")
    listing.add_argument("--json", action="store_true", help="JSON instead of a table")
    listing.set_defaults(func=list_command)
    revoke = sub.add_parser("revoke", help="revoke a token for good")
    revoke.add_argument("token", metavar="ID_OR_NAME")
    revoke.set_defaults(func=revoke_command)
    assign = sub.add_parser("assign", help="add trials to the trials a token may see")
    assign.add_argument("token", metavar="ID_OR_NAME")
    assign.add_argument("--trial", action="append", required=True, metavar="TRIAL", help="a trial (repeat)")
    assign.set_defaults(func=assign_command)
    return parser


def _refused(error: Exception) -> int:
    if isinstance(error, InvalidInputError):
        for problem in error.problems:
            print(f"gonogo tokens: {problem.field}: {problem.reason}", file=sys.stderr)
    else:
        print(f"gonogo tokens: {error}", file=sys.stderr)
    return 2


def create_command(args: argparse.Namespace) -> int:
    from service import auth
    from service.problems import RegistryProblem  # deferred: FastAPI, which `gonogo --help` need not load

    try:
        record, token = auth.create_token(open_database(), name=args.name, role=args.role, trials=args.trial,
                                          actor=cli_actor())
    except (InvalidInputError, RegistryProblem) as error:
        return _refused(error)
    trials = ", ".join(record["trials"]) or "every trial"
    print(f"token {record['id']} ({record['name']}, {record['role']}, {trials}) — shown once, keep it safe:",
          file=sys.stderr)
    print(token)
    return 0


def list_command(args: argparse.Namespace) -> int:
    from service import auth

    records = auth.list_tokens(open_database())
    if args.json:
        print(json.dumps(records, indent=2))
        return 0
    print(f"{'id':<8}  {'name':<24}  {'role':<12}  {'trials':<24}  {'created_at':<29}  revoked_at")
    for r in records:
        trials = ",".join(r["trials"]) or "*"
        print(f"{r['id']:<8}  {r['name']:<24}  {r['role']:<12}  {trials:<24}  {r['created_at']:<29}  {r['revoked_at'] or ''}")
    return 0


def revoke_command(args: argparse.Namespace) -> int:
    from service import auth
    from service.problems import RegistryProblem  # deferred: FastAPI, which `gonogo --help` need not load

    try:
        record = auth.revoke_token(open_database(), args.token, actor=cli_actor())
    except RegistryProblem as error:
        return _refused(error)
    print(f"token {record['id']} ({record['name']}) revoked at {record['revoked_at']}")
    return 0


def assign_command(args: argparse.Namespace) -> int:
    from service import auth
    from service.problems import RegistryProblem  # deferred: FastAPI, which `gonogo --help` need not load

    try:
        record = auth.assign_trials(open_database(), args.token, args.trial, actor=cli_actor(), add=True)
    except (InvalidInputError, RegistryProblem) as error:
        return _refused(error)
    print(f"token {record['id']} ({record['name']}) sees {', '.join(record['trials'])}")
    return 0
