"""PFS model pieces: benchmark conversions, sufficient statistics, exact Gamma posterior, functionals.

Maximum-likelihood hazards on the Freireich et al. (1963) 6-MP leukaemia remission data (Gehan 1965;
bundled with lifelines as ``load_leukemia``): 6-MP 9 relapses in 359 weeks → 0.02507/week, placebo 21
in 182 weeks → 0.1154/week (e.g. Collett 2015, Modelling Survival Data in Medical Research, §5.1;
Lawless 2003, Example 1.1.7).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import ExponentialFitter, PiecewiseExponentialFitter
from lifelines.datasets import load_leukemia
from scipy import integrate, stats

from designs.survival.models import (
    LN2,
    Benchmark,
    GammaHazardPosterior,
    GammaHazardPrior,
    HierarchicalHazardPrior,
    default_prior,
    exponential_hazard_from_landmark,
    exponential_landmark_from_median,
    exponential_median,
    exponential_sufficient_stats,
    exponential_survival,
    hazard_ratio_to_benchmark,
    interval_exposure,
    piecewise_median,
    piecewise_sufficient_stats,
    piecewise_survival,
    weibull_median,
    weibull_survival,
)


@pytest.fixture(scope="module")
def leukemia():
    df = load_leukemia()
    return df["t"].to_numpy(dtype=float), df["status"].to_numpy().astype(bool), df["Rx"].to_numpy(dtype=int)


# --- benchmark conventions -------------------------------------------------------------------


def test_exponential_with_historical_median_1_77_has_4_month_pfs_0_2090_not_0_15():
    """S(4) = 2^(−4/1.77) = 0.2088: the median and landmark conventions are not interchangeable."""
    assert exponential_landmark_from_median(1.77, 4.0) == pytest.approx(0.2088, abs=5e-5)
    assert exponential_landmark_from_median(1.77, 4.0) == pytest.approx(2 ** (-4 / 1.77), rel=1e-14)


def test_benchmark_4_month_pfs_0_15_implies_hazard_and_median():
    """S(4) = 0.15 ↔ λ = −ln 0.15 / 4 = 0.4743/month ↔ median ln 2 / λ = 1.4615 months."""
    benchmark = Benchmark(landmark_months=4.0, landmark_pfs=0.15)
    assert benchmark.hazard_per_month == pytest.approx(-math.log(0.15) / 4, rel=1e-14)
    assert benchmark.hazard_per_month == pytest.approx(0.47428, abs=5e-6)
    assert benchmark.median_months == pytest.approx(1.4615, abs=5e-5)
    assert exponential_survival(benchmark.hazard_per_month, 4.0) == pytest.approx(0.15, rel=1e-14)
    d = benchmark.to_dict()
    assert d["implied_exponential_median_months"] == pytest.approx(benchmark.median_months)


@given(st.floats(0.01, 0.99), st.floats(0.1, 48))
def test_landmark_hazard_median_round_trip(s, t):
    hazard = exponential_hazard_from_landmark(s, t)
    median = exponential_median(hazard)
    assert LN2 / median == pytest.approx(hazard, rel=1e-12)
    assert exponential_landmark_from_median(median, t) == pytest.approx(s, rel=1e-12)


# --- priors ----------------------------------------------------------------------------------


def test_default_gamma_prior_is_one_pseudo_event_centred_on_1_77_months():
    prior = GammaHazardPrior()
    assert (prior.shape, prior.rate) == (1.0, pytest.approx(1.77 / LN2))
    assert GammaHazardPrior(shape=2.0).rate == pytest.approx(2 * 1.77 / LN2)
    assert GammaHazardPrior(shape=2.0, rate=3.0).rate == 3.0


def test_default_hierarchical_priors_per_kind():
    expo = default_prior("hierarchical-exponential")
    assert expo.as_mapping() == {"mu_mean": pytest.approx(math.log(LN2 / 3)), "mu_sd": 1.5, "tau_scale": 1.0}
    assert default_prior("hierarchical-weibull").as_mapping()["shape_log_sd"] == 0.5
    assert default_prior("hierarchical-piecewise-exponential").as_mapping()["cut_points"] == [0, 2, 4, 6, 12]
    assert isinstance(default_prior("independent-exponential"), GammaHazardPrior)
    assert HierarchicalHazardPrior(mu_sd=2).mu_sd == 2
    with pytest.raises(ValueError):
        default_prior("cox")


# --- maximum likelihood on the 6-MP data -----------------------------------------------------


def test_freireich_1963_exponential_mle_hazards_0_02507_and_0_1154(leukemia):
    """d/T: 6-MP 9/359 = 0.02507 per week, placebo 21/182 = 0.1154 per week."""
    time, event, rx = leukemia
    events, exposure = exponential_sufficient_stats(time, event, rx, 2)
    np.testing.assert_array_equal(events, [9, 21])
    np.testing.assert_array_equal(exposure, [359, 182])
    mle = events / exposure
    assert mle == pytest.approx([0.02507, 0.1154], abs=5e-5)
    for j in (0, 1):
        fitter = ExponentialFitter().fit(time[rx == j], event[rx == j])
        assert 1 / fitter.lambda_ == pytest.approx(mle[j], rel=1e-5)  # lifelines' λ is the mean time


def test_piecewise_mle_hazards_match_lifelines(leukemia):
    """Per-interval d_k/T_k is the piecewise-exponential MLE (breakpoints off the event times)."""
    time, event, rx = leukemia
    cuts = np.array([0.0, 8.5, 18.5])
    events, exposure = piecewise_sufficient_stats(time, event, rx, 2, cuts)
    for j in (0, 1):
        fitter = PiecewiseExponentialFitter(breakpoints=cuts[1:]).fit(time[rx == j], event[rx == j])
        np.testing.assert_allclose(exposure[j] / events[j], fitter.params_.to_numpy(), rtol=1e-5)
    np.testing.assert_array_equal(events.sum(axis=1), [9, 21])
    np.testing.assert_allclose(exposure.sum(axis=1), [359, 182])


def test_event_on_a_cut_point_belongs_to_the_interval_that_ends_there():
    events, exposure = piecewise_sufficient_stats(np.array([2.0, 0.0]), np.array([True, True]), np.zeros(2, int), 1, [0, 2, 4])
    np.testing.assert_array_equal(events, [[2, 0, 0]])
    np.testing.assert_array_equal(exposure, [[2, 0, 0]])


def test_interval_exposure():
    np.testing.assert_allclose(interval_exposure(np.array([5.0, 13.0]), [0, 2, 4, 6, 12]), [[2, 2, 1, 0, 0], [2, 2, 2, 6, 1]])


# --- functionals -----------------------------------------------------------------------------


def test_piecewise_and_weibull_reduce_to_exponential():
    cuts = np.array([0.0, 2.0, 4.0, 6.0, 12.0])
    hazards = np.full((3, 5), 0.3)
    np.testing.assert_allclose(piecewise_survival(hazards, cuts, 4.0), np.exp(-1.2))
    np.testing.assert_allclose(piecewise_median(hazards, cuts), LN2 / 0.3)
    np.testing.assert_allclose(weibull_survival(0.3, 1.0, 4.0), np.exp(-1.2))
    np.testing.assert_allclose(weibull_median(0.3, 1.0), LN2 / 0.3)


def test_piecewise_median_by_hand():
    """λ = (0.1, 0.5) on [0, 2), [2, ∞): H(2) = 0.2, so the median is 2 + (ln 2 − 0.2) / 0.5."""
    median = piecewise_median(np.array([[0.1, 0.5], [0.5, 0.1]]), np.array([0.0, 2.0]))
    np.testing.assert_allclose(median, [2 + (LN2 - 0.2) / 0.5, LN2 / 0.5])
    for m, h in zip(median, [[0.1, 0.5], [0.5, 0.1]]):
        assert piecewise_survival(np.array(h), np.array([0.0, 2.0]), m) == pytest.approx(0.5)


def test_weibull_median_solves_s_equals_half():
    rate, shape = np.array([0.2, 0.05]), np.array([1.5, 0.7])
    medians = weibull_median(rate, shape)
    np.testing.assert_allclose([weibull_survival(r, k, m) for r, k, m in zip(rate, shape, medians)], 0.5)


def test_hazard_ratio_to_benchmark_is_exact_for_exponential():
    benchmark = Benchmark(4.0, 0.15)
    hazards = np.array([0.1, 0.47428, 1.0])
    hr = hazard_ratio_to_benchmark(exponential_survival(hazards, 4.0), benchmark)
    np.testing.assert_allclose(hr, hazards / benchmark.hazard_per_month, rtol=1e-12)


# --- exact Gamma posterior vs numerical integration ------------------------------------------


def _gamma_pdf(a, b):
    return lambda lam: stats.gamma.pdf(lam, a, scale=1 / b)


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 30), st.floats(0.5, 200), st.floats(0.2, 5), st.floats(0.05, 0.9), st.floats(1, 12))
def test_gamma_posterior_probabilities_match_numerical_integration(d, exposure, shape, s0, landmark):
    """P(S(t) > s0) = ∫_0^{−ln s0 / t} Gamma(λ; a + d, b + T) dλ; E S(t) = ∫ e^{−λt} Gamma(λ) dλ."""
    prior = GammaHazardPrior(shape=shape)
    post = GammaHazardPosterior.update(prior, np.array([d]), np.array([exposure]))
    a, b = shape + d, prior.rate + exposure
    pdf = _gamma_pdf(a, b)
    edge = -math.log(s0) / landmark
    mode = max(a - 1, 0) / b
    prob, _ = integrate.quad(pdf, 0, edge, points=[mode] if mode < edge else None, epsabs=1e-12, limit=200)
    assert post.prob_landmark_above(s0, landmark)[0] == pytest.approx(prob, abs=1e-8)
    mean, _ = integrate.quad(lambda lam: math.exp(-lam * landmark) * pdf(lam), 0, np.inf, epsabs=1e-12, limit=200)
    assert post.landmark_mean(landmark)[0] == pytest.approx(mean, abs=1e-8)


def test_gamma_posterior_quantiles_of_functionals():
    """Quantiles of S(t) are a monotone (decreasing) transform of the hazard's quantiles."""
    post = GammaHazardPosterior.update(GammaHazardPrior(), np.array([9.0, 21.0]), np.array([359.0, 182.0]))
    for q in (0.025, 0.5, 0.975):
        s_q = post.landmark_quantile(q, 4.0)
        assert post.prob_landmark_above(s_q[0], 4.0)[0] == pytest.approx(1 - q, abs=1e-10)


def test_gamma_posterior_draws_agree_with_closed_form():
    post = GammaHazardPosterior.update(GammaHazardPrior(), np.array([3.0]), np.array([20.0]))
    draws = post.draws(200_000, np.random.default_rng(1))
    assert draws.mean() == pytest.approx(post.shape[0] / post.rate[0], rel=0.01)


def test_gamma_posterior_with_vanishing_prior_is_centred_on_the_mle(leukemia):
    time, event, rx = leukemia
    events, exposure = exponential_sufficient_stats(time, event, rx, 2)
    post = GammaHazardPosterior.update(GammaHazardPrior(shape=1e-9, rate=1e-9), events, exposure)
    np.testing.assert_allclose(post.shape / post.rate, [9 / 359, 21 / 182], rtol=1e-8)
