"""The PyMC engine: model densities, exact answers by quadrature, determinism, data swapping, policy.

Every MCMC answer is compared with a quadrature answer within 4 Monte Carlo standard errors (MCSE of
the mean from the ESS of the draws). Models are compiled once per test session (the engine's cache),
so the first test touching a model kind pays its compilation: several seconds, or about one when its
machine code is in the default cache directory from an earlier session.
"""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from scipy import integrate, special, stats

from designs.core.errors import ConvergenceError, InvalidInputError
from designs.core.posterior_summary import resolve_seed
from designs.engines import diagnostics
from designs.engines import pymc as pymc_engine
from designs.engines.pymc import PFSData, SamplerSettings, models, nutpie_compile, run
from designs.engines.pymc import compile as compile_module
from designs.response import spec as response_spec
from designs.survival.models import resolve_model

LN2 = math.log(2.0)
RESPONSE_PRIOR = {"mu_mean": 0.0, "mu_sd": 2.0, "tau_scale": 1.0}
EXNEX_PRIOR = RESPONSE_PRIOR | {"weight_exchangeable": 0.5, "nex_mean": 0.0, "nex_sd": 2.0}
SMALL = SamplerSettings(draws=200, tune=200, chains=4, max_reruns=0)


def _spec(kind: str, prior: dict):
    """The model spec of ``kind`` as the boundary builds it (unset PFS prior fields take their defaults)."""
    if kind in pymc_engine.RESPONSE_KINDS:
        return response_spec.resolve(kind, prior, p0=0.2)
    return resolve_model(kind, prior)


HIERARCHICAL = _spec("hierarchical", RESPONSE_PRIOR)
EXNEX = _spec("exnex", EXNEX_PRIOR)


def _fields(error: InvalidInputError) -> set[str]:
    return {p.field for p in error.problems}


def _within_mcse(draws_by_chain: np.ndarray, exact: float, k: float = 4.0) -> None:
    estimate = float(draws_by_chain.mean())
    mcse = diagnostics.mcse_of_mean(draws_by_chain)
    assert abs(estimate - exact) < k * mcse, (estimate, exact, mcse)


def _pfs_data(seed: int, n: int = 30, shape: float = 1.0, scale: float = 4.0) -> PFSData:
    """Two strata of Weibull(shape, scale) times censored uniformly on (0, 12) months."""
    rng = np.random.default_rng(seed)
    times, events = [], []
    for _ in range(2):
        t = scale * rng.weibull(shape, n)
        c = rng.uniform(0.0, 12.0, n)
        times.append(np.minimum(t, c))
        events.append((t <= c).astype(int))
    return PFSData(times=tuple(times), events=tuple(events))


# --- validation (no sampling) ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"draws": 0}, "mcmc/draws"),
        ({"draws": 100_001}, "mcmc/draws"),
        ({"draws": 1000.0}, "mcmc/draws"),
        ({"draws": True}, "mcmc/draws"),
        ({"tune": 5}, "mcmc/tune"),
        ({"chains": 0}, "mcmc/chains"),
        ({"chains": 9}, "mcmc/chains"),
        ({"target_accept": 0.8}, "mcmc/target_accept"),
        ({"target_accept": 1.0}, "mcmc/target_accept"),
        ({"max_reruns": -1}, "mcmc/max_reruns"),
        ({"cores": 0}, "mcmc/cores"),
    ],
)
def test_sampler_settings_name_the_bad_field(kwargs, field):
    with pytest.raises(InvalidInputError) as caught:
        SamplerSettings(**kwargs)
    assert _fields(caught.value) == {field}


