"""Go / no-go / continue rules: each criterion, precedence, strictness, vectorisation, validation."""

from __future__ import annotations

import numpy as np
import pytest

from designs.response import decisions as d
from designs.core.errors import InvalidInputError

RULE = d.DecisionRule()


@pytest.mark.parametrize(
    ("n", "planned", "prob", "ppos", "decision", "criterion"),
    [
        (30, 30, 0.97, 1.0, "go", "final_success"),
        (30, 30, 0.95, 1.0, "no-go", "final_failure"),  # strict: 0.95 is not > 0.95
        (30, 30, 0.40, 0.0, "no-go", "final_failure"),
        (12, 30, 0.80, 0.03, "no-go", "futility_predictive"),
        (12, 30, 0.80, 0.05, "continue", "continue"),  # strict: 0.05 is not < 0.05
        (12, 30, 0.99, 0.96, "go", "efficacy_predictive"),
        (12, 30, 0.99, 0.95, "continue", "continue"),
        (12, 30, 0.70, 0.50, "continue", "continue"),
    ],
)
def test_each_criterion(n, planned, prob, ppos, decision, criterion):
    result = d.explain(RULE, n, planned, prob, ppos, 0.15)
    assert (result.decision, result.criterion) == (decision, criterion)
    assert f"n = {n} of {planned}" in result.text


def test_futility_on_the_posterior_probability_comes_first():
    rule = d.DecisionRule(futility_prob_above_p0=0.3)
    assert d.explain(rule, 10, 30, 0.2, 0.97, 0.15).criterion == "futility_posterior"
    assert d.explain(rule, 10, 30, 0.4, 0.97, 0.15).criterion == "efficacy_predictive"
    # At the final analysis only the final criterion applies.
    assert d.explain(rule, 30, 30, 0.2, 0.0, 0.15).criterion == "final_failure"


def test_efficacy_disabled():
    rule = d.DecisionRule(efficacy_ppos=None)
    assert d.explain(rule, 10, 30, 0.999, 0.999, 0.15).decision == "continue"


def test_sentence_quotes_the_numbers():
    text = d.explain(RULE, 12, 30, 0.81, 0.0312, 0.15).text
    assert "0.031 < 0.05" in text and "futility" in text
    text = d.explain(RULE, 30, 30, 0.9997, 1.0, 0.15).text
    assert "P(p > 0.15 | data) = 0.9997 > 0.95" in text


def test_vectorised_decide_agrees_with_explain():
    rng = np.random.default_rng(0)
    n = rng.integers(0, 31, size=500)
    prob, ppos = rng.random(500), rng.random(500)
    rule = d.DecisionRule(futility_prob_above_p0=0.2)
    codes, criteria = d.decide(rule, n, 30, prob, ppos)
    for i in range(0, 500, 7):
        one = d.explain(rule, int(n[i]), 30, prob[i], ppos[i], 0.15)
        assert one.code == codes[i] and one.criterion == d.CRITERIA[criteria[i]]
        assert d.DECISION_OF_CODE[codes[i]] == one.decision


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"final_threshold": 1.0}, "decision/final_threshold"),
        ({"final_threshold": 0.0}, "decision/final_threshold"),
        ({"futility_ppos": -0.1}, "decision/futility_ppos"),
        ({"efficacy_ppos": 0.0}, "decision/efficacy_ppos"),
        ({"futility_ppos": 0.5, "efficacy_ppos": 0.4}, "decision/efficacy_ppos"),
        ({"futility_prob_above_p0": 1.2}, "decision/futility_prob_above_p0"),
        ({"futility_prob_above_p0": 0.95}, "decision/futility_prob_above_p0"),
        ({"final_threshold": True}, "decision/final_threshold"),
        ({"surprise": 1}, "decision/surprise"),
    ],
)
def test_validation_names_the_field(values, field):
    with pytest.raises(InvalidInputError) as info:
        d.DecisionRule.from_mapping(values)
    assert field in {p.field for p in info.value.problems}


def test_as_dict_round_trips():
    rule = d.DecisionRule(final_threshold=0.9, futility_ppos=0.1, efficacy_ppos=None, futility_prob_above_p0=0.2)
    assert d.DecisionRule.from_mapping(rule.as_dict()) == rule


def test_futility_bar_must_lie_below_the_final_threshold():
    """An interim no-go bar at or above the final go bar would stop strata the final analysis calls a success."""
    assert d.DecisionRule(final_threshold=0.9, futility_prob_above_p0=0.89).futility_prob_above_p0 == 0.89
    for futility in (0.9, 0.95):
        with pytest.raises(InvalidInputError) as info:
            d.DecisionRule(final_threshold=0.9, futility_prob_above_p0=futility)
        assert [p.field for p in info.value.problems] == ["decision/futility_prob_above_p0"]
        assert "final_threshold (0.9)" in info.value.problems[0].reason
