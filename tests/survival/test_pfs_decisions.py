"""The PFS go / no-go / continue rule: vectorised against explained, and its thresholds checked on construction."""

from __future__ import annotations

import numpy as np
import pytest

from designs.core.decisions import CRITERIA, DECISION_OF_CODE
from designs.core.errors import InvalidInputError
from designs.survival.decisions import Enrolment, PFSDecisionRule, decide_pfs, explain_pfs


def test_pfs_rule_vectorised_agrees_with_explain_and_shares_the_criteria():
    """The PFS rule uses the same codes, criteria and {id, text} shape as the response rule. Strata 0, 5
    and 6 are at their final analysis (all planned patients evaluable: go or no-go); 2 and 4 are mature
    without n_planned (no final analysis: futility or continue); 1 and 3 are short of their plan."""
    rule = PFSDecisionRule(efficacy_prob_above_target=0.8)
    p_b = np.array([0.97, 0.97, 0.05, 0.99, 0.50, 0.50, 0.05])
    p_t = np.array([0.50, 0.50, 0.00, 0.85, 0.50, 0.50, 0.00])
    enrolment = [
        Enrolment(21, 21, 21), Enrolment(20, 21, 21), Enrolment(21, 21), Enrolment(5, 5, 21), Enrolment(21, 21),
        Enrolment(21, 21, 21), Enrolment(21, 21, 21),
    ]  # fmt: skip
    codes, criteria = decide_pfs(rule, p_b, p_t, [e.final for e in enrolment])
    expected = [
        "final_success", "continue", "futility_posterior", "efficacy_posterior", "continue", "final_failure", "final_failure",
    ]  # fmt: skip
    assert [CRITERIA[c] for c in criteria] == expected
    assert [DECISION_OF_CODE[c] for c in codes] == ["go", "continue", "no-go", "go", "continue", "no-go", "no-go"]
    for i in range(len(p_b)):
        one = explain_pfs(rule, p_b[i], p_t[i], enrolment[i], benchmark=0.15, target=0.35, landmark=4.0)
        assert (one.code, one.criterion) == (codes[i], expected[i])
        assert set(one.criterion_dict()) == {"id", "text"}


def test_explain_pfs_says_how_many_planned_patients_are_evaluable_at_the_landmark():
    """The sentence names the condition that held: 3 of 21 planned evaluable (continue), all 21 (final),
    or no n_planned (no final analysis, however mature)."""
    rule = PFSDecisionRule()
    explain = lambda p_b, enrolment: explain_pfs(rule, p_b, 0.5, enrolment, benchmark=0.15, target=0.35, landmark=4.0)  # noqa: E731
    early = explain(0.97, Enrolment(3, 3, 21))
    assert (early.decision, early.criterion) == ("continue", "continue")
    assert "final analysis not reached: 3 of 21 planned patients evaluable at 4 months" in early.text
    final = explain(0.5, Enrolment(21, 21, 21))
    assert (final.decision, final.criterion) == ("no-go", "final_failure")
    assert final.text == "final analysis (21 of 21 planned patients evaluable at 4 months): P(S(4) > 0.15) = 0.500 ≤ 0.95"
    unplanned = explain(0.97, Enrolment(3, 3))
    assert (unplanned.decision, unplanned.criterion) == ("continue", "continue")
    assert "no final analysis without n_planned (3 of 3 enrolled patients evaluable at 4 months)" in unplanned.text


def test_every_threshold_outside_0_1_is_named():
    with pytest.raises(InvalidInputError) as info:
        PFSDecisionRule(final_threshold=1.0, futility_prob_above_benchmark=0.0, efficacy_prob_above_target=True)
    assert [p.field for p in info.value.problems] == [
        "decision/final_threshold",
        "decision/futility_prob_above_benchmark",
        "decision/efficacy_prob_above_target",
    ]


def test_futility_bar_must_lie_below_the_final_threshold():
    """As for the response rule's futility_prob_above_p0: futility at or above the final go bar is refused."""
    assert PFSDecisionRule(final_threshold=0.9, futility_prob_above_benchmark=0.89).final_threshold == 0.9
    assert PFSDecisionRule(final_threshold=0.9, futility_prob_above_benchmark=None).futility_prob_above_benchmark is None
    for futility in (0.9, 0.95):
        with pytest.raises(InvalidInputError) as info:
            PFSDecisionRule(final_threshold=0.9, futility_prob_above_benchmark=futility)
        assert [p.field for p in info.value.problems] == ["decision/futility_prob_above_benchmark"]
        assert "final_threshold (0.9)" in info.value.problems[0].reason