def test_the_specs_load_without_pymc():
    """The request specs hold SamplerSettings without importing the engine (PyMC takes seconds to load)."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, designs.response.spec, designs.survival.spec; print(' '.join(sys.modules))"],
        cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, check=True,
    ).stdout.split()
    assert "designs.response.spec" in loaded
    assert not [name for name in loaded if name.split(".")[0] in {"pymc", "pytensor", "arviz", "nutpie"}]
    assert not [name for name in loaded if name.startswith("designs.engines.pymc")]


def test_rerun_settings_double_draws_and_raise_target_accept():
    rerun = SamplerSettings(draws=1000, tune=500).for_rerun()
    assert (rerun.draws, rerun.tune, rerun.target_accept) == (2000, 1000, 0.99)
    assert SamplerSettings(draws=80_000).for_rerun().draws == 100_000


@pytest.mark.parametrize(
    ("check", "fields"),
    [
        (lambda: response_spec.resolve("bayesian", RESPONSE_PRIOR, 0.2), {"model/kind"}),
        (lambda: response_spec.resolve("hierarchical", {"mu_mean": 0.0, "mu_sd": 0.0}, 0.2), {"model/prior/mu_sd"}),
        (lambda: response_spec.resolve("hierarchical", RESPONSE_PRIOR | {"tau_sd": 1.0}, 0.2), {"model/prior/tau_sd"}),
        (
            lambda: response_spec.resolve("hierarchical", RESPONSE_PRIOR | {"mu_mean": math.nan}, 0.2),
            {"model/prior/mu_mean"},
        ),
        (lambda: resolve_model("hierarchical-weibull", {"shape_log_sd": -1.0}), {"model/prior/shape_log_sd"}),
        (
            lambda: resolve_model("hierarchical-piecewise-exponential", {"cut_points": [1.0, 0.5]}),
            {"model/prior/cut_points"},
        ),
        (
            lambda: resolve_model("hierarchical-piecewise-exponential", {"cut_points": (1.0, 2.0)}),
            {"model/prior/cut_points"},
        ),
        (lambda: resolve_seed(-1, None), {"seed"}),
    ],
)
def test_the_boundary_rejects_what_the_engine_trusts(check, fields):
    """The engine takes model specs and seeds as validated: the boundary names every bad field."""
    with pytest.raises(InvalidInputError) as caught:
        check()
    assert _fields(caught.value) == fields


def test_sample_response_refuses_specs_outside_its_models():
    """A valid spec the engine does not sample: a closed-form kind, or EXNEX with w = 1 (one component)."""
    with pytest.raises(InvalidInputError) as caught:
        pymc_engine.sample_response(response_spec.resolve("independent", None, 0.2), [1, 2], [10, 10], SMALL, 1)
    assert _fields(caught.value) == {"model/kind"}
    with pytest.raises(InvalidInputError) as caught:
        pymc_engine.sample_response(
            _spec("exnex", EXNEX_PRIOR | {"weight_exchangeable": 1.0}), [1, 2], [10, 10], SMALL, 1
        )
    assert _fields(caught.value) == {"model/prior/weight_exchangeable"}


def test_pfs_data_validates_and_clips_events_at_time_zero():
    with pytest.raises(InvalidInputError) as caught:
        PFSData(times=([1.0, -2.0], [1.0]), events=([1, 2], [1, 0]))
    assert _fields(caught.value) == {"strata/0/times", "strata/0/events", "strata/1/events"}

    data = PFSData(times=([0.0, 0.0, 3.0], [2.0]), events=([1, 0, 1], [0]))
    assert data.n_events_at_time_zero == (1, 0)
    assert data.times[0][0] == pymc_engine.MIN_EVENT_TIME_MONTHS and data.times[0][1] == 0.0
    weibull = models.weibull_data(data)  # [d_j (2), Σ δ log t (2), log t, stratum, weight (3 each)]
    assert len(weibull) == 2 + 2 + 3 * 3  # the censoring at t = 0 is left out
    np.testing.assert_allclose(weibull[2:4], [math.log(pymc_engine.MIN_EVENT_TIME_MONTHS) + math.log(3.0), 0.0])


def test_pfs_data_sufficient_statistics_by_hand():
    """Stratum 0: event at 1, censored at 5, event at 13; stratum 1: event at exactly 2."""
    data = PFSData(times=([1.0, 5.0, 13.0], [2.0]), events=([1, 0, 1], [1]))
    np.testing.assert_array_equal(data.events_per_stratum, [2.0, 1.0])
    np.testing.assert_array_equal(data.exposure_per_stratum, [19.0, 2.0])
    events, exposure = data.interval_statistics([0.0, 2.0, 4.0, 6.0, 12.0])
    np.testing.assert_array_equal(events, [[1, 0, 0, 0, 1], [1, 0, 0, 0, 0]])
    np.testing.assert_array_equal(exposure, [[1 + 2 + 2, 2 + 2, 1 + 2, 6, 1], [2, 0, 0, 0, 0]])


def test_sample_pfs_refuses_a_kind_outside_its_models():
    with pytest.raises(InvalidInputError) as caught:
        pymc_engine.sample_pfs(resolve_model("independent-exponential"), _pfs_data(0, n=5), SMALL, 1)
    assert _fields(caught.value) == {"model/kind"}


# --- model densities -----------------------------------------------------------------------


def _model_logp(kind: str, prior: dict, data, point: dict, n_intervals: int | None = None) -> float:
    """log density (no Jacobian) of the engine's PyMC model with the request's inputs set, in Python."""
    import pymc as pm  # deferred (heavy): PyMC takes seconds to import, only the tests that build a model pay

    n_strata = len(data[0]) if kind in pymc_engine.RESPONSE_KINDS else data.n_strata
    model = pymc_engine.build_model(kind, n_strata, n_intervals)
    with model:
        pm.set_data(pymc_engine.model_inputs(_spec(kind, prior), data))
    logp = model.compile_logp(jacobian=False, mode="FAST_COMPILE")
    return float(logp(point))


def _standard_priors(mu_std, tau_std, *normals) -> float:
    out = stats.norm.logpdf(mu_std).sum() + stats.halfnorm.logpdf(tau_std)
    return out + sum(stats.norm.logpdf(x).sum() for x in normals)


def test_response_model_log_densities_match_scipy():
    """Hierarchical and EXNEX densities at a point equal priors + binomial (or mixture) log-likelihood."""
    y, n = np.array([3.0, 7.0]), np.array([20.0, 20.0])
    mu_std, tau_std, z, u = 0.3, 0.7, np.array([-0.5, 1.2]), np.array([0.4, -1.0])
    prior = {"mu_mean": -1.0, "mu_sd": 2.0, "tau_scale": 0.5}
    theta = prior["mu_mean"] + prior["mu_sd"] * mu_std + prior["tau_scale"] * tau_std * z
    log_coef = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
    point = {"mu_std": mu_std, "tau_std_log__": math.log(tau_std), "z": z}

    log_binomial = stats.binom.logpmf(y, n, special.expit(theta)) - log_coef
    expected = _standard_priors(mu_std, tau_std, z) + log_binomial.sum()
    got = _model_logp("hierarchical", prior, (y, n), point)
    assert got == pytest.approx(expected, rel=1e-10)

    exnex = prior | {"weight_exchangeable": 0.3, "nex_mean": 0.5, "nex_sd": 1.5}
    theta_nex = exnex["nex_mean"] + exnex["nex_sd"] * u
    mixture = (
        0.3 * stats.binom.pmf(y, n, special.expit(theta)) + 0.7 * stats.binom.pmf(y, n, special.expit(theta_nex))
    )
    expected = _standard_priors(mu_std, tau_std, z, u) + (np.log(mixture) - log_coef).sum()
    got = _model_logp("exnex", exnex, (y, n), point | {"u": u})
    assert got == pytest.approx(expected, rel=1e-10)


def test_pfs_model_log_densities_match_patient_level_likelihoods():
    """Exponential, Weibull and piecewise densities equal priors + Σ_i δ_i log h(t_i) − H(t_i)."""
    data = PFSData(times=([0.5, 3.0, 7.0, 14.0], [2.0, 5.0]), events=([1, 0, 1, 1], [1, 0]))
    mu_std, tau_std, z = -0.2, 0.6, np.array([0.8, -0.3])
    prior = {"mu_mean": -1.5, "mu_sd": 1.5, "tau_scale": 1.0}
    log_lam = prior["mu_mean"] + prior["mu_sd"] * mu_std + prior["tau_scale"] * tau_std * z
    point = {"mu_std": mu_std, "tau_std_log__": math.log(tau_std), "z": z}

    def patient_loglik(log_h, cum_h):
        return sum(
            (e * log_h(j, t) - cum_h(j, t)).sum()
            for j, (t, e) in enumerate(zip(data.times, data.events, strict=True))
        )

    expected = _standard_priors(mu_std, tau_std, z) + patient_loglik(
        lambda j, t: log_lam[j] + 0 * t, lambda j, t: np.exp(log_lam[j]) * t
    )
    got = _model_logp("hierarchical-exponential", prior, data, point)
    assert got == pytest.approx(expected, rel=1e-10)

    shape_std, shape_log_sd = 0.5, 0.4
    k = math.exp(shape_log_sd * shape_std)
    expected = (
        _standard_priors(mu_std, tau_std, z, shape_std)
        + patient_loglik(
            lambda j, t: log_lam[j] + math.log(k) + (k - 1) * np.log(t), lambda j, t: np.exp(log_lam[j]) * t**k
        )
    )
    got = _model_logp(
        "hierarchical-weibull", prior | {"shape_log_sd": shape_log_sd}, data, point | {"log_shape_std": shape_std}
    )
    assert got == pytest.approx(expected, rel=1e-10)

    cuts = np.array([0.0, 2.0, 6.0])
    mu_k, z_jk = np.array([0.1, -0.4, 0.9]), np.array([[0.5, -1.0, 0.2], [0.0, 0.3, -0.7]])
    log_lam_jk = prior["mu_mean"] + prior["mu_sd"] * mu_k + prior["tau_scale"] * tau_std * z_jk

    def piecewise_log_h(j, t):
        return log_lam_jk[j, np.clip(np.searchsorted(cuts, t, side="left") - 1, 0, 2)]

    def piecewise_cum_h(j, t):
        widths = np.clip(t[:, None] - cuts, 0.0, np.append(np.diff(cuts), np.inf))
        return (widths * np.exp(log_lam_jk[j])).sum(axis=1)

    expected = _standard_priors(mu_k, tau_std, z_jk) + patient_loglik(piecewise_log_h, piecewise_cum_h)
    got = _model_logp(
        "hierarchical-piecewise-exponential", prior | {"cut_points": tuple(cuts)}, data,
        {"mu_std": mu_k, "tau_std_log__": math.log(tau_std), "z": z_jk}, n_intervals=3,
    )
    assert got == pytest.approx(expected, rel=1e-10)


# --- exact answers -----------------------------------------------------------------------------


def _posterior_mean(log_density, function, low: float, high: float) -> float:
    """∫ f(x) p(x) dx / ∫ p(x) dx for an unnormalised 1-D log density, by adaptive quadrature."""
    grid = np.linspace(low, high, 2001)
    peak = max(log_density(x) for x in grid)
    numerator = integrate.quad(lambda x: function(x) * math.exp(log_density(x) - peak), low, high, limit=200)[0]
    denominator = integrate.quad(lambda x: math.exp(log_density(x) - peak), low, high, limit=200)[0]
    return numerator / denominator


@pytest.mark.slow
def test_hierarchical_with_tiny_tau_matches_pooled_logit_normal_quadrature():
    """τ ≈ 0 pools the strata: p = expit μ, μ ~ N(0, 2²) × Bin(3 | 20, p) × Bin(7 | 20, p).

    The posterior mean of p_1 and P(p_1 > 0.3) agree with 1-D quadrature within 4 MCSE.
    """
    prior = RESPONSE_PRIOR | {"tau_scale": 1e-4}
    draws = pymc_engine.sample_response(_spec("hierarchical", prior), [3, 7], [20, 20], SamplerSettings(), seed=11)
    assert draws.diagnostics["converged"]
    S = 4 * draws.sampler["draws"]
    assert draws.p.shape == (S, 2) and draws.theta.shape == (S, 2) and draws.tau.shape == (S,)
    assert draws.prob_exchangeable is None

    def log_density(mu):
        p = special.expit(mu)
        return stats.norm.logpdf(mu, 0.0, 2.0) + stats.binom.logpmf(3, 20, p) + stats.binom.logpmf(7, 20, p)

    _within_mcse(draws.by_chain(draws.p[:, 0]), _posterior_mean(log_density, special.expit, -10, 10))
    exact_prob = _posterior_mean(log_density, lambda mu: float(special.expit(mu) > 0.3), -10, 10)
    indicator = draws.by_chain((draws.p[:, 0] > 0.3).astype(float))
    assert abs(indicator.mean() - exact_prob) < 4 * diagnostics.mcse_of_probability(indicator)


@pytest.mark.slow
def test_exnex_membership_matches_exact_mixture_when_exchangeable_part_is_fixed():
    """With μ and τ pinned (mu_sd 0.01, the least the spec takes; tau_scale 1e-4), θex = logit 0.2 and strata are independent:

        P(ex | y) = w Bin(y | 0.2) / (w Bin(y | 0.2) + (1 − w) ∫ Bin(y | expit θ) N(θ; 0, 2²) dθ),

    the Rao-Blackwell target of the mean of ``prob_exchangeable``; E p_j mixes 0.2 and the
    non-exchangeable posterior mean (Neuenschwander et al. 2016, eq. 2–4).
    """
    m, w = special.logit(0.2), 0.5
    prior = {"mu_mean": m, "mu_sd": 1e-2, "tau_scale": 1e-4} | {
        "weight_exchangeable": w, "nex_mean": 0.0, "nex_sd": 2.0
    }
    y, n = [4, 9], [20, 20]
    draws = pymc_engine.sample_response(_spec("exnex", prior), y, n, SamplerSettings(), seed=5)
    assert draws.prob_exchangeable is not None
    assert np.all((draws.prob_exchangeable >= 0) & (draws.prob_exchangeable <= 1))
    assert np.all((draws.p > 0) & (draws.p < 1))
    for j in range(2):
        def nex_log_density(theta, j=j):
            return stats.norm.logpdf(theta, 0.0, 2.0) + stats.binom.logpmf(y[j], n[j], special.expit(theta))

        nex_marginal = integrate.quad(lambda t, j=j: math.exp(nex_log_density(t)), -15, 15)[0]
        ex_likelihood = stats.binom.pmf(y[j], n[j], 0.2)
        prob_ex = w * ex_likelihood / (w * ex_likelihood + (1 - w) * nex_marginal)
        nex_mean_p = _posterior_mean(nex_log_density, special.expit, -15, 15)
        _within_mcse(draws.by_chain(draws.prob_exchangeable[:, j]), prob_ex)
        _within_mcse(draws.by_chain(draws.p[:, j]), prob_ex * 0.2 + (1 - prob_ex) * nex_mean_p)
    assert draws.prob_exchangeable[:, 1].mean() < 0.5 < draws.prob_exchangeable[:, 0].mean()


@pytest.mark.slow
def test_exponential_with_tiny_tau_matches_pooled_quadrature():
    """τ ≈ 0: log λ = μ ~ N(log(ln 2 / 3), 1.5²) × exp(D μ − e^μ T) with pooled D, T.

    Posterior means of the median ln 2 / λ and of S(6) agree with quadrature within 4 MCSE.
    """
    data = _pfs_data(3)
    D, T = data.events_per_stratum.sum(), data.exposure_per_stratum.sum()
    draws = pymc_engine.sample_pfs(_spec("hierarchical-exponential", {"tau_scale": 1e-4}), data, SamplerSettings(), seed=2)
    assert draws.log_hazard.shape == (4 * draws.sampler["draws"], 2) and draws.shape is None
    assert draws.sampler["prior"] == {"mu_mean": math.log(LN2 / 3), "mu_sd": 1.5, "tau_scale": 1e-4}

    def log_density(mu):
        return stats.norm.logpdf(mu, math.log(LN2 / 3), 1.5) + D * mu - math.exp(mu) * T

    exact_median = _posterior_mean(log_density, lambda mu: LN2 * math.exp(-mu), -6, 3)
    exact_survival_6 = _posterior_mean(log_density, lambda mu: math.exp(-6 * math.exp(mu)), -6, 3)
    _within_mcse(draws.by_chain(draws.median_survival()[:, 0]), exact_median)
    _within_mcse(draws.by_chain(draws.survival(6.0)[:, 1]), exact_survival_6)


@pytest.mark.slow
def test_weibull_with_tiny_tau_matches_two_dimensional_quadrature():
    """τ ≈ 0: posterior of (μ, log k) on a 400 × 400 grid; E[k] and E[median] within 4 MCSE.

    The data hold an event at t = 0, which both sides place at ``MIN_EVENT_TIME_MONTHS``.
    """
    data = _pfs_data(4, n=30, shape=1.5, scale=5.0)
    data = PFSData(
        times=(np.append(data.times[0], 0.0), data.times[1]), events=(np.append(data.events[0], 1), data.events[1])
    )
    assert data.n_events_at_time_zero == (1, 0)
    draws = pymc_engine.sample_pfs(_spec("hierarchical-weibull", {"tau_scale": 1e-4}), data, SamplerSettings(), seed=3)
    assert draws.shape is not None and draws.shape.shape == (4 * draws.sampler["draws"],)

    t, e = np.concatenate(data.times), np.concatenate(data.events)
    mu = np.linspace(-7.0, 1.0, 400)[:, None]
    log_k = np.linspace(-1.0, 1.5, 400)[None, :]
    k = np.exp(log_k)
    log_t = np.log(t)
    cumulative = np.exp(k[..., None] * log_t).sum(axis=-1)  # Σ_i t_i^k on the log_k axis
    log_density = (
        stats.norm.logpdf(mu, math.log(LN2 / 3), 1.5) + stats.norm.logpdf(log_k, 0.0, 0.5)
        + e.sum() * (mu + log_k) + (k - 1) * (e * log_t).sum() - np.exp(mu) * cumulative
    )
    weight = np.exp(log_density - log_density.max())
    weight /= weight.sum()
    assert weight[[0, -1], :].sum() + weight[:, [0, -1]].sum() < 1e-10  # the grid holds the posterior
    exact_shape = (weight * k).sum()
    exact_median = (weight * np.exp((math.log(LN2) - mu) / k)).sum()
    _within_mcse(draws.by_chain(draws.shape), exact_shape)
    _within_mcse(draws.by_chain(draws.median_survival()[:, 1]), exact_median)


@pytest.mark.slow
def test_piecewise_with_tiny_tau_matches_per_interval_quadrature():
    """τ ≈ 0: each interval's log λ_k = μ_k has its own pooled posterior N(m, s²) exp(D_k μ − e^μ T_k).

    Cut points (0, 3, 8) months, so K = 3; E[λ_k] for every interval within 4 MCSE.
    """
    data = _pfs_data(5, n=40)
    cuts = (0.0, 3.0, 8.0)
    prior = {"tau_scale": 1e-4, "cut_points": cuts}
    draws = pymc_engine.sample_pfs(_spec("hierarchical-piecewise-exponential", prior), data, SamplerSettings(), seed=4)
    S = 4 * draws.sampler["draws"]
    assert draws.log_hazard.shape == (S, 2, 3) and draws.cut_points == cuts
    assert draws.median_survival().shape == (S, 2) and draws.survival(5.0).shape == (S, 2)
    events, exposure = data.interval_statistics(cuts)
    for k in range(3):
        D, T = events[:, k].sum(), exposure[:, k].sum()

        def log_density(mu, D=D, T=T):
            return stats.norm.logpdf(mu, math.log(LN2 / 3), 1.5) + D * mu - math.exp(mu) * T

        _within_mcse(draws.by_chain(draws.hazard[:, 0, k]), _posterior_mean(log_density, math.exp, -8, 3))


# --- engine behaviour ------------------------------------------------------------------------


@pytest.mark.slow
def test_same_seed_gives_identical_draws_whatever_the_cores():
    """Same data and seed: bit-identical draws, run after run and with 1 or 2 cores (4 chains);
    EXNEX membership draws too. A different seed gives different draws."""
    first = pymc_engine.sample_response(EXNEX, [3, 12], [20, 20], SMALL, seed=7)
    again = pymc_engine.sample_response(EXNEX, [3, 12], [20, 20], SMALL, seed=7)
    one_core_settings = SamplerSettings(draws=200, tune=200, max_reruns=0, cores=1)
    one_core = pymc_engine.sample_response(EXNEX, [3, 12], [20, 20], one_core_settings, seed=7)
    other = pymc_engine.sample_response(EXNEX, [3, 12], [20, 20], SMALL, seed=8)
    for draws in (again, one_core):
        np.testing.assert_array_equal(first.p, draws.p)
        np.testing.assert_array_equal(first.prob_exchangeable, draws.prob_exchangeable)
        np.testing.assert_array_equal(first.tau, draws.tau)
    assert one_core.sampler["cores"] == 1
    assert not np.array_equal(first.p, other.p)


@pytest.mark.slow
def test_swapped_data_gives_the_same_draws_as_a_freshly_compiled_model():
    """The cached Weibull model (built with 1 placeholder patient) with 60 patients swapped in samples
    exactly as a model compiled with those data: data swapping, including a new patient count, is
    equivalent to recompiling."""
    # nutpie and PyMC take seconds to import: only the tests that compile pay for them.
    import nutpie
    import pymc as pm

    data = _pfs_data(6, n=30, shape=1.3)
    prior = {"mu_mean": -1.0, "mu_sd": 1.0, "tau_scale": 0.5, "shape_log_sd": 0.3}
    model_data = pymc_engine.model_inputs(_spec("hierarchical-weibull", prior), data)
    model = pymc_engine.build_model("hierarchical-weibull", 2)
    with model:
        pm.set_data(model_data)
    fresh = nutpie.compile_pymc_model(model)
    swapped = pymc_engine.compiled_model("hierarchical-weibull", 2).with_data(**model_data)
    settings = SamplerSettings(draws=200, tune=200, target_accept=pymc_engine.PFS_MIN_TARGET_ACCEPT, max_reruns=0)
    fresh_trace = run.run_nutpie(fresh, settings, seed=9)
    swapped_trace = run.run_nutpie(swapped, settings, seed=9)
    for name in ("mu", "tau", "z", "log_shape"):
        np.testing.assert_array_equal(fresh_trace.draws[name], swapped_trace.draws[name])
    # And through the public function, which swaps the same data into the cached model.
    draws = pymc_engine.sample_pfs(_spec("hierarchical-weibull", prior), data, SMALL, seed=9)
    np.testing.assert_array_equal(draws.shape, np.exp(fresh_trace.draws["log_shape"]).reshape(-1))


@pytest.mark.slow
def test_concurrent_requests_share_the_compiled_model_safely():
    """Two threads sampling different data from one cached model get what they get alone."""
    requests = [([2, 5], [20, 20], 1), ([15, 18], [20, 20], 2)]
    alone = [pymc_engine.sample_response(HIERARCHICAL, y, n, SMALL, s).p for y, n, s in requests]
    together: list[np.ndarray | None] = [None, None]

    def run(i):
        y, n, s = requests[i]
        together[i] = pymc_engine.sample_response(HIERARCHICAL, y, n, SMALL, s).p

    threads = [threading.Thread(target=run, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for i in range(2):
        np.testing.assert_array_equal(alone[i], together[i])


@pytest.mark.slow
def test_failing_convergence_reruns_once_then_returns_flagged_result():
    """10 draws × 4 chains cannot reach bulk ESS 400: one rerun with doubled draws, a derived seed and
    target_accept 0.99, then the last result comes back flagged (no exception)."""
    settings = SamplerSettings(draws=10, tune=10, chains=4, max_reruns=1)
    draws = pymc_engine.sample_response(HIERARCHICAL, [3, 7], [20, 20], settings, seed=3)
    assert draws.diagnostics["converged"] is False
    assert any("bulk ESS" in check for check in draws.diagnostics["failed_checks"])
    assert draws.diagnostics["reruns"] == 1 and draws.sampler["reruns"] == 1
    first, rerun = draws.sampler["attempts"]
    assert (first["draws"], rerun["draws"], rerun["tune"]) == (10, 20, 20)
    assert (first["target_accept"], rerun["target_accept"]) == (0.95, 0.99)
    assert first["seed"] == 3 and rerun["seed"] != 3
    assert draws.p.shape == (80, 2) and draws.sampler["draws"] == 20

    no_rerun = pymc_engine.sample_response(
        HIERARCHICAL, [3, 7], [20, 20], SamplerSettings(draws=10, tune=10, max_reruns=0), seed=3
    )
    assert no_rerun.diagnostics["reruns"] == 0 and len(no_rerun.sampler["attempts"]) == 1
    assert no_rerun.p.shape == (40, 2)


@pytest.mark.slow
def test_sampler_failure_raises_convergence_error_with_diagnostics(monkeypatch):
    import nutpie  # deferred (heavy): nutpie loads its Rust extension and numba

    def broken(*args, **kwargs):
        raise RuntimeError("all initialisation attempts failed")

    pymc_engine.compiled_model("hierarchical", 2)
    monkeypatch.setattr(nutpie, "sample", broken)
    with pytest.raises(ConvergenceError) as caught:
        pymc_engine.sample_response(HIERARCHICAL, [3, 7], [20, 20], SMALL, seed=1)
    assert caught.value.diagnostics["stage"] == "sampling"
    assert "initialisation" in caught.value.diagnostics["error"]


@pytest.mark.slow
def test_warm_up_compiles_once_and_reports_timings():
    timings = pymc_engine.warm_up(kinds=("hierarchical",), strata_counts=(2,))
    assert list(timings) == ["hierarchical/J=2"]
    compiled = pymc_engine.compiled_model("hierarchical", 2)
    assert pymc_engine.compiled_model("hierarchical", 2) is compiled
    with pytest.raises(InvalidInputError):
        pymc_engine.warm_up(kinds=("nonsense",))


_FIT_IN_A_NEW_PROCESS = """
import hashlib, json, sys
from pathlib import Path
from designs.engines import pymc as pymc_engine
from designs.engines.pymc.compile import from_disk_cache
from designs.response import spec

