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

Modules: ``likelihoods`` (a stratum's data as ℓ(θ)), ``hierarchy`` (the prior), ``grid`` (nodes,
weights, spectra, transforms, sinc CDF and quantiles), ``tables`` (per-likelihood marginals and
moment rows), ``cache`` (the process-wide, byte-bounded table cache), ``contraction`` (many tuples
at once), ``engine`` (``QuadratureEngine`` and one analysis).
"""

from designs.engines.quadrature.cache import TABLES, TableCache
from designs.engines.quadrature.contraction import BatchPosterior, ProductPosterior
from designs.engines.quadrature.engine import (
    QuadratureEngine,
    QuadraturePosterior,
    StratumPosterior,
    TauPosterior,
    ThetaMarginal,
)
from designs.engines.quadrature.grid import (
    LOG,
    LOGIT,
    QuadratureGrid,
    Transform,
    make_grid,
    sinc_cdf,
    sinc_quantiles,
)
from designs.engines.quadrature.hierarchy import NormalHierarchy
from designs.engines.quadrature.likelihoods import BinomialLikelihood, ExposureLikelihood, StratumLikelihood

__all__ = [
    "BatchPosterior",
    "BinomialLikelihood",
    "ExposureLikelihood",
    "LOG",
    "LOGIT",
    "NormalHierarchy",
    "ProductPosterior",
    "QuadratureEngine",
    "QuadratureGrid",
    "QuadraturePosterior",
    "StratumLikelihood",
    "StratumPosterior",
    "TABLES",
    "TableCache",
    "TauPosterior",
    "ThetaMarginal",
    "Transform",
    "make_grid",
    "sinc_cdf",
    "sinc_quantiles",
]
