"""The calibrated safety rule applied as calibrated (``designs.safety.analysis.apply_looks``): every planned
look n_j ≤ n on the first n_j evaluable patients, a stop kept at every later look, and, without the counts
at the looks, only what the total implies (else "undetermined"). Review 13a, findings 1 and 2."""

from __future__ import annotations

import numpy as np
import pytest

from designs.core.errors import InvalidInputError
from designs.safety.analysis import CONTINUE, STOP, UNDETERMINED, SafetyAnalysisSpec, analyse_safety, apply_looks
from designs.safety.boundaries import SafetyDesign, operating_characteristics, prob_any_stops, stop_counts
from tests.conftest import assert_problem

URL = "/v1/analyses/safety"
REVIEW = {"p0": 0.25, "looks": [5, 10, 15, 20], "alpha": 0.10, "method": "bayesian"}
LOOKS = (5, 10, 15, 20)


@pytest.fixture(scope="module")
def review_counts():
    counts = stop_counts(SafetyDesign.from_mapping(REVIEW))
    assert counts == [4, 6, 7, 9]  # the reviewer's stop counts (Geller's rule, P(stop | 0.25) ≤ 0.10)
    return counts


def analyse(strata, **request):
    return analyse_safety(SafetyAnalysisSpec.from_mapping(
        {"p0": 0.25, "strata": strata, "design": {k: REVIEW[k] for k in ("looks", "alpha", "method")}, **request}))


def test_review_4_dlts_in_9_stop_only_when_the_first_5_had_4(review_counts):
    # the old rule stopped 4 of 9 on look 1's count 4 and let 5 of 10 continue: non-monotone
    assert apply_looks(LOOKS, review_counts, 9, 4, [3])["decision"] == CONTINUE
    stopped = apply_looks(LOOKS, review_counts, 9, 4, [4])
    assert stopped["decision"] == STOP and stopped["first_crossing"]["look"] == 1
    doubtful = apply_looks(LOOKS, review_counts, 9, 4)  # only the total: the first 5 had 0 to 4
    assert doubtful["decision"] == UNDETERMINED and doubtful["crossed"] is None
    assert doubtful["looks_applied"] == [{"look": 1, "n": 5, "stop_at": 4, "toxicities": None,
                                          "toxicities_range": [0, 4], "crossed": None}]
    assert doubtful["next_look"] == {"look": 2, "n": 10, "stop_at": 6}


def test_review_t3_a_stop_at_look_1_stays_a_stop_with_6_more_patients_without_dlt(review_counts):
    look1 = apply_looks(LOOKS, review_counts, 5, 4, [4])
    look2 = apply_looks(LOOKS, review_counts, 11, 4, [4, 4])
    assert look1["decision"] == look2["decision"] == STOP
    assert look2["first_crossing"] == look1["first_crossing"] == {
        "look": 1, "n": 5, "stop_at": 4, "toxicities": 4, "toxicities_range": [4, 4], "crossed": True}
    assert [look["crossed"] for look in look2["looks_applied"]] == [True, False]
    assert look2["boundary"] == {"look": 1, "n": 5, "stop_at": 4}


def test_what_the_total_alone_makes_certain(review_counts):
    assert apply_looks(LOOKS, review_counts, 10, 9)["decision"] == STOP  # ≥ 9 − 5 = 4 among the first 5
    assert apply_looks(LOOKS, review_counts, 10, 3)["decision"] == CONTINUE  # ≤ 3 at every look
    only = apply_looks((10,), [5], 10, 5)  # n at the only look: exact
    assert only["decision"] == STOP and only["looks_applied"][0]["toxicities"] == 5
    assert apply_looks(LOOKS, review_counts, 4, 4)["decision"] == CONTINUE  # before the first look
    assert apply_looks(LOOKS, [None, 6, 7, 9], 5, 5)["decision"] == CONTINUE  # no count stops at look 1


def _sequence_counts(dlt: np.ndarray, n: int, looks=LOOKS) -> list[int]:
    cumulative = np.cumsum(dlt)
    return [int(cumulative[k - 1]) for k in looks if k <= n]


def test_an_extra_patient_never_turns_a_stop_into_continue(review_counts):
    rng = np.random.default_rng(13)
    for _ in range(300):
        dlt = rng.random(20) < 0.4
        stopped = False
        for n in range(1, 21):
            decision = apply_looks(LOOKS, review_counts, n, int(dlt[:n].sum()), _sequence_counts(dlt, n))["decision"]
            assert not (stopped and decision != STOP)
            stopped = decision == STOP


def _old_rule(counts, n, x):
    """The rule before review 13a: every toxicity so far against the stop count of the last look ≤ n."""
    passed = [b for k, b in zip(LOOKS, counts, strict=True) if k <= n]
    return bool(passed) and passed[-1] is not None and x >= passed[-1]


