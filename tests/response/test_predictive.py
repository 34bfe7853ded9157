"""Predictive probability of success: Lee & Liu (2008), brute-force enumeration, quadrature, reweighting."""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy import integrate, special, stats

from designs.response import predictive
from designs.core.errors import InvalidInputError
from designs.engines.quadrature import BinomialLikelihood, NormalHierarchy, QuadratureEngine, TableCache

P0 = 0.15
MU = math.log(P0 / (1 - P0))


def test_lee_liu_2008_predictive_probability_0_5656():
    """Lee JJ, Liu DD. A predictive probability design for phase II cancer clinical trials.
    Controlled Clinical Trials 2008;5(2):93–105, worked example: 16 responders of 23, Nmax = 40,
    prior Beta(0.6, 0.4), p0 = 0.6, θ_T = 0.9 → PP = 0.5656."""
    value = predictive.predictive_probability_beta(0.6, 0.4, 16, 23, 40, 0.6, 0.9)
    assert float(value) == pytest.approx(0.5656, abs=5e-5)

    # Brute-force enumeration: P(x | data) and each final posterior by numerical integration.
    def posterior_density(p, y, n):
        return stats.beta.pdf(p, 0.6 + y, 0.4 + n - y)

    total = 0.0
    for x in range(18):
        prob_x = integrate.quad(lambda p, x=x: stats.binom.pmf(x, 17, p) * posterior_density(p, 16, 23), 0, 1, epsabs=1e-14, limit=200)[0]
        above = integrate.quad(lambda p, x=x: posterior_density(p, 16 + x, 40), 0.6, 1, epsabs=1e-14, limit=200)[0]
        total += prob_x * (above > 0.9)
    assert total == pytest.approx(float(value), abs=1e-9)


def test_pooled_predictive_probability_uses_totals():
    value = predictive.predictive_probability_pooled(0.15, 0.85, [3, 9], [12, 14], [30, 30], 0.15, 0.95)
    assert value == pytest.approx(float(predictive.predictive_probability_beta(0.15, 0.85, 12, 26, 60, 0.15, 0.95)), abs=1e-15)


def test_independent_predictive_probability_is_per_stratum():
    values = predictive.predictive_probability_beta(0.15, 0.85, np.array([3, 9]), np.array([12, 14]), np.array([30, 25]), 0.15, 0.95)
    assert values[0] == pytest.approx(float(predictive.predictive_probability_beta(0.15, 0.85, 3, 12, 30, 0.15, 0.95)))
    assert values[1] == pytest.approx(float(predictive.predictive_probability_beta(0.15, 0.85, 9, 14, 25, 0.15, 0.95)))


# --------------------------------------------------------------------------------------------------
# Hierarchical by quadrature


def _normal_pdf(x, mean, sd):
    return np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def _binomial(y, n, t):
    log_choose = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
    return np.exp(log_choose + y * special.log_expit(t) + (n - y) * special.log_expit(-t))


def _brute_fixed_tau(ys, ns, n_final, tau, threshold):
    """PP for a hierarchical model with τ fixed, by direct integration (independent of the engine).

    Given τ, θ_j | μ ~ N(μ, τ²): every marginal likelihood is a 1-D integral over μ of products of
    1-D integrals over θ (Gauss–Legendre, the θ > logit p0 part on its own rule); enumerate the futures."""
    c = math.log(P0 / (1 - P0))
    x, w = np.polynomial.legendre.leggauss(300)
    mu, mu_w = MU + 12 * x, 12 * w * _normal_pdf(MU + 12 * x, MU, 2.6159)
    x, w = np.polynomial.legendre.leggauss(500)
    theta, theta_w = 25 * x - 3, 25 * w
    upper, upper_w = c + (22 - c) * (x + 1) / 2, (22 - c) * w / 2
    kernel = _normal_pdf(theta[None, :], mu[:, None], tau) * theta_w
    kernel_upper = _normal_pdf(upper[None, :], mu[:, None], tau) * upper_w

    def parts(zs, nn):
        return np.stack([kernel @ _binomial(z, n, theta) for z, n in zip(zs, nn, strict=True)])

    now = float((mu_w * parts(ys, ns).prod(axis=0)).sum())
    m = [nf - n for nf, n in zip(n_final, ns, strict=True)]
    result = np.zeros(len(ys))
    for f in itertools.product(*(range(v + 1) for v in m)):
        z = [y + fk for y, fk in zip(ys, f, strict=True)]
        full = parts(z, n_final)
        comb = math.prod(
            math.comb(mk, fk) * math.comb(n, y) / math.comb(nf, zk)
            for mk, fk, n, y, nf, zk in zip(m, f, ns, ys, n_final, z, strict=True)
        )
        prob_f = float((mu_w * full.prod(axis=0)).sum()) / now * comb
        for j in range(len(ys)):
            others = np.delete(full, j, axis=0).prod(axis=0)
            above = float((mu_w * others * (kernel_upper @ _binomial(z[j], n_final[j], upper))).sum())
            result[j] += prob_f * (above / float((mu_w * others * full[j]).sum()) > threshold)
    return result


