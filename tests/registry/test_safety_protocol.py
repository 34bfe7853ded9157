"""The protocol's safety section: checked by the safety code (every bad field at once, located under
safety/ and reading as in POST /v1/designs/safety-boundaries), defaults filled and listed, amendments
by merge patch (null restores a default or removes the section), and effective changes listed."""

from __future__ import annotations

import pytest

from designs.core.errors import InvalidInputError
from designs.registry.protocol import ProtocolSpec, amend, effective_changes
from designs.safety.boundaries import SafetyDesign
from tests.registry.examples import sarc031

SAFETY = {"p0": 0.25, "looks": [5, 10, 15]}


def problems(body) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as refused:
        ProtocolSpec.from_mapping(body)
    return {p.field: p.reason for p in refused.value.problems}


def test_defaults_are_filled_in_the_stored_document_and_listed():
    doc = ProtocolSpec.from_mapping(sarc031(safety=SAFETY)).document
    assert doc["safety"] == {"p0": 0.25, "looks": [5, 10, 15], "alpha": 0.1, "method": "bayesian",
                             "prior": {"a": 1.0, "b": 1.0}, "scope": "per-stratum", "strata": ["nf1", "sporadic"]}
    assert [d for d in doc["defaults"] if d.startswith("safety/")] == [
        "safety/alpha", "safety/method", "safety/prior/a", "safety/prior/b", "safety/scope", "safety/strata"]
    assert ProtocolSpec.from_mapping(doc).document == doc  # the stored document is valid input, normalised to itself
    assert "safety" not in ProtocolSpec.from_mapping(sarc031()).document  # only when declared


def test_every_bad_safety_field_at_once_located_under_safety():
    found = problems(sarc031(safety={"p0": 1.5, "looks": [5, 5], "alpha": 0.7, "method": "geller",
                                     "prior": {"a": 0}, "scope": "by-arm", "strata": ["nf1", "NF2", "nf1"], "n": 3}))
    assert set(found) == {"safety/n", "safety/p0", "safety/looks/1", "safety/alpha", "safety/method", "safety/prior/a",
                          "safety/scope", "safety/strata/1", "safety/strata/2"}
    assert "declared strata: nf1, sporadic" in found["safety/strata/1"]
    # The same words as the safety design's own check (POST /v1/designs/safety-boundaries), under safety/
    with pytest.raises(InvalidInputError) as direct:
        SafetyDesign.from_mapping({"p0": 1.5, "looks": [5, 5], "alpha": 0.7, "method": "geller", "prior": {"a": 0}})
    for problem in direct.value.problems:
        assert found[f"safety/{problem.field}"] == problem.reason


def test_an_empty_scope_is_refused_not_taken_for_the_default():
    assert set(problems(sarc031(safety={**SAFETY, "scope": ""}))) == {"safety/scope"}


def test_safety_problems_come_with_the_other_sections_problems():
    body = sarc031(safety={"p0": 0, "looks": []})
    body["response"]["p1"] = 2
    assert {"response/p1", "safety/p0", "safety/looks"} <= set(problems(body))


def test_a_protocol_with_safety_monitoring_alone_is_refused_it_needs_an_efficacy_endpoint():
    found = problems(sarc031(response=None, pfs=None, safety=SAFETY))
    assert set(found) == {"response"} and "safety monitoring alone is not one" in found["response"]
    assert ProtocolSpec.from_mapping(sarc031(response=None, safety=SAFETY)).safety is not None  # PFS and safety: fine


def test_amendments_change_restore_defaults_and_remove_the_section_with_effective_changes():
    doc = ProtocolSpec.from_mapping(sarc031(safety={**SAFETY, "alpha": 0.05, "scope": "pooled"})).document
    assert "safety/alpha" not in doc["defaults"]
    amended = amend(doc, {"safety": {"alpha": None, "looks": [6, 12], "strata": ["nf1"]}})
    assert amended["safety"]["alpha"] == 0.1 and "safety/alpha" in amended["defaults"]  # null: the default again
    assert amended["safety"]["scope"] == "pooled" and amended["safety"]["strata"] == ["nf1"]
    assert effective_changes(doc, amended) == {
        "safety/alpha": {"from": 0.05, "to": 0.1},
        "safety/looks": {"from": [5, 10, 15], "to": [6, 12]},
        "safety/strata": {"from": ["nf1", "sporadic"], "to": ["nf1"]},
    }
    removed = amend(amended, {"safety": None})
    assert "safety" not in removed and not any(d.startswith("safety/") for d in removed["defaults"])
    assert effective_changes(amended, removed)["safety/p0"] == {"from": 0.25, "to": None}
    with pytest.raises(InvalidInputError) as refused:
        amend(doc, {"safety": {"method": "pocock", "looks": [0]}})
    assert [p.field for p in refused.value.problems] == ["safety/looks/0"]


def test_the_default_monitored_strata_follow_the_declared_ones_but_a_chosen_list_stays():
    doc = ProtocolSpec.from_mapping(sarc031(safety=SAFETY)).document
    strata = [*doc["strata"], {"name": "other", "description": ""}]
    assert amend(doc, {"strata": strata})["safety"]["strata"] == ["nf1", "sporadic", "other"]
    chosen = ProtocolSpec.from_mapping(sarc031(safety={**SAFETY, "strata": ["sporadic"]})).document
    assert amend(chosen, {"strata": strata})["safety"]["strata"] == ["sporadic"]
    with pytest.raises(InvalidInputError) as refused:  # a monitored stratum an amendment removes
        amend(chosen, {"strata": [{"name": "nf1"}], "response": {"strata": [{"name": "nf1", "n_planned": 21}]},
                       "pfs": None})
    assert [p.field for p in refused.value.problems] == ["safety/strata/0"]
