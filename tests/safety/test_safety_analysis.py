"""The safety analysis at a look (``designs.safety.analysis``, ``POST /v1/analyses/safety``)."""

from __future__ import annotations

import pytest
from scipy import stats

from designs.core.errors import InvalidInputError
from designs.safety import boundaries
from designs.safety.boundaries import SafetyDesign
from designs.safety.analysis import CONTINUE, STOP, SafetyAnalysisSpec, analyse_safety
from tests.conftest import assert_problem

URL = "/v1/analyses/safety"
STRATA = [{"name": "NF1-associated", "evaluable": 12, "toxicities": 4},
          {"name": "sporadic", "evaluable": 7, "toxicities": 1}]


STAND_IN_STOP_COUNTS = {10: 5, 20: 8, 30: None}


@pytest.fixture
def stand_in_boundaries(monkeypatch):
    """Fixed stop counts (5 at n = 10, 8 at 20, none at 30), so that the tests of the boundary in force do
    not depend on the calibration (tested in test_safety_boundaries.py); the design is still checked by
    the real ``SafetyDesign``."""
    monkeypatch.setattr(boundaries, "stop_counts", lambda design: [STAND_IN_STOP_COUNTS[n] for n in design.looks])


def test_the_boundary_in_force_is_the_calibrated_designs_own():
    result = analyse(strata=STRATA, design=DESIGN)
    design = SafetyDesign.from_mapping({"p0": 0.3, **DESIGN, "prior": {"a": 1.0, "b": 1.0}})
    assert result["design"]["stop_counts"] == boundaries.stop_counts(design)


DESIGN = {"looks": [10, 20, 30], "alpha": 0.1, "method": "bayesian"}


def analyse(**request):
    return analyse_safety(SafetyAnalysisSpec.from_mapping({"p0": 0.3, "strata": STRATA, **request}))


def test_posterior_is_beta_a_plus_x_b_plus_n_minus_x_exactly_as_scipy():
    result = analyse(prior={"a": 0.5, "b": 2.0})
    row = result["strata"][0]
    exact = stats.beta(0.5 + 4, 2.0 + 12 - 4)
    assert row["posterior"] == {"a": 4.5, "b": 10.0}
    assert row["posterior_mean"] == exact.mean()
    assert row["ci95"] == [exact.ppf(0.025), exact.ppf(0.975)]
    assert row["prob_above_p0"] == exact.sf(0.3)
    assert row["boundary"] is None and row["crossed"] is None


def test_default_prior_is_beta_1_1():
    result = analyse()
    assert result["prior"] == {"a": 1.0, "b": 1.0}
    assert result["strata"][1]["prob_above_p0"] == stats.beta(2, 7).sf(0.3)


def test_pooled_posterior_sums_the_strata_counts_and_is_on_by_default_for_two_strata():
    pooled = analyse()["pooled"]
    assert (pooled["name"], pooled["evaluable"], pooled["toxicities"]) == ("pooled", 19, 5)
    assert pooled["prob_above_p0"] == stats.beta(1 + 5, 1 + 14).sf(0.3)
    assert analyse(pooled=False)["pooled"] is None
    assert analyse(strata=STRATA[:1])["pooled"] is None


def test_sparse_and_empty_strata_carry_their_caveats():
    strata = [{"name": "A", "evaluable": 0, "toxicities": 0}, {"name": "B", "evaluable": 2, "toxicities": 1}]
    codes = [(w["code"], w["stratum"]) for w in analyse(strata=strata)["warnings"]]
    assert codes == [("stratum-empty", "A"), ("stratum-sparse", "B")]


