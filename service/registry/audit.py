"""Appending to and verifying the audit trail (the chain itself: ``designs.registry.audit``).

Every write of the registry calls ``append`` inside its own transaction, first: the update of the
single ``audit_head`` row locks it, so writers queue (PostgreSQL; SQLite's write transactions are
IMMEDIATE already), ``seq`` has no gaps, and the write and its event commit or vanish together.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from designs.registry.audit import GENESIS, Verification, event_hash, verify
from service.store.engine import reading
from service.store.tables import audit_events, audit_head


def utc_now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def lock_head(conn: Connection) -> dict[str, Any]:
    """Lock the chain's head for this transaction and return it ``{seq, hash}`` (created if absent)."""
    locked = conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=audit_head.c.seq)
                          .returning(audit_head.c.seq, audit_head.c.hash)).first()
    if locked is None:
        conn.execute(insert(audit_head).values(id=1, seq=0, hash=GENESIS))
        return {"seq": 0, "hash": GENESIS}
    return {"seq": locked.seq, "hash": locked.hash}


def append(conn: Connection, *, actor: str, action: str, trial_id: str | None, resource: str,
           content_sha256: str, at: str | None = None) -> dict[str, Any]:
    """Append one event in ``conn``'s transaction; returns it (with ``seq`` and ``hash``)."""
    head = lock_head(conn)
    event = {"seq": head["seq"] + 1, "at": at or utc_now(), "actor": actor, "action": action,
             "trial_id": trial_id, "resource": resource, "content_sha256": content_sha256,
             "prev_hash": head["hash"]}
    event["hash"] = event_hash(event)
    conn.execute(insert(audit_events).values(**event))
    conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=event["seq"], hash=event["hash"]))
    return event


def events(conn: Connection, trial_id: str | None = None, *, after: int = 0, limit: int | None = None) -> Iterator[dict]:
    query = select(audit_events).where(audit_events.c.seq > after).order_by(audit_events.c.seq)
    if trial_id is not None:
        query = query.where(audit_events.c.trial_id == trial_id)
    if limit is not None:
        query = query.limit(limit)
    for row in conn.execute(query):
        yield dict(row._mapping)


def verify_trail(engine: Engine) -> Verification:
    """Walk the whole trail in one read transaction."""
    with reading(engine) as conn:
        head = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
        stored = conn.execute(select(audit_events).order_by(audit_events.c.seq)).mappings()
        return verify(stored, head=None if head is None else {"seq": head.seq, "hash": head.hash})
