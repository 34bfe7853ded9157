"""Every registry route × every kind of caller → the status the contract fixes (issue 10: "test the
whole route × role matrix").

The table below is the matrix: for each route, the roles allowed and the status they get. A route of
the app under /v1/trials, /v1/audit or /v1/tokens without a row fails
``test_every_registry_route_is_in_the_matrix``, so a new route cannot skip the check.

Callers: no token, a malformed-but-plausible unknown token, a revoked statistician, and a token of each
role assigned the example trial, plus a statistician assigned only another trial (403 on this trial's
routes, whether or not the trial exists).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.registry.conftest import NEW_TRIAL, TRIAL, Registry

CALLERS = ("none", "bad", "revoked", "admin", "statistician", "dmc", "sponsor", "other-statistician")
ALL_ROLES = frozenset({"admin", "statistician", "dmc", "sponsor"})


@dataclass(frozen=True)
class Route:
    method: str
    path: str                                   # as the app declares it
    roles: frozenset[str]                       # roles allowed
    status: int                                 # what an allowed caller gets
    request: Callable[[Registry], dict[str, Any]] = lambda registry: {}
    trial_scoped: bool = True                   # a path under /v1/trials/{trial_id}: the token's trials apply

    def concrete(self) -> str:
        # DELETE revokes the revoked token again (no change); PUT restricts the every-trial token.
        token = "revoked" if self.method == "DELETE" else "every-trial-statistician"
        return (self.path.replace("{trial_id}", TRIAL).replace("{version}", "1").replace("{number}", "1")
                .replace("{token_id}", token))


def _amendment(registry: Registry) -> dict[str, Any]:
    tag = registry.request("statistician", "GET", f"/v1/trials/{TRIAL}").headers["ETag"]
    return {"json": {"changes": {"title": "amended title"}, "reason": "matrix"}, "headers": {"If-Match": tag}}


def _same_cut_again(registry: Registry) -> dict[str, Any]:
    cut = registry.request("statistician", "GET", f"/v1/trials/{TRIAL}/data-cuts/1").json()
    return {"json": {"cutoff_date": cut["cutoff_date"], "patients": cut["patients"]}}


def _new_trial(registry: Registry) -> dict[str, Any]:
    from service.schemas.registry import EXAMPLE_PROTOCOL

    return {"json": {**EXAMPLE_PROTOCOL, "id": NEW_TRIAL}}


MATRIX = (
    Route("POST", "/v1/trials", frozenset({"statistician"}), 201, _new_trial, trial_scoped=True),
    Route("GET", "/v1/trials", ALL_ROLES, 200, trial_scoped=False),
    Route("GET", "/v1/trials/{trial_id}", ALL_ROLES, 200),
    Route("GET", "/v1/trials/{trial_id}/versions/{version}", ALL_ROLES, 200),
    Route("POST", "/v1/trials/{trial_id}/amendments", frozenset({"statistician"}), 201, _amendment),
    Route("POST", "/v1/trials/{trial_id}/data-cuts", frozenset({"statistician"}), 201, _same_cut_again),
    Route("GET", "/v1/trials/{trial_id}/data-cuts", frozenset({"statistician", "dmc", "sponsor"}), 200),
    Route("GET", "/v1/trials/{trial_id}/data-cuts/{number}", frozenset({"statistician", "dmc"}), 200),
    Route("GET", "/v1/trials/{trial_id}/data-cuts/{number}/diff", frozenset({"statistician", "dmc"}), 200,
          lambda registry: {"params": {"against": 1}}),
    Route("POST", "/v1/trials/{trial_id}/looks", frozenset({"statistician"}), 201, lambda registry: {"json": {"data_cut": 1}}),
    Route("GET", "/v1/trials/{trial_id}/looks", frozenset({"statistician", "dmc", "sponsor"}), 200),
    Route("GET", "/v1/trials/{trial_id}/looks/{number}", frozenset({"statistician", "dmc", "sponsor"}), 200),
    Route("GET", "/v1/trials/{trial_id}/versions/{version}/design", frozenset({"statistician", "dmc"}), 200),
    Route("GET", "/v1/trials/{trial_id}/looks/{number}/report", frozenset({"statistician", "dmc", "sponsor"}), 200),
    Route("POST", "/v1/trials/{trial_id}/looks/{number}/reproduce", frozenset({"statistician", "dmc"}), 200),
    Route("GET", "/v1/trials/{trial_id}/audit", frozenset({"admin", "statistician", "dmc"}), 200),
    Route("GET", "/v1/audit/verify", frozenset({"admin", "statistician", "dmc"}), 200, trial_scoped=False),
    Route("POST", "/v1/tokens", frozenset({"admin"}), 201,
          lambda registry: {"json": {"name": f"new-{len(registry.tokens)}", "role": "dmc", "trials": [TRIAL]}},
          trial_scoped=False),
    Route("GET", "/v1/tokens", frozenset({"admin"}), 200, trial_scoped=False),
    Route("DELETE", "/v1/tokens/{token_id}", frozenset({"admin"}), 200, trial_scoped=False),
    Route("PUT", "/v1/tokens/{token_id}/trials", frozenset({"admin"}), 200,
          lambda registry: {"json": {"trials": [TRIAL]}}, trial_scoped=False),
)


def expected(route: Route, caller: str) -> int:
    if caller in ("none", "bad", "revoked"):
        return 401
    role = "statistician" if caller == "other-statistician" else caller
    if role not in route.roles:
        return 403
    if caller == "other-statistician" and route.trial_scoped:
        return 403  # assigned another trial only: this one is not its to see, existing or not
    return route.status


def test_every_registry_route_is_in_the_matrix(registry):
    paths = registry.client.get("/openapi.json").json()["paths"]
    declared = {(method.upper(), path) for path, operations in paths.items() for method in operations
                if path.startswith(("/v1/trials", "/v1/audit", "/v1/tokens"))}
    listed = {(r.method, r.path) for r in MATRIX}
    assert declared == listed, {"missing from the matrix": declared - listed, "not routes": listed - declared}


@pytest.mark.parametrize("route", MATRIX, ids=lambda r: f"{r.method} {r.path}")
def test_route_answers_each_caller_as_the_matrix_says(registry, protocol, cut, route):
    registry.populate(protocol, cut)
    answers, wrong = {}, {}
    # Refused callers first: a refused write must not change what the allowed caller then sees.
    for caller in sorted(CALLERS, key=lambda c: expected(route, c) < 300):
        before = registry.counts()
        response = registry.request(None if caller == "none" else caller, route.method, route.concrete(),
                                    **route.request(registry))
        answers[caller] = response.status_code
        want = expected(route, caller)
        if response.status_code != want:
            wrong[caller] = (want, response.status_code, response.text[:300])
            continue
        if want >= 400:
            assert response.headers["content-type"].startswith("application/problem+json"), response.headers
            assert response.json()["status"] == want
            assert registry.counts() == before, f"{caller}: a refused request stored something"
        if want == 401:
            assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert not wrong, wrong


def test_a_token_of_another_trial_gets_403_whether_or_not_the_trial_exists(registry, protocol, cut):
    registry.populate(protocol, cut)
    exists = registry.request("other-statistician", "GET", f"/v1/trials/{TRIAL}")
    absent = registry.request("other-statistician", "GET", "/v1/trials/no-such-trial")
    assert exists.status_code == absent.status_code == 403
    assert exists.json()["title"] == absent.json()["title"]
    # Only a token of every trial learns that a trial does not exist.
    assert registry.request("every-trial-statistician", "GET", "/v1/trials/no-such-trial").status_code == 404


def test_list_of_trials_shows_only_the_tokens_trials(registry, protocol, cut):
    registry.populate(protocol, cut)
    assert [t["id"] for t in registry.request("statistician", "GET", "/v1/trials").json()] == [TRIAL]
    assert registry.request("other-statistician", "GET", "/v1/trials").json() == []
    assert [t["id"] for t in registry.request("every-trial-statistician", "GET", "/v1/trials").json()] == [TRIAL]


def test_sponsor_sees_open_views_only(registry, protocol, cut):
    registry.populate(protocol, cut)
    closed = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/looks/1").json()
    opened = registry.request("sponsor", "GET", f"/v1/trials/{TRIAL}/looks/1").json()
    assert "result" in closed and "response" in closed["result"]
    assert "result" not in opened and "open" in opened
    text = str(opened)
    for closed_only in ("posterior", "decision", "'response'", "'pfs'"):
        assert closed_only not in text, (closed_only, opened)
    listed = registry.request("sponsor", "GET", f"/v1/trials/{TRIAL}/looks").json()
    assert all("result" not in item for item in listed)
    cuts = registry.request("sponsor", "GET", f"/v1/trials/{TRIAL}/data-cuts").json()
    assert cuts and all("patients" not in c for c in cuts)
