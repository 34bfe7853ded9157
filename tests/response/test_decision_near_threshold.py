"""Issue 14: an MCMC decision within two Monte Carlo SEs of its threshold says so (caveat
``decision-near-threshold``), with the numbers; a decision far from its threshold does not.

The sampler is replaced by constructed draws (independent, so ESS ≈ S and the MCSE of P(p > p0) is the
binomial √(p̂(1 − p̂)/S)), which fixes P(p > p0) exactly where the test needs it."""

from __future__ import annotations

import math

import numpy as np
import pytest

from designs.core.caveats import CODES, Comparison, near_threshold
from designs.engines.pymc.draws import ResponseDraws
from designs.response import analysis
from designs.response.spec import ResponseAnalysisSpec

CHAINS, DRAWS = 4, 1000
S = CHAINS * DRAWS


def constructed_draws(fraction_above: float, p0: float):
    """Draws of p for two strata: a share ``fraction_above`` above p0 (0.5), the rest below (p0 / 3), shuffled."""
    rng = np.random.default_rng(7)
    above = int(round(fraction_above * S))
    column = np.where(np.arange(S) < above, 0.5, p0 / 3)
    p = np.stack([rng.permutation(column), rng.permutation(column)], axis=1)
    report = {"converged": True, "failed_checks": [], "max_rhat": 1.0, "min_ess_bulk": float(S),
              "min_ess_tail": float(S), "divergences": 0, "reruns": 0, "quantities": {}, "constant_quantities": []}
    return ResponseDraws(p=p, tau=np.abs(rng.normal(size=S)), prob_exchangeable=None, theta=np.log(p / (1 - p)),
                         diagnostics=report, sampler={}, mu=rng.normal(size=S), chains=CHAINS)


def run(monkeypatch, fraction_above: float):
    p0 = 0.15
    monkeypatch.setattr(analysis, "sample_response", lambda *args, **kwargs: constructed_draws(fraction_above, p0))
    request = {"p0": p0, "p1": 0.35, "model": {"kind": "hierarchical"}, "engine": "mcmc", "seed": 1,
               "decision": {"final_threshold": 0.90},
               "strata": [{"name": "A", "n": 20, "responders": 6, "n_planned": 20},
                          {"name": "B", "n": 20, "responders": 6, "n_planned": 20}]}
    return analysis.analyse_response(ResponseAnalysisSpec.from_mapping(request))


def near(result):
    return [w for w in result["warnings"] if w["code"] == "decision-near-threshold"]


def test_final_probability_0_905_against_threshold_0_90_is_flagged_with_its_numbers(monkeypatch):
    result = run(monkeypatch, 0.905)
    stratum = result["strata"][0]
    assert stratum["prob_above_p0"] == pytest.approx(0.905)
    mcse = stratum["monte_carlo_se"]["prob_above_p0"]
    assert mcse == pytest.approx(math.sqrt(0.905 * 0.095 / S), rel=0.15)  # independent draws: ESS ≈ S
    assert abs(0.905 - 0.90) < 2 * mcse
    caveats = near(result)
    assert [c["stratum"] for c in caveats] == ["A", "B"]
    text = caveats[0]["message"]
    assert "P(p > 0.15 | data) = 0.905 ±" in text and "threshold 0.9" in text and "'go'" in text
    assert "quadrature" in text


def test_final_probability_0_99_far_from_threshold_0_90_is_not_flagged(monkeypatch):
    result = run(monkeypatch, 0.99)
    assert result["strata"][0]["decision"] == "go"
    assert near(result) == []


def test_only_the_comparisons_up_to_the_criterion_that_fired_count():
    """An interim no-go for futility on P(p > p0) decided; a close call on efficacy_ppos after it did not."""
    comparisons = [Comparison("futility_posterior", "P(p > 0.15 | data)", 0.02, 0.004, 0.10),
                   Comparison("efficacy_predictive", "predictive probability of success", 0.95, 0.01, 0.951)]
    assert near_threshold("A", "no-go", "futility_posterior", comparisons, "") == []
    assert len(near_threshold("A", "continue", "continue", comparisons, "")) == 1


def test_the_code_is_documented():
    assert "decision-near-threshold" in CODES
