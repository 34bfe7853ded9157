"""The audit trail as stored: appended in the writer's transaction, verified whole, and any edit,
deletion or reordering made behind the service's back found (21 CFR 11.10(e): record changes shall
not obscure previously recorded information)."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import delete, text, update

from designs.registry.audit import GENESIS
from service.registry import audit
from service.store.engine import create_schema, make_engine, writing
from service.store.tables import audit_events


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    create_schema(engine)
    yield engine
    engine.dispose()


def _append(engine, n: int, trial: str = "sarc031") -> None:
    for i in range(n):
        with writing(engine) as conn:
            audit.append(conn, actor="stat", action="data_cut.create", trial_id=trial,
                         resource=f"/v1/trials/{trial}/data-cuts/{i + 1}",
                         content_sha256=hashlib.sha256(str(i).encode()).hexdigest())


def test_chain_of_appended_events_verifies(engine):
    _append(engine, 5)
    report = audit.verify_trail(engine)
    assert report.ok and report.events == 5 and report.last_seq == 5
    with engine.connect() as conn:
        first = next(audit.events(conn))
    assert first["prev_hash"] == GENESIS


def test_rolled_back_write_leaves_no_event(engine):
    _append(engine, 2)
    with pytest.raises(RuntimeError), writing(engine) as conn:
        audit.append(conn, actor="stat", action="look.create", trial_id="sarc031", resource="/x", content_sha256="0" * 64)
        raise RuntimeError("the write failed after its event")
    assert audit.verify_trail(engine).events == 2
    _append(engine, 1)
    assert audit.verify_trail(engine).ok


@pytest.mark.parametrize("tamper", ["edit", "delete-middle", "delete-last", "reorder"])
def test_tampering_behind_the_service_is_found(engine, tamper):
    _append(engine, 4)
    with engine.begin() as conn:
        if tamper == "edit":
            conn.execute(update(audit_events).where(audit_events.c.seq == 2).values(actor="someone else"))
        elif tamper == "delete-middle":
            conn.execute(delete(audit_events).where(audit_events.c.seq == 2))
        elif tamper == "delete-last":
            conn.execute(delete(audit_events).where(audit_events.c.seq == 4))
        else:  # swap the contents of events 2 and 3, keeping their seq
            rows = {r.seq: dict(r._mapping) for r in conn.execute(text("SELECT * FROM audit_events WHERE seq IN (2, 3)"))}
            for seq, other in ((2, 3), (3, 2)):
                values = {k: v for k, v in rows[other].items() if k != "seq"}
                conn.execute(update(audit_events).where(audit_events.c.seq == seq).values(**values))
    report = audit.verify_trail(engine)
    assert not report.ok, report.as_dict()