def test_every_planned_look_at_or_below_n_is_applied_on_its_first_patients(stand_in_boundaries):
    strata = [{"name": "before first look", "evaluable": 9, "toxicities": 9},
              {"name": "at look 1, crossed", "evaluable": 10, "toxicities": 5},
              {"name": "past look 1, not crossed", "evaluable": 19, "toxicities": 4},
              {"name": "look 3, no stop count", "evaluable": 35, "toxicities": 30}]
    result = analyse(strata=strata, design=DESIGN, pooled=False)
    rows = {r["name"]: r for r in result["strata"]}
    assert rows["before first look"]["boundary"] is None
    assert (rows["before first look"]["crossed"], rows["before first look"]["decision"]) == (False, CONTINUE)
    assert rows["at look 1, crossed"]["boundary"] == {"look": 1, "n": 10, "stop_at": 5}
    assert (rows["at look 1, crossed"]["crossed"], rows["at look 1, crossed"]["decision"]) == (True, STOP)
    # n = 19: look 1 only, 4 toxicities in all cannot reach its 5 among the first 10
    assert rows["past look 1, not crossed"]["boundary"] == {"look": 1, "n": 10, "stop_at": 5}
    assert rows["past look 1, not crossed"]["crossed"] is False
    # 30 of 35: whatever the order, the first 10 had at least 30 − 25 = 5, so look 1 crossed, although
    # look 3 has no stop count (the old "boundary in force" let this continue)
    last = rows["look 3, no stop count"]
    assert [look["crossed"] for look in last["looks_applied"]] == [True, True, False]
    assert last["boundary"] == {"look": 1, "n": 10, "stop_at": 5} and last["decision"] == STOP
    assert result["design"]["stop_counts"] == [5, 8, None]


def test_pooled_boundary_uses_the_pooled_n(stand_in_boundaries):
    strata = [{"name": "A", "evaluable": 11, "toxicities": 4}, {"name": "B", "evaluable": 9, "toxicities": 4}]
    pooled = analyse(strata=strata, design=DESIGN)["pooled"]
    assert pooled["boundary"] == {"look": 2, "n": 20, "stop_at": 8}
    assert (pooled["crossed"], pooled["decision"]) == (True, STOP)
    assert [r["crossed"] for r in analyse(strata=strata, design=DESIGN)["strata"]] == [False, False]


def test_design_prior_defaults_to_the_analysis_prior(stand_in_boundaries):
    spec = SafetyAnalysisSpec.from_mapping({"p0": 0.3, "prior": {"a": 2, "b": 3}, "strata": STRATA, "design": DESIGN})
    assert (spec.design.prior_a, spec.design.prior_b) == (2, 3)
    spec = SafetyAnalysisSpec.from_mapping({"p0": 0.3, "strata": STRATA, "design": {**DESIGN, "prior": {"a": 0.5}}})
    assert (spec.design.prior_a, spec.design.prior_b) == (0.5, 1.0)


def test_every_bad_field_at_once(stand_in_boundaries):
    request = {
        "p0": 1.0,
        "prior": {"a": 0, "b": -1},
        "strata": [{"name": "A", "evaluable": 3, "toxicities": 4}, {"name": "A", "evaluable": 3, "toxicities": 0, "grade": 3}],
        "design": {"looks": [10], "alpha": 0.7, "method": "bayesian"},
        "colour": "red",
    }
    with pytest.raises(InvalidInputError) as error:
        SafetyAnalysisSpec.from_mapping(request)
    fields = {p.field for p in error.value.problems}
    assert fields == {"colour", "p0", "prior/a", "prior/b", "strata/0/toxicities", "strata/1/grade", "strata/1/name",
                      "design/alpha"}


def test_a_p0_the_design_refuses_is_reported_at_p0_once(stand_in_boundaries):
    with pytest.raises(InvalidInputError) as error:
        SafetyAnalysisSpec.from_mapping({"p0": 0.0005, "strata": STRATA, "design": DESIGN})
    assert [p.field for p in error.value.problems] == ["p0"]
    with pytest.raises(InvalidInputError) as error:
        SafetyAnalysisSpec.from_mapping({"p0": 2, "strata": STRATA, "design": DESIGN})
    assert [p.field for p in error.value.problems] == ["p0"]


