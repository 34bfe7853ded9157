"""A registered protocol: checked by the analyses' own code (the same messages, under response/ and
pfs/), strata declared once, looks planned, defaults filled so the stored document says what runs,
and amendments as merge patches re-checked whole."""

from __future__ import annotations

import copy

import pytest

from designs.core.errors import InvalidInputError
from designs.registry.protocol import ProtocolSpec, amend, merge_patch
from designs.response.spec import ResponseAnalysisSpec
from designs.survival.spec import PFSAnalysisSpec
from tests.registry.examples import sarc031


def problems(body) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as info:
        ProtocolSpec.from_mapping(body)
    return {p.field: p.reason for p in info.value.problems}


def test_document_fills_every_default_and_is_valid_input_that_normalises_to_itself():
    spec = ProtocolSpec.from_mapping(sarc031())
    doc = spec.document
    analysis = ResponseAnalysisSpec.from_mapping(
        {"p0": 0.05, "p1": 0.25, "strata": [{"name": "a", "n": 0, "responders": 0, "n_planned": 1}]})
    assert doc["response"]["model"] == analysis.model.as_dict()
    assert set(doc["response"]["model"]["prior"]) == {"mu_mean", "mu_sd", "tau_scale"}
    assert doc["response"]["decision"]["final_threshold"] == 0.95
    assert doc["response"]["not_evaluable"] == "exclude"
    assert doc["pfs"]["landmark_months"] == 4.0
    assert doc["pfs"]["model"]["kind"] == "hierarchical-exponential"
    assert doc["pfs"]["decision"]["futility_prob_above_benchmark"] == 0.1
    assert ProtocolSpec.from_mapping(copy.deepcopy(doc)).document == doc


@pytest.mark.parametrize("endpoint, kind", [("pfs", "independent-exponential"), ("response", "independent")])
def test_a_closed_form_model_s_stored_document_is_valid_input_again(endpoint, kind):
    """The document stores the engine a closed-form kind runs on (PFS: 'closed-form'); a data cut re-checks the
    stored document, so that value must be accepted back (it once was not, and such a trial could take no data)."""
    body = sarc031()
    body[endpoint]["model"] = {"kind": kind}
    body[endpoint].pop("engine", None)
    doc = ProtocolSpec.from_mapping(body).document
    assert doc[endpoint]["engine"] == {"pfs": "closed-form", "response": None}[endpoint]
    assert ProtocolSpec.from_mapping(copy.deepcopy(doc)).document == doc


def test_mcmc_engine_stores_the_sampler_settings_that_will_run():
    body = sarc031()
    del body["response"]["engine"]
    doc = ProtocolSpec.from_mapping(body).document
    assert doc["response"]["engine"] == "mcmc"
    assert doc["response"]["mcmc"]["draws"] == 1000


def test_a_bad_prior_reads_as_in_the_analysis_located_under_the_endpoint():
    prior = {"kind": "independent", "prior": {"a": -1}}
    body = sarc031()
    body["response"]["model"] = prior
    with pytest.raises(InvalidInputError) as analysis:
        ResponseAnalysisSpec.from_mapping({"p0": 0.05, "p1": 0.25, "model": prior,
                                           "strata": [{"name": "a", "n": 1, "responders": 0, "n_planned": 2}]})
    assert problems(body)["response/model/prior/a"] == analysis.value.problems[0].reason

    body = sarc031()
    body["pfs"]["model"] = {"kind": "independent-exponential", "prior": {"shape": 0}}
    with pytest.raises(InvalidInputError) as pfs_analysis:
        PFSAnalysisSpec.from_mapping({"benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35,
                                      "model": body["pfs"]["model"],
                                      "patients": [{"id": 1, "stratum": "a", "time_months": 1, "event": True}]})
    found = problems(body)
    assert found["pfs/model/prior/shape"] == pfs_analysis.value.problems[0].reason
    assert "pfs/engine" in found  # quadrature does not compute the independent-exponential kind


