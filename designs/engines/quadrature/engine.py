"""The quadrature engine: posterior summaries of a ``NormalHierarchy`` on a ``QuadratureGrid``.

One analysis (``analyse``): per stratum the mean and P(parameter > c) from the contraction
(``contraction.batch``), the median and interval from the stratum's marginal density on the θ grid
(sinc quantiles), τ's posterior from the marginal likelihood given τ, and two self-checks. Each
stratum's marginal (``ThetaMarginal``) and τ's posterior keep their CDFs, so that a result can record
the densities (bin averages from CDF differences) without changing any reported number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.integrate import cumulative_simpson
from scipy.interpolate import CubicSpline

from designs.core.errors import InvalidInputError
from designs.engines.quadrature import contraction
from designs.engines.quadrature.cache import TableCache
from designs.engines.quadrature.contraction import BatchPosterior, ProductPosterior
from designs.engines.quadrature.grid import LOGIT, QuadratureGrid, Transform, make_grid, sinc_cdf, sinc_quantiles
from designs.engines.quadrature.hierarchy import NormalHierarchy
from designs.engines.quadrature.likelihoods import StratumLikelihood
from designs.engines.quadrature.tables import LikelihoodTables


@dataclass(frozen=True, eq=False)
class ThetaMarginal:
    """A stratum's marginal posterior density of θ on the uniform grid (unnormalised), with the
    band-limited CDF the engine's quantiles use."""

    density: np.ndarray
    nodes: np.ndarray
    step: float

    def cdf(self, theta: np.ndarray) -> np.ndarray:
        """P(θ ≤ t) at each t (±∞ allowed)."""
        theta = np.asarray(theta, dtype=float)
        out = np.where(theta > 0, 1.0, 0.0)
        finite = np.isfinite(theta)
        if finite.any():
            out[finite] = sinc_cdf(self.density, self.nodes, self.step, theta[finite])
        return out

    def parameter_cdf(self, values: np.ndarray, transform: Transform) -> np.ndarray:
        """P(parameter ≤ x) at each x on the transform's scale (ends of its range allowed)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            theta = np.asarray(transform.inverse(np.asarray(values, dtype=float)), dtype=float)
        below = self.cdf(theta)
        return below if transform.increasing else 1.0 - below


@dataclass(frozen=True)
class StratumPosterior:
    """Posterior of one stratum's parameter (on the transform's scale)."""

    mean: float
    median: float
    ci95: tuple[float, float]
    prob_above: dict[float, float]
    prob_exchangeable: float | None = None
    marginal: ThetaMarginal | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class TauPosterior:
    """τ's posterior summaries and, unless τ is fixed, its CDF on a fine grid of τ (``cdf``)."""

    mean: float
    median: float
    ci95: tuple[float, float]
    fixed: bool = False
    cdf_nodes: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def cdf(self, tau: np.ndarray) -> np.ndarray:
        """P(τ ≤ t) at each t ≥ 0 (linear between the fine grid's nodes, 1 beyond them)."""
        if self.cdf_nodes is None:
            raise ValueError("τ is fixed: it has no CDF to evaluate")
        nodes, cdf = self.cdf_nodes
        return np.interp(np.asarray(tau, dtype=float), nodes, cdf, left=0.0, right=1.0)

    def quantile(self, prob: float) -> float:
        """τ's ``prob`` quantile (linear in the fine grid's CDF)."""
        if self.cdf_nodes is None:
            raise ValueError("τ is fixed: it has no CDF to evaluate")
        nodes, cdf = self.cdf_nodes
        return float(np.interp(prob, cdf, nodes))


@dataclass(frozen=True)
class QuadraturePosterior:
    strata: tuple[StratumPosterior, ...]
    tau: TauPosterior
    log_marginal_likelihood: float
    diagnostics: dict[str, Any]


