"""Posterior densities in the response analysis (issue 12): per stratum the model's posterior of p and
the no-borrowing Beta posterior beside it, τ's posterior; every number the analysis gave before is
unchanged."""

from __future__ import annotations

import hashlib
import math
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import integrate, special, stats

from designs.core import densities
from designs.core.provenance import canonical_json
from designs.engines.quadrature import LOGIT, BinomialLikelihood, NormalHierarchy, QuadratureEngine
from designs.response import analysis
from designs.response.analysis import analyse_response
from designs.response.spec import ResponseAnalysisSpec
from tests.core.density_checks import bin_mass, mass_above

STRATA = [
    {"name": "NF1-associated", "n": 12, "responders": 3, "n_planned": 30},
    {"name": "sporadic", "n": 14, "responders": 9, "n_planned": 30},
]
NEW_KEYS = {"posterior_density", "independent_posterior", "tau_density",
            # issue 14: each interval's level, τ's scale (and what τ is) stated beside them
            "ci_level", "scale", "description"}


def run(**changes):
    request = {"p0": 0.15, "p1": 0.35, "strata": STRATA, "seed": 1}
    request.update(changes)
    return analyse_response(ResponseAnalysisSpec.from_mapping(request))


def without_new_keys(value):
    if isinstance(value, dict):
        return {k: without_new_keys(v) for k, v in value.items() if k not in NEW_KEYS}
    if isinstance(value, list):
        return [without_new_keys(v) for v in value]
    return value


def mean_of(density):
    x = densities.edges(density["lower"], density["upper"], density["bins"])
    mass = bin_mass(density)
    return float((mass * (x[:-1] + x[1:]) / 2).sum() / mass.sum())


def logit_normal_binomial_bins(y, n, mean, sd):
    """Brute force: the bin averages of p's posterior under θ = logit p ~ N(mean, sd²) and y of n
    responders, p^y (1 − p)^(n − y) N(logit p; mean, sd²) / (p(1 − p)), by 40-point Gauss–Legendre
    rules on each bin, normalised over [0, 1]."""
    nodes, weights = np.polynomial.legendre.leggauss(40)
    x = densities.edges(0.0, 1.0, 100)
    mid, half = (x[:-1] + x[1:]) / 2, np.diff(x) / 2
    p = mid[:, None] + half[:, None] * nodes[None, :]
    log_f = y * np.log(p) + (n - y) * np.log1p(-p) + stats.norm(mean, sd).logpdf(special.logit(p)) - np.log(p * (1 - p))
    pieces = (np.exp(log_f - log_f.max()) * weights).sum(axis=1) * half
    return pieces / pieces.sum() / np.diff(x)


# SHA-256 of the canonical JSON of each result (provenance/software left out), recorded from main
# (aa5098e) before the densities were added: the densities add keys and change nothing else.
BEFORE = {
    "independent": ({"model": {"kind": "independent"}}, "bc4fc50901aab258d2af77567eb70fabd3f0954a708f45a0029489893daf6465"),
    "pooled": ({"model": {"kind": "pooled"}}, "5394590503a0e9c6df370083ca8cb817a13e3ef6715448deb73fb095f0041466"),
    "hierarchical-quadrature": ({"model": {"kind": "hierarchical"}, "engine": "quadrature"},
                                "7a70949d915ad6a71762ee873c071f299f6cb735f4f82e1169bfe25b6b246db1"),
    "exnex-quadrature": ({"model": {"kind": "exnex"}, "engine": "quadrature"},
                         "b30490ecf575fe43b84bb433a7cc91296e28a7de0b50443e6e50cf35c25769a8"),
}


@pytest.mark.parametrize("case", sorted(BEFORE))
def test_existing_fields_are_byte_identical_to_those_before_the_densities(case):
    changes, digest = BEFORE[case]
    result = run(**changes)
    result["provenance"].pop("software")
    assert hashlib.sha256(canonical_json(without_new_keys(result)).encode()).hexdigest() == digest


@pytest.mark.parametrize("kind", ["independent", "pooled"])
def test_closed_form_density_is_the_beta_pdf_averaged_over_each_bin(kind):
    result = run(model={"kind": kind, "prior": {"a": 0.5, "b": 1.5}})
    y, n = np.array([3, 9]), np.array([12, 14])
    params = [(0.5 + y, 1.5 + n - y)] if kind == "independent" else [(0.5 + y.sum(), 1.5 + (n - y).sum())]
    x = densities.edges(0.0, 1.0, 100)
    for j, stratum in enumerate(result["strata"]):
        a, b = (float(p[j]) for p in params[0]) if kind == "independent" else params[0]
        pdf = stats.beta(a, b).pdf
        averages = [integrate.quad(pdf, lo, hi, epsabs=1e-14)[0] / (hi - lo) for lo, hi in zip(x[:-1], x[1:])]
        recorded = stratum["posterior_density"]
        assert (recorded["lower"], recorded["upper"], recorded["bins"]) == (0.0, 1.0, 100)
        np.testing.assert_allclose(recorded["density"], averages, rtol=5e-6, atol=1e-200)
    assert result["tau_density"] is None


