"""Posterior densities in the PFS analysis (issue 12): the landmark PFS rate S(L) per stratum and the
between-stratum spread τ; every number the analysis gave before is unchanged."""

from __future__ import annotations

import hashlib
import math

import numpy as np
import pytest
from scipy import integrate, stats

from designs.core import densities
from designs.core.provenance import canonical_json
from designs.engines import pymc as pymc_engine
from designs.engines.quadrature import ExposureLikelihood, NormalHierarchy, QuadratureEngine
from designs.survival.analysis import LandmarkTransform, analyse_pfs
from designs.survival.models import GammaHazardPrior
from designs.survival.spec import PFSAnalysisSpec
from tests.core.density_checks import bin_mass, mass_above

ROWS = [("NF1-associated", 1.0 + 0.5 * i, i % 3 != 0) for i in range(10)] + [
    ("sporadic", 2.0 + 0.7 * i, i % 2 == 0) for i in range(9)]
PATIENTS = [{"id": f"P{i}", "stratum": s, "time_months": t, "event": e} for i, (s, t, e) in enumerate(ROWS)]
HIERARCHICAL = {"model": {"kind": "hierarchical-exponential"}, "engine": "quadrature"}


def run(**changes):
    body = {"patients": PATIENTS, "strata": ["NF1-associated", "sporadic"], "benchmark_landmark_pfs": 0.15,
            "target_landmark_pfs": 0.35, "model": {"kind": "independent-exponential"}, "seed": 1}
    body.update(changes)
    return analyse_pfs(PFSAnalysisSpec.from_mapping(body))


ADDED_KEYS = {"density", "ci_level", "scale"}  # issue 14 added each interval's level and τ's scale


def without_densities(value):
    if isinstance(value, dict):
        return {k: without_densities(v) for k, v in value.items() if k not in ADDED_KEYS}
    if isinstance(value, list):
        return [without_densities(v) for v in value]
    return value


# SHA-256 of the canonical JSON of each result (provenance/software left out), recorded from main
# (aa5098e) before the densities were added.
BEFORE = {
    "closed-form": ({}, "b9dd6c5e0439a8b43fb2e7093f6d19f331026a2798f3be1139de13bdca0f52d6"),
    "hierarchical-quadrature": (HIERARCHICAL, "4a28bad2979280a9ecafe08ab7c02d0dccf241dfd5c2d1c0a44cb4e6fbd4f090"),
}


@pytest.mark.parametrize("case", sorted(BEFORE))
def test_existing_fields_are_byte_identical_to_those_before_the_densities(case):
    changes, digest = BEFORE[case]
    result = run(**changes)
    result["provenance"].pop("software")
    assert hashlib.sha256(canonical_json(without_densities(result)).encode()).hexdigest() == digest


def test_closed_form_landmark_density_is_the_exact_bin_average_of_the_density_of_exp_minus_lambda_l():
    """λ ~ Gamma(a + d, b + T) ⇒ S = e^{−λL} has density f_λ(−ln s / L) / (L s); each bin by quad."""
    result = run()
    prior = GammaHazardPrior()
    x = densities.edges(0.0, 1.0, 100)
    for stratum in result["strata"]:
        gamma = stats.gamma(prior.shape + stratum["events"], scale=1.0 / (prior.rate + stratum["person_months"]))

        def pdf(s, gamma=gamma):
            return gamma.pdf(-math.log(s) / 4.0) / (4.0 * s)

        averages = [integrate.quad(pdf, lo, hi, epsabs=0, epsrel=1e-12)[0] / (hi - lo) if lo > 0
                    else gamma.sf(-math.log(hi) / 4.0) / (hi - lo) for lo, hi in zip(x[:-1], x[1:])]
        recorded = stratum["posterior"]["landmark_pfs"]["density"]
        assert recorded["method"].startswith("exact")
        np.testing.assert_allclose(recorded["density"], averages, rtol=5e-6, atol=1e-200)
    assert result["between_stratum_spread"] is None


@pytest.mark.parametrize("changes", [{}, HIERARCHICAL], ids=["closed-form", "quadrature"])
def test_landmark_density_integrates_to_one_holds_the_mean_and_the_probabilities_above_benchmark_and_target(changes):
    for stratum in run(**changes)["strata"]:
        landmark = stratum["posterior"]["landmark_pfs"]
        density = landmark["density"]
        assert bin_mass(density).sum() == pytest.approx(1.0, abs=1e-5)
        x = densities.edges(0.0, 1.0, 100)
        assert float((bin_mass(density) * (x[:-1] + x[1:]) / 2).sum()) == pytest.approx(landmark["mean"], abs=1e-3)
        assert mass_above(density, 0.15) == pytest.approx(stratum["prob_landmark_above_benchmark"], abs=2e-5)
        assert mass_above(density, 0.35) == pytest.approx(stratum["prob_landmark_above_target"], abs=2e-5)


