"""Closed-form Beta–binomial posteriors and predictive distributions, checked by brute force."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats

from designs.engines import closed_form
from designs.core.errors import InvalidInputError


def test_posterior_parameters_and_summary_match_scipy():
    a, b = closed_form.posterior_parameters(0.15, 0.85, 3, 12)
    assert (a, b) == (3.15, 9.85)
    post = closed_form.summarise(a, b, (0.15, 0.35))
    assert post.mean == pytest.approx(3.15 / 13.0)
    assert post.median == pytest.approx(stats.beta.median(a, b))
    assert post.ci95 == pytest.approx(stats.beta.interval(0.95, a, b))
    assert post.prob_above[0.35] == pytest.approx(stats.beta.sf(0.35, a, b))


def test_posterior_rejects_impossible_counts():
    with pytest.raises(InvalidInputError):
        closed_form.posterior_parameters(1, 1, 5, 4)


@pytest.mark.parametrize(("m", "a", "b"), [(0, 0.6, 0.4), (1, 2.0, 3.0), (17, 16.6, 7.4), (40, 0.15, 0.85)])
def test_beta_binomial_pmf_against_numerical_integration(m, a, b):
    """P(x) = ∫ Bin(x | m, p) Beta(p | a, b) dp, by adaptive quadrature; the pmf sums to 1."""
    x = np.arange(m + 1)
    pmf = closed_form.beta_binomial_pmf(x, m, a, b)
    assert pmf.sum() == pytest.approx(1.0, abs=1e-12)
    for k in (0, m // 2, m):
        brute = integrate.quad(lambda p, k=k: stats.binom.pmf(k, m, p) * stats.beta.pdf(p, a, b), 0, 1, points=[0.5], limit=200, epsabs=1e-13)[0]
        assert pmf[k] == pytest.approx(brute, rel=1e-7, abs=1e-12)
    np.testing.assert_allclose(pmf, stats.betabinom.pmf(x, m, a, b), rtol=1e-10, atol=1e-300)
    assert closed_form.beta_binomial_pmf(m + 1, m, a, b) == 0.0


def test_final_success_is_monotone_and_strict():
    success = closed_form.final_success(0.15, 0.85, 30, 0.15, 0.95)
    first = int(np.argmax(success))
    assert not success[:first].any() and success[first:].all()
    prob = stats.beta.sf(0.15, 0.15 + first, 0.85 + 30 - first)
    assert prob > 0.95 >= stats.beta.sf(0.15, 0.15 + first - 1, 0.85 + 31 - first)


def test_predictive_probability_vectorised_equals_loop():
    ys = np.arange(13)
    vector = closed_form.predictive_probability_of_success(0.15, 0.85, ys, 12, 30, 0.15, 0.95)
    for y in ys:
        scalar = closed_form.predictive_probability_of_success(0.15, 0.85, int(y), 12, 30, 0.15, 0.95)
        assert vector[y] == pytest.approx(float(scalar), abs=1e-15)
    assert np.all(np.diff(vector) >= -1e-12)
    # At the final analysis the predictive probability is the success indicator.
    final = closed_form.predictive_probability_of_success(0.15, 0.85, ys, 12, 12, 0.15, 0.95)
    np.testing.assert_array_equal(final, closed_form.final_success(0.15, 0.85, 12, 0.15, 0.95).astype(float))
    assert math.isclose(float(final.sum()), float(closed_form.final_success(0.15, 0.85, 12, 0.15, 0.95).sum()))
