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


@pytest.fixture
def registry(database_url, tmp_path):
    settings = get_settings().model_copy(update={"database_url": database_url, "data_dir": tmp_path})
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_compute] = InProcessCompute
    with TestClient(app) as client:
        registry = Registry(client, {})
        for role in ("admin", "statistician", "dmc", "sponsor"):
            registry.tokens[role] = registry.token(role, role, [TRIAL])
        registry.tokens["other-statistician"] = registry.token("other-statistician", "statistician", ["another-trial"])
        registry.tokens["every-trial-statistician"] = registry.token("every-trial-statistician", "statistician")
        revoked = registry.token("revoked", "statistician", [TRIAL])
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