class QuadratureEngine:
    """Posterior summaries of a ``NormalHierarchy`` on a ``QuadratureGrid``; its per-likelihood tables
    live in ``cache`` (default: the process-wide ``cache.TABLES``, shared by engines with equal
    hierarchies and grids). Read-only but for that thread-safe cache: threads may share an engine."""

    def __init__(self, hierarchy: NormalHierarchy, grid: QuadratureGrid, *, cache: TableCache | None = None):
        self.hierarchy = hierarchy
        self.grid = grid
        self.tables = LikelihoodTables(hierarchy, grid, cache)

    @property
    def nbytes(self) -> int:
        """Bytes of its grid and edge arrays (what keeping the engine costs; its tables are cached apart)."""
        return self.grid.nbytes + self.tables.nbytes

    @classmethod
    def for_likelihoods(
        cls,
        hierarchy: NormalHierarchy,
        likelihoods: Sequence[Sequence[StratumLikelihood]] | Sequence[StratumLikelihood],
        *,
        resolution: float = 1.0,
        cache: TableCache | None = None,
    ) -> QuadratureEngine:
        return cls(hierarchy, make_grid(hierarchy, likelihoods, resolution=resolution), cache=cache)

    def batch(
        self,
        likelihoods_by_stratum: Sequence[Sequence[StratumLikelihood]],
        outcomes: np.ndarray,
        *,
        thresholds: Sequence[float] = (),
        transform: Transform = LOGIT,
        means: bool = True,
        strata: Sequence[int] | None = None,
    ) -> BatchPosterior:
        """Summaries for many outcome tuples at once (``contraction.batch``)."""
        return contraction.batch(
            self.tables, likelihoods_by_stratum, outcomes, thresholds=thresholds, transform=transform, means=means, strata=strata
        )

    def product(
        self,
        likelihoods_by_stratum: Sequence[Sequence[StratumLikelihood]],
        *,
        thresholds: Sequence[float] = (),
        transform: Transform = LOGIT,
    ) -> ProductPosterior:
        """Summaries for every tuple of the Cartesian product of the candidate lists (``contraction.product``)."""
        return contraction.product(self.tables, likelihoods_by_stratum, thresholds=thresholds, transform=transform)

    def analyse(
        self,
        likelihoods: Sequence[StratumLikelihood],
        *,
        thresholds: Sequence[float] = (),
        transform: Transform = LOGIT,
        interval: float = 0.95,
    ) -> QuadraturePosterior:
        """Posterior summaries of one data set: per stratum mean, median, central ``interval``,
        P(parameter > c) for each threshold, P(exchangeable) (EXNEX); τ's mean, median and interval;
        the log marginal likelihood; and accuracy self-checks."""
        n_strata = len(likelihoods)
        if n_strata == 0:
            raise InvalidInputError("strata", "need at least one stratum")
        batch = self.batch([[lik] for lik in likelihoods], np.zeros((1, n_strata), dtype=int), thresholds=thresholds, transform=transform)
        g, hz = self.grid, self.hierarchy
        w = hz.weight_exchangeable
        marginals = self.tables.marginals(likelihoods)
        log_mix = np.stack([m.log_mixture for m in marginals])
        log_joint = g.log_prior_cells + log_mix.sum(axis=0)
        offset = log_joint.max()
        lo_q, hi_q = (1 - interval) / 2, (1 + interval) / 2
        strata, edge_mass, log_masses = [], 0.0, []
        for j, m in enumerate(marginals):
            log_cavity = g.log_prior_cells + np.delete(log_mix, j, axis=0).sum(axis=0)
            # Scaled by its own maximum, not the joint's: a likelihood without a normalising constant
            # (d·θ − e^θ·T of hundreds of events) sits far below 0, so cavity / joint can pass e^709.
            cavity_offset = float(log_cavity.max())
            with np.errstate(under="ignore"):
                cavity = np.exp(log_cavity - cavity_offset)
            # p_j(t) ∝ e^{ℓ_j(t)} [w Σ_a ∫ cavity N(t; μ, τ_a²) dμ + (1 − w) N(t; nex) Σ cavity]; Σ_t p_j = Z.
            density = w * self.tables.smooth(cavity)
            if hz.exnex:
                density = density + (1.0 - w) * g.step * self.tables.nex_density * cavity.sum()
            density = np.maximum(density * m.likelihood_on_grid, 0.0)
            total = float(density.sum())
            edge_mass = max(edge_mass, float((density[:8].sum() + density[-8:].sum()) / total))
            log_masses.append(math.log(total) + m.log_scale + cavity_offset - offset)
            q_theta = sinc_quantiles(density, g.theta, g.step, (lo_q, 0.5, hi_q))
            q = np.asarray(transform.forward(q_theta), dtype=float)
            if not transform.increasing:
                q = q[::-1]
            probs = {float(c): float(batch.prob_above[0, j, k]) for k, c in enumerate(thresholds)}
            strata.append(
                StratumPosterior(
                    mean=float(batch.mean[0, j]),
                    median=float(q[1]),
                    ci95=(float(q[0]), float(q[2])),
                    prob_above=probs,
                    prob_exchangeable=None if batch.prob_exchangeable is None else float(batch.prob_exchangeable[0, j]),
                    marginal=ThetaMarginal(density, g.theta, g.step),
                )
            )
        tau = self._tau_posterior(log_joint - offset, float(batch.tau_mean[0]), (lo_q, 0.5, hi_q))
        # Z from the edge-treated marginals against Z from each stratum's marginal density: the same
        # integral computed two ways.
        with np.errstate(under="ignore"):
            log_z = math.log(float(np.exp(log_joint - offset).sum()))
        discrepancy = max(abs(math.expm1(lm - log_z)) for lm in log_masses)
        diagnostics = {
            "method": "quadrature",
            "grid": g.describe(),
            "self_check": {
                "normalising_constant_relative_discrepancy": discrepancy,
                "mass_within_8_nodes_of_grid_edges": edge_mass,
            },
        }
        return QuadraturePosterior(tuple(strata), tau, float(batch.log_marginal_likelihood[0]), diagnostics)

    def _tau_posterior(self, log_joint: np.ndarray, mean: float, probs: Sequence[float]) -> TauPosterior:
        g = self.grid
        if g.tau_u_step is None:
            t = float(g.tau[0])
            return TauPosterior(t, t, (t, t), fixed=True)
        with np.errstate(under="ignore"):
            per_tau = np.exp(log_joint).reshape(g.tau.size, -1).sum(axis=1)
        # A posterior of τ far from 0 can be narrow in u, so quantiles do not use the sinc interpolant:
        # log q(u) = log m(τ(u)) + log[π(τ(u)) τ'(u)], with m the marginal likelihood given τ (even and
        # smooth in u) splined and the prior part exact, integrated by Simpson's rule on a fine grid.
        with np.errstate(divide="ignore"):
            log_m = np.log(per_tau) - g.log_tau_weight
        keep = np.isfinite(log_m) & (per_tau > per_tau.max() * 1e-30)
        last = min(int(np.flatnonzero(keep).max()) + 1, g.tau.size - 1)
        log_m = np.where(keep, log_m, log_m[keep].min())[: last + 1]
        u = g.tau_u_step * np.arange(last + 1)
        spline = CubicSpline(np.concatenate([-u[:0:-1], u]), np.concatenate([log_m[:0:-1], log_m]))
        fine = np.linspace(0.0, u[-1], 2 * int(math.ceil(u[-1] / 0.004)) + 1)
        tau_fine = g.tau_c * np.sinh(fine)
        s = self.hierarchy.tau_scale
        log_q = spline(fine) - 0.5 * (tau_fine / s) ** 2 + np.log(np.cosh(fine))
        q_fine = np.exp(log_q - log_q.max())
        cdf = cumulative_simpson(q_fine, x=fine, initial=0.0)
        cdf /= cdf[-1]
        q_u = np.interp(probs, cdf, fine)
        q = g.tau_c * np.sinh(q_u)
        return TauPosterior(mean, float(q[1]), (float(q[0]), float(q[2])), cdf_nodes=(tau_fine, cdf))
