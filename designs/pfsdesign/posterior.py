"""P(S_j(L) > s | data) for many simulated data sets at once: the decision inputs of a PFS rule.

A simulated trial's data enter the exponential models only through (d_j, T_j), the events and total
follow-up of each stratum, and every trial's T_j differ (exposures are continuous), so the
single-analysis engines' caches do not help. Two vectorised evaluations, one per engine that a
design may use (never MCMC per simulated trial):

* ``independent-exponential`` (closed form): λ_j ~ Gamma(a + d_j, b + T_j), so
  P(S_j(L) > s) = P(λ_j < −ln s / L) = P(a + d_j, (b + T_j)·(−ln s / L)), the regularised lower
  incomplete gamma function (``scipy.special.gammainc``), exact and elementwise.
* ``hierarchical-exponential`` (quadrature): the model of ``designs.engines.quadrature`` on θ = log λ,
  θ_j | μ, τ ~ N(μ, τ²), integrated on one grid of θ, μ and τ that covers every data set of the batch,
  with the integrals as matrix products:

      I_ij(μ, τ) = Σ_t e^{ℓ_ij(t)} K(t; μ, τ)                    (n × Nθ) @ (Nθ × G)
      cavity_ij(μ, τ) = π(μ, τ) Π_{k≠j} I_ik(μ, τ)
      p_ij(t) ∝ e^{ℓ_ij(t)} Σ_g cavity_ij(g) K(t; g)              (n × G) @ (G × Nθ)
      P(θ_j < c) = Σ_t p_ij(t) (½ + Si(π(c − t)/h)/π) / Σ_t p_ij(t)

  with ℓ(θ) = d·θ − e^θ·T, K the engine's θ → μ convolution (sampled Gaussian for τ ≥ 4h, the
  band-limited Fourier multiplier below, the identity at τ = 0), the engine's analytic treatment of a
  likelihood's constant left end (no events: e^ℓ → 1 as θ → −∞) and its band-limited (sinc) tail
  weights. The exposures enter exactly (no rounding): only the grid is shared.

  The grid's step comes from the most informative data set of the batch (``_step``). Rows whose every
  stratum has ≥ NARROW_MIN_EVENTS events are computed first on a grid narrowed to their likelihoods
  (``_narrow_range``); a row with more than EDGE_TOLERANCE of its posterior (of μ, or of a θ_j)
  within EDGE_NODES nodes of that grid's edges, and every other row, on the wide grid (the prior
  ±PRIOR_RANGE_SDS predictive sds and every likelihood's mass, ``_wide_range``). Subnormal numbers
  are flushed to 0 (they slow matrix products a hundredfold). The simulation calls it once per look
  of an RNG block, so the grid, and every number, depends on the block's data only.

  Agreement with the single-analysis engine (``designs.survival.analysis``, quadrature path): ~2e-7
  on 300 random (d, T) tuples under the default prior, d = 0 and T down to 1e-4 months included (tested
  to 1e-4); with an informative prior narrow in τ (mu_sd 0.3, tau_scale 0.25), ≤ 2e-5 against an
  independent brute-force reference (tests/pfsdesign/reference.py; tested to 5e-5). Not claimed: priors
  in conflict with the data (e.g. mu_sd 0.3 around a hazard of 55 a month with months of follow-up and
  no events), where errors of 1e-2 were seen (the single-analysis engine fails there too).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import special
from scipy.fft import irfft, next_fast_len

from designs.engines.quadrature.grid import TAU_U_STEP as ENGINE_TAU_U_STEP
from designs.survival.models import GammaHazardPrior, HierarchicalHazardPrior, exponential_hazard_from_landmark

POINTS = 2.0
"""θ step h = min(MAX_STEP, POINTS × σ, 1/(2√(max d + 1))), σ = 1/√Σ_j max(d_j + 40 + √(80 d_j)) the
engine's lower bound of the pooled posterior sd: five times coarser than the engine's step (which must
also serve its quantiles), yet ≥ 2 nodes per posterior sd of every θ_j for the sinc tail weights."""
TAU_C_FRACTION = 0.5
"""τ nodes c·sinh(u), c = TAU_C_FRACTION × σ (at most tau_scale / 4), u step TAU_U_STEP, τ ≤ TAU_RANGE_SCALES × tau_scale."""
MAX_STEP = 0.1
PRIOR_RANGE_SDS = 5.0
"""The θ grid covers mu_mean ± PRIOR_RANGE_SDS prior-predictive sds and every likelihood's mass;
μ nodes lie within MU_RANGE_SDS prior sds of mu_mean."""
SPECTRAL_TAU_IN_STEPS = 4.0
EDGE_STEP_SD = 0.5
TAU_U_STEP = ENGINE_TAU_U_STEP
"""The engine's u step of the τ nodes: a coarser one (0.3) was off by up to 2e-3 under informative τ
priors (tau_scale 0.25), where the τ posterior is narrow near 0."""
FLAT_LEFT = 1e-7
"""With no events, the likelihood e^{−e^θ T} is taken as constant left of the θ where e^θ T = FLAT_LEFT."""
MU_RANGE_SDS = 7.0
TAU_RANGE_SCALES = 8.0
TINY = 1e-150
NARROW_MIN_EVENTS = 3
NARROW_DROP = 20.0
NARROW_MU_HALF_WIDTH = 5.0
EDGE_NODES = 5
EDGE_TOLERANCE = 1e-6
ROW_CHUNK_BYTES = 32 * 2**20
"""Data sets per matrix product: each (rows × grid cells) intermediate at most 32 MB (about six live)."""


def closed_form_prob_above(prior: GammaHazardPrior, events: np.ndarray, exposure: np.ndarray,
                           landmark_pfs: Sequence[float], landmark_months: float) -> np.ndarray:
    """P(S(L) > s) under λ ~ Gamma(a + d, b + T) for each s: shape events.shape + (len(landmark_pfs),)."""
    hazards = np.array([exponential_hazard_from_landmark(s, landmark_months) for s in landmark_pfs])
    shape = prior.shape + np.asarray(events, dtype=float)[..., None]
    rate = prior.rate + np.asarray(exposure, dtype=float)[..., None]
    return special.gammainc(shape, rate * hazards)


@dataclass(frozen=True, eq=False)
class _Grid:
    theta: np.ndarray  # (N,)
    step: float
    mu_start: int  # μ nodes are theta[mu_start : mu_start + n_mu]
    n_mu: int
    tau: np.ndarray  # (A,)
    prior: np.ndarray  # (G,) prior × weights, max 1, τ-major
    kernel: np.ndarray  # (N, G) θ → (μ, τ) convolution
    kernel_edges: np.ndarray  # (N, G) the same with the constant left end treated analytically


def _step(events: np.ndarray) -> tuple[float, float]:
    """(θ step, σ) of a batch: σ = 1/√Σ_j max(d_j + 40 + √(80 d_j)), the engine's lower bound of the
    pooled posterior sd (−ℓ'' where ℓ is within 40 of its maximum, summed over strata)."""
    max_events = events.max(axis=0)
    pooled_sd = 1.0 / math.sqrt(float((max_events + 40.0 + np.sqrt(80.0 * max_events)).sum()))
    # The sinc tail weights need ≥ 2 nodes per posterior sd of each θ_j (error ~exp(−π²σ²/2h²)).
    narrowest = 1.0 / math.sqrt(float(max_events.max()) + 1.0)
    return min(MAX_STEP, pooled_sd * POINTS, narrowest / 2.0), pooled_sd


def _wide_range(prior: HierarchicalHazardPrior, events: np.ndarray, exposure: np.ndarray) -> tuple[float, float, float, float]:
    """θ range (lo, hi) and μ range of the wide grid: the prior's ±PRIOR_RANGE_SDS predictive sds and
    every likelihood's mass (θ), μ's prior ±MU_RANGE_SDS sds (μ)."""
    half = PRIOR_RANGE_SDS * math.hypot(prior.mu_sd, prior.tau_scale)
    lo, hi = prior.mu_mean - half, prior.mu_mean + half
    with np.errstate(divide="ignore"):
        # Where the likelihood is e^{-40} of its maximum on the right: e^θ·T ≈ d + 40 + √(80 d).
        upper = np.log((events + 40.0 + np.sqrt(80.0 * events)) / np.maximum(exposure, 1e-12))
        # With no events the likelihood is flat only where e^θ·T is negligible (FLAT_LEFT), whatever the prior.
        lower = np.where(events > 0, np.log(np.maximum(events, 1.0) / np.maximum(exposure, 1e-12)) - 12.0 / np.sqrt(np.maximum(events, 1.0)),
                         np.log(FLAT_LEFT / np.maximum(exposure, 1e-12)))
    hi = max(hi, float(upper.max()) + 1.0)
    lo = min(lo, float(lower.min()))
    margin = 8.0 * EDGE_STEP_SD + 1.0
    mu_half = MU_RANGE_SDS * prior.mu_sd
    return lo - margin, hi + margin, prior.mu_mean - mu_half, prior.mu_mean + mu_half


def _narrow_range(prior: HierarchicalHazardPrior, events: np.ndarray, exposure: np.ndarray) -> tuple[float, float, float, float]:
    """θ and μ ranges of the narrow grid, for rows whose every stratum has ≥ NARROW_MIN_EVENTS events:
    each likelihood down to e^{−NARROW_DROP} of its maximum (θ), the strata's estimates ±
    NARROW_MU_HALF_WIDTH (μ).
    Rows with posterior mass near its edges are computed again on the wide grid."""
    mode = np.log(events / exposure)
    # d·Δ − d·(e^Δ − 1) = −NARROW_DROP: Δ ≈ log(1 + (D + √(2dD))/d) on the right, −D/d − 1 on the left.
    upper = np.log((events + NARROW_DROP + np.sqrt(2.0 * NARROW_DROP * events)) / exposure)
    lower = mode - NARROW_DROP / events - 1.0
    mu_lo, mu_hi = float(mode.min()) - NARROW_MU_HALF_WIDTH, float(mode.max()) + NARROW_MU_HALF_WIDTH
    mu_half = MU_RANGE_SDS * prior.mu_sd
    mu_lo, mu_hi = max(mu_lo, prior.mu_mean - mu_half), min(mu_hi, prior.mu_mean + mu_half)
    return min(float(lower.min()), mu_lo) - 1.0, max(float(upper.max()), mu_hi) + 1.0, mu_lo, mu_hi


def _grid(prior: HierarchicalHazardPrior, step: float, pooled_sd: float, bounds: tuple[float, float, float, float]) -> _Grid:
    """The grid of step ``step`` over θ in [lo, hi] with μ nodes in [mu_lo, mu_hi]; τ as the engine's."""
    lo, hi, mu_lo, mu_hi = bounds
    n = int(math.ceil((hi - lo) / step)) + 1
    theta = lo + step * np.arange(n)
    mu_keep = np.flatnonzero((theta >= mu_lo) & (theta <= mu_hi))
    mu_start, n_mu = int(mu_keep[0]), int(mu_keep.size)
    mu = theta[mu_start: mu_start + n_mu]
    # τ = c·sinh(u) as the engine (designs.engines.quadrature.grid), c from the pooled posterior sd.
    c = min(TAU_C_FRACTION * pooled_sd, prior.tau_scale / 4.0)
    u = TAU_U_STEP * np.arange(int(math.ceil(math.asinh(TAU_RANGE_SCALES * prior.tau_scale / c) / TAU_U_STEP)) + 1)
    tau = c * np.sinh(u)
    w_tau = TAU_U_STEP * c * np.cosh(u)
    w_tau[0] *= 0.5
    log_tau = np.log(w_tau) - 0.5 * (tau / prior.tau_scale) ** 2
    log_mu = math.log(step) - 0.5 * ((mu - prior.mu_mean) / prior.mu_sd) ** 2
    log_prior = (log_tau[:, None] + log_mu[None, :]).ravel()
    weights = _flushed(np.exp(log_prior - log_prior.max()))
    # Kernels k_a(s), s = offset in steps: sampled Gaussian for τ ≥ 4h, band-limited below, δ at 0.
    m = next_fast_len(2 * n)
    offsets = np.arange(-(n - 1), n)
    omega = 2 * math.pi * np.fft.rfftfreq(m, d=step)
    kernel = np.empty((n, tau.size, n_mu))
    rows = np.arange(n)[:, None] - (mu_start + np.arange(n_mu))[None, :]  # t − i in steps
    for a, t in enumerate(tau):
        if t == 0.0:
            k = (offsets == 0).astype(float)
        elif t < SPECTRAL_TAU_IN_STEPS * step:
            full = irfft(np.exp(-0.5 * (t * omega) ** 2), n=m)
            k = full[offsets % m]
        else:
            k = step * np.exp(-0.5 * (offsets * step / t) ** 2) / (t * math.sqrt(2 * math.pi))
        kernel[:, a, :] = k[rows + n - 1]
    kernel = _flushed(kernel.reshape(n, -1))
    # The constant left end (no events): e^ℓ − e^{ℓ(θ_0)}·Φ((c_L − θ)/s) is convolved on the grid and
    # e^{ℓ(θ_0)}·Φ((c_L − μ)/√(s² + τ²)) added analytically, folded into the first row.
    s = EDGE_STEP_SD
    centre = theta[0] + 8 * s
    step_left = special.ndtr((centre - theta) / s)
    analytic = special.ndtr((centre - mu[None, :]) / np.sqrt(s**2 + tau[:, None] ** 2)).ravel()
    with_edges = kernel.copy()
    with_edges[0] += analytic - step_left @ kernel
    return _Grid(theta, step, mu_start, n_mu, tau, weights, kernel, _flushed(with_edges))