@pytest.mark.parametrize("trials", [4000])
def test_at_irregular_data_cuts_p_stop_at_p0_is_the_calibrated_exact_oc(review_counts, trials):
    """DMC meetings every 3 to 7 patients (never on the planned looks by design): the rule applied at each
    cut stops with the calibrated P(stop | p0) (exact OC 0.0789), within 3 Monte Carlo SEs; the old rule
    (all toxicities against the last look's count) does not (about 0.25, review 13a finding 1)."""
    exact = operating_characteristics(LOOKS, review_counts, 0.25)["prob_stop"]
    rng = np.random.default_rng(20261130)
    stops = old_stops = 0
    for _ in range(trials):
        dlt = rng.random(20) < 0.25
        n, stopped, old = 0, False, False
        while n < 20:
            n = min(20, n + int(rng.integers(3, 8)))
            x = int(dlt[:n].sum())
            stopped = stopped or apply_looks(LOOKS, review_counts, n, x, _sequence_counts(dlt, n))["crossed"]
            old = old or _old_rule(review_counts, n, x)
        stops += stopped
        old_stops += old
    se = np.sqrt(exact * (1 - exact) / trials)
    assert abs(exact - 0.0789) < 5e-4
    assert abs(stops / trials - exact) < 3 * se, (stops / trials, exact)
    assert abs(old_stops / trials - exact) > 3 * se  # the test can fail: the old rule's rate is far off


def test_toxicities_at_looks_are_checked_all_at_once():
    strata = [{"name": "A", "evaluable": 12, "toxicities": 5, "toxicities_at_looks": [1]},  # two looks passed
              {"name": "B", "evaluable": 12, "toxicities": 5, "toxicities_at_looks": [3, 2]},  # decreasing
              {"name": "C", "evaluable": 12, "toxicities": 7, "toxicities_at_looks": [6, 6]},  # 6 > 5 patients
              {"name": "D", "evaluable": 12, "toxicities": 1, "toxicities_at_looks": [0, 0]},
              {"name": "E", "evaluable": 12, "toxicities": 5, "toxicities_at_looks": [0, 0]},  # 5 DLTs in 2 patients
              {"name": "F", "evaluable": 12, "toxicities": 9, "toxicities_at_looks": [0, 6]}]  # 6 new in 5
    with pytest.raises(InvalidInputError) as caught:
        analyse(strata, pooled=False)
    fields = {p.field for p in caught.value.problems}
    assert fields == {"strata/0/toxicities_at_looks", "strata/1/toxicities_at_looks/1", "strata/2/toxicities_at_looks/0",
                      "strata/4/toxicities_at_looks", "strata/5/toxicities_at_looks/1"}
    with pytest.raises(InvalidInputError) as caught:
        SafetyAnalysisSpec.from_mapping({"p0": 0.25, "strata": [{"name": "A", "evaluable": 5, "toxicities": 1,
                                                                  "toxicities_at_looks": [1]}]})
    assert [p.field for p in caught.value.problems] == ["strata/0/toxicities_at_looks"]  # needs a design
    with pytest.raises(InvalidInputError) as caught:  # a refused design: its problem only, not a consequence
        SafetyAnalysisSpec.from_mapping({"p0": 0.25, "design": {"looks": [5, 5]}, "strata": [
            {"name": "A", "evaluable": 5, "toxicities": 1, "toxicities_at_looks": [1]}]})
    assert [p.field for p in caught.value.problems] == ["design/looks/1"]


def test_an_undetermined_row_carries_a_caveat_asking_for_the_counts():
    result = analyse([{"name": "A", "evaluable": 9, "toxicities": 4}], pooled=False)
    assert result["strata"][0]["decision"] == UNDETERMINED
    assert [(w["code"], w["stratum"]) for w in result["warnings"]] == [("safety-undetermined", "A")]
    assert "toxicities_at_looks" in result["warnings"][0]["message"]


def test_pooled_toxicities_at_looks_apply_the_rule_to_the_pooled_first_patients():
    strata = [{"name": "A", "evaluable": 6, "toxicities": 3}, {"name": "B", "evaluable": 5, "toxicities": 1}]
    assert analyse(strata)["pooled"]["decision"] == UNDETERMINED
    pooled = analyse(strata, pooled_toxicities_at_looks=[4, 4])["pooled"]
    assert pooled["decision"] == STOP and pooled["first_crossing"]["n"] == 5


def test_the_analysis_design_takes_the_protocols_defaults():
    result = analyse_safety(SafetyAnalysisSpec.from_mapping(
        {"p0": 0.25, "strata": [{"name": "A", "evaluable": 5, "toxicities": 1}], "design": {"looks": [5, 10, 15, 20]}}))
    assert (result["design"]["method"], result["design"]["alpha"]) == ("bayesian", 0.10)


def test_family_wise_p_stop_of_independent_strata():
    assert prob_any_stops(0.0789, 3) == pytest.approx(1 - 0.9211 ** 3, rel=1e-12)
    assert prob_any_stops(0.0, 4) == 0.0 and prob_any_stops(1.0, 2) == 1.0


def test_route_applies_the_counts_at_the_looks_and_says_undetermined(client, in_process_compute):
    design = {"looks": [5, 10, 15, 20], "alpha": 0.1}
    body = {"p0": 0.25, "design": design, "pooled": False,
            "strata": [{"name": "t3", "evaluable": 11, "toxicities": 4, "toxicities_at_looks": [4, 4]},
                       {"name": "open", "evaluable": 9, "toxicities": 4}]}
    response = client.post(URL, json=body)
    assert response.status_code == 200, response.text
    t3, undecided = response.json()["strata"]
    assert (t3["decision"], t3["first_crossing"]["look"]) == (STOP, 1)
    assert (undecided["decision"], undecided["crossed"]) == (UNDETERMINED, None)
    body["strata"][0]["toxicities_at_looks"] = [5, 3]
    assert_problem(client.post(URL, json=body), 422, "strata/0/toxicities_at_looks/0")