def test_independent_posterior_uses_the_models_beta_prior_or_a_uniform_one_with_a_note():
    closed = run(model={"kind": "independent", "prior": {"a": 0.5, "b": 1.5}})["strata"][1]["independent_posterior"]
    assert (closed["prior"], closed["a"], closed["b"]) == ({"a": 0.5, "b": 1.5}, 9.5, 6.5)
    assert "model's Beta(0.5, 1.5)" in closed["prior_note"]
    hierarchical = run(model={"kind": "hierarchical"}, engine="quadrature")["strata"][0]["independent_posterior"]
    assert (hierarchical["prior"], hierarchical["a"], hierarchical["b"]) == ({"a": 1.0, "b": 1.0}, 4.0, 10.0)
    assert "no Beta prior" in hierarchical["prior_note"]
    assert hierarchical["density"]["density"] == densities.from_cdf(
        lambda x: special.betainc(4.0, 10.0, x), 0.0, 1.0, "", sf=lambda x: special.betainc(10.0, 4.0, 1 - x))["density"]


@pytest.mark.parametrize("changes", [
    {"model": {"kind": "independent"}},
    {"model": {"kind": "hierarchical"}, "engine": "quadrature"},
    {"model": {"kind": "exnex"}, "engine": "quadrature"},
], ids=["closed-form", "hierarchical", "exnex"])
def test_density_integrates_to_one_its_mean_is_the_posterior_mean_and_its_mass_above_p0_is_prob_above_p0(changes):
    for stratum in run(**changes)["strata"]:
        density = stratum["posterior_density"]
        assert bin_mass(density).sum() == pytest.approx(1.0, abs=1e-5)
        # Midpoints against the exact mean: the error is at most (width²/12)·max|f'|/… ≪ 1e-3 here.
        assert mean_of(density) == pytest.approx(stratum["posterior_mean"], abs=1e-3)
        assert mass_above(density, 0.15) == pytest.approx(stratum["prob_above_p0"], abs=2e-5)
        assert mass_above(density, 0.35) == pytest.approx(stratum["prob_above_p1"], abs=2e-5)


def test_exnex_with_weight_0_is_independent_normal_and_its_density_matches_brute_force_integration():
    """w = 0: θ_j ~ N(nex_mean, nex_sd²) independently, so p_j's posterior is p^y (1 − p)^(n − y) ×
    N(logit p; nex_mean, nex_sd²) / (p(1 − p)), integrated bin by bin with scipy."""
    prior = {"weight_exchangeable": 0.0, "nex_mean": -1.0, "nex_sd": 1.5}
    result = run(model={"kind": "exnex", "prior": prior}, engine="quadrature")
    for stratum in result["strata"]:
        expected = logit_normal_binomial_bins(stratum["responders"], stratum["n"], -1.0, 1.5)
        np.testing.assert_allclose(stratum["posterior_density"]["density"], expected, rtol=1e-4, atol=1e-6 * expected.max())


def test_quadrature_density_with_tau_fixed_and_one_stratum_agrees_with_brute_force():
    """Engine level: τ fixed at 0.5, one stratum, θ ~ N(μ, 0.5²), μ ~ N(−1, 1): θ ~ N(−1, 1.25)."""
    hierarchy = NormalHierarchy(-1.0, 1.0, 1.0, fixed_tau=0.5)
    likelihood = BinomialLikelihood(4, 11)
    post = QuadratureEngine.for_likelihoods(hierarchy, [likelihood]).analyse([likelihood])
    assert post.tau.fixed
    marginal = post.strata[0].marginal
    recorded = densities.from_cdf(lambda v: marginal.parameter_cdf(v, LOGIT), 0.0, 1.0, "quadrature")
    expected = logit_normal_binomial_bins(4, 11, -1.0, math.sqrt(1.25))
    np.testing.assert_allclose(recorded["density"], expected, rtol=1e-4, atol=1e-6 * expected.max())


