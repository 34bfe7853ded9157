"""Tokens: their form, stored only as a hash, shown once, revoked for good; trial assignment; the
admin API and the command line; the calculators closed by GONOGO_AUTH_CALCULATORS."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from service import auth
from service.app import create_app
from service.store.engine import create_schema, make_engine
from service.store.tables import audit_events, tokens
from service.settings import get_settings
from tests.conftest import assert_problem
from tests.registry.conftest import TRIAL

ROOT = Path(__file__).resolve().parent.parent.parent


def test_token_has_its_form_and_only_its_hash_is_stored(registry):
    created = registry.request("admin", "POST", "/v1/tokens", json={"name": "chair", "role": "dmc", "trials": [TRIAL]})
    assert created.status_code == 201, created.text
    token = created.json()["token"]
    assert re.fullmatch(r"gng_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", token)
    assert token.split("_")[1] == created.json()["id"]
    with registry.engine.connect() as conn:
        row = conn.execute(select(tokens).where(tokens.c.id == created.json()["id"])).mappings().one()
        stored = " ".join(str(v) for v in row.values())
        trail = " ".join(str(v) for r in conn.execute(select(audit_events)).mappings() for v in r.values())
    assert row["secret_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    secret = token.split("_", 2)[2]
    assert secret not in stored and secret not in trail
    listed = registry.request("admin", "GET", "/v1/tokens").json()
    assert secret not in str(listed) and all("token" not in t for t in listed)
    assert registry.request(None, "GET", f"/v1/trials/{TRIAL}", headers={"Authorization": f"Bearer {token}"}).status_code == 404


@pytest.mark.parametrize("header", ["", "Bearer", "Basic dXNlcjpwYXNz", "Bearer gng_zz_short",
                                    "Bearer gng_0000abcd_" + "x" * 43])
def test_missing_malformed_or_unknown_token_is_401_with_www_authenticate(registry, header):
    response = registry.request(None, "GET", "/v1/trials", headers={"Authorization": header} if header else {})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_a_right_id_with_a_wrong_secret_is_refused(registry):
    token = registry.tokens["dmc"]
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    assert_problem(registry.request(None, "GET", "/v1/trials", headers={"Authorization": f"Bearer {forged}"}), 401)


def test_revoked_token_is_refused_from_then_on(registry):
    token = registry.token("short-lived", "dmc", [TRIAL])
    headers = {"Authorization": f"Bearer {token}"}
    assert registry.request(None, "GET", "/v1/trials", headers=headers).status_code == 200
    revoked = registry.request("admin", "DELETE", "/v1/tokens/short-lived")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert_problem(registry.request(None, "GET", "/v1/trials", headers=headers), 401)
    assert_problem(registry.request("admin", "DELETE", "/v1/tokens/no-such-token"), 404)


def test_assigned_trials_decide_what_a_token_sees(registry, protocol, cut):
    registry.populate(protocol, cut)
    token = registry.token("auditor", "dmc", ["elsewhere"])
    headers = {"Authorization": f"Bearer {token}"}
    assert registry.request(None, "GET", f"/v1/trials/{TRIAL}", headers=headers).status_code == 403
    assigned = registry.request("admin", "PUT", "/v1/tokens/auditor/trials", json={"trials": [TRIAL]})
    assert assigned.status_code == 200 and assigned.json()["trials"] == [TRIAL]
    assert registry.request(None, "GET", f"/v1/trials/{TRIAL}", headers=headers).status_code == 200
    before = registry.counts()
    assert_problem(registry.request("admin", "PUT", "/v1/tokens/auditor/trials", json={"trials": ["Not A Slug"]}),
                   422, "trials/0")
    # An empty list does not quietly widen the token to every trial.
    assert_problem(registry.request("admin", "PUT", "/v1/tokens/auditor/trials", json={"trials": []}), 422, "trials")
    assert_problem(registry.request("admin", "PUT", "/v1/tokens/auditor/trials",
                                    json={"trials": [TRIAL], "all_trials": True}), 422, "all_trials")
    assert registry.counts() == before
    assert registry.request(None, "GET", "/v1/trials/elsewhere", headers=headers).status_code == 403
    widened = registry.request("admin", "PUT", "/v1/tokens/auditor/trials", json={"all_trials": True})
    assert widened.status_code == 200 and widened.json()["all_trials"] is True
    assert registry.request(None, "GET", "/v1/trials/elsewhere", headers=headers).status_code == 404


def test_token_names_are_unique_and_changes_are_audited(registry):
    events = registry.rows(audit_events)
    assert registry.request("admin", "POST", "/v1/tokens", json={"name": "x", "role": "sponsor"}).status_code == 201
    assert_problem(registry.request("admin", "POST", "/v1/tokens", json={"name": "x", "role": "dmc"}), 409)
    assert registry.rows(audit_events) == events + 1  # the refused one left no event
    with registry.engine.connect() as conn:
        last = conn.execute(select(audit_events).order_by(audit_events.c.seq.desc()).limit(1)).mappings().one()
    assert (last["action"], last["actor"], last["trial_id"]) == ("token.create", "admin", None)
    assert registry.request("admin", "GET", "/v1/audit/verify").json()["ok"] is True


def _cli(env, *args):
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_creates_lists_assigns_and_revokes_tokens(database_url):
    env = {**os.environ, "GONOGO_DATABASE_URL": database_url}
    created = _cli(env, "tokens", "create", "--name", "first-admin", "--role", "admin")
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip()
    assert re.fullmatch(r"gng_[0-9a-f]{8}_[A-Za-z0-9_-]{43}", token)
    engine = make_engine(database_url)
    create_schema(engine)
    principal = auth.authenticate(engine, token)
    assert (principal.name, principal.role, principal.trials) == ("first-admin", "admin", None)
    assert _cli(env, "tokens", "assign", principal.token_id, "--trial", TRIAL).returncode == 0
    assert auth.authenticate(engine, token).trials == frozenset({TRIAL})
    listed = _cli(env, "tokens", "list")
    assert "first-admin" in listed.stdout and token.split("_", 2)[2] not in listed.stdout
    assert _cli(env, "tokens", "create", "--name", "x", "--role", "owner").returncode != 0
    assert _cli(env, "tokens", "revoke", "first-admin").returncode == 0
    with pytest.raises(Exception, match="revoked"):
        auth.authenticate(engine, token)
    with engine.connect() as conn:
        actors = set(conn.scalars(select(audit_events.c.actor)))
    assert len(actors) == 1 and actors.pop().startswith("cli:")
    engine.dispose()


def _calculator_client(database_url, tmp_path, closed: bool) -> TestClient:
    settings = get_settings().model_copy(update={"database_url": database_url, "data_dir": tmp_path,
                                                 "auth_calculators": closed})
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    return TestClient(app)


@pytest.mark.parametrize("closed", [False, True], ids=["default-open", "closed"])
def test_calculators_need_a_token_only_when_closed(database_url, tmp_path, closed):
    with _calculator_client(database_url, tmp_path, closed) as client:
        body = {"r1": 1, "n1": 10, "r": 5, "n": 29, "p": [0.1, 0.3]}
        anonymous = client.post("/v1/simon/evaluate", json=body)
        assert anonymous.status_code == (401 if closed else 200), anonymous.text
        assert client.get("/v1/jobs/no-such-job").status_code == (401 if closed else 404)
        assert client.get("/health").status_code == 200
        token = auth.create_token(client.app.state.database, name="s", role="sponsor", actor="test")[1]
        assert client.post("/v1/simon/evaluate", json=body, headers={"Authorization": f"Bearer {token}"}).status_code == 200
