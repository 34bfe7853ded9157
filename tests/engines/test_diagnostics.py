"""MCMC diagnostics against cases with known answers (independent and AR(1) draws, constants)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from designs.engines import diagnostics


def _iid_normal(seed: int, chains: int = 4, draws: int = 1000, *event_shape: int) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(chains, draws, *event_shape))


def _ar1(seed: int, rho: float, chains: int = 4, draws: int = 2000) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = np.empty((chains, draws))
    x[:, 0] = rng.normal(size=chains)
    noise = rng.normal(size=(chains, draws)) * math.sqrt(1 - rho**2)
    for i in range(1, draws):
        x[:, i] = rho * x[:, i - 1] + noise[:, i]
    return x


def test_independent_draws_have_ess_close_to_the_number_of_draws():
    """For independent draws every ESS estimates S = 4000: bulk and mean ESS within 5% averaged over
    10 seeds; tail ESS (from two quantile indicators, noisier and slightly low) within 10%."""
    bulk = [diagnostics.ess_bulk(_iid_normal(seed)) for seed in range(10)]
    tail = [diagnostics.ess_tail(_iid_normal(seed)) for seed in range(10)]
    mean = [diagnostics.ess_mean(_iid_normal(seed)) for seed in range(10)]
    for ess, tolerance in ((bulk, 0.05), (mean, 0.05), (tail, 0.1)):
        assert np.mean(ess) == pytest.approx(4000, rel=tolerance)
        assert 0.75 * 4000 < min(ess) and max(ess) < 1.25 * 4000


def test_ar1_draws_have_ess_s_times_1_minus_rho_over_1_plus_rho():
    """AR(1) with ρ = 0.5: integrated autocorrelation time (1 + ρ)/(1 − ρ) = 3, ESS = S/3."""
    ess = [diagnostics.ess_bulk(_ar1(seed, 0.5)) for seed in range(10)]
    assert np.mean(ess) == pytest.approx(8000 / 3, rel=0.1)


def test_rhat_is_one_for_mixed_chains_and_large_for_shifted_chains():
    assert diagnostics.rhat(_iid_normal(0)) < 1.01
    shifted = _iid_normal(1) + np.array([0.0, 0.0, 0.0, 2.0])[:, None]
    assert diagnostics.rhat(shifted) > 1.1


def test_rhat_of_one_chain_compares_its_halves():
    """A single chain whose second half drifts away is flagged; a stationary one is not."""
    stationary = _iid_normal(2, chains=1, draws=2000)
    assert diagnostics.rhat(stationary) < 1.01
    drifting = stationary + np.linspace(0.0, 2.0, 2000)[None, :]
    assert diagnostics.rhat(drifting) > 1.1


def test_vectorised_over_event_shape():
    draws = _iid_normal(3, 4, 1000, 2, 3)
    assert np.shape(diagnostics.rhat(draws)) == (2, 3)
    assert np.shape(diagnostics.ess_bulk(draws)) == (2, 3)
    assert np.shape(diagnostics.mcse_of_mean(draws)) == (2, 3)


def test_mcse_of_probability_of_independent_indicators_is_binomial():
    """MCSE of p̂ from S independent 0/1 draws ≈ √(p (1 − p) / S), here within 10%."""
    p, S = 0.3, 4000
    ratios = []
    for seed in range(10):
        indicator = (np.random.default_rng(seed).random((4, S // 4)) < p).astype(float)
        p_hat = indicator.mean()
        ratios.append(diagnostics.mcse_of_probability(indicator) / math.sqrt(p_hat * (1 - p_hat) / S))
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.05)
    assert all(0.9 < r < 1.1 for r in ratios)


def test_mcse_of_probability_grows_with_autocorrelation():
    """Thresholding an AR(1) chain gives correlated indicators: fewer effective draws, larger MCSE."""
    correlated = (_ar1(0, 0.9) > 0).astype(float)
    independent = (_iid_normal(0, 4, 2000) > 0).astype(float)
    assert diagnostics.mcse_of_probability(correlated) > 2 * diagnostics.mcse_of_probability(independent)


def test_mcse_of_probability_is_never_zero_when_all_draws_agree_and_rejects_non_indicators():
    """All 400 draws agree: the error is that of the Jeffreys-smoothed estimate 0.5/401, not 0.

    A true probability of 1e-4 is estimated as 0 from 400 draws most of the time; an MCSE of 0
    would then make the estimate look exact.
    """
    smoothed = 0.5 / 401
    expected = math.sqrt(smoothed * (1 - smoothed) / 400)
    assert diagnostics.mcse_of_probability(np.ones((4, 100))) == pytest.approx(expected)
    assert diagnostics.mcse_of_probability(np.zeros((4, 100))) == pytest.approx(expected)
    assert 4 * diagnostics.mcse_of_probability(np.zeros((4, 100))) > 1e-3
    with pytest.raises(ValueError, match="0 or 1"):
        diagnostics.mcse_of_probability(np.full((4, 100), 0.5))


def test_mcse_of_mean_of_independent_normals_is_sd_over_root_s():
    ratios = [diagnostics.mcse_of_mean(_iid_normal(seed)) / (1 / math.sqrt(4000)) for seed in range(10)]
    assert np.mean(ratios) == pytest.approx(1.0, abs=0.05)


def test_constant_quantities_give_nan_without_warnings_and_are_skipped():
    """A constant has no R-hat or ESS; ArviZ would warn (an error here) and return noise."""
    draws = _iid_normal(4, 4, 200, 2)
    draws[..., 1] = 3.0
    assert np.isnan(diagnostics.rhat(draws)[1]) and np.isfinite(diagnostics.rhat(draws)[0])
    assert np.isnan(diagnostics.ess_bulk(draws)[1])
    report = diagnostics.convergence_summary({"x": draws, "fixed": np.ones((4, 200))}, divergences=0)
    assert report["constant_quantities"] == ["fixed"]
    assert "fixed" not in report["quantities"]


def test_convergence_summary_names_each_failed_check():
    good = {"a": _iid_normal(5)}
    report = diagnostics.convergence_summary(good, divergences=0)
    assert report["converged"] and report["failed_checks"] == []
    assert report["max_rhat"] < 1.01 and report["min_ess_bulk"] > 3000

    short = {"a": _iid_normal(6, 4, 50)}  # S = 200 < 400
    report = diagnostics.convergence_summary(short, divergences=0)
    assert not report["converged"] and report["failed_checks"] == [
        f"min bulk ESS {report['min_ess_bulk']:.0f} (a) < 400"
    ]

    stuck = {"a": _iid_normal(7) + np.array([0.0, 0.0, 0.0, 2.0])[:, None], "b": _iid_normal(8)}
    report = diagnostics.convergence_summary(stuck, divergences=3)
    assert not report["converged"]
    assert report["max_rhat_quantity"] == "a"
    assert len(report["failed_checks"]) == 3
    assert report["divergences"] == 3


def test_draws_must_have_chain_and_draw_axes():
    with pytest.raises(ValueError, match="chain, draw"):
        diagnostics.ess_bulk(np.zeros(10))
