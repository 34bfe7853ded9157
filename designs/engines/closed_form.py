"""Closed-form Beta–binomial posteriors and predictive distributions (independent and pooled models).

    posterior        p | y of n ~ Beta(a + y, b + n − y)
    predictive       x of m more ~ BetaBinomial(m, a + y, b + n − y):
                     P(x) = C(m, x) B(a + y + x, b + n − y + m − x) / B(a + y, b + n − y)

Every function is vectorised (numpy broadcasting) so that operating-characteristic simulations can
evaluate thousands of outcomes at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special, stats

from designs.core.errors import InvalidInputError


@dataclass(frozen=True)
class BetaPosterior:
    """Beta(a, b) summaries: mean, median, central 95% interval, P(p > c) per threshold c."""

    a: float
    b: float
    mean: float
    median: float
    ci95: tuple[float, float]
    prob_above: dict[float, float]


def posterior_parameters(a: float, b: float, responders, n) -> tuple[np.ndarray, np.ndarray]:
    """(a + y, b + n − y)."""
    responders, n = np.asarray(responders), np.asarray(n)
    if np.any(responders < 0) or np.any(responders > n):
        raise InvalidInputError("responders", "must lie in [0, n]")
    return a + responders, b + n - responders


def summarise(a: float, b: float, thresholds: Sequence[float] = (), interval: float = 0.95) -> BetaPosterior:
    """Mean, median, central ``interval`` and P(p > c) of Beta(a, b)."""
    lo, mid, hi = stats.beta.ppf([(1 - interval) / 2, 0.5, (1 + interval) / 2], a, b)
    return BetaPosterior(
        a=float(a),
        b=float(b),
        mean=float(a / (a + b)),
        median=float(mid),
        ci95=(float(lo), float(hi)),
        prob_above={float(c): float(stats.beta.sf(c, a, b)) for c in thresholds},
    )


def prob_above(c, a, b) -> np.ndarray:
    """P(p > c) for p ~ Beta(a, b) (vectorised)."""
    return stats.beta.sf(c, a, b)


def log_beta_binomial_pmf(x, m, a, b) -> np.ndarray:
    """log P(x | m, a, b) of the Beta–binomial; −∞ outside 0 ≤ x ≤ m (vectorised)."""
    x, m = np.asarray(x, dtype=float), np.asarray(m, dtype=float)
    inside = (x >= 0) & (x <= m)
    xs, ms = np.where(inside, x, 0.0), np.where(inside, m, 0.0)
    value = (
        special.gammaln(ms + 1)
        - special.gammaln(xs + 1)
        - special.gammaln(ms - xs + 1)
        + special.betaln(a + xs, b + ms - xs)
        - special.betaln(a, b)
    )
    return np.where(inside, value, -np.inf)


def beta_binomial_pmf(x, m, a, b) -> np.ndarray:
    """P(x | m, a, b) of the Beta–binomial (vectorised)."""
    return np.exp(log_beta_binomial_pmf(x, m, a, b))


def final_success(a: float, b: float, n_final: int, p0: float, final_threshold: float) -> np.ndarray:
    """Boolean (n_final + 1,): success at the final analysis with z responders of n_final,
    P(p > p0 | z) > final_threshold (strict) under the Beta(a, b) prior."""
    z = np.arange(n_final + 1)
    return prob_above(p0, a + z, b + n_final - z) > final_threshold


def predictive_probability_of_success(
    a: float, b: float, responders, n, n_final, p0: float, final_threshold: float
) -> np.ndarray:
    """Lee & Liu (2008): PP = Σ_x BetaBin(x | m, a + y, b + n − y) · 1[P(p > p0 | y + x of n_final) > θ_T],
    m = n_final − n. Vectorised over (responders, n, n_final)."""
    y, n, n_final = np.broadcast_arrays(np.asarray(responders), np.asarray(n), np.asarray(n_final))
    if np.any(n_final < n) or np.any(y < 0) or np.any(y > n):
        raise InvalidInputError("strata", "need 0 ≤ responders ≤ n ≤ n_planned")
    m = n_final - n
    x = np.arange(int(m.max(initial=0)) + 1).reshape((-1,) + (1,) * y.ndim)
    pmf = beta_binomial_pmf(x, m, a + y, b + n - y)
    z = y + x
    success = prob_above(p0, a + z, b + n_final - z) > final_threshold
    return (pmf * success).sum(axis=0)
