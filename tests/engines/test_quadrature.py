"""The quadrature engine against brute-force integration, limits in τ, symmetry and edge cases.

The reference (``brute_force``) shares nothing with the engine: nested composite Gauss–Legendre
rules over τ (panels graded towards 0), μ (extra panels graded around each threshold c, where for
small τ P(θ > c | μ, τ) is a step of width τ) and θ (exact lower limit c; θ = μ + τz for small τ).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, special, stats

from designs.core.errors import InvalidInputError
from designs.engines.quadrature import (
    LOG,
    LOGIT,
    BinomialLikelihood,
    ExposureLikelihood,
    NormalHierarchy,
    QuadratureEngine,
    TableCache,
    Transform,
    make_grid,
    sinc_cdf,
    sinc_quantiles,
)

P0 = 0.15
MU = math.log(P0 / (1 - P0))
MU_SD, NEX_SD = 2.6159, 2.8006
THRESHOLDS = (0.15, 0.35)


def logit(p: float) -> float:
    return math.log(p / (1 - p))


# --------------------------------------------------------------------------------------------------
# Brute force


def gl(edges, order: int = 8) -> tuple[np.ndarray, np.ndarray]:
    x, w = np.polynomial.legendre.leggauss(order)
    edges = np.unique(np.asarray(edges, dtype=float))
    mid, half = (edges[:-1] + edges[1:]) / 2, (edges[1:] - edges[:-1]) / 2
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


TH_LO, TH_HI = -32.0, 26.0
Z_NODES, Z_WEIGHTS = gl(np.linspace(-10, 10, 21))


def binomial_loglik(y: int, n: int):
    log_choose = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
    return lambda t: log_choose + y * special.log_expit(t) + (n - y) * special.log_expit(-np.asarray(t))


def inner(mu: np.ndarray, tau: float, lls, lo: float = -np.inf) -> np.ndarray:
    """∫_{θ > lo} e^{ll(θ)} N(θ; μ, τ²) dθ for each log-likelihood ll and each μ: (len(lls), len(μ))."""
    mu = mu[:, None]
    if tau == 0:
        return np.stack([np.exp(ll(mu[:, 0])) * (mu[:, 0] > lo) for ll in lls])
    if tau < 0.2:
        z_lo = np.clip((lo - mu) / tau, -10.0, 10.0)
        z = z_lo + (10 - z_lo) * (Z_NODES + 10) / 20
        wz = Z_WEIGHTS * (10 - z_lo) / 20 * np.exp(-0.5 * z * z) / math.sqrt(2 * math.pi)
        return np.stack([(np.exp(ll(mu + tau * z)) * wz).sum(axis=1) for ll in lls])
    a = max(lo, TH_LO)
    th, wt = gl(np.append(np.arange(a, TH_HI, 1.0), TH_HI), 8)
    kernel = np.exp(-0.5 * ((th - mu) / tau) ** 2) / (tau * math.sqrt(2 * math.pi)) * wt
    value = np.stack([np.exp(ll(th)) for ll in lls]) @ kernel.T
    if lo < TH_LO:
        value += np.stack([np.exp(ll(np.array(TH_LO))) for ll in lls])[:, None] * special.ndtr((TH_LO - mu[:, 0]) / tau)
    return value + np.stack([np.exp(ll(np.array(TH_HI))) for ll in lls])[:, None] * special.ndtr((mu[:, 0] - TH_HI) / tau)


def nex_integral(ll, lo: float, mean: float, sd: float) -> float:
    th, wt = gl(np.append(np.arange(max(lo, TH_LO), TH_HI, 0.5), TH_HI))
    return float((np.exp(ll(th) - 0.5 * ((th - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi)) * wt).sum())


def brute_force(lls, thresholds_theta, *, mu_mean=MU, mu_sd=MU_SD, tau_scale=1.0, fixed_tau=None, w=1.0, nex=(MU, NEX_SD)):
    """log Z, P(θ_j > c) (J, C), P(exchangeable_j) (J,), E[τ]."""
    base = np.linspace(mu_mean - 9 * mu_sd, mu_mean + 9 * mu_sd, 41)
    grade = np.array([0, 1e-3, 3e-3, 0.01, 0.03, 0.1, 0.3, 1.0])

    def mu_rule(c=None):
        edges = base if c is None else np.concatenate([base, c - grade, c + grade])
        mu, w_mu = gl(edges[(edges >= base[0]) & (edges <= base[-1])], 6 if fixed_tau is None else 12)
        return mu, np.exp(-0.5 * ((mu - mu_mean) / mu_sd) ** 2) / (mu_sd * math.sqrt(2 * math.pi)) * w_mu

    rules = [mu_rule()] + [mu_rule(c) for c in thresholds_theta]
    if fixed_tau is None:
        edges = tau_scale * np.array([0, 0.01, 0.03, 0.06, 0.1, 0.15, 0.2, 0.3, 0.45, 0.6, 0.8, 1, 1.3, 1.7, 2.2, 3, 4, 5.5, 7])
        taus, w_tau = gl(edges, 5)
        w_tau = w_tau * 2 * np.exp(-0.5 * (taus / tau_scale) ** 2) / (tau_scale * math.sqrt(2 * math.pi))
    else:
        taus, w_tau = np.array([fixed_tau]), np.array([1.0])
    J = len(lls)
    nex_full = np.array([nex_integral(ll, -np.inf, *nex) for ll in lls])[:, None]
    nex_tail = [[nex_integral(ll, c, *nex) for c in thresholds_theta] for ll in lls]
    z = tau_sum = 0.0
    tails, exch = np.zeros((J, len(thresholds_theta))), np.zeros(J)

    def others(full, j):
        return np.prod(np.delete(full, j, axis=0), axis=0) if J > 1 else 1.0

    for tau, wt in zip(taus, w_tau, strict=True):
        mu, p_mu = rules[0]
        ex = inner(mu, tau, lls)
        full = w * ex + (1 - w) * nex_full
        z_tau = float((p_mu * np.prod(full, axis=0)).sum()) * wt
        z += z_tau
        tau_sum += tau * z_tau
        for j in range(J):
            exch[j] += float((p_mu * others(full, j) * w * ex[j]).sum()) * wt
        for k, c in enumerate(thresholds_theta):
            mu_c, p_mu_c = rules[k + 1]
            full_c = w * inner(mu_c, tau, lls) + (1 - w) * nex_full
            tail_c = inner(mu_c, tau, lls, c)
            for j in range(J):
                part = w * tail_c[j] + (1 - w) * nex_tail[j][k]
                tails[j, k] += float((p_mu_c * others(full_c, j) * part).sum()) * wt
    return math.log(z), tails / z, exch / z, tau_sum / z


def analyse(ys, ns, hierarchy=None, resolution=1.0, thresholds=THRESHOLDS):
    hierarchy = hierarchy or NormalHierarchy(MU, MU_SD, 1.0)
    liks = [BinomialLikelihood(y, n) for y, n in zip(ys, ns, strict=True)]
    engine = QuadratureEngine.for_likelihoods(hierarchy, liks, resolution=resolution)
    return engine.analyse(liks, thresholds=thresholds)


def probs(post, thresholds=THRESHOLDS) -> np.ndarray:
    return np.array([[s.prob_above[c] for c in thresholds] for s in post.strata])


def summary_vector(post) -> np.ndarray:
    values = [post.log_marginal_likelihood, post.tau.mean, post.tau.median, *post.tau.ci95]
    for s in post.strata:
        values += [*s.prob_above.values(), s.mean, s.median, *s.ci95, s.prob_exchangeable or 0.0]
    return np.array(values)


# --------------------------------------------------------------------------------------------------
# Against brute force


@pytest.mark.parametrize(
    ("ys", "ns"),
    [((3, 9), (12, 14)), ((0, 0), (5, 7)), ((1, 17), (20, 20))],
    ids=["typical", "zero-responders", "all-responders-and-conflict"],
)
def test_hierarchical_matches_brute_force_integration(ys, ns):
    """Two strata, default bhmbasket priors: log Z, P(p_j > p0), P(p_j > p1) and E[τ] within 1e-4
    (observed: ~1e-9) of an independent nested Gauss–Legendre integration."""
    post = analyse(ys, ns)
    log_z, tails, _, tau_mean = brute_force([binomial_loglik(y, n) for y, n in zip(ys, ns, strict=True)], [logit(c) for c in THRESHOLDS])
    assert post.log_marginal_likelihood == pytest.approx(log_z, abs=1e-6)
    np.testing.assert_allclose(probs(post), tails, atol=1e-4, rtol=0)
    assert post.tau.mean == pytest.approx(tau_mean, abs=1e-4)


def test_exnex_matches_brute_force_integration():
    """EXNEX (w = 0.5, non-exchangeable N(logit p0, 2.8006²)): tails and P(exchangeable_j)."""
    ys, ns = (1, 12), (20, 20)
    hierarchy = NormalHierarchy(MU, MU_SD, 1.0, weight_exchangeable=0.5, nex_mean=MU, nex_sd=NEX_SD)
    post = analyse(ys, ns, hierarchy)
    log_z, tails, exch, tau_mean = brute_force(
        [binomial_loglik(y, n) for y, n in zip(ys, ns, strict=True)], [logit(c) for c in THRESHOLDS], w=0.5
    )
    assert post.log_marginal_likelihood == pytest.approx(log_z, abs=1e-6)
    np.testing.assert_allclose(probs(post), tails, atol=1e-4, rtol=0)
    np.testing.assert_allclose([s.prob_exchangeable for s in post.strata], exch, atol=1e-4, rtol=0)
    assert post.tau.mean == pytest.approx(tau_mean, abs=1e-4)


def test_exposure_likelihood_pfs_scale_matches_brute_force():
    """The engine is generic in the likelihood: d·θ − e^θ·T on the log-hazard scale (PFS)."""
    hierarchy = NormalHierarchy(math.log(math.log(2) / 3), 1.5, 1.0)
    data = [(4, 30.0), (9, 41.0), (0, 6.0)]
    liks = [ExposureLikelihood(d, t) for d, t in data]
    engine = QuadratureEngine.for_likelihoods(hierarchy, liks)
    # P(λ_j > c) for hazards per month.
    thresholds = (0.1, 0.25)
    post = engine.analyse(liks, thresholds=thresholds, transform=LOG)
    lls = [lambda th, d=d, t=t: d * th - np.exp(th) * t for d, t in data]
    log_z, tails, _, _ = brute_force(lls, [math.log(c) for c in thresholds], mu_mean=hierarchy.mu_mean, mu_sd=1.5)
    assert post.log_marginal_likelihood == pytest.approx(log_z, abs=1e-6)
    np.testing.assert_allclose(probs(post, thresholds), tails, atol=1e-4, rtol=0)


@pytest.mark.parametrize(
    ("mu_sd", "fixed_tau", "pooled"),
    [(1.5, 300.0, False), (1000.0, 0.0, True)],
    ids=["fixed-tau-300-independent", "mu-sd-1000-pooled"],
)
def test_exposure_likelihood_on_a_very_wide_grid_is_the_flat_prior_gamma_posterior(mu_sd, fixed_tau, pooled):
    """A huge fixed τ or mu_sd stretches the θ = log λ grid far past 709, where e^θ overflows: ℓ = −∞
    there, without a RuntimeWarning. The prior on each log λ_j (fixed τ = 300) or on the shared log λ
    (τ = 0, mu_sd = 1000) is then flat, so λ_j | data ~ Gamma(d_j, T_j), or Gamma(Σd, ΣT) pooled."""
    data = [(4, 30.0), (9, 41.0)]
    liks = [ExposureLikelihood(d, t) for d, t in data]
    hierarchy = NormalHierarchy(math.log(math.log(2) / 3), mu_sd, 1.0, fixed_tau=fixed_tau)
    engine = QuadratureEngine.for_likelihoods(hierarchy, liks)
    assert engine.grid.theta[-1] > 709.8  # e^θ overflows on this grid
    thresholds = (0.1, 0.25)
    post = engine.analyse(liks, thresholds=thresholds, transform=LOG)
    for s, (d, t) in zip(post.strata, data, strict=True):
        shape, exposure = (sum(d for d, _ in data), sum(t for _, t in data)) if pooled else (d, t)
        expected = [stats.gamma.sf(c * exposure, shape) for c in thresholds]
        np.testing.assert_allclose([s.prob_above[c] for c in thresholds], expected, atol=1e-4, rtol=0)


def test_generic_callable_without_hints_gives_the_same_answer():
    """A bare vectorised function (no information bound or mode hints) is handled numerically."""
    hierarchy = NormalHierarchy(MU, MU_SD, 1.0)
    liks = [BinomialLikelihood(3, 12), BinomialLikelihood(9, 14)]
    bare = [lambda t, lik=lik: lik(t) for lik in liks]
    hinted = QuadratureEngine.for_likelihoods(hierarchy, liks).analyse(liks, thresholds=THRESHOLDS)
    generic = QuadratureEngine.for_likelihoods(hierarchy, bare).analyse(bare, thresholds=THRESHOLDS)
    np.testing.assert_allclose(summary_vector(generic), summary_vector(hinted), atol=2e-6, rtol=0)


def test_one_stratum_log_marginal_likelihood_against_double_integral():
    """J = 1: θ | τ ~ N(m, s² + τ²), so m(y) = ∫ π(τ) ∫ Bin(y | n, expit θ) N(θ; m, s² + τ²) dθ dτ."""
    y, n = 4, 11
    post = analyse((y,), (n,))
    ll = binomial_loglik(y, n)

    def given_tau(tau):
        sd = math.hypot(MU_SD, tau)
        f = lambda t: math.exp(ll(t) - 0.5 * ((t - MU) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))  # noqa: E731
        return integrate.quad(f, -40, 30, points=[logit(y / n)], epsabs=0, epsrel=1e-11, limit=200)[0]

    half_normal = lambda tau: 2 * math.exp(-0.5 * tau * tau) / math.sqrt(2 * math.pi)  # noqa: E731
    value = integrate.quad(lambda tau: given_tau(tau) * half_normal(tau), 0, 9, epsabs=0, epsrel=1e-10)[0]
    assert post.log_marginal_likelihood == pytest.approx(math.log(value), abs=1e-7)


# --------------------------------------------------------------------------------------------------
# Limits in τ (fixed τ: a point mass)


def test_tau_fixed_at_zero_is_complete_pooling():
    """τ = 0: θ_j = μ for all j, so P(p_j > c) = P(μ > c) with p(μ | y) ∝ N(μ; m, s²) Π_j Bin(y_j | n_j, expit μ)."""
    ys, ns = (3, 9), (12, 14)
    post = analyse(ys, ns, NormalHierarchy(MU, MU_SD, 1.0, fixed_tau=0.0))
    lls = [binomial_loglik(y, n) for y, n in zip(ys, ns, strict=True)]
    density = lambda m: math.exp(sum(float(ll(m)) for ll in lls) - 0.5 * ((m - MU) / MU_SD) ** 2)  # noqa: E731
    total = integrate.quad(density, -30, 25, points=[0.0], epsabs=0, epsrel=1e-12, limit=200)[0]
    for c in THRESHOLDS:
        above = integrate.quad(density, logit(c), 25, epsabs=0, epsrel=1e-12, limit=200)[0] / total
        for s in post.strata:
            assert s.prob_above[c] == pytest.approx(above, abs=1e-7)
    assert post.strata[0].mean == pytest.approx(post.strata[1].mean, abs=1e-12)
    assert post.tau.fixed and post.tau.mean == 0.0


def test_tau_fixed_huge_is_independent():
    """τ = 50: the strata barely share (corr(θ_1, θ_2) = s²/(s² + τ²) ≈ 0.003), so each stratum's
    posterior is its own likelihood times N(θ; m, s² + τ²) — the independent answer — and the exact
    fixed-τ brute force agrees too."""
    ys, ns = (3, 9), (12, 14)
    post = analyse(ys, ns, NormalHierarchy(MU, MU_SD, 1.0, fixed_tau=50.0))
    sd = math.hypot(MU_SD, 50.0)
    for s, y, n in zip(post.strata, ys, ns, strict=True):
        ll = binomial_loglik(y, n)
        f = lambda t, ll=ll: math.exp(ll(t) - 0.5 * ((t - MU) / sd) ** 2)  # noqa: E731
        total = integrate.quad(f, -40, 40, points=[logit(y / n)], epsabs=0, epsrel=1e-12, limit=200)[0]
        for c in THRESHOLDS:
            above = integrate.quad(f, logit(c), 40, epsabs=0, epsrel=1e-12, limit=200)[0] / total
            assert s.prob_above[c] == pytest.approx(above, abs=1e-4)
    _, tails, _, _ = brute_force([binomial_loglik(y, n) for y, n in zip(ys, ns, strict=True)], [logit(c) for c in THRESHOLDS], fixed_tau=50.0)
    np.testing.assert_allclose(probs(post), tails, atol=1e-6, rtol=0)


def test_tau_fixed_small_matches_brute_force():
    """A fixed τ below the θ step exercises the Fourier-multiplier convolution."""
    ys, ns = (2, 11), (15, 16)
    post = analyse(ys, ns, NormalHierarchy(MU, MU_SD, 1.0, fixed_tau=0.03))
    log_z, tails, _, _ = brute_force([binomial_loglik(y, n) for y, n in zip(ys, ns, strict=True)], [logit(c) for c in THRESHOLDS], fixed_tau=0.03)
    assert post.log_marginal_likelihood == pytest.approx(log_z, abs=1e-7)
    np.testing.assert_allclose(probs(post), tails, atol=1e-6, rtol=0)


# --------------------------------------------------------------------------------------------------
# Symmetry, edge cases, refinement


def test_swapping_strata_swaps_results():
    a = analyse((3, 9), (12, 14))
    b = analyse((9, 3), (14, 12))
    assert a.log_marginal_likelihood == pytest.approx(b.log_marginal_likelihood, abs=1e-12)
    np.testing.assert_allclose(probs(a), probs(b)[::-1], atol=1e-12)
    assert a.tau.median == pytest.approx(b.tau.median, abs=1e-10)


def test_mirror_symmetry_responders_and_non_responders():
    """y → n − y with mu_mean → −mu_mean maps p → 1 − p: P(p > c) becomes P(p < 1 − c)."""
    a = analyse((3, 9), (12, 14), NormalHierarchy(MU, MU_SD, 1.0))
    b = analyse((9, 5), (12, 14), NormalHierarchy(-MU, MU_SD, 1.0), thresholds=(0.85, 0.65))
    for sa, sb in zip(a.strata, b.strata, strict=True):
        assert sa.prob_above[0.15] == pytest.approx(1 - sb.prob_above[0.85], abs=1e-9)
        assert sa.prob_above[0.35] == pytest.approx(1 - sb.prob_above[0.65], abs=1e-9)
        assert sa.mean == pytest.approx(1 - sb.mean, abs=1e-9)
        assert sa.median == pytest.approx(1 - sb.median, abs=1e-8)
        assert sa.ci95[0] == pytest.approx(1 - sb.ci95[1], abs=1e-8)


EDGE_CASES = {
    "zero-responders": ((0, 0, 0), (20, 20, 20)),
    "all-responders": ((15, 20), (15, 20)),
    "very-unequal-n": ((0, 60), (1, 200)),
    "n-equals-1": ((0, 1), (1, 1)),
    "no-patients-yet": ((0, 5), (0, 10)),
    "twelve-strata": ((3, 0, 5, 2, 7, 1, 4, 9, 0, 3, 6, 2), (12, 5, 14, 9, 20, 4, 11, 21, 3, 10, 15, 8)),
}


@pytest.mark.parametrize("case", EDGE_CASES, ids=list(EDGE_CASES))
def test_edge_cases_are_converged_under_grid_refinement(case):
    """Halving every step (θ, u) moves no reported number by more than 1e-5 (probabilities: 1e-7)."""
    ys, ns = EDGE_CASES[case]
    coarse, fine = analyse(ys, ns), analyse(ys, ns, resolution=2.0)
    np.testing.assert_allclose(summary_vector(coarse), summary_vector(fine), atol=1e-5, rtol=0)
    np.testing.assert_allclose(probs(coarse), probs(fine), atol=1e-7, rtol=0)
    check = coarse.diagnostics["self_check"]
    assert check["normalising_constant_relative_discrepancy"] < 1e-8
    assert check["mass_within_8_nodes_of_grid_edges"] < 1e-8
    for s in coarse.strata:
        assert 0 <= s.ci95[0] <= s.median <= s.ci95[1] <= 1
        assert s.prob_above[0.15] >= s.prob_above[0.35]


def test_twelve_identical_strata_are_exchangeable():
    post = analyse((4,) * 12, (15,) * 12)
    values = probs(post)
    assert np.ptp(values, axis=0).max() < 1e-12


def test_zero_responders_pull_the_rate_down_and_borrowing_shrinks():
    alone = analyse((0,), (10,))
    with_good = analyse((0, 8), (10, 10))
    assert with_good.strata[0].mean > alone.strata[0].mean  # borrowing from a good stratum
    assert alone.strata[0].prob_above[0.15] < 0.2


def test_decreasing_transform_median_pfs():
    """Median PFS = ln 2 / λ decreases in θ = log λ: P(median > c) = P(λ < ln 2 / c)."""
    hierarchy = NormalHierarchy(math.log(math.log(2) / 3), 1.5, 1.0)
    liks = [ExposureLikelihood(4, 30.0), ExposureLikelihood(9, 41.0)]
    engine = QuadratureEngine.for_likelihoods(hierarchy, liks)
    median_pfs = Transform(
        "median = ln 2 / exp(θ)",
        lambda t: math.log(2) * np.exp(-np.asarray(t)),
        lambda m: np.log(math.log(2) / np.asarray(m)),
        increasing=False,
    )
    by_median = engine.analyse(liks, thresholds=(3.0,), transform=median_pfs)
    by_hazard = engine.analyse(liks, thresholds=(math.log(2) / 3.0,), transform=LOG)
    for sm, sh in zip(by_median.strata, by_hazard.strata, strict=True):
        assert sm.prob_above[3.0] == pytest.approx(1 - sh.prob_above[math.log(2) / 3.0], abs=1e-12)
        assert sm.median == pytest.approx(math.log(2) / sh.median, rel=1e-7)
        assert sm.ci95[0] == pytest.approx(math.log(2) / sh.ci95[1], rel=1e-7)


# --------------------------------------------------------------------------------------------------
# Batch path


def test_batch_equals_single_analyses_and_is_cached():
    hierarchy = NormalHierarchy(MU, MU_SD, 1.0)
    n = (12, 14)
    liks = [[BinomialLikelihood(y, nj) for y in range(nj + 1)] for nj in n]
    engine = QuadratureEngine.for_likelihoods(hierarchy, liks)
    outcomes = np.indices((13, 15)).reshape(2, -1).T
    batch = engine.batch(liks, outcomes, thresholds=THRESHOLDS)
    again = engine.batch(liks, outcomes, thresholds=THRESHOLDS)
    np.testing.assert_array_equal(batch.prob_above, again.prob_above)
    for t in (0, 17, 100, outcomes.shape[0] - 1):
        single = engine.analyse([liks[0][outcomes[t, 0]], liks[1][outcomes[t, 1]]], thresholds=THRESHOLDS)
        assert batch.log_marginal_likelihood[t] == pytest.approx(single.log_marginal_likelihood, abs=1e-12)
        np.testing.assert_allclose(batch.prob_above[t], probs(single), atol=1e-12)
        np.testing.assert_allclose(batch.mean[t], [s.mean for s in single.strata], atol=1e-12)
        assert batch.tau_mean[t] == pytest.approx(single.tau.mean, abs=1e-12)
    # Monotone in the stratum's own responders.
    grid = batch.prob_above[:, 0, 0].reshape(13, 15)
    assert np.all(np.diff(grid, axis=0) > 0)


def test_batch_of_many_strata_sparse_tuples_and_subset_of_strata():
    hierarchy = NormalHierarchy(MU, MU_SD, 1.0, weight_exchangeable=0.5, nex_mean=MU, nex_sd=NEX_SD)
    n = (6, 7, 5, 8)
    liks = [[BinomialLikelihood(y, nj) for y in range(nj + 1)] for nj in n]
    engine = QuadratureEngine.for_likelihoods(hierarchy, liks)
    rng = np.random.default_rng(1)
    outcomes = np.stack([rng.integers(0, nj + 1, size=40) for nj in n], axis=1)
    full = engine.batch(liks, outcomes, thresholds=(0.15,))
    part = engine.batch(liks, outcomes, thresholds=(0.15,), means=False, strata=[2])
    np.testing.assert_allclose(part.prob_above[:, 2], full.prob_above[:, 2], atol=1e-13)
    assert np.isnan(part.prob_above[:, 0]).all() and part.mean is None
    np.testing.assert_allclose(part.log_marginal_likelihood, full.log_marginal_likelihood, atol=1e-12)
    t = 7
    single = engine.analyse([liks[j][outcomes[t, j]] for j in range(4)], thresholds=(0.15,))
    np.testing.assert_allclose(full.prob_exchangeable[t], [s.prob_exchangeable for s in single.strata], atol=1e-12)
    np.testing.assert_allclose(full.prob_above[t], probs(single, (0.15,)), atol=1e-12)


@pytest.mark.parametrize("w", [1.0, 0.5], ids=["hierarchical", "exnex"])
def test_product_equals_batch_on_every_tuple_of_the_cartesian_product(w):
    """``product`` (the tensor-product contraction the predictive probability uses) against ``batch``
    on the same tuples: the same quadrature, so equal to rounding; decreasing transforms flip tails."""
    hierarchy = NormalHierarchy(MU, MU_SD, 1.0, weight_exchangeable=w, nex_mean=MU, nex_sd=NEX_SD)
    candidates = [[BinomialLikelihood(y, n) for y in ys] for ys, n in ((range(0, 5), 6), (range(2, 8), 9), (range(1, 4), 5))]
    engine = QuadratureEngine.for_likelihoods(hierarchy, candidates)
    product = engine.product(candidates, thresholds=THRESHOLDS)
    assert product.log_marginal_likelihood.shape == (5, 6, 3) and product.prob_above.shape == (5, 6, 3, 3, 2)
    outcomes = np.indices((5, 6, 3)).reshape(3, -1).T
    batch = engine.batch(candidates, outcomes, thresholds=THRESHOLDS, means=False)
    np.testing.assert_allclose(product.log_marginal_likelihood.reshape(-1), batch.log_marginal_likelihood, atol=1e-12)
    np.testing.assert_allclose(product.prob_above.reshape(-1, 3, 2), batch.prob_above, atol=1e-12)
    t = 47
    single = engine.analyse([candidates[j][outcomes[t, j]] for j in range(3)], thresholds=THRESHOLDS)
    np.testing.assert_allclose(product.prob_above.reshape(-1, 3, 2)[t], probs(single), atol=1e-12)
    failure = Transform("1 − p", lambda t: special.expit(-t), lambda q: -special.logit(q), increasing=False)
    flipped = engine.product(candidates, thresholds=(0.85,), transform=failure)
    np.testing.assert_allclose(flipped.prob_above[..., 0], 1.0 - product.prob_above[..., 0], atol=1e-12)
    assert engine.product([[BinomialLikelihood(2, 6)]]).log_marginal_likelihood.shape == (1,)


def test_table_cache_is_bounded_by_bytes_scoped_by_hierarchy_and_grid_and_changes_no_number():
    """Per-likelihood tables live in a byte-bounded LRU (cachetools): engines on equal grids under
    equal hierarchies share them (a second engine stores nothing new), another EXNEX weight on the
    same grid does not; caches too small for a look's tables, or for any table, give the numbers of
    a large one bitwise."""
    exnex = NormalHierarchy(MU, MU_SD, 1.0, weight_exchangeable=0.5, nex_mean=MU, nex_sd=NEX_SD)
    other_weight = NormalHierarchy(MU, MU_SD, 1.0, weight_exchangeable=0.7, nex_mean=MU, nex_sd=NEX_SD)
    liks = [BinomialLikelihood(3, 10), BinomialLikelihood(1, 10), BinomialLikelihood(6, 12)]

    def look(hierarchy, cache):
        engine = QuadratureEngine.for_likelihoods(hierarchy, liks, cache=cache)
        post = engine.analyse(liks, thresholds=THRESHOLDS)
        return engine, np.concatenate([probs(post).ravel(), [s.median for s in post.strata], [post.tau.median, post.log_marginal_likelihood]])

    large = TableCache()
    engine, reference = look(exnex, large)
    stored = large.bytes
    assert stored > 0
    np.testing.assert_array_equal(look(exnex, large)[1], reference)
    assert large.bytes == stored
    other_engine, _ = look(other_weight, large)
    assert other_engine.grid.digest == engine.grid.digest and large.bytes > stored
    one_table = engine.grid.size * 8
    for max_bytes in (3 * one_table, 100):
        small = TableCache(max_bytes)
        np.testing.assert_array_equal(look(exnex, small)[1], reference)
        assert 0 <= small.bytes <= max_bytes
    assert small.bytes == 0


def test_cached_likelihood_tables_are_read_only():
    """The table cache shares a likelihood's tables between engines and threads: a write to one raises."""
    exnex = NormalHierarchy(MU, MU_SD, 1.0, weight_exchangeable=0.5, nex_mean=MU, nex_sd=NEX_SD)
    liks = [BinomialLikelihood(3, 10), BinomialLikelihood(1, 10)]
    engine = QuadratureEngine.for_likelihoods(exnex, liks, cache=TableCache())
    engine.analyse(liks)
    marginal = engine.tables.marginals(liks)[0]
    assert marginal is engine.tables.marginals(liks)[0]
    for table in (marginal.marginal, marginal.likelihood_on_grid, marginal.log_mixture):
        with pytest.raises(ValueError, match="read-only"):
            table[0] = 0.0


