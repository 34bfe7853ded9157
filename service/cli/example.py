"""``gonogo example sarc031``: the registry end to end on a running server, over HTTP.

Creates a SARC031-like trial (``designs.registry.example``: protocol, three simulated data cuts),
uploads the cuts, runs a look on each, prints each look's table (the Bayesian decision beside Simon's
status) and reruns the last look to show that it reproduces. It is a client like any other: it needs
a server (``gonogo serve``) and a statistician's token. Without ``--token`` or ``GONOGO_TOKEN``, when
the server is on this machine and the settings' database is local (SQLite, or PostgreSQL on
loopback), it creates a statistician token for the example's trial in that database itself, says so
and prints it once.
"""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
DEFAULT_PORT = 8000
MAX_SUFFIX = 20
"""``sarc031-example``, ``-2``, ... ``-20``: the ids tried when the example's trial exists already."""


class ExampleFailed(Exception):
    """A step of the example failed; the message says which and why (printed, exit status 1)."""


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register ``example`` on the ``gonogo`` command line."""
    parser = subparsers.add_parser("example", description=__doc__, help="run a worked example against a running server")
    parser.add_argument("name", choices=["sarc031"], help="sarc031: a SARC031-like MPNST trial, 3 cuts, 3 looks")
    parser.add_argument("--url", default=None,
                        help="the server (default GONOGO_URL, else http://127.0.0.1:GONOGO_PORT, port 8000)")
    parser.add_argument("--token", default=None,
                        help="a statistician token (default GONOGO_TOKEN; without either, one is created in a local database)")
    parser.add_argument("--seed", type=int, default=None, help="seed of the simulated data and the protocol (default 2026)")
    parser.add_argument("--trial-id", default=None, help="the trial's id (default sarc031-example, or the first free -2, -3, ...)")
    parser.set_defaults(func=run)
    return parser


def default_url() -> str:
    """GONOGO_URL, else the loopback address of the port the settings serve on."""
    if os.environ.get("GONOGO_URL"):
        return os.environ["GONOGO_URL"]
    from service.settings import get_settings

    settings = get_settings()
    host = settings.host if settings.host not in ("0.0.0.0", "::", "") else "127.0.0.1"
    return f"http://{host}:{settings.port or DEFAULT_PORT}"


def run(args: argparse.Namespace) -> int:
    from designs.registry import example

    url = (args.url or default_url()).rstrip("/")
    seed = example.DEFAULT_SEED if args.seed is None else args.seed
    token = args.token or os.environ.get("GONOGO_TOKEN")
    made_here = False
    try:
        with httpx.Client(base_url=url, timeout=httpx.Timeout(300, connect=10)) as client:
            try:
                client.get("/health")
            except httpx.TransportError as exc:
                print(f"gonogo example: no server answers at {url} ({exc}); start one with `gonogo serve`"
                      " or pass --url", file=sys.stderr)
                return 2
            trial_id = args.trial_id
            if token is None:
                token, trial_id = local_token(url, args.trial_id)
                made_here = True
            run_example(client, token, seed=seed, trial_id=trial_id)
    except ExampleFailed as exc:
        print(f"gonogo example: {exc}", file=sys.stderr)
        if made_here and ": 401 " in str(exc):
            print("A token made here is unknown to a server on another database: run this with the server's"
                  " GONOGO_DATA_DIR or GONOGO_DATABASE_URL, or pass --token.", file=sys.stderr)
        return 1
    return 0


# --------------------------------------------------------------------------------------------------
# A token when none is given


def local_token(url: str, trial_id: str | None, *, settings=None, out: Callable[[str], None] = print) -> tuple[str, str]:
    """Create a statistician token for the example's trial in the settings' database, when both the
    server and that database are on this machine; returns (token, trial id). The trial id is chosen
    here (the first free one), as the token is limited to it."""
    from sqlalchemy import select
    from sqlalchemy.engine import make_url

    from service.cli.tokens import cli_actor
    from service.settings import get_settings
    from service.store.engine import database_url, make_engine, reading
    from service.store.tables import trials

    settings = settings or get_settings()
    db_url = database_url(settings)
    parsed = make_url(db_url)
    server_host = urlsplit(url).hostname or ""
    db_is_local = parsed.get_backend_name() == "sqlite" or (parsed.host or "localhost") in LOOPBACK
    if server_host not in LOOPBACK or not db_is_local:
        raise ExampleFailed(
            "no token: pass --token or set GONOGO_TOKEN (a statistician's; an admin creates one with"
            " `gonogo tokens create --name NAME --role statistician`). A token is created here only when the server"
            f" and the database are on this machine (server {url}, database {parsed.render_as_string(hide_password=True)}).")
    shown = parsed.render_as_string(hide_password=True)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        raise ExampleFailed(f"no database at {shown}: is the server at {url} using another GONOGO_DATA_DIR or"
                            " GONOGO_DATABASE_URL? Run this with the server's settings, or pass --token")
    engine = make_engine(db_url)
    try:
        try:
            with reading(engine) as conn:
                existing = set(conn.execute(select(trials.c.id)).scalars())
        except Exception as exc:  # no such table: not the database of a server that has started
            raise ExampleFailed(
                f"the database {shown} has no registry yet ({type(exc).__name__}): is the server at {url}"
                " using it? Run this with the server's settings, or pass --token") from exc
        trial_id = choose_trial_id(trial_id, existing)
        name = f"example-{trial_id}-{secrets.token_hex(3)}"
        token = create_statistician_token(engine, name=name, trial_id=trial_id, actor=cli_actor())
    finally:
        engine.dispose()
    out(f"No --token or GONOGO_TOKEN: created the statistician token '{name}' for trial {trial_id} in the local")
    out(f"database {shown}. It is shown once; keep it to read the trial later")
    out("(an admin revokes it with `gonogo tokens revoke`):")
    out(f"    {token}")
    out("")
    return token, trial_id


def choose_trial_id(wanted: str | None, existing: set[str]) -> str:
    """``wanted`` if free (else refuse), or the first free of sarc031-example, -2, -3, ..."""
    from designs.registry.example import TRIAL_ID

    if wanted is not None:
        if wanted in existing:
            raise ExampleFailed(f"trial {wanted!r} exists already: choose another --trial-id")
        return wanted
    for candidate in candidate_ids():
        if candidate not in existing:
            return candidate
    raise ExampleFailed(f"trials {TRIAL_ID} to {TRIAL_ID}-{MAX_SUFFIX} all exist: pass --trial-id")


def candidate_ids() -> list[str]:
    from designs.registry.example import TRIAL_ID

    return [TRIAL_ID, *(f"{TRIAL_ID}-{i}" for i in range(2, MAX_SUFFIX + 1))]


def create_statistician_token(engine, *, name: str, trial_id: str, actor: str) -> str:
    """A new statistician token limited to ``trial_id`` (the tokens' own code: stored hashed, audited)."""
    from service import auth

    _record, token = auth.create_token(engine, name=name, role="statistician", trials=[trial_id], actor=actor)
    return token


# --------------------------------------------------------------------------------------------------
# The example over HTTP


def problem_text(response: httpx.Response) -> str:
    """A problem document as one readable line: title, detail and each named field."""
    try:
        body = response.json()
    except ValueError:
        return f"{response.status_code} {response.text[:300]}"
    if not isinstance(body, dict):
        return f"{response.status_code} {body}"
    parts = [f"{response.status_code} {body.get('title', '')}".strip()]
    if body.get("detail"):
        parts.append(str(body["detail"]))
    for error in body.get("errors") or []:
        parts.append(f"{error.get('field')}: {error.get('reason')}")
    return "; ".join(parts)


class Registry:
    """The few calls the example makes, with a bearer token, an Idempotency-Key on every POST (a
    retried POST after a lost connection stores nothing twice) and a wait on 503 Retry-After."""

    def __init__(self, client: httpx.Client, token: str, *, attempts: int = 5) -> None:
        self.client = client
        self.headers = {"authorization": f"Bearer {token}"}
        self.attempts = attempts

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        headers = dict(self.headers)
        if method == "POST":
            headers["idempotency-key"] = secrets.token_hex(16)
        for attempt in range(1, self.attempts + 1):
            try:
                response = self.client.request(method, path, json=body, headers=headers)
            except httpx.TransportError as exc:
                if attempt == self.attempts:
                    raise ExampleFailed(f"{method} {path}: no answer ({exc})") from exc
                time.sleep(min(2.0 * attempt, 10.0))
                continue
            if response.status_code == 503 and attempt < self.attempts:
                time.sleep(min(float(response.headers.get("retry-after", 1) or 1), 30.0))
                continue
            return response
        raise AssertionError("unreachable")

    def ok(self, method: str, path: str, body: Any = None) -> dict:
        response = self.request(method, path, body)
        if response.status_code not in (200, 201):
            raise ExampleFailed(f"{method} {path}: {problem_text(response)}")
        return response.json()


def create_trial(api: Registry, protocol_of: Callable[[str], dict], trial_id: str | None, *,
                 out: Callable[[str], None]) -> str:
    """POST the protocol under ``trial_id``, or under the first free default id (409: the next)."""
    for candidate in [trial_id] if trial_id else candidate_ids():
        response = api.request("POST", "/v1/trials", protocol_of(candidate))
        if response.status_code == 201:
            return candidate
        if response.status_code == 409 and trial_id is None:
            out(f"trial {candidate} exists already: trying the next id")
            continue
        if response.status_code == 409:
            raise ExampleFailed(f"trial {trial_id!r} exists already: choose another --trial-id")
        raise ExampleFailed(f"POST /v1/trials ({candidate}): {problem_text(response)}")
    raise ExampleFailed("every default trial id exists already: pass --trial-id")


def look_document(look: dict) -> dict:
    """The look itself from the answer of ``POST .../looks`` or ``GET .../looks/{n}`` (its ``result``)."""
    return look["result"] if isinstance(look.get("result"), dict) else look


def run_example(client: httpx.Client, token: str, *, seed: int, trial_id: str | None = None,
                out: Callable[[str], None] = print) -> dict[str, Any]:
    """Create the trial, upload three cuts, run a look on each and print it, reproduce the last look.
    Returns {"trial", "cuts", "looks", "reproduced"} (the documents the server answered)."""
    from designs.registry import example

    api = Registry(client, token)
    trial_id = create_trial(api, lambda tid: example.protocol(tid, seed), trial_id, out=out)
    base = f"/v1/trials/{trial_id}"
    out("SARC031-like example: a simulated MPNST trial monitored by gonogo's registry.")
    for line in example.notes():
        out(f"  {line}")
    out("")
    out(f"Created trial {trial_id} (protocol version 1, seed {seed}): {client.base_url}{base}")
    out("")
    for line in example.legend():
        out(line)
    cuts, looks = [], []
    for body in example.data_cuts(seed):
        cut = api.ok("POST", f"{base}/data-cuts", body)
        cuts.append(cut)
        number = cut.get("number")
        out(f"\nUploaded data cut {number}: cut-off {body['cutoff_date']}, {len(body['patients'])} patients,"
            f" sha256 {str(cut.get('sha256', ''))[:12]}...")
        look = api.ok("POST", f"{base}/looks", {"data_cut": number})
        looks.append(look)
        out(example.render_look(look_document(look)))
    last = looks[-1].get("look", len(looks))
    reproduced = api.ok("POST", f"{base}/looks/{last}/reproduce")
    verdict = "identical" if reproduced.get("identical") else f"DIFFERENT: {reproduced.get('differences')}"
    out(f"\nReran look {last} from its stored protocol version and data cut: {verdict}.")
    out(f"Audit trail of the trial: GET {base}/audit; the whole chain: GET /v1/audit/verify.")
    return {"trial": trial_id, "cuts": cuts, "looks": looks, "reproduced": reproduced}