def test_route_422_names_every_bad_field_at_once(client):
    request = {"p0": 0, "prior": {"a": -1}, "strata": [{"name": "A", "evaluable": 3, "toxicities": 4},
                                                      {"name": "A", "evaluable": 1, "toxicities": 0}], "extra": 1}
    assert_problem(client.post(URL, json=request), 422, "p0", "prior/a", "strata/0/toxicities", "strata/1/name", "extra")
    # the schema passes, the spec does not
    only_counts = {"p0": 0.3, "strata": [{"name": "A", "evaluable": 3, "toxicities": 4}]}
    body = assert_problem(client.post(URL, json=only_counts), 422, "strata/0/toxicities")
    assert len(body["errors"]) == 1


def test_route_returns_the_posterior_and_provenance_and_the_same_bytes_twice(client):
    request = {"p0": 0.3, "strata": STRATA}
    first, second = client.post(URL, json=request), client.post(URL, json=request)
    assert first.status_code == 200, first.text
    assert first.content == second.content
    body = first.json()
    assert body["strata"][0]["prob_above_p0"] == stats.beta(5, 9).sf(0.3)
    assert body["pooled"]["evaluable"] == 19
    assert body["provenance"]["input_sha256"] and body["provenance"]["software"]["scipy"]


def test_route_with_a_design_reports_the_crossing(client, in_process_compute, stand_in_boundaries):
    request = {"p0": 0.3, "strata": [{"name": "A", "evaluable": 10, "toxicities": 5}], "design": DESIGN}
    response = client.post(URL, json=request)
    assert response.status_code == 200, response.text
    row = response.json()["strata"][0]
    assert row["boundary"] == {"look": 1, "n": 10, "stop_at": 5}
    assert (row["crossed"], row["decision"]) == (True, STOP)


def test_a_stratum_named_pooled_and_pooled_counts_contradicting_the_only_stratum_are_refused():
    """With a pooled row a stratum may not be called 'pooled' (two rows of one name); with one stratum the
    pooled patients are its patients, so their counts at the looks must be the same."""
    contradicting = {"p0": 0.2, "strata": [{"name": "A", "evaluable": 12, "toxicities": 5, "toxicities_at_looks": [3, 4]}],
                     "pooled": True, "pooled_toxicities_at_looks": [1, 3], "design": {"looks": [5, 10, 15, 20]}}
    named = {"p0": 0.2, "strata": [{"name": "Pooled", "evaluable": 12, "toxicities": 5},
                                   {"name": "B", "evaluable": 3, "toxicities": 0}]}
    for body, field in ((contradicting, "pooled_toxicities_at_looks"), (named, "strata/0/name")):
        with pytest.raises(InvalidInputError) as error:
            SafetyAnalysisSpec.from_mapping(body)
        assert [p.field for p in error.value.problems] == [field]
    consistent = contradicting | {"pooled_toxicities_at_looks": [3, 4]}
    result = analyse_safety(SafetyAnalysisSpec.from_mapping(consistent))
    assert result["strata"][0]["decision"] == result["pooled"]["decision"] == STOP
    assert analyse_safety(SafetyAnalysisSpec.from_mapping(named | {"pooled": False}))["strata"][0]["name"] == "Pooled"


def test_every_credible_interval_states_its_level_and_holds_that_posterior_mass():
    """Issue 14: ci95 carries ci_level 0.95 beside it (strata and pooled), and the Beta posterior puts
    exactly that mass between its bounds."""
    result = analyse()
    for row in [*result["strata"], result["pooled"]]:
        assert row["ci_level"] == 0.95
        posterior = stats.beta(row["posterior"]["a"], row["posterior"]["b"])
        lower, upper = row["ci95"]
        assert posterior.cdf(upper) - posterior.cdf(lower) == pytest.approx(row["ci_level"], abs=1e-12)
