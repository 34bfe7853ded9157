"""The quadrature grid: θ/μ nodes, τ nodes on τ = c·sinh(u), prior weights and convolution spectra;
the reported parameter as a monotone transform of θ; band-limited (sinc) CDF and quantiles on it."""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from scipy import special
from scipy.fft import next_fast_len, rfft
from scipy.optimize import brentq

from designs.core.errors import InvalidInputError
from designs.engines.quadrature.hierarchy import NormalHierarchy
from designs.engines.quadrature.likelihoods import StratumLikelihood

# Numerical settings (see the package docstring); ``resolution`` in make_grid scales all of them.
POINTS_PER_SD = 2.5
"""Grid points per posterior sd of θ under complete pooling."""
MAX_STEP = 0.1
"""Largest θ step whatever the data (the priors' own shapes need it)."""
SPECTRAL_TAU_IN_STEPS = 4.0
"""Below this many steps h, τ-convolutions use the Fourier multiplier instead of the sampled kernel."""
EDGE_STEP_SD = 0.5
"""Width s of the smooth steps that remove a likelihood's constant ends."""
TAU_U_STEP = 0.2
"""Step of the u grid, τ = c·sinh(u)."""
TAU_C_FRACTION = 0.5
"""c = TAU_C_FRACTION × the pooled posterior sd of θ (capped at tau_scale / 4): the spacing near τ = 0."""
PRIOR_RANGE_SDS = 9.0
"""Half-width of the θ grid around the prior, in prior-predictive sds."""
PRIOR_POINTS_PER_SD = 1.0
"""Grid points per sd of μ's prior and of the non-exchangeable prior: the trapezoid rule's relative
error on a normal density of sd s at step h is 2·exp(−2π²s²/h²), 5e-9 at h = s."""
LIKELIHOOD_CORE_SDS = 12.0
"""Half-width kept around an interior likelihood mode, in likelihood sds."""
LOG_TINY = -700.0
"""Below this, exp underflows: such cells carry no mass."""


# --------------------------------------------------------------------------------------------------
# Transforms: the reported parameter as a monotone function of θ


@dataclass(frozen=True)
class Transform:
    """parameter = forward(θ), monotone (``increasing`` or not), with its inverse."""

    name: str
    forward: Callable[[np.ndarray], np.ndarray]
    inverse: Callable[[np.ndarray], np.ndarray]
    increasing: bool = True


def _logit(p):
    with np.errstate(divide="ignore"):
        return special.logit(p)


def _log(x):
    with np.errstate(divide="ignore"):
        return np.log(x)


LOGIT = Transform("p = expit(θ)", special.expit, _logit)
LOG = Transform("λ = exp(θ)", np.exp, _log)


def thresholds_on_theta(thresholds: Sequence[float], transform: Transform) -> list[float]:
    """Thresholds on the parameter scale mapped to θ; one outside the transform's range is an input error."""
    out = []
    for c in thresholds:
        with np.errstate(divide="ignore", invalid="ignore"):
            t = float(transform.inverse(np.asarray(c, dtype=float)))
        if math.isnan(t):
            raise InvalidInputError("thresholds", f"{c} is outside the range of {transform.name}")
        out.append(t)
    return out


# --------------------------------------------------------------------------------------------------
# The grid