def peak_bytes(prior: HierarchicalHazardPrior, max_events: Sequence[float]) -> int:
    """A rough upper bound of the memory one call takes when no stratum has more than ``max_events``
    events: the wide grid's two kernels (θ nodes × cells) and about six row-chunk intermediates."""
    step, pooled_sd = _step(np.asarray([max_events], dtype=float))
    theta = (2 * PRIOR_RANGE_SDS * math.hypot(prior.mu_sd, prior.tau_scale) + 20.0) / step
    mu = 2 * MU_RANGE_SDS * prior.mu_sd / step
    c = min(TAU_C_FRACTION * pooled_sd, prior.tau_scale / 4.0)
    tau = math.asinh(TAU_RANGE_SCALES * prior.tau_scale / c) / TAU_U_STEP + 1
    cells = mu * tau
    return int(2 * 8 * theta * cells + 6 * max(ROW_CHUNK_BYTES, 16 * 8 * cells))


def _likelihood(grid: _Grid, events: np.ndarray, exposure: np.ndarray) -> np.ndarray:
    """e^{ℓ(θ) − max ℓ} on the grid, rows × θ nodes."""
    theta = grid.theta
    with np.errstate(over="ignore"):
        ll = events[:, None] * theta[None, :] - np.exp(theta)[None, :] * exposure[:, None]
    ll -= ll.max(axis=1, keepdims=True)
    return _flushed_nonnegative(np.exp(ll))


