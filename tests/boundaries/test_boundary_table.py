"""designs.boundaries.boundary_table: exact values against brute force over every count."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from designs.boundaries import DecisionRow, boundary_table, expected_counts
from designs.core.decisions import CONTINUE, EARLY_GO, FINAL_GO, FINAL_NO_GO, FUTILITY
from designs.core.errors import InvalidInputError
from designs.oc import BayesianDecider, OCDesign, SimonStoppingRule, StratumPlan
from designs.response import spec
from designs.response.decisions import DecisionRule

MPNST = (StratumPlan("NF1", (7, 14, 21)), StratumPlan("sporadic", (7, 14, 21)))


def design(kind: str, p0: float = 0.15, strata=MPNST, rule: DecisionRule | None = None) -> OCDesign:
    return OCDesign(p0, p0 + 0.2, strata, rule or DecisionRule(), spec.resolve(kind, None, p0))


def brute_force_independent(a: float, b: float, p0: float, n: int, final_n: int, rule: DecisionRule, y: int):
    """(decision, P(p > p0), PPoS) of one count under a Beta(a, b) prior, straight from scipy."""
    prob = float(stats.beta.sf(p0, a + y, b + n - y))
    if n == final_n:
        return ("go" if prob > rule.final_threshold else "no-go"), prob, None
    m = final_n - n
    future = np.arange(m + 1)
    weights = stats.betabinom.pmf(future, m, a + y, b + n - y)
    success = stats.beta.sf(p0, a + y + future, b + final_n - y - future) > rule.final_threshold
    ppos = float(weights @ success)
    if rule.futility_prob_above_p0 is not None and prob < rule.futility_prob_above_p0:
        return "no-go", prob, ppos
    if rule.futility_ppos is not None and ppos < rule.futility_ppos:
        return "no-go", prob, ppos
    if rule.efficacy_ppos is not None and ppos > rule.efficacy_ppos:
        return "go", prob, ppos
    return "continue", prob, ppos


@pytest.mark.parametrize("rule", [DecisionRule(), DecisionRule(0.9, 0.1, None, 0.2), DecisionRule(0.975, 0.0, 0.9, None)])
def test_independent_table_equals_brute_force_over_every_count(rule):
    d = design("independent", rule=rule)
    a, b = float(d.model.prior.a), float(d.model.prior.b)
    table = boundary_table(d)
    assert table["method"] == "closed-form" and table["conditioning"] is None
    for stratum in table["strata"]:
        assert stratum["coupled"] is False and stratum["two_way"] is None
        for look in stratum["looks"]:
            expected = [brute_force_independent(a, b, d.p0, look["n"], 21, rule, y) for y in range(look["n"] + 1)]
            assert look["decisions"] == [e[0] for e in expected]
            assert look["conditional_on"] is None
            for key in ("no_go_max", "go_min"):
                at = look["at_boundaries"][key]
                if look[key] is None:
                    assert at is None
                    continue
                _, prob, ppos = expected[look[key]]
                assert at["responders"] == look[key]
                assert at["prob_above_p0"] == pytest.approx(prob, rel=1e-9)
                if look["final"]:
                    assert at["predictive_probability_of_success"] is None
                else:
                    assert at["predictive_probability_of_success"] == pytest.approx(ppos, abs=1e-9)


@pytest.mark.parametrize(("p0", "theta", "n"), [(0.15, 0.95, 21), (0.05, 0.9, 12), (0.3, 0.975, 40), (0.2, 0.8, 1), (0.1, 0.99, 60)])
def test_final_go_boundary_is_smallest_count_with_posterior_above_theta(p0, theta, n):
    """At the final look, go_min = min{y : P(p > p0 | y, n) > θ} (closed form, Beta prior)."""
    d = design("independent", p0, (StratumPlan("A", (n,)),), DecisionRule(final_threshold=theta))
    a, b = float(d.model.prior.a), float(d.model.prior.b)
    above = [y for y in range(n + 1) if stats.beta.sf(p0, a + y, b + n - y) > theta]
    (look,) = boundary_table(d)["strata"][0]["looks"]
    assert look["final"] is True
    assert look["go_min"] == (above[0] if above else None)
    assert look["no_go_max"] == (above[0] - 1 if above else n)
    assert look["continue"] is None and look["monotone"] is True


def test_simon_rule_rows_equal_r1_and_r():
    """Simon's 0/7 -> 2/21 applied as the rule: no-go at ≤ r1 after n1, go at ≥ r + 1 at n."""
    d = OCDesign(0.05, 0.25, MPNST[:1] and (StratumPlan("NF1", (7, 21)),), SimonStoppingRule(r1=0, r=2))
    (stratum,) = boundary_table(d)["strata"]
    first, final = stratum["looks"]
    assert (first["no_go_max"], first["go_min"], first["continue"]) == (0, None, [1, 7])
    assert (final["no_go_max"], final["go_min"], final["continue"]) == (2, 3, None)
    assert stratum["simon"] == {
        "r1": 0, "n1": 7, "r": 2, "n": 21,
        "looks": [{"n": 7, "no_go_max": 0, "go_min": None, "continue": [1, 7]},
                  {"n": 21, "no_go_max": 2, "go_min": 3, "continue": None}],
    }
    assert first["at_boundaries"]["no_go_max"]["prob_above_p0"] is None