def test_tau_density_of_the_quadrature_engine_holds_its_quantiles():
    result = run(model={"kind": "hierarchical"}, engine="quadrature")
    tau = result["tau_density"]
    assert tau["lower"] == 0.0 and tau["upper"] == densities.rounded_up(tau["upper"])
    cumulative = np.concatenate([[0.0], np.cumsum(bin_mass(tau))])
    x = densities.edges(tau["lower"], tau["upper"], tau["bins"])
    assert cumulative[-1] == pytest.approx(densities.UPPER_QUANTILE, abs=0.004)
    # The recorded CDF at the reported median and interval ends (linear within a bin).
    for q, value in ((0.5, result["tau"]["median"]), (0.025, result["tau"]["ci95"][0]), (0.975, result["tau"]["ci95"][1])):
        assert np.interp(value, x, cumulative) == pytest.approx(q, abs=2e-4)


def test_same_request_gives_the_same_density_bytes():
    first = run(model={"kind": "exnex"}, engine="quadrature")
    second = run(model={"kind": "exnex"}, engine="quadrature")
    assert canonical_json({k: first[k] for k in ("strata", "tau_density")}) == canonical_json(
        {k: second[k] for k in ("strata", "tau_density")})


def test_densities_add_about_one_kilobyte_each():
    result = run(model={"kind": "hierarchical"}, engine="quadrature")
    added = len(canonical_json(result)) - len(canonical_json(without_new_keys(result)))
    assert added <= 2 * 2_500 + 1_300  # 2 strata × (model's + no-borrowing density) + τ


def test_mcmc_densities_are_histograms_of_the_draws(monkeypatch):
    """The sampler replaced by independent draws: the recorded densities are their histograms."""
    rng = np.random.default_rng(7)
    p = np.stack([rng.beta(4, 10, size=4000), rng.beta(10, 6, size=4000)], axis=1)
    tau = np.abs(rng.normal(0.5, 0.2, size=4000))
    draws = SimpleNamespace(p=p, tau=tau, prob_exchangeable=None, chains=4,
                            diagnostics={"converged": True, "max_rhat": 1.001})
    monkeypatch.setattr(analysis, "sample_response", lambda *args: draws)
    result = run(model={"kind": "hierarchical"}, engine="mcmc", mcmc={"draws": 1000, "tune": 1000, "chains": 4})
    for j, stratum in enumerate(result["strata"]):
        counts, _ = np.histogram(p[:, j], bins=100, range=(0.0, 1.0))
        assert stratum["posterior_density"]["density"] == pytest.approx(counts / 4000 / 0.01, rel=5e-6)
        assert stratum["posterior_density"]["method"].startswith("MCMC")
    upper = densities.rounded_up(np.quantile(tau, densities.UPPER_QUANTILE))
    counts, _ = np.histogram(tau, bins=100, range=(0.0, upper))
    assert result["tau_density"]["upper"] == upper
    assert result["tau_density"]["density"] == pytest.approx(counts / 4000 / (upper / 100), rel=5e-6)


@pytest.mark.slow
def test_pymc_histogram_agrees_with_the_quadrature_density_within_monte_carlo_error():
    """The PyMC engine's histogram of p_j against the quadrature engine's density, as CDFs at the bin
    edges: within 4 Monte Carlo standard errors √(F(1 − F)/ESS) (ESS the smallest bulk ESS) + 1e-3."""
    mcmc = run(engine="mcmc", model={"kind": "hierarchical"}, mcmc={"draws": 1000, "tune": 500, "chains": 2}, seed=3)
    quad = run(engine="quadrature", model={"kind": "hierarchical"})
    ess = mcmc["diagnostics"]["min_ess_bulk"]
    for m, q in zip(mcmc["strata"], quad["strata"], strict=True):
        f_mcmc = np.cumsum(bin_mass(m["posterior_density"]))
        f_quad = np.cumsum(bin_mass(q["posterior_density"]))
        assert np.all(np.abs(f_mcmc - f_quad) <= 4 * np.sqrt(f_quad * (1 - f_quad) / ess) + 1e-3)
    f_tau = np.cumsum(bin_mass(mcmc["tau_density"]))
    x = densities.edges(0.0, mcmc["tau_density"]["upper"], 100)[1:]
    tau = quad["tau_density"]
    f_tau_quad = np.interp(x, densities.edges(0.0, tau["upper"], 100), np.concatenate([[0.0], np.cumsum(bin_mass(tau))]),
                           right=densities.UPPER_QUANTILE)
    assert np.all(np.abs(f_tau - f_tau_quad) <= 4 * np.sqrt(f_tau_quad * (1 - f_tau_quad) / ess) + 5e-3)
