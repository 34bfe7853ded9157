"""Fixtures of the registry's HTTP tests: an app on the test's database (SQLite file or PostgreSQL
schema), computations on threads of this process, and a token of every role."""

from __future__ import annotations

import copy
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient

from service import auth
from service.app import create_app
from service.compute import InProcessCompute, get_compute
from service.settings import get_settings
from service.schemas.registry import EXAMPLE_CUT, EXAMPLE_PROTOCOL

TRIAL = EXAMPLE_PROTOCOL["id"]
# A second trial the test tokens are assigned but that does not exist until a test creates it.
NEW_TRIAL = "sarc031-b"


@dataclass
class Registry:
    """A client of an app on its own database, and the engine behind it."""

    client: TestClient
    tokens: dict[str, str]

    @property
    def engine(self):
        return self.client.app.state.database

    def as_(self, who: str | None) -> dict[str, str]:
        """Headers of a request sent with the token of ``who`` (None: no token)."""
        return {} if who is None else {"Authorization": f"Bearer {self.tokens[who]}"}

    def token(self, name: str, role: str, trials=()) -> str:
        return auth.create_token(self.engine, name=name, role=role, trials=list(trials), actor="test")[1]

    def request(self, who: str | None, method: str, path: str, **kwargs):
        headers = {**self.as_(who), **kwargs.pop("headers", {})}
        return self.client.request(method, path, headers=headers, **kwargs)

    def rows(self, table) -> int:
        """Rows of ``table`` (a ``service.store.tables`` Table) as stored."""
        from sqlalchemy import func, select

        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(table)).scalar_one()

    def counts(self) -> dict[str, int]:
        """Rows of every registry table and of the audit trail: what a refused request must not change."""
        from service.store import tables

        return {t.name: self.rows(t) for t in (tables.trials, tables.protocol_versions, tables.data_cuts, tables.looks,
                                               tables.audit_events, tables.tokens, tables.token_trials,
                                               tables.idempotency_keys)}

    def populate(self, protocol: dict, cut: dict) -> None:
        """The example trial with data cut 1 and look 1."""
        for path, body in (("/v1/trials", protocol), (f"/v1/trials/{TRIAL}/data-cuts", cut),
                           (f"/v1/trials/{TRIAL}/looks", {"data_cut": 1})):
            response = self.request("statistician", "POST", path, json=body)
            assert response.status_code == 201, response.text


@pytest.fixture
def served(database_url, tmp_path):
    """(client of an app on the test's database, computing in this process; its settings)."""
    settings = get_settings().model_copy(update={"database_url": database_url, "data_dir": tmp_path})
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_compute] = InProcessCompute
    with TestClient(app) as client:
        yield client, settings


@pytest.fixture
def registry(served):
    client, _ = served
    registry = Registry(client, {})
    for role in ("admin", "statistician", "dmc", "sponsor"):
        registry.tokens[role] = registry.token(role, role, [TRIAL, NEW_TRIAL])
    registry.tokens["other-statistician"] = registry.token("other-statistician", "statistician", ["another-trial"])
    registry.tokens["every-trial-statistician"] = registry.token("every-trial-statistician", "statistician")
    revoked = registry.token("revoked", "statistician", [TRIAL, NEW_TRIAL])
    auth.revoke_token(registry.engine, "revoked", actor="test")
    registry.tokens["revoked"] = revoked
    registry.tokens["bad"] = "gng_0000abcd_" + "x" * 43
    yield registry


@pytest.fixture
def protocol():
    return copy.deepcopy(EXAMPLE_PROTOCOL)


@pytest.fixture
def cut():
    return copy.deepcopy(EXAMPLE_CUT)
