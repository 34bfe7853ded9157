"""designs.core.densities: bin averages from a CDF, histograms of draws, 6 significant digits."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, special, stats

from designs.core import densities


def bin_mass(density):
    """The mass of each bin of a recorded density (value × width)."""
    x = densities.edges(density["lower"], density["upper"], density["bins"])
    return np.asarray(density["density"]) * np.diff(x)


def test_beta_density_from_its_cdf_is_the_pdf_averaged_over_each_bin_to_six_digits_in_both_tails():
    a, b = 4.0, 9.0
    recorded = densities.from_cdf(lambda x: special.betainc(a, b, x), 0.0, 1.0, "exact",
                                  sf=lambda x: special.betaincc(a, b, x))
    x = densities.edges(0.0, 1.0, 100)
    averages = [integrate.quad(stats.beta(a, b).pdf, lo, hi, epsabs=1e-13)[0] / (hi - lo) for lo, hi in zip(x[:-1], x[1:])]
    assert recorded["bins"] == 100 and len(recorded["density"]) == 100
    assert (recorded["lower"], recorded["upper"], recorded["method"]) == (0.0, 1.0, "exact")
    np.testing.assert_allclose(recorded["density"], averages, rtol=5e-6, atol=0)
    assert bin_mass(recorded).sum() == pytest.approx(1.0, abs=1e-5)


def test_density_on_part_of_the_range_integrates_to_the_mass_inside():
    recorded = densities.from_cdf(stats.norm.cdf, -1.0, 2.0, "exact", bins=30)
    assert bin_mass(recorded).sum() == pytest.approx(stats.norm.cdf(2.0) - stats.norm.cdf(-1.0), abs=1e-5)


def test_values_are_rounded_to_six_significant_digits():
    assert densities.significant(np.array([1.23456789, 0.000123456789, 98765.4321, 0.0])) == [
        1.23457, 0.000123457, 98765.4, 0.0]
    recorded = densities.from_cdf(lambda x: special.betainc(2.5, 7.5, x), 0.0, 1.0, "exact")
    assert all(float(f"{v:.6g}") == v for v in recorded["density"])


def test_a_cdf_that_dips_by_rounding_gives_zero_mass_not_negative():
    values = np.array([0.0, 0.5, 0.5 - 1e-15, 1.0])
    recorded = densities.from_cdf(lambda x: values, 0.0, 3.0, "exact", bins=3)
    assert recorded["density"] == [0.5, 0.0, 0.5]


def test_histogram_of_draws_is_the_share_per_bin_over_its_width_and_leaves_outside_draws_out():
    draws = np.array([0.05, 0.05, 0.15, 0.35, 1.5])  # 1.5 lies outside [0, 1]
    recorded = densities.from_draws(draws, 0.0, 1.0, "mcmc", bins=10)
    assert recorded["density"] == [4.0, 2.0, 0.0, 2.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    assert bin_mass(recorded).sum() == pytest.approx(0.8)


def test_rounded_up_gives_two_significant_digits_at_or_above():
    assert [densities.rounded_up(v) for v in (2.347, 0.1, 0.0123, 9.99, 1.0, 100.0)] == [2.4, 0.1, 0.013, 10.0, 1.0, 100.0]


def test_half_line_densities_end_at_the_upper_quantile_rounded_up():
    gamma = stats.gamma(2.0, scale=0.4)
    from_cdf = densities.from_cdf_on_half_line(gamma.cdf, gamma.ppf, "exact")
    assert from_cdf["lower"] == 0.0 and from_cdf["upper"] == densities.rounded_up(gamma.ppf(densities.UPPER_QUANTILE))
    assert bin_mass(from_cdf).sum() == pytest.approx(gamma.cdf(from_cdf["upper"]), abs=1e-5)
    draws = gamma.rvs(size=20_000, random_state=np.random.default_rng(3))
    from_draws = densities.from_draws_on_half_line(draws, "mcmc")
    assert from_draws["upper"] >= np.quantile(draws, densities.UPPER_QUANTILE)
    assert bin_mass(from_draws).sum() >= densities.UPPER_QUANTILE