def _flushed_nonnegative(values: np.ndarray) -> np.ndarray:
    """Values below TINY (negative ones included) set to 0, for arrays that are ≥ 0 in exact arithmetic
    (one pass fewer than ``_flushed``)."""
    np.multiply(values, values >= TINY, out=values)
    return values


def _flushed(values: np.ndarray) -> np.ndarray:
    """Values within ±TINY (of a maximum near 1) set to 0: subnormal numbers slow matrix products a
    hundredfold, and such cells carry no mass. (Band-limited kernels have negative lobes: kept.)"""
    np.multiply(values, np.abs(values) >= TINY, out=values)
    return values


def hierarchical_prob_above(prior: HierarchicalHazardPrior, events: np.ndarray, exposure: np.ndarray,
                            landmark_pfs: Sequence[float], landmark_months: float,
                            wanted: np.ndarray | None = None) -> np.ndarray:
    """P(S_j(L) > s | the row's data) under the hierarchical exponential model, for each row (data set),
    stratum and s: events and exposure (n, J) → (n, J, len(landmark_pfs)). See the module. ``wanted``
    (n, J): the strata whose probabilities are needed (default all; every stratum's data enter
    regardless); the others are NaN.

    Rows whose every stratum has at least NARROW_MIN_EVENTS events go first on a grid narrowed to their
    likelihoods; any of them with more than EDGE_TOLERANCE of its posterior (of μ or of a θ_j) within
    EDGE_NODES nodes of that grid's edges, and every other row, on the wide grid."""
    events = np.asarray(events, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    n, n_strata = events.shape
    out = np.empty((n, n_strata, len(landmark_pfs)))
    if n == 0:
        return out
    cuts = np.log([exponential_hazard_from_landmark(s, landmark_months) for s in landmark_pfs])
    wanted = np.ones((n, n_strata), dtype=bool) if wanted is None else np.asarray(wanted, dtype=bool)
    wide = np.ones(n, dtype=bool)
    narrow = np.flatnonzero((events >= NARROW_MIN_EVENTS).all(axis=1))
    if narrow.size:
        d, T = events[narrow], exposure[narrow]
        step, pooled_sd = _step(d)
        probs, edge = _on_grid(_grid(prior, step, pooled_sd, _narrow_range(prior, d, T)), d, T, cuts, wanted[narrow])
        good = edge <= EDGE_TOLERANCE
        out[narrow[good]] = probs[good]
        wide[narrow[good]] = False
    rows = np.flatnonzero(wide)
    if rows.size:
        d, T = events[rows], exposure[rows]
        step, pooled_sd = _step(d)
        out[rows] = _on_grid(_grid(prior, step, pooled_sd, _wide_range(prior, d, T)), d, T, cuts, wanted[rows],
                             check_edges=False)[0]
    return out


def _on_grid(grid: _Grid, events: np.ndarray, exposure: np.ndarray, cuts: np.ndarray,
             wanted: np.ndarray, check_edges: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """P(θ_j < c) per row, stratum and cut on ``grid`` (NaN where not ``wanted``), and per row the largest
    posterior mass (of μ or of a wanted θ_j) within EDGE_NODES nodes of the grid's edges (0 unless
    ``check_edges``)."""
    n, n_strata = events.shape
    out = np.full((n, n_strata, cuts.size), np.nan)
    edge = np.zeros(n)
    si, _ = special.sici(np.pi * (cuts[None, :] - grid.theta[:, None]) / grid.step)
    below = 0.5 + si / np.pi  # (N, C): sinc weights of 1[θ < c]
    k = EDGE_NODES
    chunk = max(16, ROW_CHUNK_BYTES // (8 * grid.prior.size))
    for start in range(0, n, chunk):
        rows = slice(start, min(start + chunk, n))
        liks = [_likelihood(grid, events[rows, j], exposure[rows, j]) for j in range(n_strata)]
        marginals = []
        for lik in liks:
            m = lik @ grid.kernel_edges
            m *= 1.0 / np.maximum(m.max(axis=1, keepdims=True), 1e-300)
            # The flush also sets the band-limited kernels' negative round-off to 0 (as the engine's clip).
            marginals.append(_flushed_nonnegative(m))
        for j in range(n_strata):
            want = np.flatnonzero(wanted[rows, j])
            if want.size == 0:
                continue
            every = want.size == liks[j].shape[0]
            pick = (lambda a: a) if every else (lambda a: a[want])  # noqa: E731 - no copy when all rows are wanted
            cavity = None
            for other in range(n_strata):
                if other != j:
                    cavity = grid.prior * pick(marginals[other]) if cavity is None else cavity * pick(marginals[other])
                    cavity *= 1.0 / np.maximum(cavity.max(axis=1, keepdims=True), 1e-300)
                    _flushed_nonnegative(cavity)
            if cavity is None:  # one stratum: the prior alone
                cavity = np.broadcast_to(grid.prior, (want.size, grid.prior.size))
            # Not flushed: a data conflict can leave the whole row far below 1 (cavity and likelihood
            # each scaled to 1 at different cells), and the row is rescaled first.
            density = np.maximum((cavity @ grid.kernel.T) * pick(liks[j]), 0.0)
            density /= np.maximum(density.max(axis=1, keepdims=True), np.finfo(float).tiny)
            total = density.sum(axis=1)
            at = start + want
            out[at, j] = np.clip((density @ below) / total[:, None], 0.0, 1.0)
            if not check_edges:
                continue
            theta_edge = (density[:, :k].sum(axis=1) + density[:, -k:].sum(axis=1)) / total
            # The posterior of μ near its grid's edges: Σ_τ cavity·I_j on the first and last k μ nodes only.
            shape = (want.size, grid.tau.size, grid.n_mu)
            cav, mine = cavity.reshape(shape), pick(marginals[j]).reshape(shape)
            near = (np.einsum("rau,rau->r", cav[:, :, :k], mine[:, :, :k])
                    + np.einsum("rau,rau->r", cav[:, :, -k:], mine[:, :, -k:]))
            mu_edge = near / np.einsum("rg,rg->r", cavity, pick(marginals[j]))
            edge[at] = np.maximum(edge[at], np.maximum(theta_edge, mu_edge))
    return out, edge
