"""The Alembic migrations: they create exactly the tables ``service/store/tables.py`` declares, on
SQLite and PostgreSQL; several processes may migrate at once; a database written by a newer gonogo is
refused untouched; ``gonogo db upgrade | current``; the migration files ship in the package."""

from __future__ import annotations

import subprocess
import sys
import time
import tomllib
from fnmatch import fnmatch
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import insert, inspect, select, text

from designs.registry.audit import GENESIS
from service.cli import main
from service.store import migrate
from service.store.engine import create_schema, make_engine
from service.store.tables import audit_head, jobs, metadata

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.fixture
def engine(database_url):
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def test_migrated_schema_is_exactly_the_declared_tables(engine):
    assert migrate.upgrade(engine) == migrate.head()
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert differences == []
    assert set(inspect(engine).get_table_names()) == set(metadata.tables) | {"alembic_version"}


def test_a_table_missing_from_the_migrations_is_a_difference(engine):
    """The comparison above can fail: a table declared but not migrated is reported."""
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE idempotency_keys"))
    with engine.connect() as conn:
        differences = compare_metadata(MigrationContext.configure(conn), metadata)
    assert [d[0] for d in differences] == ["add_table"] and differences[0][1].name == "idempotency_keys"


def test_upgrade_again_changes_nothing_and_the_audit_head_starts_at_genesis(engine):
    create_schema(engine)  # the app's start-up path
    with engine.begin() as conn:
        conn.execute(insert(jobs).values(id="kept", kind="slow", backend="in-process", request_sha256="0" * 64,
                                         state="queued", owner="o", heartbeat_at=0.0, created_at="2026-11-30"))
    assert migrate.upgrade(engine) == migrate.head()
    assert migrate.current(engine) == (migrate.head(),)
    with engine.connect() as conn:
        assert conn.execute(select(jobs.c.id)).scalars().all() == ["kept"]
        assert conn.execute(select(audit_head.c.id, audit_head.c.seq, audit_head.c.hash)).all() == [(1, 0, GENESIS)]


def test_database_of_a_newer_gonogo_is_refused_untouched(engine, database_url):
    migrate.upgrade(engine)
    with engine.begin() as conn:
        conn.execute(insert(jobs).values(id="kept", kind="slow", backend="in-process", request_sha256="0" * 64,
                                         state="queued", owner="o", heartbeat_at=0.0, created_at="2026-11-30"))
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
        conn.execute(text("DROP INDEX ix_jobs_state_finished"))  # as if the newer gonogo had dropped it
    path = Path(engine.url.database) if engine.dialect.name == "sqlite" else None
    if path is not None:
        engine.dispose()  # the WAL checkpointed into the file, so that its bytes are the whole database
        before = path.read_bytes()
    with pytest.raises(migrate.SchemaTooNew, match="newer gonogo.*9999_future.*nothing was changed"):
        migrate.upgrade(engine)
    with pytest.raises(migrate.SchemaTooNew):
        create_schema(engine)
    assert migrate.current(engine) == ("9999_future",)
    with engine.connect() as conn:
        assert conn.execute(select(jobs.c.id)).scalars().all() == ["kept"]
    assert "ix_jobs_state_finished" not in {i["name"] for i in inspect(engine).get_indexes("jobs")}
    if path is not None:
        engine.dispose()
        assert path.read_bytes() == before


UPGRADE = """
import sys, time
from service.store.migrate import upgrade
time.sleep(max(0.0, float(sys.argv[2]) - time.time()))  # all start together
print(upgrade(sys.argv[1]))
"""