def test_quadrature_landmark_density_with_tau_fixed_and_one_stratum_agrees_with_brute_force():
    """Engine level: τ fixed at 0.3, μ ~ N(−1.5, 1): θ = log λ ~ N(−1.5, 1.09), likelihood e^{dθ − e^θ T};
    the posterior CDF of θ by a fine trapezoid rule, read at θ(s) = log(−ln s / L) for each bin edge s."""
    d, T, L = 6.0, 25.0, 4.0
    hierarchy = NormalHierarchy(-1.5, 1.0, 1.0, fixed_tau=0.3)
    likelihood = ExposureLikelihood(d, T)
    post = QuadratureEngine.for_likelihoods(hierarchy, [likelihood]).analyse([likelihood], transform=LandmarkTransform(L))
    marginal = post.strata[0].marginal
    recorded = densities.from_cdf(lambda s: marginal.parameter_cdf(s, LandmarkTransform(L)), 0.0, 1.0, "quadrature")

    theta = np.linspace(-12.0, 6.0, 400_001)
    log_f = d * theta - np.exp(theta) * T + stats.norm(-1.5, math.sqrt(1.09)).logpdf(theta)
    f = np.exp(log_f - log_f.max())
    cdf = integrate.cumulative_trapezoid(f, theta, initial=0.0)
    cdf /= cdf[-1]
    s = densities.edges(0.0, 1.0, 100)[1:-1]
    below = 1.0 - np.interp(np.log(-np.log(s) / L), theta, cdf)  # P(S ≤ s) = P(θ ≥ θ(s))
    expected = np.diff(np.concatenate([[0.0], below, [1.0]])) / 0.01
    np.testing.assert_allclose(recorded["density"], expected, rtol=1e-4, atol=1e-6 * expected.max())


def test_between_stratum_spread_density_holds_taus_reported_quantiles():
    spread = run(**HIERARCHICAL)["between_stratum_spread"]
    tau = spread["density"]
    x = densities.edges(tau["lower"], tau["upper"], tau["bins"])
    cumulative = np.concatenate([[0.0], np.cumsum(bin_mass(tau))])
    assert cumulative[-1] == pytest.approx(densities.UPPER_QUANTILE, abs=0.004)
    for q, value in ((0.5, spread["median"]), (0.025, spread["ci95"][0]), (0.975, spread["ci95"][1])):
        assert np.interp(value, x, cumulative) == pytest.approx(q, abs=2e-4)


def test_same_request_gives_the_same_density_bytes_and_adds_about_one_kilobyte_per_density():
    first, second = run(**HIERARCHICAL), run(**HIERARCHICAL)
    assert canonical_json(first["strata"]) == canonical_json(second["strata"])
    assert canonical_json(first["between_stratum_spread"]) == canonical_json(second["between_stratum_spread"])
    added = len(canonical_json(first)) - len(canonical_json(without_densities(first)))
    assert added <= 3 * 1_300  # 2 strata + τ


def test_mcmc_densities_are_histograms_of_the_draws_of_s_l_and_tau(monkeypatch):
    """The sampler replaced by independent draws of log λ and τ: the recorded densities are their histograms."""
    rng = np.random.default_rng(11)
    log_hazard = np.stack([rng.normal(-1.7, 0.3, 4000), rng.normal(-1.2, 0.3, 4000)], axis=1)
    tau = np.abs(rng.normal(0.4, 0.2, 4000))
    draws = pymc_engine.PFSDraws("hierarchical-exponential", log_hazard, None, None, tau,
                                 {"converged": True, "max_rhat": 1.001}, {"draws": 1000}, chains=4)
    monkeypatch.setattr(pymc_engine, "sample_pfs", lambda *args: draws)
    result = run(model={"kind": "hierarchical-exponential"}, engine="mcmc")
    for j, stratum in enumerate(result["strata"]):
        counts, _ = np.histogram(np.exp(-4.0 * np.exp(log_hazard[:, j])), bins=100, range=(0.0, 1.0))
        density = stratum["posterior"]["landmark_pfs"]["density"]
        assert density["method"].startswith("MCMC") and density["density"] == pytest.approx(counts / 4000 / 0.01, rel=5e-6)
    spread = result["between_stratum_spread"]["density"]
    upper = densities.rounded_up(np.quantile(tau, densities.UPPER_QUANTILE))
    counts, _ = np.histogram(tau, bins=100, range=(0.0, upper))
    assert spread["upper"] == upper and spread["density"] == pytest.approx(counts / 4000 / (upper / 100), rel=5e-6)