@pytest.mark.parametrize("max_final_table", [predictive.MAX_FINAL_TABLE, 0], ids=["whole-final-table", "this-look-only"])
def test_hierarchical_enumeration_matches_brute_force_with_tau_fixed(max_final_table):
    """τ fixed at 0.7: the engine's enumeration against direct integration of every future tuple,
    read from the design's whole final table and from a table of this look's final tuples only."""
    ys, ns, n_final = [2, 5], [9, 10], [12, 12]
    hierarchy = NormalHierarchy(MU, 2.6159, 1.0, fixed_tau=0.7)
    result = predictive.predictive_probability_hierarchical(hierarchy, ys, ns, n_final, P0, 0.8, max_final_table=max_final_table)
    assert result.monte_carlo_se is None and "enumeration" in result.method
    assert abs(result.details["predictive_mass_minus_one"]) < 1e-10
    np.testing.assert_allclose(result.probability, _brute_fixed_tau(ys, ns, n_final, 0.7, 0.8), atol=1e-6)


def test_hierarchical_monte_carlo_agrees_with_enumeration_within_4_mcse():
    hierarchy = NormalHierarchy(MU, 2.6159, 1.0)
    exact = predictive.predictive_probability_hierarchical(hierarchy, [3, 9], [12, 14], [30, 30], P0, 0.95)
    mc = predictive.predictive_probability_hierarchical(hierarchy, [3, 9], [12, 14], [30, 30], P0, 0.95, max_enumeration=10, seed=7)
    again = predictive.predictive_probability_hierarchical(hierarchy, [3, 9], [12, 14], [30, 30], P0, 0.95, max_enumeration=10, seed=7)
    assert "Monte Carlo" in mc.method and mc.monte_carlo_se is not None
    np.testing.assert_array_equal(mc.probability, again.probability)  # seeded
    assert np.all(np.abs(mc.probability - exact.probability) <= 4 * np.maximum(mc.monte_carlo_se, 1e-3))


def test_exnex_monte_carlo_agrees_with_enumeration_within_4_mcse():
    hierarchy = NormalHierarchy(MU, 2.6159, 1.0, weight_exchangeable=0.5, nex_mean=MU, nex_sd=2.8006)
    exact = predictive.predictive_probability_hierarchical(hierarchy, [1, 6, 2], [10, 12, 8], [20, 20, 20], P0, 0.9)
    mc = predictive.predictive_probability_hierarchical(hierarchy, [1, 6, 2], [10, 12, 8], [20, 20, 20], P0, 0.9, max_enumeration=10, seed=3)
    assert np.all(np.abs(mc.probability - exact.probability) <= 4 * np.maximum(mc.monte_carlo_se, 1e-3))