@pytest.mark.slow  # four Python processes start and import gonogo: ~10 s on two cores
def test_processes_migrating_at_once_queue_and_all_succeed(database_url):
    """Four processes (as uvicorn workers or replicas starting together) migrate one new database."""
    start = time.time() + 3.0
    processes = [subprocess.Popen([sys.executable, "-c", UPGRADE, database_url, str(start)], cwd=ROOT,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outcomes = [p.communicate(timeout=60) for p in processes]
    assert [p.returncode for p in processes] == [0] * 4, [err for _, err in outcomes]
    assert [out.strip() for out, _ in outcomes] == [migrate.head()] * 4
    engine = make_engine(database_url)
    try:
        assert migrate.current(engine) == (migrate.head(),)
        with engine.connect() as conn:
            assert conn.execute(select(audit_head.c.seq)).scalars().all() == [0]  # seeded once
            assert compare_metadata(MigrationContext.configure(conn), metadata) == []
    finally:
        engine.dispose()


def test_gonogo_db_upgrade_then_current(database_url, capsys):
    assert main(["db", "current", "--database-url", database_url]) == 0
    assert "not migrated" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", database_url]) == 0
    assert f"upgraded from (empty) to schema revision {migrate.head()}" in capsys.readouterr().out
    assert main(["db", "upgrade", "--database-url", database_url]) == 0
    assert "already at" in capsys.readouterr().out
    assert main(["db", "current", "--database-url", database_url]) == 0
    assert f"schema revision {migrate.head()}; this gonogo's is {migrate.head()}" in capsys.readouterr().out


def test_gonogo_db_upgrade_of_a_newer_database_exits_1_saying_why(database_url, capsys):
    migrate.upgrade(database_url)
    engine = make_engine(database_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    engine.dispose()
    assert main(["db", "upgrade", "--database-url", database_url]) == 1
    assert "newer gonogo" in capsys.readouterr().err


def test_gonogo_db_uses_the_services_database_by_default(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("GONOGO_DATABASE_URL", raising=False)
    monkeypatch.setenv("GONOGO_DATA_DIR", str(tmp_path))
    assert main(["db", "upgrade"]) == 0
    assert str(tmp_path / "gonogo.sqlite3") in capsys.readouterr().out
    assert migrate.current(f"sqlite:///{tmp_path / 'gonogo.sqlite3'}") == (migrate.head(),)


def test_every_migration_file_ships_in_the_package():
    """The package data of pyproject.toml covers every file under service/store/migrations."""
    patterns = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]["service.store"]
    store = ROOT / "service" / "store"
    files = [p.relative_to(store).as_posix() for p in (store / "migrations").rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    assert "migrations/script.py.mako" in files and "migrations/env.py" in files
    assert any(f.startswith("migrations/versions/0001_") for f in files)
    assert [f for f in files if not any(fnmatch(f, pattern) for pattern in patterns)] == []


def test_database_made_before_the_migrations_is_adopted_with_its_rows(engine):
    """A database whose tables ``metadata.create_all`` made (gonogo before the migrations) is stamped
    at 0001 and migrated on, its rows kept, instead of failing on CREATE TABLE."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(insert(jobs).values(id="kept", kind="slow", backend="in-process", request_sha256="0" * 64,
                                         state="queued", owner="o", heartbeat_at=0.0, created_at="2026-11-30"))
    assert migrate.current(engine) == ()
    assert migrate.upgrade(engine) == migrate.head()
    assert migrate.current(engine) == (migrate.head(),)
    with engine.connect() as conn:
        assert conn.execute(select(jobs.c.id)).scalars().all() == ["kept"]


def test_unversioned_database_with_other_tables_of_gonogos_names_is_refused_untouched(engine):
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE jobs (id TEXT PRIMARY KEY, something_else TEXT)"))
    with pytest.raises(migrate.SchemaTooNew, match="no schema revision.*differ.*nothing was changed"):
        migrate.upgrade(engine)
    assert migrate.current(engine) == ()
    assert set(inspect(engine).get_table_names()) == {"jobs"}


def test_database_at_0001_is_migrated_to_0002_with_its_cuts_kept(engine):
    """0002 adds ``data_cuts.files`` to a database at 0001, keeping its rows (null files: read from JSON)."""
    from alembic import command

    from service.store.tables import data_cuts

    config = migrate.alembic_config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(text("INSERT INTO trials (id, title, current_version, created_at, created_by) "
                          "VALUES ('t', 'T', 1, 'x', 'a')"))
        conn.execute(text("INSERT INTO data_cuts (trial_id, number, cutoff_date, document, sha256, n_patients, "
                          "protocol_version, created_at, created_by) VALUES ('t', 1, '2026-06-30', '{}', :sha, 1, 1, "
                          "'x', 'a')"), {"sha": "0" * 64})
    assert migrate.current(engine) == ("0001",)
    assert migrate.upgrade(engine) == migrate.head()
    with engine.connect() as conn:
        assert conn.execute(select(data_cuts.c.number, data_cuts.c.files)).all() == [(1, None)]


def test_database_made_by_create_all_before_0002_is_adopted_at_0001(engine):
    """An unversioned database whose tables lack only what later revisions add is stamped 0001 and
    migrated on (``migrate.ADDED_BY``)."""
    metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE data_cuts DROP COLUMN files"))
        conn.execute(text("DROP TABLE design_summaries"))  # 0003's, which gonogo before 0002 did not have
    assert migrate.upgrade(engine) == migrate.head()
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []


def test_database_made_by_create_all_before_0003_is_adopted_at_0002(engine):
    """An unversioned database with every table but ``design_summaries`` (gonogo at 0002) is stamped
    0002 and gets the table from 0003; one lacking both 0002's column and 0003's table, 0001."""
    from service.store.tables import design_summaries

    metadata.create_all(engine)
    design_summaries.drop(engine)
    script = migrate.ScriptDirectory.from_config(migrate.alembic_config())
    with engine.connect() as conn:
        assert migrate._adoptable(MigrationContext.configure(conn), engine, script) == "0002"
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE data_cuts DROP COLUMN files"))
    with engine.connect() as conn:
        assert migrate._adoptable(MigrationContext.configure(conn), engine, script) == "0001"
    assert migrate.upgrade(engine) == migrate.head() == "0003"
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), metadata) == []
