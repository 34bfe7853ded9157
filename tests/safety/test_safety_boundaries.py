"""Toxicity stopping boundaries (``designs.safety.boundaries``) and ``POST /v1/designs/safety-boundaries``:
boundaries and OC against brute-force enumeration of every outcome path, the exact calibration, monotone
boundaries, bad input and provenance."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import special, stats

from designs.core.errors import InvalidInputError
from designs.safety import SafetyDesign, safety_boundaries, stop_counts
from designs.safety.boundaries import METHODS, _counts_at, operating_characteristics, scores
from tests.conftest import assert_problem

SMALL_LOOKS = [(2, 4, 6, 8), tuple(range(1, 11)), (3, 5, 9)]


def brute_force(looks, counts, rate):
    """P(stop at each look), E[n] and E[toxicities when the trial ends] by summing over all 2^N toxicity
    sequences of N = looks[-1] patients."""
    by_look = [0.0] * len(looks)
    expected_n = expected_x = 0.0
    for path in itertools.product((0, 1), repeat=looks[-1]):
        x = sum(path)
        weight = rate**x * (1 - rate) ** (len(path) - x)
        used = looks[-1]
        for j, (n, b) in enumerate(zip(looks, counts)):
            if b is not None and sum(path[:n]) >= b:
                by_look[j] += weight
                used = n
                break
        expected_n += weight * used
        expected_x += weight * sum(path[:used])
    return by_look, expected_n, expected_x


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("looks", SMALL_LOOKS)
def test_exact_oc_equals_brute_force_enumeration_of_all_toxicity_sequences(method, looks):
    design = SafetyDesign(0.2, looks, 0.2, method)
    counts = stop_counts(design)
    for rate in (0.1, 0.2, 0.35, 0.6):
        oc = operating_characteristics(looks, counts, rate)
        by_look, expected_n, expected_x = brute_force(looks, counts, rate)
        assert oc["prob_stop_by_look"] == pytest.approx(by_look, abs=1e-13)
        assert oc["prob_stop"] == pytest.approx(sum(by_look), abs=1e-13)
        assert oc["expected_n"] == pytest.approx(expected_n, abs=1e-11)
        assert oc["expected_toxicities"] == pytest.approx(expected_x, abs=1e-11)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("looks", SMALL_LOOKS)
@pytest.mark.parametrize("alpha", [0.05, 0.1, 0.3])
def test_calibration_equals_exhaustive_search_over_every_constant(method, looks, alpha):
    """The bisection finds what trying every distinct score finds: the least conservative rule whose
    brute-force P(stop | p0) ≤ alpha."""
    design = SafetyDesign(0.15, looks, alpha, method)
    per_look = scores(design)
    candidates = np.unique(np.concatenate(per_look))
    feasible = [k for k in candidates if sum(brute_force(looks, _counts_at(per_look, k), 0.15)[0]) <= alpha]
    expected = _counts_at(per_look, min(feasible)) if feasible else [None] * len(looks)
    assert stop_counts(design) == expected


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize(("p0", "alpha"), [(0.1, 0.05), (0.2, 0.1), (0.3, 0.2)])
def test_calibrated_rule_meets_alpha_and_the_next_less_conservative_boundaries_do_not(method, p0, alpha):
    looks = tuple(range(5, 51, 5))
    result = safety_boundaries(SafetyDesign(p0, looks, alpha, method))
    calibration = result["calibration"]
    assert calibration["prob_stop_null"] <= alpha
    assert result["operating_characteristics"][0]["rate"] == p0
    assert result["operating_characteristics"][0]["prob_stop"] == calibration["prob_stop_null"]
    looser = calibration["next_less_conservative"]
    assert looser["prob_stop_null"] > alpha
    assert operating_characteristics(looks, looser["stop_at"], p0)["prob_stop"] == looser["prob_stop_null"]
    chosen = [row["stop_at"] for row in result["looks"]]
    # the looser set is lower at exactly one look, by one count, equal elsewhere
    differences = [(b if b is not None else n + 1) - (lb if lb is not None else n + 1)
                   for b, lb, n in zip(chosen, looser["stop_at"], looks)]
    assert sorted(differences)[-1] == 1 and sum(differences) == 1 and min(differences) == 0


def test_geller_beta_binomial_rule_reproduces_the_stoppingrule_package_readme_table_martens_logan():
    """The published example of the R package stoppingrule (Martens & Logan; README, ``calc.rule.bin(ns = 1:30,
    p0 = 0.20, alpha = 0.10, type = "BB", param = c(0.6, 2.4))``: Geller et al. 2003's beta-binomial rule,
    Beta(0.6, 2.4) prior, a look after every patient up to 30, P(stop | 0.2) ≤ 0.10): the rejection
    boundary for every number evaluable ("Reject if N >=": 3 for 3–4 patients, 4 for 5–6, 5 for 7–10, 6 for
    11–13, 7 for 14–17, 8 for 18–20, 9 for 21–24, 10 for 25–28, 11 for 29–30; none can stop at 1 or 2)
    and its operating characteristics ``OC.rule.bin(rule, ps = seq(0.2, 0.4, 0.05))``: rejection
    probability and expected number of events when the trial ends, to the 7 places printed."""
    design = SafetyDesign(0.2, tuple(range(1, 31)), 0.10, "bayesian", 0.6, 2.4)
    published = {(3, 4): 3, (5, 6): 4, (7, 10): 5, (11, 13): 6, (14, 17): 7, (18, 20): 8, (21, 24): 9, (25, 28): 10,
                 (29, 30): 11}
    expected = [None, None] + [b for (lo, hi), b in published.items() for _ in range(lo, hi + 1)]
    counts = stop_counts(design)
    assert counts == expected
    table = {0.20: (0.09957367, 5.651197), 0.25: (0.23832301, 6.536293), 0.30: (0.43615256, 6.926712),
             0.35: (0.64555222, 6.819377), 0.40: (0.81491087, 6.355803)}
    for rate, (reject, events) in table.items():
        oc = operating_characteristics(design.looks, counts, rate)
        assert oc["prob_stop"] == pytest.approx(reject, abs=5e-9)
        assert oc["expected_toxicities"] == pytest.approx(events, abs=5e-7)


def test_bayesian_boundary_is_the_smallest_count_whose_posterior_tail_exceeds_c_geller_2003():
    """Geller et al. (2003): stop when P(p > p0 | x of n) > c under Beta(a, b); b_n is the least such x."""
    design = SafetyDesign(0.25, (6, 12, 18, 24), 0.1, "bayesian", 0.5, 1.5)
    result = safety_boundaries(design)
    c = result["constant"]
    for row in result["looks"]:
        n = row["n"]
        tails = [stats.beta.sf(0.25, 0.5 + x, 1.5 + n - x) for x in range(n + 1)]
        above = [x for x, t in enumerate(tails) if t > c + 1e-12]
        assert row["stop_at"] == (above[0] if above else None)
        if row["stop_at"] is not None and row["stop_at"] > 0:
            assert special.betaincc(0.5 + row["stop_at"] - 1, 1.5 + n - row["stop_at"] + 1, 0.25) <= c


def test_pocock_boundary_is_the_smallest_count_with_binomial_p_value_at_most_gamma_ivanova_2005():
    """Ivanova, Qaqish & Schell (2005), Pocock-type: P(X_n ≥ b_n | p0) ≤ γ, the same γ at every look."""
    design = SafetyDesign(0.2, (10, 20, 30, 40), 0.1, "pocock")
    result = safety_boundaries(design)
    gamma = result["constant"]
    for row in result["looks"]:
        tails = stats.binom.sf(np.arange(row["n"] + 1) - 1, row["n"], 0.2)
        assert row["stop_at"] == int(np.flatnonzero(tails <= gamma)[0])


def test_obrien_fleming_nominal_level_shrinks_early_and_reported_final_level_is_that_of_z():
    design = SafetyDesign(0.2, (10, 20, 30, 40), 0.1, "obrien-fleming")
    result = safety_boundaries(design)
    z = result["constant"]
    assert result["calibration"]["constant"]["final_nominal_level"] == pytest.approx(stats.norm.sf(z))
    for row in result["looks"]:
        level = stats.norm.sf(z * np.sqrt(40 / row["n"]))
        tails = stats.binom.sf(np.arange(row["n"] + 1) - 1, row["n"], 0.2)
        passing = np.flatnonzero(tails <= level * (1 + 1e-9))
        assert row["stop_at"] == (int(passing[0]) if passing.size else None)


@pytest.mark.parametrize("method", ["bayesian", "pocock"])
@pytest.mark.parametrize(("p0", "alpha"), [(0.05, 0.05), (0.1, 0.1), (0.2, 0.05), (0.33, 0.2)])
def test_boundaries_with_every_patient_a_look_never_decrease_and_rise_by_at_most_one(method, p0, alpha):
    """With one more patient the stopping count stays or rises by one (a posterior tail / p-value is
    monotone in x and n). (The OBF-type boundary need not be monotone: its level rises with n.)"""
    counts = stop_counts(SafetyDesign(p0, tuple(range(1, 61)), alpha, method))
    defined = [b for b in counts if b is not None]
    assert counts[len(counts) - len(defined):] == defined  # no look stops after one that cannot
    assert all(0 <= later - earlier <= 1 for earlier, later in zip(defined, defined[1:]))


def test_oc_at_rates_rise_with_the_toxicity_rate_and_expected_n_falls():
    result = safety_boundaries(SafetyDesign(0.2, tuple(range(5, 41, 5)), 0.1, "bayesian"))
    rows = result["operating_characteristics"]
    assert [r["rate"] for r in rows] == [0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5]
    assert all(a["prob_stop"] < b["prob_stop"] for a, b in zip(rows, rows[1:]))
    assert all(a["expected_n"] > b["expected_n"] for a, b in zip(rows, rows[1:]))


def test_a_rule_that_cannot_stop_within_alpha_warns_and_has_no_boundaries():
    result = safety_boundaries(SafetyDesign(0.3, (1,), 0.01, "pocock"))
    assert [row["stop_at"] for row in result["looks"]] == [None]
    assert [w["code"] for w in result["warnings"]] == ["safety-never-stops"]
    assert result["operating_characteristics"][0]["prob_stop"] == 0.0


def test_from_mapping_reports_every_bad_field_at_once():
    with pytest.raises(InvalidInputError) as error:
        SafetyDesign.from_mapping({"p0": 1.5, "looks": [10, 10, 600], "alpha": 0.6, "method": "bonferroni",
                                   "prior": {"a": 0, "b": -1}, "extra": 1})
    fields = {p.field for p in error.value.problems}
    assert {"p0", "looks/2", "alpha", "method", "prior/a", "prior/b", "extra"} <= fields
    with pytest.raises(InvalidInputError) as error:
        SafetyDesign.from_mapping({"p0": 0.2, "looks": [10, 10, 5], "alpha": 0.1, "method": "pocock"})
    assert {p.field for p in error.value.problems} == {"looks/1", "looks/2"}


def test_default_prior_is_beta_1_1_and_is_reported():
    design = SafetyDesign.from_mapping({"p0": 0.2, "looks": [10, 20], "alpha": 0.1, "method": "bayesian", "prior": None})
    assert (design.prior_a, design.prior_b) == (1.0, 1.0)
    assert safety_boundaries(design)["prior"] == {"a": 1.0, "b": 1.0}


ROUTE = "/v1/designs/safety-boundaries"
BODY = {"p0": 0.2, "looks": [10, 20, 30, 40], "alpha": 0.1, "method": "bayesian", "prior": {"a": 0.4, "b": 1.6},
        "rates": [0.2, 0.4]}


def test_route_answers_the_core_result_with_provenance_and_the_same_bytes_twice(client):
    first = client.post(ROUTE, json=BODY)
    second = client.post(ROUTE, json=BODY)
    assert first.status_code == 200, first.text
    assert first.content == second.content
    body = first.json()
    expected = safety_boundaries(SafetyDesign(0.2, (10, 20, 30, 40), 0.1, "bayesian", 0.4, 1.6), rates=[0.2, 0.4])
    assert [row["stop_at"] for row in body["looks"]] == [row["stop_at"] for row in expected["looks"]]
    assert body["constant"] == expected["constant"]
    assert body["provenance"]["method"] == "safety-boundaries/bayesian"
    assert len(body["provenance"]["input_sha256"]) == 64
    other = client.post(ROUTE, json={**BODY, "alpha": 0.05}).json()
    assert other["provenance"]["input_sha256"] != body["provenance"]["input_sha256"]


def test_route_takes_the_safety_defaults_the_protocol_and_the_analysis_take(client):
    from designs.safety.boundaries import SAFETY_DEFAULTS

    bare = {"p0": 0.2, "looks": [10, 20, 30]}
    assert SAFETY_DEFAULTS == {"method": "bayesian", "alpha": 0.10}
    answer = client.post(ROUTE, json=bare)
    assert answer.status_code == 200, answer.text
    assert answer.json() == client.post(ROUTE, json=bare | SAFETY_DEFAULTS).json()


def test_route_422_names_every_bad_field(client):
    bad = {"p0": 1.2, "looks": [10, 20, 600], "alpha": 0.7, "method": "x", "prior": {"a": 0, "b": -1}, "rates": [2]}
    assert_problem(client.post(ROUTE, json=bad), 422, "p0", "looks/2", "alpha", "method", "prior/a", "prior/b", "rates/0")


def test_route_422_for_looks_not_increasing(client):
    assert_problem(client.post(ROUTE, json={**BODY, "looks": [10, 5, 20]}), 422, "looks")


@pytest.mark.parametrize("method", ["pocock", "obrien-fleming"])
def test_a_prior_sent_with_a_method_that_uses_none_is_refused_not_dropped(client, method):
    body = {"p0": 0.2, "looks": [10, 20, 30], "method": method, "prior": {"a": 0.5, "b": 2}}
    problem = assert_problem(client.post("/v1/designs/safety-boundaries", json=body), 422, "prior")
    assert f"the {method} method uses no prior" in problem["errors"][0]["reason"]
