"""The registry over HTTP on SQLite and PostgreSQL: amendments and their preconditions, immutable data
cuts and their differences, looks and reproductions, idempotent retries, every bad input of issue 10
refused naming its field with nothing stored, and tampering found."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import update

from service.store.tables import audit_events, data_cuts, looks, protocol_versions
from tests.conftest import assert_problem
from tests.registry.conftest import NEW_TRIAL, TRIAL

ROOT = Path(__file__).resolve().parent.parent.parent
CUTS = f"/v1/trials/{TRIAL}/data-cuts"
LOOKS = f"/v1/trials/{TRIAL}/looks"


def _etag(registry) -> str:
    return registry.request("statistician", "GET", f"/v1/trials/{TRIAL}").headers["ETag"]


def _amend(registry, changes, *, if_match=None, reason=None, **kwargs):
    headers = {} if if_match is None else {"If-Match": if_match}
    body = {"changes": changes, **({} if reason is None else {"reason": reason})}
    return registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/amendments", json=body,
                            headers={**headers, **kwargs.pop("headers", {})}, **kwargs)


# ---------------------------------------------------------------------------------------------------
# Trials and amendments


def test_created_trial_answers_its_etag_and_location(registry, protocol):
    created = registry.request("statistician", "POST", "/v1/trials", json=protocol)
    assert created.status_code == 201, created.text
    assert created.headers["Location"] == f"/v1/trials/{TRIAL}"
    assert created.headers["ETag"] == created.json()["etag"]
    assert created.headers["ETag"].startswith(f'"{TRIAL}-v1-') and len(created.headers["ETag"]) == len(TRIAL) + 22
    again = registry.request("statistician", "POST", "/v1/trials", json=protocol)
    assert_problem(again, 409)


def test_amendment_without_if_match_is_428_and_with_a_stale_one_412(registry, protocol, cut):
    registry.populate(protocol, cut)
    stale = _etag(registry)
    before = registry.counts()
    assert_problem(_amend(registry, {"title": "new"}, reason="r"), 428)
    assert registry.counts() == before
    first = _amend(registry, {"title": "new"}, if_match=stale, reason="r")
    assert first.status_code == 201, first.text
    assert first.json()["version"] == 2 and first.headers["ETag"] != stale
    before = registry.counts()
    late = _amend(registry, {"title": "newer"}, if_match=stale, reason="r")
    assert_problem(late, 412)
    assert late.json()["current_etag"] == first.headers["ETag"]
    assert registry.counts() == before


def test_earlier_versions_stay_readable_and_the_history_lists_each(registry, protocol):
    registry.request("statistician", "POST", "/v1/trials", json=protocol)
    v1 = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/versions/1").json()
    assert _amend(registry, {"response": {"p1": 0.3}}, if_match=_etag(registry)).status_code == 201
    trial = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}").json()
    assert trial["current_version"] == 2 and [v["version"] for v in trial["history"]] == [1, 2]
    assert trial["protocol"]["response"]["p1"] == 0.3
    assert registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/versions/1").json() == v1
    assert v1["protocol"]["response"]["p1"] == protocol["response"]["p1"]
    assert_problem(registry.request("every-trial-statistician", "GET", f"/v1/trials/{TRIAL}/versions/3"), 404)


def test_after_a_look_an_amendment_needs_a_reason_and_the_next_look_lists_it(registry, protocol, cut):
    registry.populate(protocol, cut)
    before = registry.counts()
    assert_problem(_amend(registry, {"title": "new"}, if_match=_etag(registry)), 422, "reason")
    assert registry.counts() == before
    assert _amend(registry, {"title": "new"}, if_match=_etag(registry), reason="typo in title").status_code == 201
    look = registry.request("statistician", "POST", LOOKS, json={"data_cut": 1})
    assert look.status_code == 201, look.text
    listed = look.json()["result"]["amendments_since_previous_look"]
    assert [(a["version"], a["reason"]) for a in listed] == [(2, "typo in title")]
    assert look.json()["result"]["protocol_version"] == 2
    third = registry.request("statistician", "POST", LOOKS, json={"data_cut": 1}).json()
    assert third["result"]["amendments_since_previous_look"] == []


def test_amendment_cannot_change_the_trial_id_or_break_the_protocol(registry, protocol):
    registry.request("statistician", "POST", "/v1/trials", json=protocol)
    before = registry.counts()
    assert_problem(_amend(registry, {"id": "other"}, if_match=_etag(registry)), 422, "changes/id")
    assert_problem(_amend(registry, {"response": {"p0": 2}}, if_match=_etag(registry)), 422, "changes/response")
    assert registry.counts() == before


# ---------------------------------------------------------------------------------------------------
# Data cuts


def test_cuts_are_numbered_immutable_and_diffed(registry, protocol, cut):
    registry.populate(protocol, cut)
    first = registry.request("dmc", "GET", f"{CUTS}/1").json()
    later = {**cut, "cutoff_date": "2026-09-30"}
    later["patients"] = [dict(p) for p in cut["patients"]]
    later["patients"][2]["response"] = "responder"  # assessed since: follow-up explains it
    later["patients"].append({"id": "P-004", "stratum": "sporadic", "enrolled_on": "2026-08-01", "response": None,
                              "pfs": None})
    second = registry.request("statistician", "POST", CUTS, json=later)
    assert second.status_code == 201, second.text
    assert second.json()["number"] == 2 and second.headers["Location"] == f"{CUTS}/2"
    assert registry.request("dmc", "GET", f"{CUTS}/1").json() == first  # cut 1 as it was
    for method in ("PUT", "PATCH", "DELETE"):
        assert registry.request("statistician", method, f"{CUTS}/1", json=later).status_code == 405
    diff = registry.request("dmc", "GET", f"{CUTS}/2/diff", params={"against": 1})
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert body["from"]["number"] == 1 and body["to"]["number"] == 2
    assert [p if isinstance(p, str) else p["id"] for p in body["added"]] == ["P-004"]
    assert body["removed"] == [] and [c["id"] for c in body["changed"]] == ["P-003"]
    assert body["changed"][0]["changes"]["response"] == {"from": None, "to": "responder"}
    assert_problem(registry.request("dmc", "GET", f"{CUTS}/2/diff", params={"against": 9}), 422, "against")


def test_cut_answers_the_sha256_of_its_canonical_content(registry, protocol, cut):
    import hashlib

    registry.request("statistician", "POST", "/v1/trials", json=protocol)
    created = registry.request("statistician", "POST", CUTS, json=cut).json()
    with registry.engine.connect() as conn:
        document = conn.execute(data_cuts.select()).mappings().one()["document"]
    assert created["sha256"] == hashlib.sha256(document.encode()).hexdigest()
    shuffled = {**cut, "patients": list(reversed(cut["patients"]))}
    again = registry.request("statistician", "POST", CUTS, json=shuffled).json()
    assert again["sha256"] == created["sha256"]  # canonical: patient order does not matter


# ---------------------------------------------------------------------------------------------------
# Looks and reproduction


def test_look_is_stored_whole_and_reproduces_identically(registry, protocol, cut):
    registry.populate(protocol, cut)
    stored = registry.request("dmc", "GET", f"{LOOKS}/1").json()
    assert stored["result"]["data_cut"]["number"] == 1
    events = registry.rows(audit_events)
    again = registry.request("dmc", "POST", f"{LOOKS}/1/reproduce")
    assert again.status_code == 200, again.text
    assert again.json()["identical"] is True and again.json()["differences"] == []
    assert registry.rows(looks) == 1 and registry.rows(audit_events) == events + 1  # audited, no look stored


def test_reproduction_reports_a_stored_result_changed_behind_the_service(registry, protocol, cut):
    import json

    registry.populate(protocol, cut)
    with registry.engine.begin() as conn:
        row = conn.execute(looks.select()).mappings().one()
        result = json.loads(row["result"])
        result["accrual"] = {"tampered": {"enrolled": 99}}
        conn.execute(update(looks).values(result=json.dumps(result)))
    again = registry.request("statistician", "POST", f"{LOOKS}/1/reproduce").json()
    assert again["identical"] is False
    assert any(d["path"].startswith("/accrual") or "accrual" in d["path"] for d in again["differences"]), again


# ---------------------------------------------------------------------------------------------------
# Idempotency


def test_retried_upload_replays_the_first_answer_and_stores_nothing(registry, protocol, cut):
    registry.request("statistician", "POST", "/v1/trials", json=protocol)
    key = {"Idempotency-Key": "upload-2026-06-30"}
    first = registry.request("statistician", "POST", CUTS, json=cut, headers=key)
    assert first.status_code == 201
    before = registry.counts()
    retry = registry.request("statistician", "POST", CUTS, json=cut, headers=key)
    assert (retry.status_code, retry.content, retry.headers["Location"]) == (first.status_code, first.content,
                                                                             first.headers["Location"])
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert registry.counts() == before
    # The same key with another body is a client's mistake: refused, nothing stored.
    other = registry.request("statistician", "POST", CUTS, json={**cut, "cutoff_date": "2026-07-01"}, headers=key)
    assert_problem(other, 422, "Idempotency-Key")
    assert registry.counts() == before
    # Keys are per token: another client's key of the same name is its own.
    mine = registry.request("every-trial-statistician", "POST", CUTS, json=cut, headers=key)
    assert mine.status_code == 201 and mine.json()["number"] == 2


def test_retried_look_and_amendment_are_not_run_again(registry, protocol, cut):
    registry.populate(protocol, cut)
    key = {"Idempotency-Key": "look-2"}
    first = registry.request("statistician", "POST", LOOKS, json={"data_cut": 1}, headers=key)
    retry = registry.request("statistician", "POST", LOOKS, json={"data_cut": 1}, headers=key)
    assert first.status_code == retry.status_code == 201 and retry.content == first.content
    assert registry.rows(looks) == 2
    tag = _etag(registry)
    amended = _amend(registry, {"title": "x"}, if_match=tag, reason="r", headers={"Idempotency-Key": "amend-1"})
    replay = _amend(registry, {"title": "x"}, if_match=tag, reason="r", headers={"Idempotency-Key": "amend-1"})
    assert amended.status_code == replay.status_code == 201  # not 412: the first answer, replayed
    assert replay.headers["ETag"] == amended.headers["ETag"] and registry.rows(protocol_versions) == 2


def test_refused_request_stores_no_idempotency_record(registry, protocol, cut):
    registry.request("statistician", "POST", "/v1/trials", json=protocol)
    key = {"Idempotency-Key": "k"}
    bad = {**cut, "patients": [{**cut["patients"][0], "stratum": "Sporadic"}]}
    assert registry.request("statistician", "POST", CUTS, json=bad, headers=key).status_code == 422
    assert registry.request("statistician", "POST", CUTS, json=cut, headers=key).status_code == 201


# ---------------------------------------------------------------------------------------------------
# Bad input (issue 10): 4xx problem+json naming the field, and nothing stored


def _patient(i, stratum="sporadic", enrolled_on="2026-03-01", **more):
    return {"id": f"X-{i}", "stratum": stratum, "enrolled_on": enrolled_on, "response": None, "pfs": None, **more}


BAD_CUTS = {
    "undeclared stratum": ({"patients": [_patient(1, stratum="Sporadic")]}, "patients/0/stratum"),
    "duplicate patient ids": ({"patients": [_patient(1), _patient(1)]}, "patients/1/id"),
    "enrolment after the cut-off": ({"patients": [_patient(1, enrolled_on="2026-07-01")]}, "patients/0/enrolled_on"),
    "PFS beyond the cut-off": ({"patients": [_patient(1, enrolled_on="2026-06-01",
                                                      pfs={"time_months": 3.0, "event": False})]}, "patients/0/pfs"),
}


@pytest.mark.parametrize("case", BAD_CUTS, ids=str)
def test_bad_cut_is_refused_naming_the_field_and_nothing_is_stored(registry, protocol, cut, case):
    registry.request("statistician", "POST", "/v1/trials", json=protocol)
    before = registry.counts()
    body, field = BAD_CUTS[case]
    problem = assert_problem(registry.request("statistician", "POST", CUTS, json={"cutoff_date": "2026-06-30", **body}),
                             422, field)
    if case == "undeclared stratum":
        assert "NF1-associated" in problem["detail"] and "sporadic" in problem["detail"]  # the declared names
    assert registry.counts() == before


def test_cut_with_fewer_patients_needs_supersedes_and_a_reason(registry, protocol, cut):
    registry.populate(protocol, cut)
    fewer = {**cut, "patients": cut["patients"][:2]}
    before = registry.counts()
    problem = registry.request("statistician", "POST", CUTS, json=fewer)
    assert problem.status_code == 422 and problem.headers["content-type"].startswith("application/problem+json")
    assert any(e["field"].startswith(("patients", "supersedes")) for e in problem.json()["errors"]), problem.json()
    assert registry.counts() == before
    corrected = registry.request("statistician", "POST", CUTS,
                                 json={**fewer, "supersedes": 1, "reason": "P-003 enrolled in error"})
    assert corrected.status_code == 201, corrected.text
    assert corrected.json()["supersedes"] == 1


def test_look_on_another_trials_cut_is_refused(registry, protocol, cut):
    registry.populate(protocol, cut)
    other = {**protocol, "id": NEW_TRIAL}
    assert registry.request("statistician", "POST", "/v1/trials", json=other).status_code == 201
    for _ in range(2):
        assert registry.request("statistician", "POST", f"/v1/trials/{NEW_TRIAL}/data-cuts", json=cut).status_code == 201
    before = registry.counts()
    assert_problem(registry.request("statistician", "POST", LOOKS, json={"data_cut": 2}), 422, "data_cut")
    assert registry.counts() == before


def test_unknown_role_and_revoked_token_are_refused(registry):
    before = registry.counts()
    assert_problem(registry.request("admin", "POST", "/v1/tokens", json={"name": "x", "role": "owner"}), 422, "role")
    revoked = registry.request("revoked", "GET", f"/v1/trials/{TRIAL}")
    assert_problem(revoked, 401)
    assert "revoked" in revoked.json()["detail"]
    assert registry.counts() == before


# ---------------------------------------------------------------------------------------------------
# Tampering


def _cli(database_url, *args):
    env = {**os.environ, "GONOGO_DATABASE_URL": database_url}
    return subprocess.run([sys.executable, "-m", "service.cli", *args], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)


def test_tampering_is_found_by_the_api_and_the_cli(registry, protocol, cut, database_url):
    registry.populate(protocol, cut)
    assert registry.request("dmc", "GET", "/v1/audit/verify").json()["ok"] is True
    assert _cli(database_url, "audit", "verify").returncode == 0
    with registry.engine.begin() as conn:  # behind the service's back
        conn.execute(update(audit_events).where(audit_events.c.action == "data_cut.create").values(actor="someone"))
    admin = registry.request("admin", "GET", "/v1/audit/verify").json()
    assert admin["ok"] is False and admin["problems"]
    dmc = registry.request("dmc", "GET", "/v1/audit/verify").json()
    assert dmc["ok"] is False and "problems" not in dmc
    found = _cli(database_url, "audit", "verify")
    assert found.returncode == 1 and "seq" in found.stderr, found


def test_protocol_whose_look_exceeds_the_compute_budget_is_refused_when_registered(registry, protocol):
    from service.settings import get_settings

    settings = registry.client.app.dependency_overrides[get_settings]()
    tight = settings.model_copy(update={"max_compute_seconds": 1e-6, "sync_compute_seconds": 1e-6})
    registry.client.app.dependency_overrides[get_settings] = lambda: tight
    before = registry.counts()
    problem = registry.request("statistician", "POST", "/v1/trials", json=protocol)
    assert_problem(problem, 422)
    assert all(e["field"].startswith(("response", "pfs")) for e in problem.json()["errors"]), problem.json()
    assert "GONOGO_MAX_COMPUTE_SECONDS" in problem.json()["detail"]
    assert registry.counts() == before


def test_a_data_cut_in_json_gets_the_same_syntax_and_repeated_key_checks_as_every_body(registry, protocol, cut):
    """The data-cut route reads its body itself (JSON or ADaM files): a JSON body is still checked for
    its syntax (400 with line and column) and for a key sent twice (422 where it is), and nothing is stored."""
    assert registry.request("statistician", "POST", "/v1/trials", json=protocol).status_code == 201
    before = registry.counts()
    headers = {"content-type": "application/json"}
    text = json.dumps(cut, indent=1)
    broken = registry.request("statistician", "POST", CUTS, content=text[:-3] + "," + text[-3:], headers=headers)
    assert assert_problem(broken, 400)["type"] == "/problems/malformed-json"
    repeated = text.replace('"id": "P-002",', '"id": "P-002", "id": "P-020",', 1)
    assert repeated != text
    problem = assert_problem(registry.request("statistician", "POST", CUTS, content=repeated, headers=headers), 422,
                             "patients/1/id")
    assert "more than once" in problem["errors"][0]["reason"]
    assert registry.counts() == before


def test_a_misspelt_field_of_a_data_cut_gets_the_name_it_may_have_meant(registry, protocol, cut):
    assert registry.request("statistician", "POST", "/v1/trials", json=protocol).status_code == 201
    cut["patients"][1]["pfs"] = {"time_months": 1.6, "evnt": True}
    problem = assert_problem(registry.request("statistician", "POST", CUTS, json=cut), 422, "patients/1/pfs/evnt")
    reasons = {e["field"]: e["reason"] for e in problem["errors"]}
    assert "did you mean 'event'?" in reasons["patients/1/pfs/evnt"] and reasons["patients/1/pfs/event"] == "required"


def test_a_misspelt_query_parameter_is_refused_not_ignored(registry, protocol, cut):
    """?veiw=open must not answer the closed report: 422 naming the parameter and the one it may mean."""
    registry.populate(protocol, cut)
    report = f"/v1/trials/{TRIAL}/looks/1/report"
    problem = assert_problem(registry.request("statistician", "GET", f"{report}?veiw=open"), 422, "query/veiw")
    assert "did you mean 'view'?" in problem["errors"][0]["reason"]
