"""A protocol's patient-level sections: ``derivation`` (how assessments become responders and PFS)
and ``adam`` (how ADaM datasets map onto strata and endpoints), checked by their own code and located
under their names, crossed with the endpoints, their defaults filled and re-derived on amendment."""

from __future__ import annotations

import copy

import pytest

from designs.core.errors import InvalidInputError
from designs.registry.protocol import ProtocolSpec, amend, effective_changes
from tests.registry.examples import sarc031

ADAM = {"stratum_variable": "NF1FL", "strata": {"Y": "nf1", "N": "sporadic"},
        "response": {"paramcd": "BOR", "records": "best"}, "pfs": {"paramcd": "PFS", "unit": "days"}}


def protocol(**sections):
    body = sarc031()
    body.update(sections)
    return body


def problems(body) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as info:
        ProtocolSpec.from_mapping(body)
    return {p.field: p.reason for p in info.value.problems}


def test_a_protocol_without_the_sections_keeps_its_document_unchanged():
    """Protocols registered before the sections existed normalise exactly as before (no new keys)."""
    doc = ProtocolSpec.from_mapping(sarc031()).document
    assert "derivation" not in doc and "adam" not in doc


def test_derivation_defaults_are_filled_listed_and_normalise_to_themselves():
    spec = ProtocolSpec.from_mapping(protocol(derivation={"criterion": "recist1.1", "endpoint": "clinical_benefit"}))
    doc = spec.document
    assert doc["derivation"]["confirm_min_days"] == 28 and doc["derivation"]["benefit_min_days"] == 112
    assert "derivation/confirm_min_days" in doc["defaults"] and "derivation/criterion" not in doc["defaults"]
    assert spec.derivation is not None and spec.derivation.criterion == "recist1.1"
    assert ProtocolSpec.from_mapping(copy.deepcopy(doc)).document == doc


def test_amending_the_criterion_re_derives_the_confirmation_window_gonogo_filled_in():
    """RECIST confirms at ≥ 28 days; REiNS within 3–6 months. A default window follows the criterion."""
    old = ProtocolSpec.from_mapping(protocol(derivation={"criterion": "recist1.1", "endpoint": "objective_response"}))
    new = amend(old.document, {"derivation": {"criterion": "reins"}})
    assert new["derivation"]["confirm_min_days"] == 91 and new["derivation"]["confirm_max_days"] == 183
    changes = effective_changes(old.document, new)
    assert changes["derivation/confirm_min_days"] == {"from": 28, "to": 91}


def test_bad_derivation_and_adam_fields_are_named_under_their_sections_at_once():
    found = problems(protocol(derivation={"criterion": "recist2", "endpoint": "objective_response", "colour": 1},
                              adam={**ADAM, "strata": {"Y": "NF1-associated", "N": "sporadic"}}))
    assert "derivation/criterion" in found and "derivation/colour" in found
    assert any(f.startswith("adam/strata") for f in found), found


def test_adam_sources_need_their_endpoints_and_per_visit_responses_a_derivation():
    body = protocol(adam={**ADAM, "response": {"paramcd": "OVR", "records": "visits"}})
    del body["pfs"]
    found = problems(body)
    assert "adam/pfs" in found and "no PFS endpoint" in found["adam/pfs"]
    assert "adam/response/records" in found and "derivation" in found["adam/response/records"]


def test_adam_section_is_stored_normalised():
    spec = ProtocolSpec.from_mapping(protocol(adam=ADAM))
    assert spec.document["adam"]["subject_variable"] == "USUBJID"
    assert spec.document["adam"]["strata"] == {"Y": "nf1", "N": "sporadic"}
    assert ProtocolSpec.from_mapping(copy.deepcopy(spec.document)).document == spec.document


def test_a_sponsors_sd_duration_shorter_than_the_clinical_benefit_rule_is_refused():
    """SARC031's clinical benefit needs SD for 112 days: a best-response record whose SD the sponsor
    derived with 84 days would count shorter SD as benefit."""
    adam = {**ADAM, "response": {"paramcd": "BOR", "records": "best", "responders": ["CR", "PR", "SD"],
                                 "sd_min_days_applied": 84}}
    found = problems(protocol(adam=adam, derivation={"criterion": "recist1.1", "endpoint": "clinical_benefit"}))
    assert "shorter than the derivation's benefit_min_days (112)" in found["adam/response/sd_min_days_applied"]
    adam["response"]["sd_min_days_applied"] = 112
    assert ProtocolSpec.from_mapping(protocol(adam=adam, derivation={"criterion": "recist1.1",
                                                                     "endpoint": "clinical_benefit"})).adam
