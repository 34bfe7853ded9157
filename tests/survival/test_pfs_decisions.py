"""The PFS go / no-go / continue rule: vectorised against explained, and its thresholds checked on construction."""

from __future__ import annotations

import numpy as np
import pytest

from designs.core.decisions import CRITERIA, DECISION_OF_CODE
from designs.core.errors import InvalidInputError
from designs.survival.decisions import PFSDecisionRule, decide_pfs, explain_pfs


def test_pfs_rule_vectorised_agrees_with_explain_and_shares_the_criteria():
    """The PFS rule uses the same codes, criteria and {id, text} shape as the response rule."""
    rule = PFSDecisionRule(efficacy_prob_above_target=0.8)
    p_b = np.array([0.97, 0.97, 0.05, 0.99, 0.50])
    p_t = np.array([0.50, 0.50, 0.00, 0.85, 0.50])
    mature = np.array([True, False, True, False, True])
    codes, criteria = decide_pfs(rule, p_b, p_t, mature)
    expected = ["final_success", "continue", "futility_posterior", "efficacy_posterior", "continue"]
    assert [CRITERIA[c] for c in criteria] == expected
    assert [DECISION_OF_CODE[c] for c in codes] == ["go", "continue", "no-go", "go", "continue"]
    for i in range(len(p_b)):
        one = explain_pfs(rule, p_b[i], p_t[i], mature[i], benchmark=0.15, target=0.35, landmark=4.0)
        assert (one.code, one.criterion) == (codes[i], expected[i])
        assert set(one.criterion_dict()) == {"id", "text"}


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
