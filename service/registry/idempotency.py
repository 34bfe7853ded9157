"""``Idempotency-Key`` on the registry's POSTs: a retried request gets the first answer, and nothing is
stored anew.

Keys are per token (two clients may use the same key). The first answer to a key (status, body and
the headers a client acts on: ``Location``, ``ETag``) is stored in the SAME transaction as the write
it answers, so that either both are stored or neither is. Later:

* same key, same request (method, path and body, compared by the SHA-256 of the canonical JSON of the
  body, so that spacing and key order do not matter): the stored answer, byte for byte;
* same key, another request: 422 naming ``Idempotency-Key`` (a client bug: reusing a key);
* two requests with one key at once: one writes, the other's insert of the key fails with the
  primary key and it replays the first (``repository.write``).

An answer that is an error (4xx) stores nothing, so its retry is answered afresh.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from designs.core.errors import InvalidInputError
from designs.core.provenance import canonical_json
from service.store.engine import reading
from service.store.tables import idempotency_keys

HEADER = "Idempotency-Key"
MAX_KEY = 256
REPLAYED_HEADERS = ("Location", "ETag")


@dataclass(frozen=True)
class Reply:
    """An answer of a registry write, as sent and as stored for replay: status, body text, headers."""

    status: int
    body: str
    headers: dict[str, str] = field(default_factory=dict)
    replayed: bool = False
    stored_as: Reply | None = None  # what to store for replay instead (an answer carrying a secret)

    @classmethod
    def of(cls, status: int, content: Any, headers: dict[str, str] | None = None) -> Reply:
        return cls(status, render(content), dict(headers or {}))


def render(content: Any) -> str:
    """JSON text of an answer (compact, UTF-8, no NaN: what a JSONResponse would send)."""
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":"))


@dataclass(frozen=True)
class Idempotency:
    """A request's key and fingerprint: which token sent which request under which key."""

    token_id: str
    key: str
    method: str
    path: str
    request_sha256: str

    @classmethod
    def of(cls, key: str | None, *, token_id: str, method: str, path: str, body: bytes) -> Idempotency | None:
        """None without a key; 422 naming ``Idempotency-Key`` for an unusable one."""
        if key is None:
            return None
        if not 1 <= len(key) <= MAX_KEY or not key.isprintable() or not key.isascii():
            raise InvalidInputError(HEADER, f"must be 1 to {MAX_KEY} printable ASCII characters")
        try:
            canonical = canonical_json(json.loads(body)) if body.strip() else ""
        except ValueError:
            canonical = body.decode("utf-8", "replace")
        digest = hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()
        return cls(token_id, key, method, path, digest)


def stored(engine_or_conn: Engine | Connection, idem: Idempotency) -> Reply | None:
    """The stored answer to ``idem``'s key, or None; 422 when the key answered another request."""
    query = select(idempotency_keys).where(idempotency_keys.c.actor == idem.token_id,
                                           idempotency_keys.c.key == idem.key)
    if isinstance(engine_or_conn, Engine):
        with reading(engine_or_conn) as conn:
            row = conn.execute(query).mappings().first()
    else:
        row = engine_or_conn.execute(query).mappings().first()
    if row is None:
        return None
    if row["request_sha256"] != idem.request_sha256:
        raise InvalidInputError(HEADER, f"this key was used at {row['created_at']} for another request "
                                f"({row['method']} {row['path']} with another body): use a new key for a new request")
    return Reply(row["status"], row["body"], json.loads(row["headers"]), replayed=True)


def record(conn: Connection, idem: Idempotency, reply: Reply, at: str) -> None:
    """Store ``reply`` (or its ``stored_as``: never a secret) as the answer to ``idem``'s key, in the
    write's transaction."""
    reply = reply.stored_as or reply
    headers = {k: v for k, v in reply.headers.items() if k in REPLAYED_HEADERS}
    conn.execute(insert(idempotency_keys).values(
        actor=idem.token_id, key=idem.key, method=idem.method, path=idem.path, request_sha256=idem.request_sha256,
        status=reply.status, headers=canonical_json(headers), body=reply.body, created_at=at))
