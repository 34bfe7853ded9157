"""``gonogo report TRIAL LOOK -o FILE.html|FILE.pdf``: the report of a look from a running server, over
HTTP (``GET /v1/trials/{trial}/looks/{look}/report``), written to a file.

The format is the file's extension (.html, .htm or .pdf; any other is refused before anything is
asked); ``--view closed|open`` chooses the report (default: the token's, closed for a statistician or
the DMC, open for a sponsor). The token is ``--token`` or ``GONOGO_TOKEN``. The file is written
whole or not at all (a temporary file beside it, renamed).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from service.cli.example import default_url, problem_text

FORMATS = {".html": "text/html", ".htm": "text/html", ".pdf": "application/pdf"}
HINTS = {401: "pass a valid token with --token or GONOGO_TOKEN"}
"""What to do, where the server's own detail does not say it (403 and 404 details name the cause)."""


class ReportFailed(Exception):
    """The report could not be fetched or written; the message says why (exit status 1)."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``report`` on the ``gonogo`` command line."""
    parser = subparsers.add_parser("report", description=__doc__, help="write the report of a look (HTML or PDF) from a running server")
    parser.add_argument("trial", help="the trial's id")
    parser.add_argument("look", type=int, help="the look's number (1, 2, ...)")
    parser.add_argument("-o", "--output", required=True, type=Path,
                        help="the file to write; its extension (.html or .pdf) chooses the format")
    parser.add_argument("--view", choices=["closed", "open"], default=None,
                        help="closed (statistician, DMC) or open (sponsor); default: the token's")
    parser.add_argument("--url", default=None,
                        help="the server (default GONOGO_URL, else http://127.0.0.1:GONOGO_PORT, port 8000)")
    parser.add_argument("--token", default=None, help="a token of the trial (default GONOGO_TOKEN)")
    parser.set_defaults(func=run)
    return parser


def media_type(output: Path) -> str:
    """The media type the file's extension asks for; ``ReportFailed`` for any other extension."""
    found = FORMATS.get(output.suffix.lower())
    if found is None:
        raise ReportFailed(f"{output}: the file's extension chooses the format: .html or .pdf (got "
                           f"{output.suffix or 'none'!r})")
    return found


def fetch(client: httpx.Client, token: str, trial: str, look: int, output: Path, *, view: str | None = None) -> int:
    """Fetch the report and write it to ``output`` atomically; returns the bytes written."""
    accept = media_type(output)
    params = {} if view is None else {"view": view}
    try:
        response = client.get(f"/v1/trials/{trial}/looks/{look}/report", params=params,
                              headers={"authorization": f"Bearer {token}", "accept": accept})
    except httpx.TransportError as exc:
        raise ReportFailed(f"no answer from {client.base_url} ({exc})") from exc
    if response.status_code != 200:
        hint = HINTS.get(response.status_code)
        raise ReportFailed(problem_text(response) + (f"; {hint}" if hint else ""))
    write_atomically(output, response.content)
    return len(response.content)


def write_atomically(path: Path, content: bytes) -> None:
    """Write ``content`` to ``path`` whole or not at all: a temporary file in its directory, renamed."""
    directory = path.resolve().parent
    if not directory.is_dir():
        raise ReportFailed(f"{path}: no such directory {directory}")
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=directory)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    url = (args.url or default_url()).rstrip("/")
    token = args.token or os.environ.get("GONOGO_TOKEN")
    try:
        media_type(args.output)
        if not token:
            raise ReportFailed("no token: pass --token or set GONOGO_TOKEN (a statistician's, DMC member's or "
                               "sponsor's token of the trial)")
        with httpx.Client(base_url=url, timeout=httpx.Timeout(300, connect=10)) as client:
            try:
                client.get("/health")
            except httpx.TransportError as exc:
                print(f"gonogo report: no server answers at {url} ({exc}); start one with `gonogo serve` or pass --url",
                      file=sys.stderr)
                return 2
            size = fetch(client, token, args.trial, args.look, args.output, view=args.view)
    except ReportFailed as exc:
        print(f"gonogo report: {exc}", file=sys.stderr)
        return 1
    print(f"wrote {args.output} ({size:,} bytes)")
    return 0
