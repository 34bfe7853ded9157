"""``gonogo db upgrade | current``: migrate gonogo's database, or say which schema revision it has.

The database is the service's (``GONOGO_DATABASE_URL``, else SQLite in ``GONOGO_DATA_DIR``) unless
``--database-url`` names another. The service migrates at start-up too; ``db upgrade`` lets an
operator do it beforehand (e.g. one step of a deployment, before the replicas start).
"""

from __future__ import annotations

import argparse
import sys
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``db`` on the ``gonogo`` command line."""
    parser = subparsers.add_parser("db", description=__doc__, help="migrate the database (upgrade) or show its schema revision (current)")
    actions = parser.add_subparsers(dest="db_command", required=True)
    for name, help_ in (("upgrade", "bring the database to this gonogo's schema (safe while replicas start)"),
                        ("current", "print the database's schema revision and this gonogo's")):
        action = actions.add_parser(name, help=help_)
        action.add_argument("--database-url", help="the database (default: GONOGO_DATABASE_URL, else SQLite in "
                            "GONOGO_DATA_DIR)")
        action.set_defaults(func=run)
    return parser


def run(args: argparse.Namespace) -> int:
    """0 on success; 1 when the database cannot be migrated (newer gonogo, unreachable server)."""
    from sqlalchemy.exc import SQLAlchemyError

    from service.settings import Settings
    from service.store.engine import database_url
    from service.store.migrate import SchemaTooNew, current, head, upgrade

    url = args.database_url or database_url(Settings())
    try:
        if args.db_command == "upgrade":
            before = current(url)
            after = upgrade(url)
            status = "already at" if before == (after,) else f"upgraded from {', '.join(before) or '(empty)'} to"
            print(f"{_shown(url)}: {status} schema revision {after}")
        else:
            revisions = current(url)
            print(f"{_shown(url)}: schema revision {', '.join(revisions) or '(none: not migrated)'}; "
                  f"this gonogo's is {head()}")
    except (SchemaTooNew, SQLAlchemyError, OSError) as exc:
        print(f"gonogo db {args.db_command}: {exc}", file=sys.stderr)
        return 1
    return 0


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