@dataclass(frozen=True, eq=False)
class QuadratureGrid:
    """θ/μ nodes, τ nodes, log prior × quadrature weights on the (τ, μ) grid, convolution spectra."""

    theta: np.ndarray
    step: float
    mu_slice: slice
    tau: np.ndarray
    tau_u_step: float | None
    tau_c: float | None
    log_prior: np.ndarray  # (A, Nμ): log[ω_a π(τ_a) · h π(μ_i)]
    log_tau_weight: np.ndarray  # (A,): log[ω_a π(τ_a)]
    spectra: np.ndarray  # (A, M//2 + 1) real Fourier multipliers of the θ → μ convolutions
    fft_length: int
    edge_sd: float

    @property
    def size(self) -> int:
        return self.log_prior.size

    @property
    def nbytes(self) -> int:
        """Bytes of its arrays, those made on first use (``prior_scaled``, ``tau_for_mean``) counted up front."""
        arrays = (self.theta, self.tau, self.log_prior, self.log_tau_weight, self.spectra)
        return sum(a.nbytes for a in arrays) + 2 * self.log_prior.nbytes

    @property
    def mu(self) -> np.ndarray:
        return self.theta[self.mu_slice]

    def describe(self) -> dict[str, Any]:
        return {
            "theta_nodes": int(self.theta.size),
            "theta_step": self.step,
            "theta_range": [float(self.theta[0]), float(self.theta[-1])],
            "mu_nodes": int(self.mu.size),
            "tau_nodes": int(self.tau.size),
            "tau_max": float(self.tau[-1]),
        }

    @cached_property
    def digest(self) -> str:
        """A fingerprint of the nodes and prior weights: equal digests, equal grids (a table-cache key)."""
        h = hashlib.blake2b(digest_size=16)
        for array in (self.theta, self.tau, self.log_prior):
            h.update(np.ascontiguousarray(array).tobytes())
        h.update(repr((self.step, self.mu_slice, self.tau_u_step, self.tau_c, self.fft_length, self.edge_sd)).encode())
        return h.hexdigest()

    @cached_property
    def log_prior_cells(self) -> np.ndarray:
        """(G,) log[prior × weights] per (τ, μ) cell, τ-major."""
        return self.log_prior.ravel()

    @cached_property
    def log_prior_top(self) -> float:
        return float(self.log_prior_cells.max())

    @cached_property
    def prior_scaled(self) -> np.ndarray:
        """(G,) prior × weights scaled to max 1 (cells below e^LOG_TINY of the top are 0)."""
        return np.exp(np.maximum(self.log_prior_cells - self.log_prior_top, LOG_TINY))

    @cached_property
    def tau_zero(self) -> np.ndarray:
        """(A,) the τ nodes at τ = 0 (a δ kernel, applied exactly)."""
        return self.tau == 0.0

    @cached_property
    def tau_for_mean(self) -> np.ndarray:
        """(G,) τ per cell such that Σ_g mass_g · tau_for_mean_g = E[τ]·Σ_g mass_g to O(h⁶).

        In u, τ·p(τ)·dτ/du is odd, so its trapezoid sum over u ≥ 0 has Euler–Maclaurin end corrections
        (h²/12) F'(0) − (h⁴/720) F'''(0), F'(0) = c q(0), F'''(0) = c (q(0) + 3 q''(0)), q the (even)
        density in u; they fold into the first two nodes.
        """
        tau = self.tau.copy()
        if self.tau_u_step is not None and tau.size >= 2:
            h, c = self.tau_u_step, self.tau_c
            tau[0] = c * (h / 6 + h / 60 - h**3 / 360)
            tau[1] -= c * h / 120
        return np.repeat(tau, self.mu.size)


def _pilot(likelihood: StratumLikelihood, lo: float, hi: float) -> tuple[float, tuple[float, float] | None]:
    """Numerical information bound and interior mode (θ̂, sd) of a likelihood without hints."""
    t = np.arange(lo, hi, 0.01)
    ll = np.asarray(likelihood(t), dtype=float)
    keep = ll >= ll.max() - 40.0
    curvature = -(ll[2:] - 2 * ll[1:-1] + ll[:-2]) / 0.01**2
    info = float(max(curvature[keep[1:-1]].max(initial=0.0), 0.0))
    k = int(np.argmax(ll))
    mode = None
    if 0 < k < t.size - 1:
        mode = (float(t[k]), 1.0 / math.sqrt(max(curvature[k - 1], 1e-12)))
    return info, mode


@dataclass(frozen=True)
class GridLayout:
    """Where the θ nodes lie and how many there are, and the τ nodes' spacing: what ``make_grid``
    decides before it computes anything, cheap enough for a cost estimate (``grid_layout``)."""

    lo: float
    step: float
    theta_nodes: int
    mu_nodes: int
    tau_c: float | None
    tau_u_step: float | None
    tau_nodes: int
    pooled_sd: float

    @property
    def cells(self) -> int:
        """(τ, μ) cells: the length of every table and cavity."""
        return self.tau_nodes * self.mu_nodes

    @property
    def fft_length(self) -> int:
        return next_fast_len(2 * self.theta_nodes)