def test_simon_design_shown_beside_a_bayesian_rule():
    table = boundary_table(design("independent"), simon={"r1": 1, "n1": 7, "r": 4, "n": 21})
    assert all(s["simon"]["looks"][1]["go_min"] == 5 for s in table["strata"])


def test_pooled_rows_are_decided_on_the_total():
    """Pooled: stratum NF1's row at look k, sporadic at its conditioning count c_k, equals the one-stratum
    design of n = 2 n_k with the total as count (shifted by c_k)."""
    d = design("pooled")
    table = boundary_table(d)
    counts = table["conditioning"]["counts"]["sporadic"]
    assert counts == list(expected_counts(0.15, (7, 14, 21))) == [1, 2, 3]
    one = boundary_table(design("pooled", strata=(StratumPlan("all", (14, 28, 42)),)))["strata"][0]["looks"]
    for look, single, c in zip(table["strata"][0]["looks"], one, counts, strict=True):
        assert look["conditional_on"] == {"sporadic": c}
        assert look["decisions"] == single["decisions"][c : c + look["n"] + 1]
    assert [w["code"] for w in table["warnings"]] == ["pooled-model"]


def test_hierarchical_two_way_rows_equal_the_deciders_decision_for_every_tuple():
    d = design("hierarchical")
    table = boundary_table(d)
    decider = BayesianDecider(d)
    assert table["method"] == "quadrature"
    word = {CONTINUE: "continue", FUTILITY: "no-go", EARLY_GO: "go", FINAL_GO: "go", FINAL_NO_GO: "no-go"}
    for j, stratum in enumerate(table["strata"]):
        assert stratum["coupled"] is True
        for look, two_way in zip(stratum["looks"], stratum["two_way"], strict=True):
            k, n = look["analysis"], look["n"]
            y = np.array(list(itertools.product(range(n + 1), repeat=2)))
            codes = decider.decide(k, (k, k), y)[:, j].reshape(n + 1, n + 1)  # [y0, y1]
            mine = codes if j == 1 else codes.T  # rows: the other stratum's count
            for y_other, row in enumerate(two_way["rows"]):
                expected = DecisionRow.of_codes(mine[y_other])
                assert row["other_responders"] == y_other
                assert (row["no_go_max"], row["go_min"], row["monotone"]) == (expected.no_go_max, expected.go_min, expected.monotone)
            c = look["conditional_on"][two_way["other"]]
            assert look["decisions"] == [word[int(v)] for v in mine[c]]


def test_coupled_rows_with_three_strata_are_conditional_on_the_stated_counts():
    strata = (StratumPlan("A", (5, 10)), StratumPlan("B", (5, 10)), StratumPlan("C", (10,)))
    d = design("hierarchical", 0.2, strata)
    table = boundary_table(d, conditional={"B": [5, 10]})
    assert table["conditioning"]["counts"] == {"A": [1, 2], "B": [5, 10], "C": [2]}
    a = table["strata"][0]
    assert a["two_way"] is None
    assert [look["conditional_on"] for look in a["looks"]] == [{"B": 5, "C": 2}, {"B": 10, "C": 2}]
    decider = BayesianDecider(d)
    for k, look in enumerate(a["looks"]):
        y = np.array([[v, (5, 10)[k], 2] for v in range(look["n"] + 1)])
        codes = decider.decide(k, (k, k, 0), y)[:, 0]
        assert look["decisions"] == list(DecisionRow.of_codes(codes).decisions)
    # Borrowing from a stratum full of responders lowers A's go boundary against the default counts.
    default = boundary_table(d)["strata"][0]["looks"][-1]["go_min"]
    assert a["looks"][-1]["go_min"] <= default