pymc_engine.warm_up(kinds=("exnex",), cache_dir=Path(sys.argv[1]))
draws = pymc_engine.sample_response(spec.resolve("exnex", json.loads(sys.argv[2]), 0.2), [3, 12], [20, 20],
                                 pymc_engine.SamplerSettings(draws=200, tune=200, max_reruns=0), seed=7)
print(json.dumps({"from_disk_cache": from_disk_cache[("exnex", 2, None)],
                  "p": hashlib.sha256(draws.p.tobytes()).hexdigest(),
                  "prob_exchangeable": hashlib.sha256(draws.prob_exchangeable.tobytes()).hexdigest()}))
"""


@pytest.mark.slow
def test_compiled_machine_code_persists_between_processes_with_identical_draws(tmp_path):
    """A first process compiles EXNEX and saves its machine code under the cache directory, in a
    sub-directory named by the source digest; a second process loads it instead of compiling. Both
    give bit-identical draws, equal to this process's (whatever its cache held)."""

    def fit_in_a_new_process() -> dict:
        completed = subprocess.run(
            [sys.executable, "-c", _FIT_IN_A_NEW_PROCESS, str(tmp_path), json.dumps(EXNEX_PRIOR)],
            cwd=Path(__file__).resolve().parents[2], capture_output=True, text=True, check=True,
        )
        return json.loads(completed.stdout.splitlines()[-1])

    cold = fit_in_a_new_process()
    (digest,) = [path.name for path in tmp_path.iterdir()]
    assert sorted(path.name for path in (tmp_path / digest).iterdir()) == ["exnex-J2-expand.nbc", "exnex-J2-logp.nbc"]
    warm = fit_in_a_new_process()
    assert (cold["from_disk_cache"], warm["from_disk_cache"]) == (False, True)
    here = pymc_engine.sample_response(EXNEX, [3, 12], [20, 20], SMALL, seed=7)
    for name in ("p", "prob_exchangeable"):
        assert cold[name] == warm[name] == hashlib.sha256(getattr(here, name).tobytes()).hexdigest()


