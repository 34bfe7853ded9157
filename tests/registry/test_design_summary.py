"""A protocol version's design summary: computed once, with the first look on the version, stored in
the look's transaction with a ``design.create`` audit event; a second look does not recompute it, an
amendment gets its own, and it survives a restart. Its operating characteristics are exact where
enumerable and equal to ``designs.oc`` run directly on the same design."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from designs import oc
from designs.boundaries import response_design
from designs.registry import design as registry_design
from designs.registry.example import protocol as example_protocol
from designs.registry.protocol import ProtocolSpec
from service.app import create_app
from service.compute import InProcessCompute, get_compute
from service.compute import tasks
from service.settings import get_settings
from service.store.tables import design_summaries
from tests.registry.conftest import TRIAL


def _events(registry, action):
    events = registry.request("statistician", "GET", f"/v1/trials/{TRIAL}/audit").json()["events"]
    return [e for e in events if e["action"] == action]


def _second_cut(registry):
    cut = registry.request("statistician", "GET", f"/v1/trials/{TRIAL}/data-cuts/1").json()
    patients = [*cut["patients"], {"id": "P-004", "stratum": "sporadic", "enrolled_on": "2026-06-01",
                                   "response": "non-responder", "pfs": None}]
    response = registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/data-cuts",
                                json={"cutoff_date": "2026-07-31", "patients": patients})
    assert response.status_code == 201, response.text
    return response.json()["number"]


def test_first_look_stores_the_versions_design_summary_once_with_its_audit_event(registry, protocol, cut, monkeypatch):
    registry.populate(protocol, cut)
    assert registry.rows(design_summaries) == 1
    (event,) = _events(registry, "design.create")
    assert event["resource"] == f"/v1/trials/{TRIAL}/versions/1/design"
    stored = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/versions/1/design")
    assert stored.status_code == 200, stored.text
    summary = stored.json()
    assert event["content_sha256"] == summary["sha256"]
    assert summary["protocol_version"] == 1 and summary["operating_characteristics"]["method"] == "exact"

    calls = []
    real = registry_design.design_summary
    monkeypatch.setattr(registry_design, "design_summary", lambda *a, **k: calls.append(1) or real(*a, **k))
    number = _second_cut(registry)
    look = registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/looks", json={"data_cut": number})
    assert look.status_code == 201, look.text
    assert calls == []  # not recomputed
    assert registry.rows(design_summaries) == 1 and len(_events(registry, "design.create")) == 1
    assert registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/versions/1/design").json() == summary


def test_an_amendment_gets_its_own_design_summary_with_its_next_look(registry, protocol, cut):
    registry.populate(protocol, cut)
    tag = registry.request("statistician", "GET", f"/v1/trials/{TRIAL}").headers["ETag"]
    amended = registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/amendments", headers={"If-Match": tag},
                               json={"changes": {"response": {"p1": 0.30}}, "reason": "target revised"})
    assert amended.status_code == 201, amended.text
    assert registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/versions/2/design").status_code == 404
    number = _second_cut(registry)
    assert registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/looks", json={"data_cut": number}).status_code == 201
    first = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/versions/1/design").json()
    second = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/versions/2/design").json()
    assert second["protocol_version"] == 2 and second["sha256"] != first["sha256"]
    assert second["operating_characteristics"]["provenance"]["input_sha256"] != \
        first["operating_characteristics"]["provenance"]["input_sha256"]
    assert [e["resource"].rsplit("/", 2)[1] for e in _events(registry, "design.create")] == ["1", "2"]


def test_the_design_summary_survives_a_restart(registry, served, protocol, cut):
    _, settings = served
    registry.populate(protocol, cut)
    before = registry.request("statistician", "GET", f"/v1/trials/{TRIAL}/versions/1/design").json()
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_compute] = InProcessCompute
    with TestClient(app) as again:
        after = again.get(f"/v1/trials/{TRIAL}/versions/1/design", headers=registry.as_("statistician"))
    assert after.status_code == 200 and after.json() == before


def test_the_sarc031_example_design_is_exact_and_equals_designs_oc_run_directly():
    """The stored OC is designs.oc's exact enumeration of the protocol's own design, Simon beside it."""
    document = ProtocolSpec.from_mapping(example_protocol()).document
    summary = registry_design.design_summary(document, trial_id="sarc031-example", version=1)
    spec = ProtocolSpec.from_mapping(document)
    design, simon = response_design(spec.response)
    direct = oc.operating_characteristics(design, method="exact", simon=simon)
    result = summary["operating_characteristics"]
    assert result["method"] == "exact" and result["n_trials"] is None
    assert [s["name"] for s in result["scenarios"]] == ["global null", "global alternative",
                                                        "only NF1-associated active", "only sporadic active"]
    for mine, theirs in zip(result["scenarios"], direct["scenarios"], strict=True):
        assert mine["prob_any_go"] == pytest.approx(theirs["prob_any_go"], abs=1e-15)
        assert [s["simon"] for s in mine["strata"]] == [s["simon"] for s in theirs["strata"]]
    null = result["scenarios"][0]
    assert 0 < null["prob_any_go"] < 0.2 and null["strata"][0]["simon"]["prob_reject_null"] > 0
    assert summary["design"]["strata"] == [{"name": "NF1-associated", "looks": [7, 14, 21]},
                                           {"name": "sporadic", "looks": [7, 14, 21]}]
    again = registry_design.design_summary(document, trial_id="sarc031-example", version=1)
    assert again == summary  # same version, same numbers


def test_a_design_too_large_to_enumerate_is_simulated_with_a_seed_fixed_by_the_version(monkeypatch):
    monkeypatch.setattr(registry_design.oc, "exact_available", lambda design, tables: False)
    monkeypatch.setattr(registry_design, "SIMULATED_TRIALS", 200)
    document = ProtocolSpec.from_mapping(example_protocol()).document
    one = registry_design.design_summary(document, trial_id="t", version=1)
    result = one["operating_characteristics"]
    assert result["method"] == "simulation" and result["n_trials"] == 200
    assert result["seed"] == registry_design.design_seed(document["seed"], "t", 1)
    assert result["scenarios"][0]["mcse"]["prob_any_go"] > 0 and "Monte Carlo" in one["method_note"]
    assert registry_design.design_summary(document, trial_id="t", version=1) == one
    assert registry_design.design_seed(document["seed"], "t", 2) != result["seed"]


def test_a_version_without_a_response_plan_has_no_design_summary():
    document = dict(ProtocolSpec.from_mapping(example_protocol()).document, response=None, safety=None)
    assert registry_design.design_summary(document, trial_id="t", version=1) is None
    look, summary = tasks.registry_look_with_design(
        document, {"cutoff_date": "2024-01-01", "patients": []}, 1, 7,
        {"trial": "t", "protocol_version": 1, "data_cut": None}, True)
    assert summary is None and look["response"] is None


def test_a_design_too_costly_for_a_look_is_stored_without_oc_saying_why(monkeypatch):
    monkeypatch.setattr(registry_design, "BUDGET_SECONDS", 0.01)
    document = ProtocolSpec.from_mapping(example_protocol()).document
    summary = registry_design.design_summary(document, trial_id="t", version=1)
    assert summary["operating_characteristics"] is None and summary["boundaries"] is None
    assert "not computed with the look" in summary["method_note"] and "/v1/designs/operating-characteristics" in \
        summary["method_note"]
    assert summary["design"]["strata"][0]["looks"] == [7, 14, 21]  # the request to send instead


def test_a_version_monitoring_safety_stores_its_calibrated_rule_with_exact_oc():
    from designs.safety.boundaries import SafetyDesign, safety_boundaries

    document = ProtocolSpec.from_mapping(example_protocol()).document
    rule = safety_boundaries(SafetyDesign.from_mapping({k: document["safety"][k] for k in
                                                        ("p0", "looks", "alpha", "method", "prior")}))
    summary = registry_design.design_summary(document, trial_id="t", version=1)
    safety = summary["safety"]
    assert safety["scope"] == "pooled" and safety["monitored"] == ["NF1-associated", "sporadic"]
    assert safety["looks"] == rule["looks"] and safety["operating_characteristics"] == rule["operating_characteristics"]
    assert safety["calibration"]["prob_stop_null"] <= document["safety"]["alpha"]
    assert [oc["rate"] for oc in safety["operating_characteristics"]] == [0.25, 0.3, 0.35, 0.4, 0.45, 0.5, 0.55]
    pfs_only = registry_design.design_summary(dict(document, response=None), trial_id="t", version=1)
    assert pfs_only["safety"]["looks"] == rule["looks"] and pfs_only["design"] is None
    assert pfs_only["operating_characteristics"] is None and "safety monitoring alone" in pfs_only["method_note"]
    no_safety = registry_design.design_summary(dict(document, safety=None), trial_id="t", version=1)
    assert no_safety["safety"] is None
