"""Predictive probability of success (Lee & Liu 2008, Controlled Clinical Trials 29:93–105).

Success of stratum j at its final analysis (n_planned patients): P(p_j > p0 | final data) >
final_threshold (strict). At an interim look with m_k = n_final_k − n_k patients still to come,

    PP_j = Σ_f P(f | y) · 1[success_j(y + f)],

summed over the future responder counts f. Every stratum is assumed to reach its n_final at the
final analysis (strata that have stopped enter with n_final = n).

* independent / pooled: f is Beta–binomial, exact sums (``predictive_probability_beta`` ...).
* hierarchical / EXNEX: the strata share information, so every stratum's future matters:
  P(f | y) = m(y + f) / m(y) · Π_k C(m_k, f_k) C(n_k, y_k) / C(n_k + m_k, y_k + f_k), m(·) the
  marginal likelihood of the counts (``designs.engines.quadrature``). The future tuples are enumerated when
  Π_k (m_k + 1) ≤ ``MAX_ENUMERATION``, their m(·) and success read from a table of final outcomes
  (``HierarchicalPredictive``; a design's whole table is kept across looks); otherwise futures are
  drawn (seeded) from the posterior predictive on the quadrature grid and the Monte Carlo standard
  error is reported.
* MCMC draws: ``predictive_probability_by_reweighting`` weights draw s by Π_k Bin(f_k | m_k, p_sk) —
  the posterior after the future data — and falls back to quadrature when the weights degenerate.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from cachetools import cached
from scipy import special

from designs.core.arrays import read_only
from designs.core.cost import CHUNK_BYTES
from designs.core.errors import InvalidInputError
from designs.core.memory import CACHES
from designs.engines import closed_form
from designs.engines.quadrature import LOGIT, TABLES, BinomialLikelihood, NormalHierarchy, QuadratureEngine

MAX_ENUMERATION = 50_000
"""Largest number of future outcome tuples enumerated exactly (hierarchical / EXNEX)."""
MONTE_CARLO_FUTURES = 2_000
"""Future outcome tuples drawn when enumeration is too large."""
MIN_WEIGHT_ESS = 200.0
"""Reweighting is degenerate when futures with an importance-weight ESS below this carry > 1% of the mass."""
DEGENERATE_MASS = 0.01
MAX_REWEIGHTED_CELLS = 50_000_000
"""Most (future, draw) pairs the reweighting enumerates; beyond, it draws ``MONTE_CARLO_FUTURES`` futures."""
REWEIGHTING_BYTES_PER_CELL = 32
"""Bytes per (future, draw) cell of the reweighting's temporaries, the mask's byte per stratum apart."""
MAX_FINAL_TABLE = 2_500
"""Largest table of final outcomes built whole at a design's first look, for every later look; a
larger design gets a table of each look's final tuples only (a whole one would make its first look
slow: 9,261 tuples cost ~0.3 s)."""
_FINAL_TABLES = CACHES.cache("predictive-final-tables")
"""Final tables kept per process (a share of the one cache budget, ``designs.core.memory``)."""
_ENGINES = CACHES.cache("predictive-engines")
"""Quadrature engines (grids) kept per process, one per (hierarchy, planned n), bounded by bytes;
their tables are bounded apart (``designs.engines.quadrature.TABLES``)."""


@dataclass(frozen=True)
class PredictiveResult:
    """PP per stratum, how it was computed, its Monte Carlo standard error (None when exact) and details."""

    probability: np.ndarray
    method: str
    monte_carlo_se: np.ndarray | None = None
    details: dict[str, Any] = field(default_factory=dict)


def _check_counts(responders, n, n_final) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y, n, n_final = (np.asarray(v, dtype=int) for v in (responders, n, n_final))
    if not (y.shape == n.shape == n_final.shape) or y.ndim != 1:
        raise InvalidInputError("strata", "responders, n and n_final need one entry per stratum")
    if np.any(y < 0) or np.any(y > n) or np.any(n > n_final):
        raise InvalidInputError("strata", "need 0 ≤ responders ≤ n ≤ n_planned in every stratum")
    return y, n, n_final


def _log_choose(n, k) -> np.ndarray:
    return special.gammaln(np.asarray(n) + 1) - special.gammaln(np.asarray(k) + 1) - special.gammaln(np.asarray(n) - k + 1)


# --------------------------------------------------------------------------------------------------
# Closed forms


def predictive_probability_beta(
    a: float, b: float, responders, n, n_final, p0: float, final_threshold: float = 0.95
) -> np.ndarray:
    """Independent strata, p_j ~ Beta(a, b): PP per stratum (exact Beta–binomial sums; vectorised)."""
    return closed_form.predictive_probability_of_success(a, b, responders, n, n_final, p0, final_threshold)


def predictive_probability_pooled(
    a: float, b: float, responders, n, n_final, p0: float, final_threshold: float = 0.95
) -> float:
    """One rate shared by all strata, p ~ Beta(a, b): the same PP for every stratum (totals)."""
    y, n, n_final = _check_counts(responders, n, n_final)
    return float(closed_form.predictive_probability_of_success(a, b, y.sum(), n.sum(), n_final.sum(), p0, final_threshold))


# --------------------------------------------------------------------------------------------------
# Hierarchical / EXNEX by quadrature


def engine_for(hierarchy: NormalHierarchy, n_final: Sequence[int]) -> QuadratureEngine:
    """A quadrature engine whose grid suits every count up to ``n_final`` (current and final data).

    One engine per (hierarchy, n_final) is kept across calls (within the engines' share of the cache
    budget, least recently used dropped first), its tables in the process-wide table cache: a repeated look at a design
    reuses its grid. Engines are read-only but for that (thread-safe) cache, so threads may share one.
    """
    return _engine_for(hierarchy, tuple(int(v) for v in n_final))


@cached(_ENGINES, lock=_ENGINES.lock)
def _engine_for(hierarchy: NormalHierarchy, n_final: tuple[int, ...]) -> QuadratureEngine:
    candidates = [[BinomialLikelihood(z, nk) for z in range(nk + 1)] for nk in n_final]
    return QuadratureEngine.for_likelihoods(hierarchy, candidates)


class HierarchicalPredictive:
    """PP of every stratum for many interim outcome tuples, sharing one final-analysis table.

    The final table — log marginal likelihood and success indicator of every final tuple z with
    lowest_k ≤ z_k ≤ highest_k (default: all, 0 ≤ z_k ≤ n_final_k) — is computed once by
    ``QuadratureEngine.product``; PP for an interim tuple y at n is then
    Σ_f exp(log m(y + f) − log m(y) + combinatorics) · success(y + f). Whole tables serve
    operating-characteristic simulations (J = 2, n ≤ 60: 3,721 final tuples) and repeated looks at
    a design (``final_table``); a box y_k ≤ z_k ≤ y_k + m_k serves one look at a large design.
    Its tables are read-only: the cache shares them between threads.
    """

    def __init__(
        self,
        engine: QuadratureEngine,
        n_final: Sequence[int],
        p0: float,
        final_threshold: float = 0.95,
        *,
        lowest: Sequence[int] | None = None,
        highest: Sequence[int] | None = None,
    ):
        self.engine = engine
        self.n_final = np.asarray(n_final, dtype=int)
        self.p0 = p0
        self.final_threshold = final_threshold
        self.lowest = np.zeros_like(self.n_final) if lowest is None else np.asarray(lowest, dtype=int)
        self.highest = self.n_final.copy() if highest is None else np.asarray(highest, dtype=int)
        if np.any(self.lowest < 0) or np.any(self.lowest > self.highest) or np.any(self.highest > self.n_final):
            raise InvalidInputError("strata", "need 0 ≤ lowest ≤ highest ≤ n_planned in every stratum")
        shape = tuple(int(v) + 1 for v in self.highest - self.lowest)
        if math.prod(shape) > 4 * MAX_ENUMERATION:
            raise InvalidInputError("strata", f"too many final outcome tuples ({math.prod(shape)}) for a full table")
        candidates = [
            [BinomialLikelihood(z, int(nk)) for z in range(int(lo), int(hi) + 1)]
            for lo, hi, nk in zip(self.lowest, self.highest, self.n_final, strict=True)
        ]
        post = engine.product(candidates, thresholds=(p0,), transform=LOGIT)
        self.shape = shape
        self.log_marginal = read_only(post.log_marginal_likelihood)
        self.prob_above_p0 = read_only(post.prob_above[..., 0])
        self.success = read_only(self.prob_above_p0 > final_threshold)

    def with_threshold(self, final_threshold: float) -> HierarchicalPredictive:
        """The same final table with another success threshold (only the success indicator changes)."""
        other = copy.copy(self)
        other.final_threshold = final_threshold
        other.success = read_only(self.prob_above_p0 > final_threshold)
        return other

    @property
    def nbytes(self) -> int:
        return self.log_marginal.nbytes + self.prob_above_p0.nbytes + self.success.nbytes

    def probability(self, responders: np.ndarray, n: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
        """PP (T, J) for interim tuples ``responders`` (T, J) at ``n`` (J,), and the total predictive
        mass Σ_f P(f | y) per tuple (T,) — 1 up to quadrature error (a self-check)."""
        y = np.atleast_2d(np.asarray(responders, dtype=int))
        n = np.asarray(n, dtype=int)
        m = self.n_final - n
        if np.any(m < 0) or np.any(y > n) or np.any(y < 0):
            raise InvalidInputError("strata", "need 0 ≤ responders ≤ n ≤ n_planned in every stratum")
        if np.any(y < self.lowest) or np.any(y + m > self.highest):
            raise InvalidInputError("strata", "some final outcomes of these interim tuples lie outside the table")
        likelihoods = [[BinomialLikelihood(v, int(nk)) for v in range(int(nk) + 1)] for nk in n]
        log_now = self.engine.batch(likelihoods, y, means=False, strata=()).log_marginal_likelihood
        futures = np.indices(tuple(int(v) + 1 for v in m)).reshape(len(m), -1).T  # (F, J)
        out = np.zeros(y.shape, dtype=float)
        mass = np.zeros(y.shape[0])
        log_comb_future = _log_choose(m, futures).sum(axis=1)  # (F,)
        step = max(1, 2_000_000 // futures.shape[0])
        for start in range(0, y.shape[0], step):
            rows = slice(start, start + step)
            yy = y[rows]
            z = yy[:, None, :] + futures[None, :, :]  # (t, F, J)
            cells = tuple(np.moveaxis(z - self.lowest, -1, 0))
            log_p = (
                self.log_marginal[cells]
                - log_now[rows, None]
                + log_comb_future[None, :]
                + _log_choose(n, yy).sum(axis=1)[:, None]
                - _log_choose(self.n_final, z).sum(axis=2)
            )
            p = np.exp(log_p)
            mass[rows] = p.sum(axis=1)
            out[rows] = np.einsum("tf,tfj->tj", p, self.success[cells]) / mass[rows, None]
        return out, mass


def predictive_probability_hierarchical(
    hierarchy: NormalHierarchy,
    responders: Sequence[int],
    n: Sequence[int],
    n_final: Sequence[int],
    p0: float,
    final_threshold: float = 0.95,
    *,
    engine: QuadratureEngine | None = None,
    max_enumeration: int = MAX_ENUMERATION,
    max_final_table: int = MAX_FINAL_TABLE,
    monte_carlo_futures: int = MONTE_CARLO_FUTURES,
    seed: int = 0,
) -> PredictiveResult:
    """PP per stratum under a hierarchical / EXNEX model by quadrature (see the module docstring).

    Enumerated futures come from the design's whole final table when it has at most
    ``max_final_table`` tuples, else from a table of this look's final tuples only; both are kept
    across calls (``final_table``).
    """
    y, n, n_final = _check_counts(responders, n, n_final)
    engine = engine if engine is not None else engine_for(hierarchy, n_final)
    m = n_final - n
    n_futures = math.prod(int(v) + 1 for v in m)
    if n_futures == 1:
        post = engine.batch([[BinomialLikelihood(int(a), int(b))] for a, b in zip(y, n, strict=True)], np.zeros((1, y.size), dtype=int), thresholds=(p0,), means=False)
        success = (post.prob_above[0, :, 0] > final_threshold).astype(float)
        return PredictiveResult(success, "final analysis: the indicator of success", details={"n_future_tuples": 1})
    if n_futures > max_enumeration:
        return _monte_carlo(engine, y, n, n_final, p0, final_threshold, monte_carlo_futures, seed, max_enumeration)
    if math.prod(int(v) + 1 for v in n_final) <= max_final_table:
        table = final_table(engine, n_final, p0, final_threshold)
    else:
        table = final_table(engine, n_final, p0, final_threshold, lowest=y, highest=y + m)
    probability, mass = table.probability(y, n)
    return PredictiveResult(
        np.clip(probability[0], 0.0, 1.0),
        f"quadrature; exact enumeration of {n_futures} future outcome tuples",
        details={"n_future_tuples": n_futures, "predictive_mass_minus_one": float(mass[0]) - 1.0},
    )


def final_table(
    engine: QuadratureEngine,
    n_final: Sequence[int],
    p0: float,
    final_threshold: float,
    *,
    lowest: Sequence[int] | None = None,
    highest: Sequence[int] | None = None,
) -> HierarchicalPredictive:
    """``HierarchicalPredictive(engine, n_final, p0, final_threshold, lowest=..., highest=...)``,
    kept across calls (within their share of the cache budget; per hierarchy, grid, n_final, p0,
    threshold and box): a repeated look at a design only adds up the rows of its final table."""
    n_final = tuple(int(v) for v in n_final)
    box = (
        tuple(0 for _ in n_final) if lowest is None else tuple(int(v) for v in lowest),
        n_final if highest is None else tuple(int(v) for v in highest),
    )
    return _final_table(engine, n_final, float(p0), float(final_threshold), box)


@cached(
    _FINAL_TABLES,
    key=lambda engine, n_final, p0, final_threshold, box: (engine.hierarchy, engine.grid.digest, n_final, p0, final_threshold, box),
    lock=_FINAL_TABLES.lock,
)
def _final_table(
    engine: QuadratureEngine, n_final: tuple[int, ...], p0: float, final_threshold: float, box: tuple[tuple[int, ...], ...]
) -> HierarchicalPredictive:
    return HierarchicalPredictive(engine, n_final, p0, final_threshold, lowest=box[0], highest=box[1])


def clear_caches() -> None:
    """Forget every kept engine, final table and likelihood table: the next look starts cold."""
    _engine_for.cache_clear()
    _final_table.cache_clear()
    TABLES.clear()


def _final_likelihoods(n_final: np.ndarray) -> list[list[BinomialLikelihood]]:
    return [[BinomialLikelihood(z, int(nk)) for z in range(int(nk) + 1)] for nk in n_final]


def _monte_carlo(
    engine: QuadratureEngine, y, n, n_final, p0, final_threshold, draws: int, seed: int, max_enumeration: int
) -> PredictiveResult:
    """Futures drawn from the posterior predictive on the quadrature grid: a (τ, μ) cell from the
    posterior, then each stratum's f_k from P(f_k | μ, τ, y_k) ∝ [w I(μ, τ; y_k + f_k of n_final_k) +
    (1 − w) M(y_k + f_k)] · C(m_k, f_k) / C(n_final_k, y_k + f_k) — exact given the cell."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x5050]))
    m = n_final - n
    now = engine.tables.marginals([BinomialLikelihood(int(a), int(b)) for a, b in zip(y, n, strict=True)])
    log_joint = engine.grid.log_prior_cells + np.sum([mg.log_mixture for mg in now], axis=0)
    weights = np.exp(log_joint - log_joint.max())
    cells = rng.choice(weights.size, size=draws, p=weights / weights.sum())
    futures = np.zeros((draws, y.size), dtype=int)
    for k in range(y.size):
        if m[k] == 0:
            continue
        f = np.arange(m[k] + 1)
        later = engine.tables.marginals([BinomialLikelihood(int(y[k] + v), int(n_final[k])) for v in f])
        log_rows = np.stack([mg.log_mixture[cells] for mg in later]) - now[k].log_mixture[cells]  # (f, draws)
        log_rows += (_log_choose(m[k], f) - _log_choose(n_final[k], y[k] + f))[:, None]
        probs = np.exp(log_rows - log_rows.max(axis=0))
        cdf = np.cumsum(probs, axis=0)
        u = rng.random(draws) * cdf[-1]
        futures[:, k] = (cdf < u).sum(axis=0)
    z = y[None, :] + futures
    final = engine.batch(_final_likelihoods(n_final), z, thresholds=(p0,), means=False)
    success = final.prob_above[:, :, 0] > final_threshold
    ppos = success.mean(axis=0)
    se = np.sqrt(ppos * (1 - ppos) / draws)
    return PredictiveResult(
        ppos,
        f"quadrature; Monte Carlo over {draws} future outcome tuples drawn from the posterior predictive "
        f"(enumeration would need {math.prod(int(v) + 1 for v in m)} > {max_enumeration})",
        monte_carlo_se=se,
        details={"n_future_draws": draws, "seed": seed},
    )


