"""Tokens and roles: who may call the registry (and, with ``GONOGO_AUTH_CALCULATORS=true``, the calculators).

A token is ``gng_<id>_<secret>``: ``id`` 8 hex characters, public (it names the token in lists, the
audit trail and the CLI); ``secret`` from ``secrets.token_urlsafe(32)`` (32 random bytes). Only the
SHA-256 of the whole token is stored; the token itself is shown once, when created. A request
presents it as ``Authorization: Bearer gng_...``; the stored hash is found by the public id and
compared in constant time.

Roles (``service.store.tables.ROLES``): ``admin`` (tokens and their trials), ``statistician``
(protocols, cuts and looks of its trials), ``dmc`` (reads everything of its trials), ``sponsor``
(the open view: accrual and data-quality counts). A token lists the trials it may see, or none:
then it sees every trial (``all_trials``).

Answers: 401 (``WWW-Authenticate: Bearer``) without a token or with a malformed, unknown or revoked
one; 403 when the role does not fit, and for a trial outside the token's list, whether or not that
trial exists (a 404 is only ever answered to a token that may see every trial).

Every change of a token is one write transaction with its audit event (actor: the admin token's
name, or ``cli:<user>`` from the command line); the event's content hash covers the token's public
record, never its secret.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Connection, Engine, delete, insert, select, update
from starlette.concurrency import run_in_threadpool

from designs.core.provenance import input_hash
from designs.core.validation import Checker
from designs.registry.protocol import SLUG, control_problem
from service.deps import get_database
from service.problems import Conflict, Forbidden, NotFound, Unauthorized
from service.registry import audit
from service.settings import Settings, get_settings
from service.store.engine import reading, writing
from service.store.tables import ROLES, token_trials, tokens

PREFIX = "gng"
TOKEN = re.compile(r"^gng_([0-9a-f]{8})_([A-Za-z0-9_-]{43,})$")
MAX_NAME = 128
MAX_TRIALS = 1000
_SLUG = re.compile(SLUG)
_ID_LIKE = re.compile(r"^[0-9a-f]{8}$")
CLI_ACTOR_PREFIX = "cli:"

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="A gonogo token (`gng_<id>_<secret>`, from `gonogo tokens create` or POST /v1/tokens)")


@dataclass(frozen=True)
class Principal:
    """The caller a valid token names: its id, name (the audit trail's actor), role and trials
    (``None``: every trial)."""

    token_id: str
    name: str
    role: str
    trials: frozenset[str] | None

    def sees(self, trial_id: str) -> bool:
        return self.trials is None or trial_id in self.trials

    def require_trial(self, trial_id: str) -> None:
        """403 for a trial outside the token's list, the same whether or not the trial exists."""
        if not self.sees(trial_id):
            raise Forbidden(f"this token ({self.name!r}) is not assigned trial {trial_id!r}")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> tuple[str, str]:
    """A fresh ``(id, token)``."""
    token_id = secrets.token_hex(4)
    return token_id, f"{PREFIX}_{token_id}_{secrets.token_urlsafe(32)}"


def _public(row: Any, trials: Iterable[str]) -> dict[str, Any]:
    trials = sorted(trials)
    return {"id": row["id"], "name": row["name"], "role": row["role"], "all_trials": bool(row["all_trials"]),
            "trials": [] if row["all_trials"] else trials, "created_at": row["created_at"],
            "created_by": row["created_by"], "revoked_at": row["revoked_at"]}


def _content(record: dict[str, Any]) -> str:
    """What a token event's hash covers: the public record, never the secret."""
    return input_hash({k: record[k] for k in ("id", "name", "role", "all_trials", "trials", "revoked_at")})


def check_token_fields(name: Any, role: Any, trials: Any) -> list[str]:
    """Every problem of a token's name, role and trials at once (``InvalidInputError``)."""
    check = Checker()
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= MAX_NAME or name != name.strip():
        check.add("name", f"must be a string of 1 to {MAX_NAME} characters without leading or trailing spaces")
    elif problem := control_problem(name):
        check.add("name", problem)
    elif _ID_LIKE.match(name):
        check.add("name", "must not look like a token id (8 hexadecimal digits): tokens are found by id or name")
    elif name.startswith(CLI_ACTOR_PREFIX):
        check.add("name", f"must not start with {CLI_ACTOR_PREFIX!r}: the audit trail's actors of the command line do")
    check.choice("role", role, ROLES)
    check_trials(check, trials)
    check.raise_if_any()
    return sorted(set(trials))


def check_trials(check: Checker, trials: Any) -> None:
    if not isinstance(trials, list | tuple) or len(trials) > MAX_TRIALS:
        check.add("trials", f"must be a list of at most {MAX_TRIALS} trial ids")
        return
    for i, trial in enumerate(trials):
        if not isinstance(trial, str) or not _SLUG.match(trial):
            check.add(f"trials/{i}", f"must be a trial id (lower-case letters, digits and '-', 1 to 64 characters; got {trial!r})")


def _trials_of(conn: Connection, token_id: str) -> list[str]:
    return list(conn.scalars(select(token_trials.c.trial_id).where(token_trials.c.token_id == token_id)))


def _record(conn: Connection, token_id: str) -> dict[str, Any]:
    row = conn.execute(select(tokens).where(tokens.c.id == token_id)).mappings().first()
    return _public(row, _trials_of(conn, token_id))


def create_token_in(conn: Connection, at: str, *, name: Any, role: Any, trials: Any, actor: str) -> tuple[dict[str, Any], str]:
    """Store a new token in ``conn``'s write transaction (its audit head locked); return ``(its public
    record, the token)``. The token itself is not kept."""
    trials = check_token_fields(name, role, list(trials))
    token_id, token = new_token()
    while conn.execute(select(tokens.c.id).where(tokens.c.id == token_id)).first() is not None:
        token_id, token = new_token()
    if conn.execute(select(tokens.c.id).where(tokens.c.name == name)).first() is not None:
        raise Conflict(f"a token named {name!r} exists already (names are the audit trail's actors: "
                       "choose another)", field="name")
    record = {"id": token_id, "name": name, "role": role, "all_trials": not trials, "trials": trials,
              "created_at": at, "created_by": actor, "revoked_at": None}
    audit.append(conn, actor=actor, action="token.create", trial_id=None, resource=f"/v1/tokens/{token_id}",
                 content_sha256=_content(record), at=at)
    conn.execute(insert(tokens).values(id=token_id, name=name, role=role, secret_sha256=hash_token(token),
                                       all_trials=int(not trials), created_at=at, created_by=actor))
    if trials:
        conn.execute(insert(token_trials), [{"token_id": token_id, "trial_id": t} for t in trials])
    return record, token


def create_token(engine: Engine, *, name: Any, role: Any, trials: Any = (), actor: str) -> tuple[dict[str, Any], str]:
    """``create_token_in`` in a write transaction of its own (the command line)."""
    check_token_fields(name, role, list(trials))
    with writing(engine) as conn:
        audit.lock_head(conn)
        return create_token_in(conn, audit.utc_now(), name=name, role=role, trials=trials, actor=actor)


def list_tokens(engine: Engine) -> list[dict[str, Any]]:
    with reading(engine) as conn:
        assigned: dict[str, list[str]] = {}
        for token_id, trial in conn.execute(select(token_trials.c.token_id, token_trials.c.trial_id)):
            assigned.setdefault(token_id, []).append(trial)
        rows = conn.execute(select(tokens).order_by(tokens.c.created_at, tokens.c.id)).mappings()
        return [_public(row, assigned.get(row["id"], ())) for row in rows]


def _find(conn: Connection, id_or_name: str) -> str:
    """The id of the token whose id is ``id_or_name``, else of the token so named (an id match wins:
    names stored before id-like names were refused may look like another token's id)."""
    for column in (tokens.c.id, tokens.c.name):
        found = conn.execute(select(tokens.c.id).where(column == id_or_name)).first()
        if found is not None:
            return found.id
    raise NotFound(f"no token with id or name {id_or_name!r}")


def revoke_token(engine: Engine, id_or_name: str, *, actor: str) -> dict[str, Any]:
    """Revoke a token (by id or name) for good; revoking a revoked token changes nothing."""
    with writing(engine) as conn:
        audit.lock_head(conn)
        token_id = _find(conn, id_or_name)
        record = _record(conn, token_id)
        if record["revoked_at"] is not None:
            return record
        at = audit.utc_now()
        record["revoked_at"] = at
        audit.append(conn, actor=actor, action="token.revoke", trial_id=None, resource=f"/v1/tokens/{token_id}",
                     content_sha256=_content(record), at=at)
        conn.execute(update(tokens).where(tokens.c.id == token_id).values(revoked_at=at))
        return record


def assign_trials(engine: Engine, id_or_name: str, trials: Any, *, actor: str, add: bool = False,
                  all_trials: bool = False) -> dict[str, Any]:
    """Set the trials a token may see (``add``: add to them; a token of every trial then sees only
    these), or, with ``all_trials`` and no trials, every trial. An empty list without ``all_trials``
    is refused: taking a token's last trial away must not give it every trial."""
    check = Checker()
    check_trials(check, trials)
    if all_trials and trials:
        check.add("all_trials", "give either trials or all_trials: true, not both")
    elif not all_trials and not trials:
        check.add("trials", "name at least one trial (to let the token see every trial, send all_trials: true; "
                  "to take every trial away, revoke the token)")
    check.raise_if_any()
    with writing(engine) as conn:
        audit.lock_head(conn)
        token_id = _find(conn, id_or_name)
        record = _record(conn, token_id)
        if record["revoked_at"] is not None:
            raise Conflict(f"token {token_id!r} is revoked: its trials cannot change")
        wanted = sorted(set(trials) | (set(record["trials"]) if add else set()))
        record.update(trials=wanted, all_trials=not wanted)
        audit.append(conn, actor=actor, action="token.assign", trial_id=None, resource=f"/v1/tokens/{token_id}/trials",
                     content_sha256=_content(record))
        conn.execute(delete(token_trials).where(token_trials.c.token_id == token_id))
        if wanted:
            conn.execute(insert(token_trials), [{"token_id": token_id, "trial_id": t} for t in wanted])
        conn.execute(update(tokens).where(tokens.c.id == token_id).values(all_trials=int(not wanted)))
        return record


def authenticate(engine: Engine, token: str | None) -> Principal:
    """The principal of ``token``, or ``Unauthorized``: missing, malformed, unknown or revoked."""
    if not token:
        raise Unauthorized("this route needs a token: send 'Authorization: Bearer gng_...'", error="")
    match = TOKEN.match(token)
    if match is None:
        raise Unauthorized("the token is malformed (a gonogo token reads gng_<8 hex characters>_<secret>)")
    with reading(engine) as conn:  # one query: the token and its trials
        rows = conn.execute(select(tokens, token_trials.c.trial_id.label("trial"))
                            .outerjoin(token_trials, token_trials.c.token_id == tokens.c.id)
                            .where(tokens.c.id == match.group(1))).mappings().all()
    row = rows[0] if rows else None
    trials = [r["trial"] for r in rows if r["trial"] is not None]
    if row is None or not hmac.compare_digest(row["secret_sha256"], hash_token(token)):
        raise Unauthorized("unknown token")
    if row["revoked_at"] is not None:
        raise Unauthorized(f"this token was revoked at {row['revoked_at']}")
    return Principal(row["id"], row["name"], row["role"], None if row["all_trials"] else frozenset(trials))


# ---------------------------------------------------------------------------------------------------
# FastAPI dependencies


def bearer_token(request: Request) -> str | None:
    """The token of the request's ``Authorization: Bearer`` header (None without the header)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("the Authorization header must read 'Bearer gng_...'")
    return token.strip()


async def current_principal(request: Request, engine: Annotated[Engine, Depends(get_database)],
                            _documented: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Principal:
    """Any valid token (401 otherwise). ``bearer`` only documents the scheme in the OpenAPI document."""
    return await run_in_threadpool(authenticate, engine, bearer_token(request))


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def role(*roles: str) -> Callable[..., Any]:
    """A dependency: a valid token whose role is one of ``roles`` (403 otherwise)."""

    async def dependency(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"the role {principal.role!r} may not do this (it needs {' or '.join(roles)})")
        return principal

    return dependency


def trial_role(*roles: str) -> Callable[..., Any]:
    """A dependency for a route under ``/v1/trials/{trial_id}``: a valid token of one of ``roles``
    assigned that trial (403 otherwise, whether or not the trial exists)."""
    check_role = role(*roles)

    async def dependency(trial_id: str, principal: PrincipalDep) -> Principal:
        principal = await check_role(principal)
        principal.require_trial(trial_id)
        return principal

    return dependency


async def calculators_guard(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> None:
    """The stateless calculators answer anyone, unless ``GONOGO_AUTH_CALCULATORS=true``: then any valid
    token (of any role). The header is read by hand, so that the open default documents no security."""
    if settings.auth_calculators:
        await run_in_threadpool(authenticate, get_database(request), bearer_token(request))
