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


def test_a_look_that_lost_the_race_is_409_and_stores_nothing(registry, protocol, cut):
    """Two looks planned on the same state: the first stored takes the number, the second is refused."""
    import pytest

    from designs.registry.look import run_look
    from service.problems import Conflict
    from service.registry import repository

    registry.populate(protocol, cut)
    plans = [repository.plan_look(registry.engine, TRIAL, 1, actor="statistician") for _ in range(2)]
    assert plans[0].number == plans[1].number == 2
    results = [run_look(p.protocol, p.cut, look_number=p.number, seed=p.seed, context=p.context) for p in plans]
    assert repository.store_look(registry.engine, plans[0], results[0], actor="statistician").status == 201
    before = registry.counts()
    with pytest.raises(Conflict):
        repository.store_look(registry.engine, plans[1], results[1], actor="statistician")
    assert registry.counts() == before


def test_one_idempotency_key_sent_at_once_writes_once(registry, protocol, cut):
    registry.populate(protocol, cut)
    headers = {"Idempotency-Key": "same-upload"}

    def upload(_):
        return registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/data-cuts", json=cut, headers=headers)

    with ThreadPoolExecutor(CLIENTS) as pool:
        answers = list(pool.map(upload, range(CLIENTS)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.content for a in answers}) == 1  # every one the first answer, byte for byte
    assert [c["number"] for c in registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/data-cuts").json()] == [1, 2]