# --------------------------------------------------------------------------------------------------
# Reweighting posterior draws (MCMC engine)


def predictive_probability_by_reweighting(
    draws_p: np.ndarray,
    n_remaining: Sequence[int],
    *,
    p0: float,
    final_threshold: float = 0.95,
    fallback: Callable[[], PredictiveResult] | None = None,
    min_weight_ess: float = MIN_WEIGHT_ESS,
    max_enumeration: int = MAX_ENUMERATION,
    monte_carlo_futures: int = MONTE_CARLO_FUTURES,
    seed: int = 0,
    batches: int = 10,
    chunk_bytes: int = CHUNK_BYTES,
) -> PredictiveResult:
    """PP per stratum from posterior draws p (S, J) given the current data.

    For each future tuple f (enumerated, or ``monte_carlo_futures`` draws of it when
    Π(m_k + 1) > ``max_enumeration``): P(f | y) ≈ mean_s Π_k Bin(f_k | m_k, p_sk); draw s weighted
    by w_s(f) ∝ Π_k p_sk^f_k (1 − p_sk)^(m_k − f_k) represents the posterior after y + f, so
    P(p_j > p0 | y + f) ≈ Σ_s w_s 1[p_sj > p0] / Σ_s w_s. When futures whose weights have an
    effective sample size (Σw)²/Σw² below ``min_weight_ess`` carry more than 1% of the predictive
    mass, the weights are degenerate: ``fallback()`` (quadrature) is returned, saying so. The Monte
    Carlo standard error comes from ``batches`` batch means of the draws. The futures × draws weights
    are never held whole: blocks of futures keep the temporaries within ``chunk_bytes``
    (``reweighting_rows``), with the same numbers.
    """
    p = np.asarray(draws_p, dtype=float)
    m = np.asarray(n_remaining, dtype=int)
    if p.ndim != 2 or p.shape[1] != m.size:
        raise InvalidInputError("draws_p", "must have shape (draws, strata) matching n_remaining")
    with np.errstate(divide="ignore"):
        log_p, log_q = np.log(p), np.log1p(-p)
    n_futures = math.prod(int(v) + 1 for v in m)
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0x7277]))
    if n_futures <= max_enumeration and n_futures * p.shape[0] <= MAX_REWEIGHTED_CELLS:
        futures = np.indices(tuple(int(v) + 1 for v in m)).reshape(m.size, -1).T
        sampled = False
    else:
        s = rng.integers(p.shape[0], size=monte_carlo_futures)
        futures = rng.binomial(m[None, :], p[s])
        sampled = True

    log_comb = _log_choose(m, futures).sum(axis=1)

    def estimate(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        lp, lq, above = log_p[idx], log_q[idx], p[idx] > p0
        prob = np.empty((futures.shape[0], m.size))
        mass = np.empty(futures.shape[0])
        ess = np.empty(futures.shape[0])
        # Futures in blocks of rows so that the (rows, draws) temporaries stay within ``chunk_bytes``:
        # every quantity below is per future, so the blocks give the numbers of one whole block.
        rows = reweighting_rows(idx.size, m.size, chunk_bytes)
        for start in range(0, futures.shape[0], rows):
            block = slice(start, start + rows)
            f = futures[block]
            log_w = _xlogy_matmul(f, lp) + _xlogy_matmul(m[None, :] - f, lq)  # (rows, S)
            top = log_w.max(axis=1, keepdims=True)
            w = np.exp(log_w - top, out=log_w)
            total = w.sum(axis=1)
            ess[block] = total**2 / (w**2).sum(axis=1)
            prob[block] = (w @ above) / total[:, None]  # (rows, J)
            if sampled:
                mass[block] = 1.0 / futures.shape[0]
            else:
                mass[block] = np.exp(top[:, 0] + np.log(total) - math.log(idx.size) + log_comb[block])
        return prob, mass, ess

    prob, mass, ess = estimate(np.arange(p.shape[0]))
    success = prob > final_threshold
    ppos = (mass[:, None] * success).sum(axis=0) / mass.sum()
    low_ess_mass = float(mass[ess < min_weight_ess].sum() / mass.sum())
    details = {
        "n_draws": int(p.shape[0]),
        "n_future_tuples": int(futures.shape[0]),
        "futures": "sampled" if sampled else "enumerated",
        "min_weight_ess": float(ess.min()),
        "predictive_mass_with_low_weight_ess": low_ess_mass,
    }
    if low_ess_mass > DEGENERATE_MASS:
        reason = (
            f"importance weights degenerate (futures with weight ESS < {min_weight_ess:g} carry "
            f"{low_ess_mass:.1%} of the predictive mass; min ESS {ess.min():.0f})"
        )
        if fallback is not None:
            result = fallback()
            return PredictiveResult(
                result.probability,
                f"{result.method} (fallback: {reason})",
                result.monte_carlo_se,
                {**result.details, "reweighting": details},
            )
        details["warning"] = reason
    # Batch means over contiguous blocks of draws (chains are stacked, so blocks follow chains).
    blocks = np.array_split(np.arange(p.shape[0]), batches)
    block_ppos = []
    for block in blocks:
        b_prob, b_mass, _ = estimate(block)
        block_ppos.append((b_mass[:, None] * (b_prob > final_threshold)).sum(axis=0) / b_mass.sum())
    se = np.std(block_ppos, axis=0, ddof=1) / math.sqrt(batches)
    if sampled:
        se = np.sqrt(se**2 + ppos * (1 - ppos) / futures.shape[0])
    method = f"reweighting of {p.shape[0]} posterior draws over {futures.shape[0]} " + (
        "sampled future outcome tuples" if sampled else "enumerated future outcome tuples"
    )
    return PredictiveResult(np.clip(ppos, 0.0, 1.0), method, se, details)


def reweighting_rows(n_draws: int, n_strata: int, chunk_bytes: int = CHUNK_BYTES) -> int:
    """Futures per block of the reweighting: its temporaries take ``REWEIGHTING_BYTES_PER_CELL`` bytes
    per (future, draw) cell (log-weights reused for the weights, their products, the −∞ mask of
    ``_xlogy_matmul``, one byte per stratum), at least one future per block."""
    per_row = n_draws * (REWEIGHTING_BYTES_PER_CELL + n_strata)
    return max(1, int(chunk_bytes // per_row))


def _xlogy_matmul(counts: np.ndarray, logs: np.ndarray) -> np.ndarray:
    """counts (F, J) · logs (S, J)ᵀ with 0 · (−∞) = 0."""
    finite = np.isfinite(logs)
    if finite.all():
        return counts @ logs.T
    out = counts @ np.where(finite, logs, 0.0).T
    bad = (counts[:, None, :] > 0) & ~finite[None, :, :]
    return np.where(bad.any(axis=2), -np.inf, out)