@pytest.mark.parametrize("w", [1.0, 0.5], ids=["hierarchical", "exnex"])
def test_hierarchical_predictive_table_matches_single_calls(w):
    """The shared final table (OC simulations) gives the same PP as one-off enumerations over this
    look's final tuples only, at the corners (0/10, 0/10 and 10/10, 10/10) and inside."""
    hierarchy = NormalHierarchy(MU, 2.6159, 1.0, weight_exchangeable=w, nex_mean=MU, nex_sd=2.8006)
    engine = predictive.engine_for(hierarchy, [20, 20])
    table = predictive.HierarchicalPredictive(engine, [20, 20], P0, 0.95)
    interim = np.indices((11, 11)).reshape(2, -1).T
    values, mass = table.probability(interim, [10, 10])
    assert np.abs(mass - 1).max() < 1e-10
    for t in (0, 37, 120):
        single = predictive.predictive_probability_hierarchical(
            hierarchy, interim[t], [10, 10], [20, 20], P0, 0.95, engine=engine, max_final_table=0
        )
        assert single.details["n_future_tuples"] == 121
        np.testing.assert_allclose(values[t], single.probability, atol=1e-12)


def test_final_table_outside_its_box_is_refused():
    engine = predictive.engine_for(NormalHierarchy(MU, 2.6159, 1.0), [12, 12])
    table = predictive.HierarchicalPredictive(engine, [12, 12], P0, 0.95, lowest=[2, 5], highest=[5, 7])
    assert table.shape == (4, 3)
    with pytest.raises(InvalidInputError, match="outside the table"):
        table.probability([[2, 5]], [9, 9])  # finals up to 5 + 3 = 8 > 7


# --------------------------------------------------------------------------------------------------
# Kept engines and tables: a repeated look, and looks after other looks


def _look(hierarchy, ys, ns, n_final, **kwargs) -> np.ndarray:
    """Every number of one look: the posterior summaries (p0 0.15, p1 0.35), τ, the log marginal
    likelihood, the PP and its predictive mass."""
    liks = [BinomialLikelihood(y, n) for y, n in zip(ys, ns, strict=True)]
    engine = kwargs.pop("engine", None) or predictive.engine_for(hierarchy, n_final)
    post = engine.analyse(liks, thresholds=(P0, 0.35))
    result = predictive.predictive_probability_hierarchical(hierarchy, ys, ns, n_final, P0, 0.95, engine=engine, **kwargs)
    strata = [[s.mean, s.median, *s.ci95, *s.prob_above.values()] for s in post.strata]
    tau = [post.tau.mean, post.tau.median, *post.tau.ci95, post.log_marginal_likelihood]
    return np.concatenate([np.ravel(strata), tau, result.probability, [result.details["predictive_mass_minus_one"]]])


HIERARCHICAL = NormalHierarchy(MU, 2.6159, 1.0)
EXNEX = NormalHierarchy(MU, 2.6159, 1.0, weight_exchangeable=0.5, nex_mean=MU, nex_sd=2.8006)


@pytest.mark.parametrize("hierarchy", [HIERARCHICAL, EXNEX], ids=["hierarchical", "exnex"])
def test_a_repeated_look_reuses_the_engine_and_gives_the_numbers_of_an_engine_without_cache(hierarchy):
    """The kept engine (one per hierarchy and planned n), its tables and the design's final table
    against an engine with a cache of its own and a PP over this look's final tuples only: the
    posterior bitwise, the PP and its mass to 1e-12; the second look gives the first's numbers bitwise."""
    predictive.clear_caches()
    first = _look(hierarchy, [3, 1], [10, 10], [21, 21])
    assert predictive.engine_for(hierarchy, [21, 21]) is predictive.engine_for(hierarchy, np.array([21, 21]))
    again = _look(hierarchy, [3, 1], [10, 10], [21, 21])
    np.testing.assert_array_equal(again, first)
    candidates = [[BinomialLikelihood(z, 21) for z in range(22)]] * 2
    own = QuadratureEngine.for_likelihoods(hierarchy, candidates, cache=TableCache())
    uncached = _look(hierarchy, [3, 1], [10, 10], [21, 21], engine=own, max_final_table=0)
    posterior = slice(0, first.size - 3)
    np.testing.assert_array_equal(uncached[posterior], first[posterior])
    np.testing.assert_allclose(uncached, first, rtol=0, atol=1e-12)
    assert 1.0 > first[-3] > first[-2] > 0.0  # the PPs of 3/10 and 1/10