def test_an_unreadable_cache_entry_is_compiled_again(tmp_path):
    """A truncated or foreign file in the cache directory is not loaded (the model is compiled)."""
    # numba, PyMC and nutpie take seconds to import: only the tests that compile pay for them.
    from numba.core.registry import cpu_target

    from designs.engines.pymc.nutpie_compile import _MachineCodeFile

    garbage = tmp_path / "hierarchical-J2-logp.nbc"
    garbage.write_bytes(b"not a pickle")
    entry = _MachineCodeFile(garbage)
    assert entry.load_overload(None, cpu_target.target_context) is None and not entry.hit
    assert _MachineCodeFile(tmp_path / "missing.nbc").load_overload(None, cpu_target.target_context) is None


def test_an_unwritable_cache_directory_does_not_fail_the_compilation(tmp_path):
    """The cache directory's parent is a file: saving fails quietly and leaves nothing behind."""
    # numba, PyMC and nutpie take seconds to import: only the tests that compile pay for them.
    from designs.engines.pymc.nutpie_compile import _MachineCodeFile

    (tmp_path / "file").write_text("")
    compiled = SimpleNamespace(library=SimpleNamespace(has_dynamic_globals=False), lifted=(), _reduce=lambda: ())
    _MachineCodeFile(tmp_path / "file" / "hierarchical-J2-logp.nbc").save_overload(None, compiled)
    assert [path.name for path in tmp_path.iterdir()] == ["file"]


def test_compilation_falls_back_to_nutpie_when_its_internals_differ(monkeypatch):
    """Should nutpie's private compile helpers change, a model still compiles (without the disk cache)."""
    def moved(*args, **kwargs):
        raise AttributeError("module 'nutpie.compile_pymc' has no attribute '_make_functions'")

    monkeypatch.setattr(nutpie_compile, "compile_pymc_model", moved)
    model, from_disk = compile_module._compile(("hierarchical", 2, None))
    assert from_disk is False and model.n_dim > 0