def grid_layout(
    hierarchy: NormalHierarchy,
    likelihoods: Sequence[Sequence[StratumLikelihood]] | Sequence[StratumLikelihood],
    *,
    resolution: float = 1.0,
) -> GridLayout:
    """The layout of ``make_grid(hierarchy, likelihoods, resolution=...)`` without its arrays."""
    if not resolution > 0:
        raise InvalidInputError("resolution", "must be > 0")
    per_stratum = [list(s) if isinstance(s, list | tuple) else [s] for s in likelihoods]
    hz = hierarchy
    tau_ref = hz.fixed_tau if hz.fixed_tau is not None else hz.tau_scale
    half = PRIOR_RANGE_SDS * math.hypot(hz.mu_sd, tau_ref)
    lo, hi = hz.mu_mean - half, hz.mu_mean + half
    if hz.exnex:
        lo = min(lo, hz.nex_mean - PRIOR_RANGE_SDS * hz.nex_sd)
        hi = max(hi, hz.nex_mean + PRIOR_RANGE_SDS * hz.nex_sd)
    information = 0.0
    for candidates in per_stratum:
        best = 0.0
        for lik in candidates:
            info = getattr(lik, "information_bound", None)
            mode_fn = getattr(lik, "mode_and_sd", None)
            if info is None or mode_fn is None:
                info, mode = _pilot(lik, lo - 20.0, hi + 20.0)
            else:
                mode = mode_fn()
            best = max(best, float(info))
            if mode is not None:
                lo = min(lo, mode[0] - LIKELIHOOD_CORE_SDS * mode[1])
                hi = max(hi, mode[0] + LIKELIHOOD_CORE_SDS * mode[1])
        information += best
    pooled_sd = 1.0 / math.sqrt(information) if information > 0 else math.inf
    narrowest_prior = min(hz.mu_sd, hz.nex_sd) if hz.exnex else hz.mu_sd
    step = min(MAX_STEP, pooled_sd / POINTS_PER_SD, narrowest_prior / PRIOR_POINTS_PER_SD) / resolution
    margin = 8.0 * EDGE_STEP_SD + 1.0
    lo, hi = lo - margin, hi + margin
    n_theta = int(math.ceil((hi - lo) / step)) + 1
    # As make_grid's mu_slice: the nodes within 10 prior sds of μ's mean.
    mu_nodes = int(np.count_nonzero(np.abs(lo + step * np.arange(n_theta) - hz.mu_mean) <= 10.0 * hz.mu_sd))
    if hz.fixed_tau is not None:
        c = u_step = None
        tau_nodes = 1
    else:
        c = min(pooled_sd * TAU_C_FRACTION, hz.tau_scale / 4.0)
        u_step = TAU_U_STEP / resolution
        tau_nodes = int(math.ceil(math.asinh(8.0 * hz.tau_scale / c) / u_step)) + 1
    return GridLayout(lo, step, n_theta, mu_nodes, c, u_step, tau_nodes, pooled_sd)