def test_a_kept_final_table_is_read_only():
    """Threads share the kept final tables: a write to one raises instead of changing another look's PP."""
    engine = predictive.engine_for(EXNEX, [12, 12])
    table = predictive.final_table(engine, [12, 12], P0, 0.95)
    assert predictive.final_table(engine, [12, 12], P0, 0.95) is table
    for array in (table.log_marginal, table.prob_above_p0, table.success, table.with_threshold(0.9).success):
        with pytest.raises(ValueError, match="read-only"):
            array[0, 0] = 0


def test_a_look_gives_the_same_numbers_whatever_ran_before_it():
    """Two looks (hierarchical, EXNEX) from a cold start and after other looks that leave some of
    their tables and final tables cached — other data at the same design, an EXNEX model with another
    weight on the same grid, another design: bitwise equal."""
    looks = [(HIERARCHICAL, [3, 1], [10, 10], [21, 21]), (EXNEX, [3, 1], [10, 10], [21, 21])]
    predictive.clear_caches()
    cold = [_look(*look) for look in looks]
    predictive.clear_caches()
    other_weight = NormalHierarchy(MU, 2.6159, 1.0, weight_exchangeable=0.7, nex_mean=MU, nex_sd=2.8006)
    assert predictive.engine_for(other_weight, [21, 21]).grid.digest == predictive.engine_for(EXNEX, [21, 21]).grid.digest
    for hierarchy, ys, ns, n_final in (
        (HIERARCHICAL, [3, 4], [10, 12], [21, 21]),
        (HIERARCHICAL, [0, 1], [10, 10], [21, 21]),
        (other_weight, [3, 1], [10, 10], [21, 21]),
        (HIERARCHICAL, [3, 1], [10, 10], [30, 30]),
    ):
        _look(hierarchy, ys, ns, n_final)
    for look, expected in zip(looks, cold, strict=True):
        np.testing.assert_array_equal(_look(*look), expected)


