"""Appending to and verifying the audit trail (the chain itself: ``designs.registry.audit``).

Every write of the registry calls ``append`` inside its own transaction, first: the update of the
single ``audit_head`` row locks it, so writers queue (PostgreSQL; SQLite's write transactions are
IMMEDIATE already), ``seq`` has no gaps, and the write and its event commit or vanish together.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from designs.registry.audit import GENESIS, Verification, event_hash, verify
from service.store.engine import reading
from service.store.tables import audit_events, audit_head, data_cuts, design_summaries, looks, protocol_versions


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
    """Walk the whole trail and check every stored content against it, in one read transaction (one
    snapshot): the hash chain (``designs.registry.audit.verify``), a missing head while events exist,
    and each protocol version, data cut and look (``content_problems``)."""
    with reading(engine) as conn:
        head = conn.execute(select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == 1)).first()
        stored = conn.execute(select(audit_events).order_by(audit_events.c.seq)).mappings()
        report = verify(stored, head=None if head is None else {"seq": head.seq, "hash": head.hash})
        if head is None and report.events:
            report.problems.append({"seq": 0, "problem": f"the chain's head row is missing while {report.events} "
                                    "events exist (deleted: the end of the trail can no longer be checked)"})
        report.problems.extend(content_problems(conn))
        return report


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# How each stored content is found and hashed: the action of the audit event that stored it, its
# resource path, and the stored text whose SHA-256 the row's ``sha256`` and the event's
# ``content_sha256`` both are (the repository hashes exactly that text when it writes).
def _stored_contents(conn: Connection) -> Iterator[tuple[str, str, str, str]]:
    """``(action, resource, stored sha256, text)`` of every protocol version, data cut, look and stored
    design of a protocol version."""
    for r in conn.execute(select(protocol_versions.c.trial_id, protocol_versions.c.version, protocol_versions.c.sha256,
                                 protocol_versions.c.document)):
        if r.version == 1:
            yield "trial.create", f"/v1/trials/{r.trial_id}", r.sha256, r.document
        else:
            yield "protocol.amend", f"/v1/trials/{r.trial_id}/versions/{r.version}", r.sha256, r.document
    for r in conn.execute(select(data_cuts.c.trial_id, data_cuts.c.number, data_cuts.c.sha256, data_cuts.c.document)):
        yield "data_cut.create", f"/v1/trials/{r.trial_id}/data-cuts/{r.number}", r.sha256, r.document
    for r in conn.execute(select(looks.c.trial_id, looks.c.number, looks.c.sha256, looks.c.result)):
        yield "look.create", f"/v1/trials/{r.trial_id}/looks/{r.number}", r.sha256, r.result
    for r in conn.execute(select(design_summaries.c.trial_id, design_summaries.c.protocol_version,
                                 design_summaries.c.sha256, design_summaries.c.document)):
        yield "design.create", f"/v1/trials/{r.trial_id}/versions/{r.protocol_version}/design", r.sha256, r.document


def content_problems(conn: Connection) -> list[dict[str, Any]]:
    """Every stored content that does not match its own ``sha256`` or its audit event's
    ``content_sha256``, and every one no event recorded (each named by its resource)."""
    recorded: dict[tuple[str, str], tuple[int, str]] = {}
    for e in conn.execute(select(audit_events.c.seq, audit_events.c.action, audit_events.c.resource,
                                 audit_events.c.content_sha256)
                          .where(audit_events.c.action.in_(CONTENT_ACTIONS))):
        recorded[(e.action, e.resource)] = (e.seq, e.content_sha256)
    problems: list[dict[str, Any]] = []
    for action, resource, sha, text in _stored_contents(conn):
        problems.extend(check_content(action, resource, sha, text, recorded.get((action, resource))))
    return problems


CONTENT_ACTIONS = ("trial.create", "protocol.amend", "data_cut.create", "look.create", "design.create")


def check_content(action: str, resource: str, sha: str, text: str,
                  event: tuple[int, str] | None) -> list[dict[str, Any]]:
    """The problems of one stored content against its stored hash and its event ``(seq, content_sha256)``."""
    found = []
    seq = None if event is None else event[0]
    if sha256_text(text) != sha:
        found.append({"seq": seq, "resource": resource, "problem": "the stored content does not match its stored "
                      "SHA-256 (the content was altered)"})
    if event is None:
        found.append({"seq": None, "resource": resource, "problem": f"no {action} audit event records this content"})
    elif event[1] != sha:
        found.append({"seq": seq, "resource": resource, "problem": f"the stored SHA-256 is not the content_sha256 "
                      f"of its {action} audit event (content and hash were altered)"})
    return found


def recorded_sha(conn: Connection, trial_id: str, action: str, resource: str) -> tuple[int, str] | None:
    """``(seq, content_sha256)`` of the event that stored ``resource``, or None."""
    row = conn.execute(select(audit_events.c.seq, audit_events.c.content_sha256)
                       .where(audit_events.c.trial_id == trial_id, audit_events.c.action == action,
                              audit_events.c.resource == resource)
                       .order_by(audit_events.c.seq).limit(1)).first()
    return None if row is None else (row.seq, row.content_sha256)