def test_every_problem_at_once_undeclared_strata_name_the_declared_ones():
    body = sarc031(extra=1)
    body["response"]["strata"][1] = {"name": "Sporadic", "n_planned": 21, "looks": [7, 14, 14]}
    body["response"]["p1"] = 0.01
    body["pfs"]["strata"][0]["name"] = "NF1"
    found = problems(body)
    assert "extra" in found
    assert found["response/strata/1/name"] == ("stratum 'Sporadic' is not declared (declared strata: nf1, sporadic)"
                                               " — did you mean 'sporadic'? (names are case-sensitive)")
    assert "response/strata/1/looks/2" in found
    assert "response/p1" in found
    assert "declared strata: nf1, sporadic" in found["pfs/strata/0/name"]


@pytest.mark.parametrize(
    ("looks", "where"),
    [([7, 20], "looks/1"), ([0, 21], "looks/0"), ([14, 7, 21], "looks/1"), ([], "looks"), ([7.5, 21], "looks/0")],
)
def test_looks_are_increasing_positive_and_end_at_n_planned(looks, where):
    body = sarc031()
    body["response"]["strata"][0]["looks"] = looks
    assert f"response/strata/0/{where}" in problems(body)


def test_omitted_looks_mean_one_final_look():
    body = sarc031()
    del body["response"]["strata"][0]["looks"]
    assert ProtocolSpec.from_mapping(body).document["response"]["strata"][0]["looks"] == [21]


@pytest.mark.parametrize("bad_id", ["SARC031", "-a", "a-", "a b", "", "x" * 65, 31])
def test_id_must_be_a_slug(bad_id):
    assert "id" in problems(sarc031(id=bad_id))


def test_a_protocol_needs_an_endpoint_and_declared_strata_unique():
    body = sarc031(response=None, pfs=None, strata=[{"name": "a"}, {"name": "A"}])
    found = problems(body)
    assert "response" in found
    assert "strata/1/name" in found


def test_unknown_fields_refused_inside_the_endpoints():
    body = sarc031()
    body["response"]["strata"][0]["planned"] = 3
    body["pfs"]["landmark"] = 4
    found = problems(body)
    assert "response/strata/0/planned" in found and "pfs/landmark" in found


def test_amend_merges_and_rechecks_whole():
    doc = ProtocolSpec.from_mapping(sarc031()).document
    amended = amend(doc, {"response": {"p1": 0.3, "simon": None}, "title": "new"})
    assert amended["response"]["p1"] == 0.3 and amended["response"]["simon"] is None and amended["title"] == "new"
    assert amended["response"]["strata"] == doc["response"]["strata"]
    assert doc["response"]["p1"] == 0.25  # the stored document is not changed in place
    with pytest.raises(InvalidInputError) as info:
        amend(doc, {"response": {"p1": 0.01, "strata": [{"name": "other", "n_planned": 3}]}})
    assert {p.field for p in info.value.problems} == {"response/p1", "response/strata/0/name"}


def test_amend_cannot_change_the_id_and_needs_changes():
    doc = ProtocolSpec.from_mapping(sarc031()).document
    with pytest.raises(InvalidInputError, match="changes/id"):
        amend(doc, {"id": "other"})
    with pytest.raises(InvalidInputError, match="changes"):
        amend(doc, {})
    assert amend(doc, {"id": "sarc031", "title": "t"})["id"] == "sarc031"


