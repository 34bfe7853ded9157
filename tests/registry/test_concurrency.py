"""Nothing doubled: concurrent looks on one trial get distinct numbers or a 409, never two looks with
one number; concurrent writes keep the audit chain whole (SQLite and PostgreSQL)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from service.store.tables import audit_events, looks
from tests.registry.conftest import TRIAL

CLIENTS = 8


def test_concurrent_looks_get_distinct_numbers_or_409(registry, protocol, cut):
    registry.populate(protocol, cut)

    def ask(_):
        return registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/looks", json={"data_cut": 1})

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(ask, range(CLIENTS)))
    statuses = sorted(a.status_code for a in answers)
    assert set(statuses) <= {201, 409}, [a.text for a in answers]
    created = [a.json()["look"] for a in answers if a.status_code == 201]
    assert created and len(created) == len(set(created)), created
    for conflict in (a for a in answers if a.status_code == 409):
        assert conflict.headers["content-type"].startswith("application/problem+json")
    with registry.engine.connect() as conn:
        numbers = sorted(conn.scalars(looks.select().with_only_columns(looks.c.number)))
        look_events = conn.scalars(audit_events.select().with_only_columns(audit_events.c.seq)
                                   .where(audit_events.c.action == "look.create")).all()
    # Look 1 from populate, then one per 201: numbered without gaps, one audit event each.
    assert numbers == list(range(1, len(created) + 2))
    assert len(look_events) == len(numbers)
    assert registry.request("admin", "GET", "/v1/audit/verify").json()["ok"] is True


def test_concurrent_cuts_and_amendments_keep_the_chain(registry, protocol, cut):
    registry.populate(protocol, cut)

    def upload(_):
        return registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/data-cuts", json=cut).status_code

    with ThreadPoolExecutor(CLIENTS) as pool:
        assert list(pool.map(upload, range(CLIENTS))) == [201] * CLIENTS
    numbers = [c["number"] for c in registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/data-cuts").json()]
    assert numbers == list(range(1, CLIENTS + 2))
    report = registry.request("admin", "GET", "/v1/audit/verify").json()
    assert report["ok"] is True and report["events"] == registry.rows(audit_events)
