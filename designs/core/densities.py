"""Posterior densities as recorded in a result: bin mass / bin width on equal bins of [lower, upper].

    {"lower": float, "upper": float, "bins": int, "density": [float] * bins, "method": str}

A figure of the report draws them as they are stored (it renders, it does not recompute), so they come
from the engine the analysis used: from its CDF at the bin edges (``from_cdf``: closed forms and
quadrature; the bin's value is then the exact average of the density over the bin) or from a histogram of
its draws (``from_draws``: MCMC). The values integrate to 1 less the mass outside [lower, upper]. They
are rounded to ``SIGNIFICANT_DIGITS`` significant digits: a plot needs no more, and a look document then
grows by about 1 KB per density.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

BINS = 100
"""Bins of a probability's density on [0, 1] (and of τ's on [0, upper])."""
SIGNIFICANT_DIGITS = 6
UPPER_QUANTILE = 0.995
"""A density on [0, ∞) (τ) is recorded on [0, upper]: upper is this quantile rounded up (``rounded_up``)."""
QUADRATURE = "quadrature: the engine's band-limited CDF of the stratum's marginal at the bin edges"
QUADRATURE_TAU = "quadrature: τ's CDF from the marginal likelihood given τ, at the bin edges"
MCMC = "MCMC: histogram of the posterior draws (all chains)"
"""The ``method`` of a density, by engine (closed forms name their distribution)."""


def significant(values: np.ndarray, digits: int = SIGNIFICANT_DIGITS) -> list[float]:
    """Floats rounded to ``digits`` significant digits (by their shortest decimal text: deterministic)."""
    return [float(f"{v:.{digits}g}") for v in np.asarray(values, dtype=float).tolist()]


def rounded_up(value: float, digits: int = 2) -> float:
    """``value`` > 0 rounded up to ``digits`` significant digits (2.347 → 2.4): a plot's axis end."""
    scale = 10.0 ** (math.floor(math.log10(value)) - digits + 1)
    return float(f"{math.ceil(value / scale - 1e-9) * scale:.{digits}g}")


def edges(lower: float, upper: float, bins: int = BINS) -> np.ndarray:
    """The ``bins`` + 1 edges of equal bins of [lower, upper]."""
    return np.linspace(lower, upper, bins + 1)


def _record(lower: float, upper: float, values: np.ndarray, method: str) -> dict[str, Any]:
    return {"lower": float(lower), "upper": float(upper), "bins": int(values.size), "density": significant(values),
            "method": method}


def from_cdf(cdf: Callable[[np.ndarray], np.ndarray], lower: float, upper: float, method: str, *,
             sf: Callable[[np.ndarray], np.ndarray] | None = None, bins: int = BINS) -> dict[str, Any]:
    """The density of a distribution with CDF ``cdf`` (vectorised): (F(b) − F(a)) / (b − a) per bin.

    With its survival function ``sf`` given, bins in the upper half take (S(a) − S(b)) instead, so that
    the upper tail keeps its relative accuracy (1 − F cancels). A numerical CDF may dip by rounding
    between close edges: such bins are 0, not negative."""
    x = edges(lower, upper, bins)
    below = np.asarray(cdf(x), dtype=float)
    mass = np.diff(below)
    if sf is not None:
        above = np.asarray(sf(x), dtype=float)
        mass = np.where(below[1:] > 0.5, above[:-1] - above[1:], mass)
    return _record(lower, upper, np.maximum(mass, 0.0) / np.diff(x), method)


def from_draws(draws: np.ndarray, lower: float, upper: float, method: str, *, bins: int = BINS) -> dict[str, Any]:
    """The histogram of ``draws`` as a density: the share of the draws in each bin / its width (draws
    outside [lower, upper] are the mass outside)."""
    draws = np.asarray(draws, dtype=float).ravel()
    counts, x = np.histogram(draws, bins=bins, range=(lower, upper))
    return _record(lower, upper, counts / (draws.size * np.diff(x)), method)


def _upper(quantile: float) -> float:
    """The upper end of a density on [0, ∞) whose ``UPPER_QUANTILE`` quantile is ``quantile``."""
    return rounded_up(max(quantile, 1e-3))


def from_cdf_on_half_line(cdf: Callable[[np.ndarray], np.ndarray], quantile: Callable[[float], float],
                          method: str, *, bins: int = BINS) -> dict[str, Any]:
    """``from_cdf`` of a distribution on [0, ∞) (τ), on [0, its ``UPPER_QUANTILE`` quantile rounded up]."""
    return from_cdf(cdf, 0.0, _upper(float(quantile(UPPER_QUANTILE))), method, bins=bins)


def from_draws_on_half_line(draws: np.ndarray, method: str, *, bins: int = BINS) -> dict[str, Any]:
    """``from_draws`` of draws on [0, ∞) (τ), on [0, their ``UPPER_QUANTILE`` quantile rounded up]."""
    return from_draws(draws, 0.0, _upper(float(np.quantile(draws, UPPER_QUANTILE))), method, bins=bins)