def test_looks_in_parallel_threads_share_the_kept_engines_and_give_the_sequential_numbers():
    """Service requests run in worker threads: eight looks (two designs, two models, other data) at
    once from a cold start, sharing engines, tables and final tables, give the numbers of the same
    looks one after another, bitwise."""
    looks = [
        (hierarchy, [y, 9 - y], [10, 12], planned)
        for hierarchy in (HIERARCHICAL, EXNEX)
        for y in (1, 6)
        for planned in ([21, 21], [30, 24])
    ]
    predictive.clear_caches()
    sequential = [_look(*look) for look in looks]
    predictive.clear_caches()
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda look: _look(*look), looks))
    for got, expected in zip(parallel, sequential, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_final_analysis_predictive_probability_is_the_indicator():
    hierarchy = NormalHierarchy(MU, 2.6159, 1.0)
    result = predictive.predictive_probability_hierarchical(hierarchy, [1, 9], [20, 20], [20, 20], P0, 0.95)
    np.testing.assert_array_equal(result.probability, [0.0, 1.0])


def test_invalid_counts_raise():
    with pytest.raises(InvalidInputError):
        predictive.predictive_probability_hierarchical(NormalHierarchy(MU, 2.6159, 1.0), [3], [5], [4], P0)


# --------------------------------------------------------------------------------------------------
# Reweighting posterior draws


def _beta_draws(rng, ys, ns, size=8000):
    return np.stack([rng.beta(0.15 + y, 0.85 + n - y, size=size) for y, n in zip(ys, ns, strict=True)], axis=1)


def test_reweighting_exact_draws_reproduces_closed_form_within_4_mcse():
    """Independent Beta posteriors: reweighting exact draws gives Lee & Liu's PP per stratum."""
    rng = np.random.default_rng(11)
    ys, ns, n_final = [3, 6], [12, 14], [20, 22]
    draws = _beta_draws(rng, ys, ns)
    result = predictive.predictive_probability_by_reweighting(draws, np.subtract(n_final, ns), p0=P0, final_threshold=0.95)
    exact = predictive.predictive_probability_beta(0.15, 0.85, np.array(ys), np.array(ns), np.array(n_final), P0, 0.95)
    assert result.method.startswith("reweighting")
    assert np.all(np.abs(result.probability - exact) <= 4 * np.maximum(result.monte_carlo_se, 2e-3))


def test_reweighting_lee_liu_example_with_exact_draws():
    rng = np.random.default_rng(5)
    draws = rng.beta(16.6, 7.4, size=(20_000, 1))
    result = predictive.predictive_probability_by_reweighting(draws, [17], p0=0.6, final_threshold=0.9)
    assert abs(result.probability[0] - 0.5656) <= 4 * max(result.monte_carlo_se[0], 2e-3)


def test_reweighting_degenerate_weights_fall_back_and_say_so():
    rng = np.random.default_rng(2)
    draws = _beta_draws(rng, [1], [3], size=300)  # few draws, many future patients
    fallback = predictive.PredictiveResult(np.array([0.123]), "quadrature; exact enumeration of 61 future outcome tuples")
    result = predictive.predictive_probability_by_reweighting(
        draws, [60], p0=P0, final_threshold=0.95, fallback=lambda: fallback
    )
    assert result.probability[0] == 0.123
    assert "fallback" in result.method and "degenerate" in result.method
    alone = predictive.predictive_probability_by_reweighting(draws, [60], p0=P0, final_threshold=0.95)
    assert "warning" in alone.details


def test_reweighting_samples_futures_when_enumeration_is_too_large():
    rng = np.random.default_rng(4)
    ys, ns, n_final = [3, 6, 2], [12, 14, 9], [20, 22, 15]
    draws = _beta_draws(rng, ys, ns, size=4000)
    result = predictive.predictive_probability_by_reweighting(
        draws, np.subtract(n_final, ns), p0=P0, final_threshold=0.95, max_enumeration=10, monte_carlo_futures=2000, seed=1
    )
    exact = predictive.predictive_probability_beta(0.15, 0.85, np.array(ys), np.array(ns), np.array(n_final), P0, 0.95)
    assert result.details["futures"] == "sampled"
    assert np.all(np.abs(result.probability - exact) <= 4 * np.maximum(result.monte_carlo_se, 2e-3))


def test_reweighting_in_blocks_of_futures_equals_one_block():
    """Blocks of futures (a small ``chunk_bytes``) give the numbers of one whole block, enumerated or
    sampled futures, with a draw at p = 0 (the −∞ path of the weights) as well."""
    rng = np.random.default_rng(8)
    draws = _beta_draws(rng, [3, 6, 2], [12, 14, 9], size=3000)
    draws[7, 1] = 0.0
    for kwargs in ({}, {"max_enumeration": 10}):
        whole = predictive.predictive_probability_by_reweighting(
            draws, [8, 8, 6], p0=P0, seed=3, chunk_bytes=2**40, **kwargs
        )
        blocks = predictive.predictive_probability_by_reweighting(
            draws, [8, 8, 6], p0=P0, seed=3, chunk_bytes=200_000, **kwargs
        )
        assert predictive.reweighting_rows(3000, 3, 200_000) < whole.details["n_future_tuples"]
        np.testing.assert_allclose(blocks.probability, whole.probability, rtol=0, atol=1e-12)
        np.testing.assert_allclose(blocks.monte_carlo_se, whole.monte_carlo_se, rtol=1e-12, atol=0)
        assert blocks.details["min_weight_ess"] == pytest.approx(whole.details["min_weight_ess"], rel=1e-12)


def test_reweighting_temporaries_stay_within_their_budget():
    """441 futures × 20,000 draws would be 70 MB per temporary array; blocks keep the peak near the budget."""
    import tracemalloc

    rng = np.random.default_rng(9)
    draws = _beta_draws(rng, [3, 6], [12, 14], size=20_000)
    budget = 2 * 2**20
    tracemalloc.start()
    try:
        predictive.predictive_probability_by_reweighting(draws, [20, 20], p0=P0, seed=1, chunk_bytes=budget)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2 * budget + 20 * draws.nbytes