def test_amend_of_p0_recentres_a_default_prior_but_keeps_a_chosen_one():
    import math

    body = sarc031()
    body["response"]["model"] = {"kind": "exnex", "prior": {"mu_sd": 2.0}}
    doc = ProtocolSpec.from_mapping(body).document
    assert "response/model/prior/mu_mean" in doc["defaults"] and "response/model/prior/mu_sd" not in doc["defaults"]
    assert "response/p0" not in doc["defaults"]
    amended = amend(doc, {"response": {"p0": 0.1}})
    prior = amended["response"]["model"]["prior"]
    assert math.isclose(prior["mu_mean"], math.log(0.1 / 0.9)) and math.isclose(prior["nex_mean"], math.log(0.1 / 0.9))
    assert prior["mu_sd"] == 2.0
    assert amended["defaults"] == doc["defaults"]
    # A stored document read back keeps its list; a value the amendment sets is the protocol's.
    assert ProtocolSpec.from_mapping(amended).document == amended
    again = amend(amended, {"response": {"model": {"prior": {"mu_mean": -1.0}}}})
    assert again["response"]["model"]["prior"]["mu_mean"] == -1.0 and "response/model/prior/mu_mean" not in again["defaults"]


def test_amend_changing_the_model_kind_takes_the_new_kinds_defaults_but_refuses_a_chosen_prior():
    doc = ProtocolSpec.from_mapping(sarc031()).document
    amended = amend(doc, {"response": {"model": {"kind": "independent"}}})
    assert amended["response"]["model"] == {"kind": "independent", "prior": {"a": 0.05, "b": 0.95}}
    body = sarc031()
    body["response"]["model"] = {"kind": "hierarchical", "prior": {"mu_sd": 2.0}}
    chosen = ProtocolSpec.from_mapping(body).document
    with pytest.raises(InvalidInputError, match="response/model/prior/mu_sd"):
        amend(chosen, {"response": {"model": {"kind": "independent"}}})
    amended = amend(chosen, {"response": {"model": {"kind": "independent", "prior": None}}})
    assert amended["response"]["model"] == {"kind": "independent", "prior": {"a": 0.05, "b": 0.95}}


def test_merge_patch_follows_rfc7396_examples():
    assert merge_patch({"a": "b"}, {"a": "c"}) == {"a": "c"}
    assert merge_patch({"a": "b"}, {"b": "c"}) == {"a": "b", "b": "c"}
    assert merge_patch({"a": "b"}, {"a": None}) == {}
    assert merge_patch({"a": [{"b": "c"}]}, {"a": [1]}) == {"a": [1]}
    assert merge_patch({"e": None}, {"a": 1}) == {"e": None, "a": 1}
    assert merge_patch([1, 2], {"a": "b", "c": None}) == {"a": "b"}
    assert merge_patch({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}) == {"a": {"b": "d"}}


def test_look_cost_grows_with_the_planned_size_and_names_protocol_fields():
    from designs.registry.cost import estimate_look_cost

    small = estimate_look_cost(ProtocolSpec.from_mapping(sarc031()))
    body = sarc031()
    del body["response"]["engine"]  # MCMC
    body["response"]["mcmc"] = {"draws": 20000, "chains": 4}
    big = estimate_look_cost(ProtocolSpec.from_mapping(body))
    assert 0 < small.seconds < big.seconds
    assert all(d.startswith(("response/", "pfs/")) for d in big.drivers) and big.drivers


def test_counts_written_with_a_fraction_or_quoted_are_refused_in_words():
    """The protocol's sections are read by the core, which stores what it is given: 21.0 or "21" where
    a count is due is refused (an int is what every look needs), saying what was sent."""
    body = sarc031()
    body["response"]["strata"][0]["n_planned"] = 21.0
    body["response"]["strata"][1]["n_planned"] = "21"
    found = problems(body)
    assert "(got 21.0)" in found["response/strata/0/n_planned"]
    assert "the string '21' — write numbers without quotes" in found["response/strata/1/n_planned"]


def test_a_simon_design_or_safety_looks_written_with_fractions_are_refused_not_stored_as_floats():
    """Stored as floats they broke every look (a 500) or switched safety monitoring off (review of issue 14)."""
    from designs.registry import example

    body = example.protocol()
    body["response"]["simon"] = {**body["response"]["simon"], "n1": 7.0}
    body["safety"]["looks"] = [float(n) for n in body["safety"]["looks"]]
    found = problems(body)
    assert "(got 7.0)" in found["response/simon/n1"]
    assert "(got 5.0)" in found["safety/looks/0"], found
