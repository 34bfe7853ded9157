"""Deterministic posteriors of normal hierarchical and EXNEX models by quadrature on a θ scale.

Model (θ = logit p for response, log λ for PFS; stratum j's data enter only through ℓ_j(θ)):

    θ_j | μ, τ ~ N(μ, τ²)  with probability w (exchangeable), else θ_j ~ N(nex_mean, nex_sd²)
    μ ~ N(mu_mean, mu_sd²),  τ ~ HalfNormal(tau_scale)  (or τ fixed: a point mass)

Given (μ, τ) the strata are independent, so every posterior quantity is a 2-D integral over (μ, τ) of
products of 1-D integrals over θ_j,

    I_j(μ, τ) = ∫ e^{ℓ_j(θ)} N(θ; μ, τ²) dθ,         Z = ∫∫ π(μ) π(τ) Π_j [w I_j + (1 − w) M_j] dμ dτ,

with M_j = ∫ e^{ℓ_j} N(θ; nex_mean, nex_sd²) dθ. How each piece is made accurate (target: 1e-4 on
every reported probability, in practice ~1e-7):

* θ and μ share one uniform grid of step h ≤ σ/2.5 (and ≤ 0.1), σ a lower bound of the posterior
  sd of θ under complete pooling (1/√Σ_j max −ℓ_j''), so every integrand is sampled at ≥ 2.5 points
  per sd. The trapezoid rule on such smooth, decaying integrands converges geometrically (error
  ~ exp(−2π²σ²/h²)); the sinc interpolant below to ~exp(−π²σ²/2h²) ≈ 4e-14.
* θ → μ is a Gaussian convolution. For τ ≥ 4h it uses the sampled kernel (the trapezoid rule, a
  linear FFT convolution); for τ < 4h — down to τ = 0, where N(θ; μ, τ²) is a δ — it multiplies the
  Fourier transform by exp(−τ²ω²/2), which is exact for band-limited integrands and tends to the
  identity as τ → 0. Likelihoods that tend to a constant at an end of the grid (0 of n responders,
  no events) have that constant removed with a smooth step Φ((t − c)/s) whose convolution is
  analytic, Φ((t − c)/√(s² + τ²)), so nothing is truncated.
* τ is integrated on τ = c·sinh(u) with a uniform u grid: dense near 0 (pooling) and geometric for
  large τ. The integrand is an even analytic function of u, so the trapezoid rule is spectral
  (E[τ] gets Euler–Maclaurin end corrections: τ·p(τ) is odd in u). τ = 0 itself is applied exactly
  (I_j(μ, 0) = e^{ℓ_j(μ)}), so "τ fixed at 0" is complete pooling to rounding.
* Tail probabilities P(θ_j > c) and quantiles use the band-limited (sinc) interpolant of the
  marginal density on the grid: F(x) = Σ_i p_i h (½ + Si(π(x − t_i)/h)/π) — no O(h) step error.
  Batch evaluation uses the transpose of the same formula: Σ_g cavity_j(g) · K(e^ℓ_j ⊙ S_c)(g).

Single analyses (``QuadratureEngine.analyse``) and many outcome tuples at once
(``QuadratureEngine.batch``: tables per distinct likelihood are cached, cavities per distinct tuple
of the other strata, contractions by matrix products) share the tables.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any, Protocol

import numpy as np
from scipy import special
from scipy.fft import irfft, next_fast_len, rfft
from scipy.integrate import cumulative_simpson
from scipy.interpolate import CubicSpline
from scipy.optimize import brentq

from designs.core.errors import FieldProblem, InvalidInputError

# Numerical settings (see the module docstring); ``resolution`` in make_grid scales all of them.
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
LIKELIHOOD_CORE_SDS = 12.0
"""Half-width kept around an interior likelihood mode, in likelihood sds."""
LOG_TINY = -700.0
"""Below this, exp underflows: such cells carry no mass."""
LOG_FLOOR_LINEAR = 1e-300
"""Floor of a scaled marginal before its log (a cell where one stratum's likelihood underflowed)."""
DEFAULT_CACHE_BYTES = 256 * 2**20


# --------------------------------------------------------------------------------------------------
# Likelihoods: a stratum's data as a vectorised log-likelihood on the θ scale


class StratumLikelihood(Protocol):
    """A stratum's data: ``ℓ(θ)`` vectorised over θ. Frozen dataclasses are cached by value.

    Optional: ``information_bound`` (an upper bound of −ℓ''(θ) where ℓ is within 40 of its maximum)
    and ``mode_and_sd()`` ((θ̂, sd) of an interior mode, or None); without them both are found
    numerically on a pilot grid.
    """

    def __call__(self, theta: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class BinomialLikelihood:
    """y responders of n: ℓ(θ) = log C(n, y) + y log expit θ + (n − y) log(1 − expit θ).

    The binomial coefficient is included so that ``log_marginal_likelihood`` is that of the counts
    (predictive probabilities are ratios of these).
    """

    responders: int
    n: int

    def __post_init__(self) -> None:
        if not 0 <= self.responders <= self.n:
            raise InvalidInputError("responders", f"must lie in [0, n = {self.n}]")

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        y, n = self.responders, self.n
        log_choose = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
        return log_choose + y * special.log_expit(theta) + (n - y) * special.log_expit(-np.asarray(theta))

    @property
    def information_bound(self) -> float:
        return self.n / 4.0

    def mode_and_sd(self) -> tuple[float, float] | None:
        y, n = self.responders, self.n
        if not 0 < y < n:
            return None
        p = y / n
        return math.log(p / (1 - p)), 1.0 / math.sqrt(n * p * (1 - p))


@dataclass(frozen=True)
class ExposureLikelihood:
    """d events in total exposure T (exponential / Poisson-process kernel): ℓ(θ) = d·θ − e^θ·T, θ = log λ."""

    events: float
    exposure: float

    def __post_init__(self) -> None:
        if self.events < 0 or self.exposure < 0:
            raise InvalidInputError("events", "events and exposure must be ≥ 0")
        if self.events > 0 and self.exposure == 0:
            raise InvalidInputError("exposure", "must be > 0 when there are events")

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        # e^θ overflows past θ ≈ 709.78 (a wide grid: huge mu_sd or fixed τ). There ℓ = −∞ is the true
        # limit for T > 0 (the hazard term dominates), so the overflow is expected; with T = 0 the
        # hazard term vanishes and must not become ∞·0 = NaN.
        if self.exposure == 0:
            return self.events * theta
        with np.errstate(over="ignore"):
            return self.events * theta - np.exp(theta) * self.exposure

    @property
    def information_bound(self) -> float:
        # −ℓ'' = e^θ T; where ℓ ≥ max − 40 it stays below d + 40 + √(80 d).
        d = self.events
        return d + 40.0 + math.sqrt(80.0 * d) if self.exposure > 0 else 0.0

    def mode_and_sd(self) -> tuple[float, float] | None:
        if self.events <= 0 or self.exposure <= 0:
            return None
        return math.log(self.events / self.exposure), 1.0 / math.sqrt(self.events)


# --------------------------------------------------------------------------------------------------
# The prior on the θ scale


@dataclass(frozen=True)
class NormalHierarchy:
    """μ ~ N(mu_mean, mu_sd²), τ ~ HalfNormal(tau_scale) (or τ = fixed_tau); EXNEX when w < 1."""

    mu_mean: float
    mu_sd: float
    tau_scale: float
    weight_exchangeable: float = 1.0
    nex_mean: float = 0.0
    nex_sd: float = 1.0
    fixed_tau: float | None = None

    def __post_init__(self) -> None:
        # Located as in a request's model prior (model/prior/<name>); fixed_tau is not a request field.
        problems = [
            FieldProblem(f"model/prior/{name}", "must be > 0")
            for name in ("mu_sd", "tau_scale", "nex_sd")
            if not getattr(self, name) > 0
        ]
        if not 0.0 <= self.weight_exchangeable <= 1.0:
            problems.append(FieldProblem("model/prior/weight_exchangeable", "must lie in [0, 1]"))
        if self.fixed_tau is not None and not (math.isfinite(self.fixed_tau) and self.fixed_tau >= 0):
            problems.append(FieldProblem("fixed_tau", "must be finite and ≥ 0"))
        if problems:
            raise InvalidInputError(problems)

    @classmethod
    def from_prior(cls, prior: Any, *, fixed_tau: float | None = None) -> NormalHierarchy:
        """From a ``designs.response.spec`` HierarchicalPrior or ExnexPrior."""
        exnex = hasattr(prior, "weight_exchangeable")
        return cls(
            mu_mean=prior.mu_mean,
            mu_sd=prior.mu_sd,
            tau_scale=prior.tau_scale,
            weight_exchangeable=prior.weight_exchangeable if exnex else 1.0,
            nex_mean=prior.nex_mean if exnex else 0.0,
            nex_sd=prior.nex_sd if exnex else 1.0,
            fixed_tau=fixed_tau,
        )

    @property
    def exnex(self) -> bool:
        return self.weight_exchangeable < 1.0


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
IDENTITY = Transform("θ", lambda t: np.asarray(t, dtype=float), lambda x: np.asarray(x, dtype=float))


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
    step = min(MAX_STEP, pooled_sd / POINTS_PER_SD) / resolution
    margin = 8.0 * EDGE_STEP_SD + 1.0
    lo, hi = lo - margin, hi + margin
    n_theta = int(math.ceil((hi - lo) / step)) + 1
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


def _tau_for_mean(grid: QuadratureGrid) -> np.ndarray:
    """τ per node such that Σ_a mass_a · τ_for_mean_a = E[τ]·Σ mass to O(h⁶).

    In u, τ·p(τ)·dτ/du is odd, so its trapezoid sum over u ≥ 0 has Euler–Maclaurin end corrections
    (h²/12) F'(0) − (h⁴/720) F'''(0), F'(0) = c q(0), F'''(0) = c (q(0) + 3 q''(0)), q the (even)
    density in u; they fold into the first two nodes.
    """
    tau = grid.tau.copy()
    if grid.tau_u_step is None or tau.size < 2:
        return tau
    h, c = grid.tau_u_step, grid.tau_c
    tau[0] = c * (h / 6 + h / 60 - h**3 / 360)
    tau[1] -= c * h / 120
    return tau


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


# --------------------------------------------------------------------------------------------------
# Per-likelihood tables


@dataclass(frozen=True, eq=False)
class _Marginal:
    """I(μ, τ) of one likelihood on the grid, scaled: exp(log_scale) · marginal = I."""

    log_scale: float
    marginal: np.ndarray  # (G,) ∫ e^ℓ N(θ; μ, τ²) dθ, edge constants handled analytically
    nex: float  # ∫ e^ℓ N(θ; nex_mean, nex_sd²) dθ, same scale
    likelihood_on_grid: np.ndarray  # (N,) e^{ℓ(θ)} on the θ grid, same scale
    make_log_mixture: Callable[[], np.ndarray] = field(repr=False)

    @cached_property
    def log_mixture(self) -> np.ndarray:
        """(G,) log[w I + (1 − w) M], unscaled: made on first use (``batch``, ``analyse``; ``product``
        works on the linear scale and never needs it)."""
        return self.make_log_mixture()

    @property
    def nbytes(self) -> int:
        return 2 * self.marginal.nbytes + self.likelihood_on_grid.nbytes  # log_mixture counted up front


class _LRU:
    """A least-recently-used cache bounded by bytes."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.bytes = 0
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()

    def get(self, key: Hashable | None) -> Any:
        if key is None:
            return None
        item = self._items.get(key)
        if item is None:
            return None
        self._items.move_to_end(key)
        return item[0]

    def put(self, key: Hashable | None, value: Any, nbytes: int) -> None:
        if key is None:
            return
        self._items[key] = (value, nbytes)
        self.bytes += nbytes
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _, (_, size) = self._items.popitem(last=False)
            self.bytes -= size


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


def _cache_key(kind: str, likelihood: StratumLikelihood, *rest: Hashable) -> Hashable | None:
    """(kind, likelihood, ...) — the likelihood itself is kept alive by the cache, so equal keys mean
    equal data; None for an unhashable likelihood, which is then not cached."""
    try:
        hash(likelihood)
    except TypeError:
        return None
    return (kind, likelihood, *rest)


# --------------------------------------------------------------------------------------------------
# Results


@dataclass(frozen=True)
class StratumPosterior:
    """Posterior of one stratum's parameter (on the transform's scale)."""

    mean: float
    median: float
    ci95: tuple[float, float]
    prob_above: dict[float, float]
    prob_exchangeable: float | None = None


@dataclass(frozen=True)
class TauPosterior:
    mean: float
    median: float
    ci95: tuple[float, float]
    fixed: bool = False


@dataclass(frozen=True)
class QuadraturePosterior:
    strata: tuple[StratumPosterior, ...]
    tau: TauPosterior
    log_marginal_likelihood: float
    diagnostics: dict[str, Any]


@dataclass(frozen=True)
class BatchPosterior:
    """Per outcome tuple t: log marginal likelihood (T,), P(parameter_j > c_k) (T, J, K), posterior
    means (T, J) (None if not asked), P(exchangeable_j) (T, J) (EXNEX only), E[τ] (T,)."""

    log_marginal_likelihood: np.ndarray
    prob_above: np.ndarray
    mean: np.ndarray | None
    prob_exchangeable: np.ndarray | None
    tau_mean: np.ndarray


@dataclass(frozen=True)
class ProductPosterior:
    """For every combination z of one candidate likelihood per stratum, indexed z = (k_1, …, k_J):
    log marginal likelihood (K_1, …, K_J) and P(parameter_j > c) (K_1, …, K_J, J, C)."""

    log_marginal_likelihood: np.ndarray
    prob_above: np.ndarray


# --------------------------------------------------------------------------------------------------
# The engine


class QuadratureEngine:
    """Posterior summaries of a ``NormalHierarchy`` on a ``QuadratureGrid``; tables are cached."""

    def __init__(self, hierarchy: NormalHierarchy, grid: QuadratureGrid, *, cache_bytes: int = DEFAULT_CACHE_BYTES):
        self.hierarchy = hierarchy
        self.grid = grid
        self._cache = _LRU(cache_bytes)
        g = grid
        theta = g.theta
        s = g.edge_sd
        self._left_centre = theta[0] + 8 * s
        self._right_centre = theta[-1] - 8 * s
        self._edge_left = special.ndtr((self._left_centre - theta) / s)
        self._edge_right = special.ndtr((theta - self._right_centre) / s)
        spread = np.sqrt(s**2 + g.tau**2)[:, None]
        mu = g.mu[None, :]
        self._edge_left_conv = special.ndtr((self._left_centre - mu) / spread).ravel()
        self._edge_right_conv = special.ndtr((mu - self._right_centre) / spread).ravel()
        hz = hierarchy
        self._nex_density = np.exp(-0.5 * ((theta - hz.nex_mean) / hz.nex_sd) ** 2) / (hz.nex_sd * math.sqrt(2 * math.pi))
        self._nex_left = float(special.ndtr((theta[0] - hz.nex_mean) / hz.nex_sd))
        self._nex_right = float(special.ndtr((hz.nex_mean - theta[-1]) / hz.nex_sd))
        self._tau_g = np.repeat(_tau_for_mean(g), g.mu.size)
        self._tau_zero = g.tau == 0.0
        self._log_prior = g.log_prior.ravel()
        self._log_prior_top = float(self._log_prior.max())
        self._prior_scaled = np.exp(np.maximum(self._log_prior - self._log_prior_top, LOG_TINY))
        # Rows per batched FFT: keeps the (rows, τ nodes, FFT length) intermediate near 32 MB.
        self._chunk_rows = max(1, int(4e6 // (g.tau.size * g.fft_length)))
        # Cavities per chunk: keeps each (cavities, G) array near 32 MB.
        self._chunk_cavities = max(1, int(4e6 // g.size))

    @classmethod
    def for_likelihoods(
        cls,
        hierarchy: NormalHierarchy,
        likelihoods: Sequence[Sequence[StratumLikelihood]] | Sequence[StratumLikelihood],
        *,
        resolution: float = 1.0,
        cache_bytes: int = DEFAULT_CACHE_BYTES,
    ) -> QuadratureEngine:
        return cls(hierarchy, make_grid(hierarchy, likelihoods, resolution=resolution), cache_bytes=cache_bytes)

    # --- convolutions ---------------------------------------------------------------------------

    def _convolve(self, values: np.ndarray) -> np.ndarray:
        """∫ f(θ) N(θ; μ_i, τ_a²) dθ for rows f sampled on the θ grid: values (R, N) → (R, A, Nμ)."""
        g = self.grid
        spectrum = rfft(values, n=g.fft_length, axis=-1)
        out = np.empty((values.shape[0], g.tau.size, g.mu.size))
        # Row by row through two reused buffers: fresh (R, A, FFT length) temporaries cost more in
        # page faults than the transforms themselves (measured ×3.5 for 12 rows).
        product = np.empty(g.spectra.shape, dtype=complex)
        inverse = np.empty((g.tau.size, g.fft_length))
        for r in range(values.shape[0]):
            np.multiply(spectrum[r], g.spectra, out=product)
            np.fft.irfft(product, n=g.fft_length, axis=-1, out=inverse)
            out[r] = inverse[:, g.mu_slice]
        return out

    def _smooth(self, cavity: np.ndarray) -> np.ndarray:
        """Σ_a ∫ cavity(μ, τ_a) N(t; μ, τ_a²) dμ at the θ nodes t (cavity (A, Nμ), weights included)."""
        g = self.grid
        full = np.zeros((g.tau.size, g.theta.size))
        full[:, g.mu_slice] = cavity.reshape(g.tau.size, -1)
        positive = ~self._tau_zero
        spectrum = (rfft(full[positive], n=g.fft_length, axis=-1) * g.spectra[positive]).sum(axis=0)
        # τ = 0 is the identity, added exactly.
        return irfft(spectrum, n=g.fft_length)[: g.theta.size] + full[self._tau_zero].sum(axis=0)

    def _marginals(self, likelihoods: Sequence[StratumLikelihood]) -> list[_Marginal]:
        """The (cached) marginal tables of ``likelihoods``; missing ones computed in batched FFTs."""
        found = [self._cache.get(_cache_key("marginal", lik)) for lik in likelihoods]
        missing = [i for i, m in enumerate(found) if m is None]
        for chunk in _chunks(missing, self._chunk_rows):
            fresh = self._compute_marginals([likelihoods[i] for i in chunk])
            for i, m in zip(chunk, fresh, strict=True):
                self._cache.put(_cache_key("marginal", likelihoods[i]), m, m.nbytes)
                found[i] = m
        return found

    def _compute_marginals(self, likelihoods: Sequence[StratumLikelihood]) -> list[_Marginal]:
        theta, h = self.grid.theta, self.grid.step
        liks, tops, lls = [], [], []
        for likelihood in likelihoods:
            ll = np.asarray(likelihood(theta), dtype=float)
            if ll.shape != theta.shape or np.isnan(ll).any() or (ll == np.inf).any():
                raise InvalidInputError("likelihood", "must return one finite (or −∞) value per θ node")
            top = float(ll.max())
            if not math.isfinite(top):
                raise InvalidInputError("likelihood", "is zero everywhere on the grid")
            liks.append(np.exp(ll - top))
            tops.append(top)
            lls.append(ll)
        lik = np.stack(liks)
        left, right = lik[:, 0], lik[:, -1]
        # Remove constant ends (smooth steps with analytic convolutions) so no mass is truncated.
        core = lik - left[:, None] * self._edge_left - right[:, None] * self._edge_right
        conv = self._convolve(core)
        nex = h * (lik @ self._nex_density) + left * self._nex_left + right * self._nex_right
        out = []
        for r in range(len(liks)):
            if left[r] != 0.0:
                conv[r] += left[r] * self._edge_left_conv.reshape(conv.shape[1:])
            if right[r] != 0.0:
                conv[r] += right[r] * self._edge_right_conv.reshape(conv.shape[1:])
            # τ = 0 is a δ: I(μ, 0) = e^{ℓ(μ)} exactly (no FFT round-off, whatever the dynamic range).
            conv[r, self._tau_zero] = lik[r, self.grid.mu_slice]
            row = conv[r].reshape(-1)
            np.maximum(row, 0.0, out=row)
            peak = max(float(row.max()), float(nex[r]) if self.hierarchy.exnex else 0.0)
            if not peak > 0:
                raise InvalidInputError("likelihood", "has no mass where the prior has mass")
            marginal = row / peak
            log_scale = tops[r] + math.log(peak)
            make = partial(self._log_mixture, marginal, float(nex[r] / peak), log_scale, lls[r][self.grid.mu_slice])
            out.append(_Marginal(log_scale, marginal, float(nex[r] / peak), lik[r] / peak, make))
        return out

    def _log_mixture(self, marginal: np.ndarray, nex: float, log_scale: float, log_lik_mu: np.ndarray) -> np.ndarray:
        """log[w I + (1 − w) M] (unscaled) from a scaled marginal; the τ = 0 rows from ℓ itself."""
        w = self.hierarchy.weight_exchangeable
        mixture = w * marginal + (1.0 - w) * nex
        # Underflowed cells get a finite floor far below anything that matters, so that
        # (Σ_k log mix_k) − log mix_j recovers the other strata exactly.
        log_mixture = np.log(np.maximum(mixture, LOG_FLOOR_LINEAR)).reshape(self.grid.tau.size, -1) + log_scale
        if self._tau_zero.any():
            with np.errstate(divide="ignore"):
                log_w, log_not_w = math.log(w) if w > 0 else -math.inf, math.log1p(-w) if w < 1 else -math.inf
                exact = np.logaddexp(log_w + (log_lik_mu - log_scale), log_not_w + math.log(max(nex, 1e-300)))
            log_mixture[self._tau_zero] = np.maximum(exact, math.log(LOG_FLOOR_LINEAR)) + log_scale
        return log_mixture.ravel()

    def _moments(self, likelihoods: Sequence[StratumLikelihood], specs: Sequence[tuple[str, Any]]) -> np.ndarray:
        """Rows K(e^ℓ ⊙ v)(μ, τ) (scaled like the marginal), v a sinc step at θ = c ("tail", c) or
        forward(θ) ("forward", transform): (likelihoods, specs, G + 1).

        They are only contracted against smooth cavities (the transpose of the sinc-CDF formula), so
        no edge treatment is needed; the last entry is the non-exchangeable part h Σ e^ℓ v N(θ; nex).
        """
        rows = self._moment_rows(likelihoods, specs)
        out = np.empty((len(likelihoods), len(specs), self.grid.size + 1))
        for i, by_spec in enumerate(rows):
            for k, row in enumerate(by_spec):
                out[i, k] = row
        return out

    def _moment_rows(self, likelihoods: Sequence[StratumLikelihood], specs: Sequence[tuple[str, Any]]) -> list[list[np.ndarray]]:
        """The (cached) rows of ``_moments`` as [likelihood][spec] arrays of length G + 1."""
        out: list[list[Any]] = [[None] * len(specs) for _ in likelihoods]
        missing = []
        for i, lik in enumerate(likelihoods):
            for k, spec in enumerate(specs):
                row = self._cache.get(_cache_key("moment", lik, *spec))
                if row is None:
                    missing.append((i, k))
                else:
                    out[i][k] = row
        if not missing:
            return out
        weights = {spec: self._moment_weights(*spec) for spec in {specs[k] for _, k in missing}}
        marginals = self._marginals([likelihoods[i] for i, _ in missing])
        for chunk in _chunks(list(range(len(missing))), self._chunk_rows):
            weighted = np.stack([marginals[m].likelihood_on_grid * weights[specs[missing[m][1]]] for m in chunk])
            conv = self._convolve(weighted)
            conv[:, self._tau_zero] = weighted[:, None, self.grid.mu_slice]
            conv = conv.reshape(len(chunk), -1)
            nex = self.grid.step * (weighted @ self._nex_density)
            for r, m in enumerate(chunk):
                i, k = missing[m]
                row = np.append(conv[r], nex[r])
                out[i][k] = row
                self._cache.put(_cache_key("moment", likelihoods[i], *specs[k]), row, row.nbytes)
        return out

    def _moment_weights(self, kind: str, value: Any) -> np.ndarray:
        theta = self.grid.theta
        if kind == "tail":
            return self._tail_weights(value)
        with np.errstate(over="ignore"):
            v = np.asarray(value.forward(theta), dtype=float)
        return np.where(np.isfinite(v), v, 0.0)

    def _tail_weights(self, c: float) -> np.ndarray:
        """S_c(t) = ½ − Si(π(c − t)/h)/π: ∫ p 1[θ > c] = h Σ p(t_i) S_c(t_i) for band-limited p."""
        if c == -math.inf:
            return np.ones_like(self.grid.theta)
        if c == math.inf:
            return np.zeros_like(self.grid.theta)
        si, _ = special.sici(np.pi * (c - self.grid.theta) / self.grid.step)
        return 0.5 - si / np.pi

    # --- shared contraction -----------------------------------------------------------------------

    def _thresholds_theta(self, thresholds: Sequence[float], transform: Transform) -> list[float]:
        out = []
        for c in thresholds:
            with np.errstate(divide="ignore", invalid="ignore"):
                t = float(transform.inverse(np.asarray(c, dtype=float)))
            if math.isnan(t):
                raise InvalidInputError("thresholds", f"{c} is outside the range of {transform.name}")
            out.append(t)
        return out

    def _cavity_chunks(self, rows: list[np.ndarray], log_scales: list[np.ndarray], index: list[np.ndarray], j: int):
        """Distinct cavities of stratum j — prior × Π_{k≠j} [w I_k + (1 − w) M_k] — scaled to max 1,
        in chunks: yields (tuples, cavities (c, G), log scale (c,), cavity of each tuple in the chunk).

        ``rows[k]`` (V_k, G) are the scaled mixtures of stratum k's distinct values, ``log_scales[k]``
        their log scales. Products on the linear scale, rescaled to max 1 after every factor (as in
        ``product``): multiplications instead of one exp per cell and cavity.
        """
        n_tuples = index[0].size
        others = [k for k in range(len(rows)) if k != j]
        if not others:
            yield np.arange(n_tuples), self._prior_scaled[None, :], np.array([self._log_prior_top]), np.zeros(n_tuples, dtype=int)
            return
        keys = np.stack([index[k] for k in others], axis=1)
        cav_keys, cav_of_tuple = np.unique(keys, axis=0, return_inverse=True)
        cav_of_tuple = cav_of_tuple.reshape(-1)
        order = np.argsort(cav_of_tuple, kind="stable")
        bounds = np.searchsorted(cav_of_tuple[order], np.arange(0, cav_keys.shape[0] + self._chunk_cavities, self._chunk_cavities))
        for c, start in enumerate(range(0, cav_keys.shape[0], self._chunk_cavities)):
            stop = min(start + self._chunk_cavities, cav_keys.shape[0])
            cavity = np.repeat(self._prior_scaled[None, :], stop - start, axis=0)
            offset = np.full(stop - start, self._log_prior_top)
            for col, k in enumerate(others):
                picks = cav_keys[start:stop, col]
                cavity *= rows[k][picks]
                offset += log_scales[k][picks]
                peak = cavity.max(axis=1)
                with np.errstate(divide="ignore"):
                    offset += np.log(peak)
                cavity /= np.where(peak > 0, peak, 1.0)[:, None]
            tuples = order[bounds[c] : bounds[c + 1]]
            yield tuples, cavity, offset, cav_of_tuple[tuples] - start

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
        """Summaries for many outcome tuples at once.

        ``likelihoods_by_stratum[j][k]`` is the k-th possible data of stratum j (e.g. k responders of
        n_j); ``outcomes`` (T, J) picks one per stratum per tuple. Each distinct likelihood is
        tabulated once (and cached across calls), each distinct tuple of the other strata gives one
        cavity, and the contractions are matrix products. ``thresholds`` are on the parameter scale:
        ``prob_above[t, j, k]`` = P(forward(θ_j) > thresholds[k] | tuple t). ``strata`` restricts the
        per-stratum summaries (others are NaN); the log marginal likelihood and E[τ] are always computed.
        """
        outcomes = np.asarray(outcomes)
        if outcomes.ndim != 2 or outcomes.shape[1] != len(likelihoods_by_stratum) or outcomes.shape[0] == 0:
            raise InvalidInputError("outcomes", "must have shape (tuples ≥ 1, strata)")
        n_tuples, n_strata = outcomes.shape
        thresholds_theta = self._thresholds_theta(thresholds, transform)
        wanted = set(range(n_strata)) if strata is None else set(strata)
        w = self.hierarchy.weight_exchangeable
        exnex = self.hierarchy.exnex
        specs = [("tail", c) for c in thresholds_theta] + ([("forward", transform)] if means else [])

        values, index, marginals, mixtures, log_scales = [], [], [], [], []
        for j in range(n_strata):
            uniq, inv = np.unique(outcomes[:, j], return_inverse=True)
            values.append(uniq)
            index.append(inv.reshape(-1))
            marginals.append(self._marginals([likelihoods_by_stratum[j][k] for k in uniq]))
            mixtures.append(np.stack([w * m.marginal + (1.0 - w) * m.nex for m in marginals[j]]))
            log_scales.append(np.array([m.log_scale for m in marginals[j]]))

        log_ml = np.full(n_tuples, np.nan)
        prob_above = np.full((n_tuples, n_strata, len(thresholds_theta)), np.nan)
        mean = np.full((n_tuples, n_strata), np.nan) if means else None
        prob_exch = np.full((n_tuples, n_strata), np.nan) if exnex else None
        tau_mean = np.full(n_tuples, np.nan)

        for j in sorted(wanted | {0}):
            want_j = j in wanted
            n_specs = len(specs) if want_j else 0
            # Rows: [w I + (1 − w) M, moments..., w I (EXNEX), (w I + (1 − w) M)·τ (stratum 0)].
            n_rows = 1 + n_specs + (1 if exnex and want_j else 0) + (1 if j == 0 else 0)
            rows = np.empty((len(values[j]), n_rows, self.grid.size))
            nex = np.zeros((len(values[j]), n_rows))
            rows[:, 0] = mixtures[j]
            if n_specs:
                moments = self._moments([likelihoods_by_stratum[j][k] for k in values[j]], specs)
                rows[:, 1 : 1 + n_specs] = w * moments[:, :, :-1]
                nex[:, 1 : 1 + n_specs] = (1.0 - w) * moments[:, :, -1]
            if exnex and want_j:
                rows[:, 1 + n_specs] = w * np.stack([m.marginal for m in marginals[j]])
            if j == 0:
                rows[:, -1] = mixtures[j] * self._tau_g
            products = np.empty((n_tuples, n_rows))
            cav_offset = np.empty(n_tuples)
            for tuples, cavity, offset, cav_index in self._cavity_chunks(mixtures, log_scales, index, j):
                part = self._contract(rows, cavity, index[j][tuples], cav_index)
                if exnex and n_specs:
                    # Non-exchangeable constants enter as nex · Σ_g cavity.
                    part += nex[index[j][tuples]] * cavity.sum(axis=1)[cav_index][:, None]
                products[tuples] = part
                cav_offset[tuples] = offset[cav_index]
            z = products[:, 0]
            if j == 0:
                scales = np.array([m.log_scale for m in marginals[0]])
                with np.errstate(divide="ignore"):
                    log_ml = np.log(z) + cav_offset + scales[index[0]]
                tau_mean = products[:, -1] / z
            if want_j:
                for c_idx in range(len(thresholds_theta)):
                    tail = np.clip(products[:, 1 + c_idx] / z, 0.0, 1.0)
                    prob_above[:, j, c_idx] = tail if transform.increasing else 1.0 - tail
                if means:
                    mean[:, j] = products[:, n_specs] / z
                if exnex:
                    prob_exch[:, j] = np.clip(products[:, 1 + n_specs] / z, 0.0, 1.0)
        return BatchPosterior(log_ml, prob_above, mean, prob_exch, tau_mean)

    @staticmethod
    def _contract(rows: np.ndarray, cavity: np.ndarray, value_of_tuple: np.ndarray, cavity_of_tuple: np.ndarray) -> np.ndarray:
        """out[t, q] = Σ_g rows[value(t), q, g] · cavity[cavity(t), g], by matrix products."""
        n_values, n_q, n_g = rows.shape
        n_tuples = value_of_tuple.size
        if n_values * cavity.shape[0] <= 2 * n_tuples:
            # Dense: every (value, cavity) pair at once.
            full = rows.reshape(n_values * n_q, n_g) @ cavity.T  # (values·Q, cavities)
            full = full.reshape(n_values, n_q, -1)
            return full[value_of_tuple, :, cavity_of_tuple]
        out = np.empty((n_tuples, n_q))
        for v in range(n_values):
            members = np.flatnonzero(value_of_tuple == v)
            if members.size:
                out[members] = cavity[cavity_of_tuple[members]] @ rows[v].T
        return out

    def product(
        self,
        likelihoods_by_stratum: Sequence[Sequence[StratumLikelihood]],
        *,
        thresholds: Sequence[float] = (),
        transform: Transform = LOGIT,
    ) -> ProductPosterior:
        """The log marginal likelihood and P(parameter_j > c) of every tuple of the Cartesian
        product of the candidate lists (e.g. all final outcomes of the remaining patients).

        With R_k = w I_k + (1 − w) M_k and T_j = w K(e^ℓ_j S_c) + (1 − w) M_j(θ > c) (the rows of
        ``batch``), Z(z) = Σ_g π(g) Π_k R_k[z_k](g) and Z(z) P(θ_j > c | z) = Σ_g π(g) T_j[z_j](g)
        Π_{k≠j} R_k[z_k](g): a tensor product over the (τ, μ) grid. For each stratum j the cavities
        π Π_{k≠j} R_k (one per tuple of the other strata, built in chunks by multiplying rows,
        rescaled to max 1 after each factor) meet R_j and T_j in two matrix products. Equals ``batch``
        on the same tuples to rounding, without its per-tuple bookkeeping.
        """
        sizes = [len(candidates) for candidates in likelihoods_by_stratum]
        if not sizes or min(sizes) == 0:
            raise InvalidInputError("strata", "need at least one stratum and one likelihood per stratum")
        n_strata, n_thresholds, n_cells = len(sizes), len(thresholds), self.grid.size
        specs = [("tail", c) for c in self._thresholds_theta(thresholds, transform)]
        w = self.hierarchy.weight_exchangeable
        # Per stratum: R per candidate (K_j, G) and T_c per candidate (K_j, C, G), filled in place (no
        # temporaries: on a fresh array the page faults cost more than the arithmetic).
        mixtures, tails, log_scales = [], [], []
        for candidates in likelihoods_by_stratum:
            candidates = list(candidates)
            marginals = self._marginals(candidates)
            moment_rows = self._moment_rows(candidates, specs) if specs else [[] for _ in candidates]
            mixture = np.empty((len(candidates), n_cells))
            tail_rows = np.empty((len(candidates), n_thresholds, n_cells))
            for i, (m, moments) in enumerate(zip(marginals, moment_rows, strict=True)):
                np.multiply(m.marginal, w, out=mixture[i])
                mixture[i] += (1.0 - w) * m.nex
                for c, row in enumerate(moments):
                    np.multiply(row[:-1], w, out=tail_rows[i, c])
                    tail_rows[i, c] += (1.0 - w) * row[-1]
            mixtures.append(mixture)
            tails.append(tail_rows.reshape(-1, n_cells))
            log_scales.append(np.array([m.log_scale for m in marginals]))
        log_z = np.empty(sizes)
        prob_above = np.full((*sizes, n_strata, n_thresholds), np.nan)
        # Cavities per stratum: the product of the other strata's sizes (not of all sizes: a needlessly
        # large fresh buffer costs page faults).
        chunk = min(self._chunk_cavities, max(math.prod(sizes) // k for k in sizes))
        cavity, factor = np.empty((chunk, n_cells)), np.empty((chunk, n_cells))
        for j in range(n_strata) if specs else (0,):
            others = [k for k in range(n_strata) if k != j]
            other_sizes = [sizes[k] for k in others]
            n_cavities = math.prod(other_sizes)
            z = np.empty((sizes[j], n_cavities))
            tail_products = np.empty((sizes[j] * n_thresholds, n_cavities))
            cavity_log_scale = np.zeros(n_cavities)
            for start in range(0, n_cavities, chunk):
                stop = min(start + chunk, n_cavities)
                cav, fac, offset = cavity[: stop - start], factor[: stop - start], cavity_log_scale[start:stop]
                cav[:] = self._prior_scaled
                picks_by_stratum = np.unravel_index(np.arange(start, stop), other_sizes) if others else ()
                for k, picks in zip(others, picks_by_stratum, strict=True):
                    # mode="clip": picks are valid by construction, and "raise" with ``out`` adds a buffered copy.
                    np.take(mixtures[k], picks, axis=0, out=fac, mode="clip")
                    cav *= fac
                    offset += log_scales[k][picks]
                    # Rescale each cavity to max 1 after every factor: no underflow however many strata.
                    peak = cav.max(axis=1)
                    with np.errstate(divide="ignore"):
                        offset += np.log(peak)
                    cav /= np.where(peak > 0, peak, 1.0)[:, None]
                np.matmul(mixtures[j], cav.T, out=z[:, start:stop])
                if n_thresholds:
                    np.matmul(tails[j], cav.T, out=tail_products[:, start:stop])
            z = z.reshape(sizes[j], *other_sizes)
            tail_products = tail_products.reshape(sizes[j], n_thresholds, *other_sizes)
            if j == 0:
                with np.errstate(divide="ignore"):
                    log_z[...] = np.log(z) + cavity_log_scale.reshape(other_sizes) + (log_scales[0] + self._log_prior_top).reshape(-1, *[1] * len(others))
            for c in range(n_thresholds):
                with np.errstate(divide="ignore", invalid="ignore"):
                    tail = np.clip(tail_products[:, c] / z, 0.0, 1.0)
                prob_above[..., j, c] = np.moveaxis(tail if transform.increasing else 1.0 - tail, 0, j)
        return ProductPosterior(log_z, prob_above)

    # --- one analysis -----------------------------------------------------------------------------

    def log_marginal_likelihood(self, likelihoods: Sequence[StratumLikelihood]) -> float:
        """log ∫ Π_j e^{ℓ_j} dπ — the marginal likelihood of the data of all strata."""
        return float(self.product([[lik] for lik in likelihoods]).log_marginal_likelihood.item())

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
        marginals = self._marginals(likelihoods)
        log_mix = np.stack([m.log_mixture for m in marginals])
        log_joint = self._log_prior + log_mix.sum(axis=0)
        offset = log_joint.max()
        lo_q, hi_q = (1 - interval) / 2, (1 + interval) / 2
        strata, edge_mass, log_masses = [], 0.0, []
        for j, m in enumerate(marginals):
            log_cavity = self._log_prior + np.delete(log_mix, j, axis=0).sum(axis=0)
            with np.errstate(under="ignore"):
                cavity = np.exp(log_cavity - offset)
            # p_j(t) ∝ e^{ℓ_j(t)} [w Σ_a ∫ cavity N(t; μ, τ_a²) dμ + (1 − w) N(t; nex) Σ cavity]; Σ_t p_j = Z.
            density = w * self._smooth(cavity)
            if hz.exnex:
                density = density + (1.0 - w) * g.step * self._nex_density * cavity.sum()
            density = np.maximum(density * m.likelihood_on_grid, 0.0)
            total = float(density.sum())
            edge_mass = max(edge_mass, float((density[:8].sum() + density[-8:].sum()) / total))
            log_masses.append(math.log(total) + m.log_scale)
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
        return TauPosterior(mean, float(q[1]), (float(q[0]), float(q[2])))