def make_grid(
    hierarchy: NormalHierarchy,
    likelihoods: Sequence[Sequence[StratumLikelihood]] | Sequence[StratumLikelihood],
    *,
    resolution: float = 1.0,
) -> QuadratureGrid:
    """A grid fine enough for every likelihood given (per stratum, a list of candidates: the most
    informative one of each stratum sets the step), wide enough for the prior and every likelihood mode.

    ``resolution`` > 1 refines every step (accuracy checks).
    """
    hz = hierarchy
    layout = grid_layout(hierarchy, likelihoods, resolution=resolution)
    lo, step, n_theta, pooled_sd = layout.lo, layout.step, layout.theta_nodes, layout.pooled_sd
    theta = lo + step * np.arange(n_theta)

    mu_keep = np.abs(theta - hz.mu_mean) <= 10.0 * hz.mu_sd
    first, last = int(np.argmax(mu_keep)), int(n_theta - np.argmax(mu_keep[::-1]))
    mu_slice = slice(first, last)
    mu = theta[mu_slice]
    log_prior_mu = -0.5 * ((mu - hz.mu_mean) / hz.mu_sd) ** 2 - math.log(hz.mu_sd * math.sqrt(2 * math.pi))

    if hz.fixed_tau is not None:
        tau = np.array([hz.fixed_tau])
        log_w_tau = np.zeros(1)
        u_step = c = None
    else:
        c = min(pooled_sd * TAU_C_FRACTION, hz.tau_scale / 4.0)
        u_step = TAU_U_STEP / resolution
        u_max = math.asinh(8.0 * hz.tau_scale / c)
        u = u_step * np.arange(int(math.ceil(u_max / u_step)) + 1)
        tau = c * np.sinh(u)
        weight = u_step * c * np.cosh(u)
        weight[0] *= 0.5
        log_half_normal = math.log(2.0) - 0.5 * (tau / hz.tau_scale) ** 2 - math.log(hz.tau_scale * math.sqrt(2 * math.pi))
        log_w_tau = np.log(weight) + log_half_normal
    log_prior = log_w_tau[:, None] + (math.log(step) + log_prior_mu)[None, :]

    m = next_fast_len(2 * n_theta)
    omega = 2 * math.pi * np.fft.rfftfreq(m, d=step)
    offsets = step * np.where(np.arange(m) < m // 2, np.arange(m), np.arange(m) - m)
    spectra = np.empty((tau.size, omega.size))
    for a, t in enumerate(tau):
        if t < SPECTRAL_TAU_IN_STEPS * step:
            spectra[a] = np.exp(-0.5 * (t * omega) ** 2)
        else:
            kernel = step * np.exp(-0.5 * (offsets / t) ** 2) / (t * math.sqrt(2 * math.pi))
            spectra[a] = rfft(kernel).real
    return QuadratureGrid(
        theta=theta,
        step=step,
        mu_slice=mu_slice,
        tau=tau,
        tau_u_step=u_step,
        tau_c=c,
        log_prior=log_prior,
        log_tau_weight=log_w_tau,
        spectra=spectra,
        fft_length=m,
        edge_sd=EDGE_STEP_SD,
    )


# --------------------------------------------------------------------------------------------------
# Band-limited (sinc) CDF and quantiles of a density sampled on a uniform grid


def sinc_cdf(density: np.ndarray, nodes: np.ndarray, step: float, x: np.ndarray | float) -> np.ndarray:
    """F(x) = Σ_i p_i (½ + Si(π(x − t_i)/h)/π) / Σ_i p_i for the band-limited interpolant of p."""
    keep = density > density.max() * 1e-18
    p, t = density[keep], nodes[keep]
    x = np.atleast_1d(np.asarray(x, dtype=float))
    si, _ = special.sici(np.pi * (x[:, None] - t[None, :]) / step)
    return np.clip((p * (0.5 + si / np.pi)).sum(axis=1) / p.sum(), 0.0, 1.0)


def sinc_quantiles(density: np.ndarray, nodes: np.ndarray, step: float, probs: Sequence[float]) -> np.ndarray:
    """Quantiles of the band-limited interpolant of a density on a uniform grid (Brent's method)."""
    keep = density > density.max() * 1e-18
    p, t = density[keep], nodes[keep]
    cumulative = np.cumsum(p) / p.sum()
    out = np.empty(len(probs))

    def cdf(x: float) -> float:
        si, _ = special.sici(np.pi * (x - t) / step)
        return float((p * (0.5 + si / np.pi)).sum() / p.sum())

    for k, q in enumerate(probs):
        i = int(np.searchsorted(cumulative, q))
        a, b = t[max(i - 2, 0)] - step, t[min(i + 1, t.size - 1)] + step
        while cdf(a) > q:
            a -= 2 * step
        while cdf(b) < q:
            b += 2 * step
        out[k] = brentq(lambda x: cdf(x) - q, a, b, xtol=1e-10 * step, rtol=1e-14)
    return out
