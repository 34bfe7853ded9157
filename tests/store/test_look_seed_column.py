"""Every look seed ``look_seed`` can give (0 to MAX_SEED = 2**32 - 1) is stored as is, on SQLite and on
PostgreSQL (whose INTEGER stops at 2**31 - 1: the column is BIGINT)."""

from __future__ import annotations

import pytest
from sqlalchemy import insert, select

from designs.core.validation import MAX_SEED
from service.store.engine import create_schema, make_engine, writing
from service.store.tables import data_cuts, looks, protocol_versions, trials

AT = "2026-11-30T14:00:00.000+00:00"


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def store_look(engine, number: int, seed: int) -> None:
    with writing(engine) as conn:
        if number == 1:
            conn.execute(insert(trials).values(id="t", title="t", current_version=1, created_at=AT, created_by="test"))
            conn.execute(insert(protocol_versions).values(trial_id="t", version=1, document="{}", sha256="0" * 64,
                                                          created_at=AT, created_by="test"))
            conn.execute(insert(data_cuts).values(trial_id="t", number=1, cutoff_date="2026-06-30", document="{}",
                                                  sha256="0" * 64, n_patients=0, protocol_version=1, created_at=AT,
                                                  created_by="test"))
        conn.execute(insert(looks).values(trial_id="t", number=number, data_cut=1, protocol_version=1, seed=seed,
                                          result="{}", sha256="0" * 64, created_at=AT, created_by="test"))


def seeds(engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(select(looks.c.seed).order_by(looks.c.number)).scalars())


def test_the_largest_look_seed_is_stored_as_is(engine):
    create_schema(engine)
    store_look(engine, 1, MAX_SEED)
    store_look(engine, 2, 2**31)
    assert seeds(engine) == [MAX_SEED, 2**31]