def test_every_bad_conditional_entry_is_named_at_once():
    with pytest.raises(InvalidInputError) as error:
        boundary_table(design("hierarchical"), conditional={"nope": [1, 2, 3], "NF1": [1, 2], "sporadic": [8, 2, 22]})
    fields = {p.field for p in error.value.problems}
    assert fields == {"conditional/nope", "conditional/NF1", "conditional/sporadic/0", "conditional/sporadic/2"}


def test_a_bayesian_rule_without_a_model_and_bad_looks_are_named_together():
    bad = OCDesign(0.15, 0.35, (StratumPlan("A", (7, 7)),), DecisionRule(), None)
    with pytest.raises(InvalidInputError) as error:
        boundary_table(bad)
    assert {p.field for p in error.value.problems} == {"model", "strata/0/looks"}


def test_tables_beyond_the_predictive_enumeration_limit_are_refused():
    strata = tuple(StratumPlan(name, (50, 100)) for name in "ABC")
    with pytest.raises(InvalidInputError) as error:
        boundary_table(design("hierarchical", 0.2, strata))
    assert error.value.problems[0].field == "strata" and "limit" in error.value.problems[0].reason


def test_non_monotone_decisions_are_reported_with_the_counts_that_break_the_order():
    from designs.core.decisions import CONTINUE as C, FINAL_GO as G, FUTILITY as F

    row = DecisionRow.of_codes(np.array([F, F, C, F, C, G, C, G], dtype=np.int8))
    assert (row.no_go_max, row.go_min, row.continue_range, row.monotone) == (3, 5, (2, 6), False)
    assert "y = 3 (no-go)" in row.note and "y = 6 (continue)" in row.note
    assert DecisionRow.of_codes(np.array([F, C, G], dtype=np.int8)).note is None


@settings(max_examples=40, deadline=None)
@given(
    p0=st.sampled_from([0.05, 0.1, 0.2, 0.3, 0.5]),
    looks=st.lists(st.integers(1, 40), min_size=1, max_size=3, unique=True).map(sorted),
    theta=st.sampled_from([0.8, 0.9, 0.95, 0.99]),
    futility=st.sampled_from([0.0, 0.05, 0.2]),
    efficacy=st.sampled_from([None, 0.9, 0.99]),
    floor=st.sampled_from([None, 0.05, 0.3]),
)
def test_independent_rules_are_monotone_over_a_grid_of_settings(p0, looks, theta, futility, efficacy, floor):
    if floor is not None and floor >= theta:
        floor = None
    rule = DecisionRule(theta, futility, efficacy, floor)
    table = boundary_table(design("independent", p0, (StratumPlan("A", tuple(looks)),), rule))
    for look in table["strata"][0]["looks"]:
        assert look["monotone"] and look["note"] is None
        ranks = [{"no-go": 0, "continue": 1, "go": 2}[d] for d in look["decisions"]]
        assert ranks == sorted(ranks)


def test_same_design_same_bytes():
    from designs.core.provenance import canonical_json

    d = design("exnex")
    assert canonical_json(boundary_table(d)) == canonical_json(boundary_table(d))


def test_hierarchical_boundary_probabilities_equal_the_response_analysis_at_those_counts():
    """At each boundary count the table quotes what POST /v1/analyses/response (quadrature) answers for
    the same data, and the analysis's decision is the table's."""
    from designs.response.analysis import analyse_response
    from designs.response.spec import ResponseAnalysisSpec

    table = boundary_table(design("hierarchical"))
    checked = 0
    for look in table["strata"][0]["looks"]:
        for at in filter(None, look["at_boundaries"].values()):
            other = look["conditional_on"]["sporadic"]
            result = analyse_response(ResponseAnalysisSpec.from_mapping({
                "p0": 0.15, "p1": 0.35, "engine": "quadrature", "model": {"kind": "hierarchical"},
                "strata": [{"name": "NF1", "n": look["n"], "responders": at["responders"], "n_planned": 21},
                           {"name": "sporadic", "n": look["n"], "responders": other, "n_planned": 21}],
            }))["strata"][0]
            assert at["prob_above_p0"] == pytest.approx(result["prob_above_p0"], abs=1e-12)
            if not look["final"]:
                assert at["predictive_probability_of_success"] == pytest.approx(result["predictive_probability_of_success"], abs=1e-12)
            assert result["decision"] == look["decisions"][at["responders"]]
            checked += 1
    assert checked == 6
