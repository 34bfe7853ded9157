"""Shared fixtures: an in-process client of the app (no server, no model warm-up)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run, so that CI and a developer see the same result;
# HYPOTHESIS_PROFILE=explore draws new ones.
settings.register_profile("repeatable", derandomize=True)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))

# Tests compile models on first use instead of at start-up, and keep their job store out of the
# user's state directory.
os.environ.setdefault("GONOGO_WARM_UP_MODELS", "false")
# One compute worker per test process: the tests send one request at a time, and every worker
# compiles the PyMC models it needs for itself.
os.environ.setdefault("GONOGO_COMPUTE_WORKERS", "1")
if "GONOGO_DATA_DIR" not in os.environ:
    os.environ["GONOGO_DATA_DIR"] = tempfile.mkdtemp(prefix="gonogo-tests-")
    atexit.register(shutil.rmtree, os.environ["GONOGO_DATA_DIR"], ignore_errors=True)


@pytest.fixture(scope="session")
def client():
    from fastapi.testclient import TestClient

    from service.app import app

    with TestClient(app) as c:
        yield c


@pytest.fixture
def overrides(client):
    """``app.dependency_overrides`` of the test client's app, cleared after the test."""
    yield client.app.dependency_overrides
    client.app.dependency_overrides.clear()


@pytest.fixture
def in_process_compute(overrides):
    """Synchronous computations run on threads of this process (so that a test may patch the core
    here); the compute pool itself is tested in test_compute_pool.py."""
    from service.compute import InProcessCompute, get_compute

    overrides[get_compute] = InProcessCompute


@pytest.fixture
def in_process_jobs(overrides):
    """Jobs run on threads of this process (the pool and Dask are tested in test_jobs.py and
    test_jobs_faults.py)."""
    from service import jobs
    from service.deps import get_job_manager
    from service.settings import get_settings

    manager = jobs.JobManager.from_settings(get_settings(), jobs.InProcessBackend())
    overrides[get_job_manager] = lambda: manager
    yield manager
    manager.close()


def assert_problem(response, status: int, *fields: str) -> dict:
    """Assert a problem+json response with ``status`` that names every one of ``fields``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body = response.json()
    assert body["status"] == status
    named = {e["field"] for e in body.get("errors", [])}
    for f in fields:
        assert any(n == f or n.startswith(f + "/") for n in named), (f, body)
    return body


# --------------------------------------------------------------------------------------------------
# Databases: every registry and job-store test runs on SQLite and on PostgreSQL.

POSTGRES_URL = os.environ.get("GONOGO_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_schema_url(base: str, schema: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(base)
    return url.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def postgres_admin():
    """An engine on the test PostgreSQL server, or a skip saying which server did not answer."""
    from sqlalchemy import create_engine, text

    engine = create_engine(POSTGRES_URL, pool_pre_ping=True)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:  # any failure to connect: no server here
        engine.dispose()
        pytest.skip(f"no PostgreSQL server answers at {POSTGRES_URL} (set GONOGO_TEST_DATABASE_URL): {exc}")
    yield engine
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    """A new, empty database: a SQLite file, or a schema of its own on the test PostgreSQL server
    (dropped afterwards). The schema is not created here: the code under test migrates it."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'gonogo.sqlite3'}"
        return
    import uuid

    from sqlalchemy import text

    admin = request.getfixturevalue("postgres_admin")
    schema = f"gonogo_test_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _postgres_schema_url(POSTGRES_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
