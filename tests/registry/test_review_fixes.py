"""The registry's service layer after review: secrets never stored, altered content found and never
served, one snapshot per read, superseded cuts, sponsor views, token names, control characters,
effective amendments and strong If-Match, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import threading

from sqlalchemy import delete, select, update

from service import auth
from service.registry.audit import verify_trail
from service.store.tables import audit_head, data_cuts, idempotency_keys, looks, protocol_versions
from tests.registry.conftest import TRIAL

CUTS = f"/v1/trials/{TRIAL}/data-cuts"
LOOKS = f"/v1/trials/{TRIAL}/looks"


def _problems(registry) -> list[dict]:
    report = registry.request("admin", "GET", "/v1/audit/verify")
    assert report.status_code == 200, report.text
    return report.json().get("problems") or []


# 1 ------------------------------------------------------------------------------------------------

def test_token_created_with_a_key_stores_no_secret_and_a_replay_is_409(registry):
    sent = registry.request("admin", "POST", "/v1/tokens", json={"name": "dmc-chair", "role": "dmc"},
                            headers={"Idempotency-Key": "k1"})
    assert sent.status_code == 201, sent.text
    secret = sent.json()["token"]
    with registry.engine.connect() as conn:
        bodies = [r.body for r in conn.execute(select(idempotency_keys.c.body))]
    assert bodies and all(secret not in b and "gng_" not in b for b in bodies)
    again = registry.request("admin", "POST", "/v1/tokens", json={"name": "dmc-chair", "role": "dmc"},
                             headers={"Idempotency-Key": "k1"})
    assert again.status_code == 409, again.text
    assert "shown only once" in again.json()["detail"] and secret not in again.text


# 2 ------------------------------------------------------------------------------------------------

def test_verify_reports_a_look_altered_with_its_hash_and_reads_refuse_it(registry, protocol, cut):
    registry.populate(protocol, cut)
    assert _problems(registry) == []
    with registry.engine.begin() as conn:
        row = conn.execute(looks.select()).mappings().one()
        result = json.loads(row["result"])
        result["warnings"] = ["altered"]
        text = json.dumps(result)
        import hashlib
        conn.execute(update(looks).values(result=text, sha256=hashlib.sha256(text.encode()).hexdigest()))
    problems = _problems(registry)
    assert any(p.get("resource") == f"{LOOKS}/1" and "audit event" in p["problem"] for p in problems), problems
    for who in ("dmc", "sponsor"):
        refused = registry.request(who, "GET", f"{LOOKS}/1")
        assert refused.status_code == 409, refused.text
        assert refused.json()["type"].endswith("/problems/stored-content-altered")
        assert refused.json()["resource"] == f"{LOOKS}/1"


def test_verify_reports_a_cut_and_a_protocol_document_altered_in_place(registry, protocol, cut):
    registry.populate(protocol, cut)
    with registry.engine.begin() as conn:
        document = json.loads(conn.execute(select(data_cuts.c.document)).scalar_one())
        document["patients"][0]["response"] = "non-responder"
        conn.execute(update(data_cuts).values(document=json.dumps(document)))
        conn.execute(update(protocol_versions).values(document=protocol_versions.c.document + " "))
    resources = {p.get("resource") for p in _problems(registry)}
    assert {f"{CUTS}/1", f"/v1/trials/{TRIAL}"} <= resources
    refused = registry.request("dmc", "GET", f"{CUTS}/1")
    assert refused.status_code == 409 and refused.json()["resource"] == f"{CUTS}/1", refused.text
    assert registry.request("dmc", "GET", f"/v1/trials/{TRIAL}").status_code == 409


def test_a_missing_chain_head_while_events_exist_is_a_break(registry):
    assert verify_trail(registry.engine).ok
    with registry.engine.begin() as conn:
        conn.execute(delete(audit_head))
    report = verify_trail(registry.engine)
    assert not report.ok and any("head" in p["problem"] for p in report.problems), report.problems


# 3 ------------------------------------------------------------------------------------------------

def test_verify_never_reports_tampering_under_concurrent_writes(registry):
    stop = threading.Event()

    def writer() -> None:
        i = 0
        while not stop.is_set():
            auth.create_token(registry.engine, name=f"writer-{i}", role="dmc", actor="test")
            i += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        reports = [verify_trail(registry.engine) for _ in range(60)]
    finally:
        stop.set()
        thread.join()
    assert [r.problems for r in reports if not r.ok] == []


# 4, 5 ----------------------------------------------------------------------------------------------

def test_a_look_on_a_superseded_cut_is_409_naming_the_correction(registry, protocol, cut):
    registry.populate(protocol, cut)
    corrected = {**cut, "supersedes": 1, "reason": "P-001 was a responder by error"}
    corrected["patients"] = [dict(p) for p in cut["patients"]]
    corrected["patients"][0]["response"] = "non-responder"
    assert registry.request("statistician", "POST", CUTS, json=corrected).status_code == 201
    before = registry.counts()
    refused = registry.request("statistician", "POST", LOOKS, json={"data_cut": 1})
    assert refused.status_code == 409, refused.text
    assert refused.json()["superseded_by"] == 2 and "data cut 2" in refused.json()["detail"]
    assert registry.counts() == before
    sponsor = registry.request("sponsor", "GET", CUTS).json()
    assert all("reason" not in c and "patients" not in c for c in sponsor) and sponsor[1]["supersedes"] == 1
    assert registry.request("dmc", "GET", CUTS).json()[1]["reason"] == corrected["reason"]


# 6, 7 ----------------------------------------------------------------------------------------------

def test_token_names_like_ids_or_cli_actors_or_with_control_characters_are_refused(registry):
    before = registry.counts()
    for name in ("0123abcd", "cli:alice", "bad\u0000name", "tab\tname"):
        refused = registry.request("admin", "POST", "/v1/tokens", json={"name": name, "role": "dmc"})
        assert refused.status_code == 422, (name, refused.text)
        assert "name" in refused.text
    assert registry.counts() == before


def test_token_lookup_prefers_the_id_over_a_name_equal_to_it(registry):
    first, _ = auth.create_token(registry.engine, name="first", role="dmc", actor="test")
    second, _ = auth.create_token(registry.engine, name="second", role="dmc", actor="test")
    with registry.engine.begin() as conn:  # a name stored before id-like names were refused
        from service.store.tables import tokens
        conn.execute(update(tokens).where(tokens.c.id == second["id"]).values(name=first["id"]))
    revoked = registry.request("admin", "DELETE", f"/v1/tokens/{first['id']}")
    assert revoked.status_code == 200 and revoked.json()["id"] == first["id"], revoked.text


def test_control_characters_in_text_and_paths_are_refused_never_500(registry, protocol, cut):
    bad = dict(protocol, title="MPNST\u0000")
    refused = registry.request("statistician", "POST", "/v1/trials", json=bad)
    assert refused.status_code == 422 and "title" in refused.text, refused.text
    registry.populate(protocol, cut)
    refused = registry.request("statistician", "POST", CUTS, json={**cut, "supersedes": 1, "reason": "x\u0000"})
    assert refused.status_code == 422 and "reason" in refused.text, refused.text
    tag = registry.request("statistician", "GET", f"/v1/trials/{TRIAL}").headers["ETag"]
    refused = registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/amendments", headers={"If-Match": tag},
                               json={"changes": {"title": "T\u0007"}, "reason": "ok"})
    assert refused.status_code == 422 and "title" in refused.text, refused.text
    for path in ("/v1/trials/a%00b", "/v1/trials/a%00b/looks", "/v1/tokens/a%00b"):
        who = "admin" if "tokens" in path else "every-trial-statistician"
        method = "DELETE" if "tokens" in path else "GET"
        answer = registry.request(who, method, path)
        assert answer.status_code in (403, 404, 422), (path, answer.status_code, answer.text)


# 8, 9 ----------------------------------------------------------------------------------------------

def test_an_amendment_shows_its_effective_change_and_refuses_defaults(registry, protocol, cut):
    registry.populate(protocol, cut)
    tag = registry.request("statistician", "GET", f"/v1/trials/{TRIAL}").headers["ETag"]
    refused = registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/amendments", headers={"If-Match": tag},
                               json={"changes": {"defaults": []}, "reason": "x"})
    assert refused.status_code == 422 and "changes/defaults" in refused.text, refused.text
    amended = registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/amendments", headers={"If-Match": tag},
                               json={"changes": {"response": {"p0": 0.1}}, "reason": "new benchmark"})
    assert amended.status_code == 201, amended.text
    effective = amended.json()["effective_changes"]
    assert effective["response/p0"] == {"from": 0.05, "to": 0.1}
    assert amended.json()["changes"] == {"response": {"p0": 0.1}}
    assert registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/versions/2").json()["effective_changes"] == effective
    look = registry.request("statistician", "POST", LOOKS, json={"data_cut": 1})
    assert look.status_code == 201, look.text
    since = look.json()["result"]["amendments_since_previous_look"]
    assert since and since[0]["effective_changes"] == effective


def test_if_match_with_a_weak_etag_is_412(registry, protocol):
    assert registry.request("statistician", "POST", "/v1/trials", json=protocol).status_code == 201
    tag = registry.request("statistician", "GET", f"/v1/trials/{TRIAL}").headers["ETag"]
    before = registry.counts()
    weak = registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/amendments", headers={"If-Match": f"W/{tag}"},
                            json={"changes": {"title": "New title"}})
    assert weak.status_code == 412, weak.text
    assert registry.counts() == before
    strong = registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/amendments", headers={"If-Match": tag},
                              json={"changes": {"title": "New title"}})
    assert strong.status_code == 201, strong.text