def test_invalid_inputs_name_the_field():
    with pytest.raises(InvalidInputError, match="responders"):
        BinomialLikelihood(5, 3)
    with pytest.raises(InvalidInputError, match="weight_exchangeable"):
        NormalHierarchy(MU, MU_SD, 1.0, weight_exchangeable=1.5)
    with pytest.raises(InvalidInputError) as info:
        NormalHierarchy(MU, -1.0, 0.0)
    assert [p.field for p in info.value.problems] == ["model/prior/mu_sd", "model/prior/tau_scale"]
    engine = QuadratureEngine.for_likelihoods(NormalHierarchy(MU, MU_SD, 1.0), [BinomialLikelihood(1, 5)])
    with pytest.raises(InvalidInputError, match="outcomes"):
        engine.batch([[BinomialLikelihood(1, 5)]], np.zeros((3, 2), dtype=int))
    with pytest.raises(InvalidInputError, match="thresholds"):
        engine.analyse([BinomialLikelihood(1, 5)], thresholds=(1.5,), transform=LOGIT)


def test_sinc_cdf_and_quantiles_of_a_sampled_normal():
    """The band-limited CDF of a normal sampled at 2.5 points per sd is exact to ~1e-12."""
    h = 0.4
    t = np.arange(-12, 12 + h / 2, h)
    density = np.exp(-0.5 * t**2)
    x = np.array([-1.96, -0.3, 0.0, 0.77, 2.5])
    np.testing.assert_allclose(sinc_cdf(density, t, h, x), special.ndtr(x), atol=1e-12)
    np.testing.assert_allclose(sinc_quantiles(density, t, h, (0.025, 0.5, 0.975)), special.ndtri([0.025, 0.5, 0.975]), atol=1e-9)


def test_grid_step_follows_the_data():
    hierarchy = NormalHierarchy(MU, MU_SD, 1.0)
    small = make_grid(hierarchy, [BinomialLikelihood(1, 4)])
    large = make_grid(hierarchy, [BinomialLikelihood(60, 400), BinomialLikelihood(50, 400)])
    assert small.step == 0.1
    assert large.step == pytest.approx(1 / math.sqrt(200) / 2.5)
