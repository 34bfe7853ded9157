"""Per-likelihood tables on a grid: the marginal I(μ, τ) = ∫ e^ℓ N(θ; μ, τ²) dθ of each likelihood
and its moment rows K(e^ℓ ⊙ v)(μ, τ), by Gaussian convolutions (FFT), cached by value.

θ → μ is a Gaussian convolution: for τ ≥ 4h the sampled kernel (the trapezoid rule), for τ < 4h the
Fourier multiplier exp(−τ²ω²/2), τ = 0 exactly (a δ). A likelihood's constant ends are removed with
smooth steps Φ((t − c)/s) whose convolutions are analytic, so nothing is truncated.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property, partial
from typing import Any

import numpy as np
from scipy import special
from scipy.fft import irfft, rfft

from designs.core.arrays import read_only
from designs.core.errors import InvalidInputError
from designs.engines.quadrature.cache import TABLES, TableCache, table_key
from designs.engines.quadrature.grid import QuadratureGrid
from designs.engines.quadrature.hierarchy import NormalHierarchy
from designs.engines.quadrature.likelihoods import StratumLikelihood

LOG_FLOOR_LINEAR = 1e-300
"""Floor of a scaled marginal before its log (a cell where one stratum's likelihood underflowed)."""
FFT_CHUNK_ELEMENTS = 4e6
"""Rows per batched FFT keep the (rows, τ nodes, FFT length) intermediate near 32 MB."""


@dataclass(frozen=True, eq=False)
class Marginal:
    """I(μ, τ) of one likelihood on the grid, scaled: exp(log_scale) · marginal = I.

    Its arrays are read-only: the table cache shares one Marginal between threads.
    """

    log_scale: float
    marginal: np.ndarray  # (G,) ∫ e^ℓ N(θ; μ, τ²) dθ, edge constants handled analytically
    nex: float  # ∫ e^ℓ N(θ; nex_mean, nex_sd²) dθ, same scale
    likelihood_on_grid: np.ndarray  # (N,) e^{ℓ(θ)} on the θ grid, same scale
    make_log_mixture: Callable[[], np.ndarray] = field(repr=False)

    def __post_init__(self) -> None:
        read_only(self.marginal)
        read_only(self.likelihood_on_grid)

    @cached_property
    def log_mixture(self) -> np.ndarray:
        """(G,) log[w I + (1 − w) M], unscaled: made on first use (``batch``, ``analyse``; ``product``
        works on the linear scale and never needs it)."""
        return read_only(self.make_log_mixture())

    @property
    def nbytes(self) -> int:
        return 2 * self.marginal.nbytes + self.likelihood_on_grid.nbytes  # log_mixture counted up front


def _log_mixture(
    marginal: np.ndarray, nex: float, log_scale: float, log_lik_mu: np.ndarray, w: float, tau_zero: np.ndarray
) -> np.ndarray:
    """log[w I + (1 − w) M] (unscaled) from a scaled marginal; the τ = 0 rows from ℓ itself."""
    mixture = w * marginal + (1.0 - w) * nex
    # Underflowed cells get a finite floor far below anything that matters, so that
    # (Σ_k log mix_k) − log mix_j recovers the other strata exactly.
    log_mixture = np.log(np.maximum(mixture, LOG_FLOOR_LINEAR)).reshape(tau_zero.size, -1) + log_scale
    if tau_zero.any():
        with np.errstate(divide="ignore"):
            log_w, log_not_w = math.log(w) if w > 0 else -math.inf, math.log1p(-w) if w < 1 else -math.inf
            exact = np.logaddexp(log_w + (log_lik_mu - log_scale), log_not_w + math.log(max(nex, 1e-300)))
        log_mixture[tau_zero] = np.maximum(exact, math.log(LOG_FLOOR_LINEAR)) + log_scale
    return log_mixture.ravel()


def _chunks(items: list, size: int) -> list[list]:
    return [items[i : i + size] for i in range(0, len(items), size)]


class LikelihoodTables:
    """The tables of likelihoods under ``hierarchy`` on ``grid``, kept in ``cache`` (default: the
    process-wide ``TABLES``) under keys scoped by (hierarchy, grid digest)."""

    def __init__(self, hierarchy: NormalHierarchy, grid: QuadratureGrid, cache: TableCache | None = None):
        self.hierarchy = hierarchy
        self.grid = grid
        self._cache = TABLES if cache is None else cache
        self._scope = (hierarchy, grid.digest)
        g = grid
        theta = g.theta
        s = g.edge_sd
        left_centre = theta[0] + 8 * s
        right_centre = theta[-1] - 8 * s
        self._edge_left = special.ndtr((left_centre - theta) / s)
        self._edge_right = special.ndtr((theta - right_centre) / s)
        spread = np.sqrt(s**2 + g.tau**2)[:, None]
        mu = g.mu[None, :]
        self._edge_left_conv = special.ndtr((left_centre - mu) / spread).ravel()
        self._edge_right_conv = special.ndtr((mu - right_centre) / spread).ravel()
        hz = hierarchy
        self.nex_density = np.exp(-0.5 * ((theta - hz.nex_mean) / hz.nex_sd) ** 2) / (hz.nex_sd * math.sqrt(2 * math.pi))
        """(N,) N(θ; nex_mean, nex_sd²) at the θ nodes."""
        self._nex_left = float(special.ndtr((theta[0] - hz.nex_mean) / hz.nex_sd))
        self._nex_right = float(special.ndtr((hz.nex_mean - theta[-1]) / hz.nex_sd))
        self._chunk_rows = max(1, int(FFT_CHUNK_ELEMENTS // (g.tau.size * g.fft_length)))

    @property
    def nbytes(self) -> int:
        """Bytes of its own arrays (the tables themselves live in the cache)."""
        return sum(a.nbytes for a in (self._edge_left, self._edge_right, self._edge_left_conv,
                                      self._edge_right_conv, self.nex_density))

    def convolve(self, values: np.ndarray) -> np.ndarray:
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

    def smooth(self, cavity: np.ndarray) -> np.ndarray:
        """Σ_a ∫ cavity(μ, τ_a) N(t; μ, τ_a²) dμ at the θ nodes t (cavity (A, Nμ), weights included)."""
        g = self.grid
        full = np.zeros((g.tau.size, g.theta.size))
        full[:, g.mu_slice] = cavity.reshape(g.tau.size, -1)
        positive = ~self.grid.tau_zero
        spectrum = (rfft(full[positive], n=g.fft_length, axis=-1) * g.spectra[positive]).sum(axis=0)
        # τ = 0 is the identity, added exactly.
        return irfft(spectrum, n=g.fft_length)[: g.theta.size] + full[self.grid.tau_zero].sum(axis=0)

    def marginals(self, likelihoods: Sequence[StratumLikelihood]) -> list[Marginal]:
        """The (cached) marginal tables of ``likelihoods``; missing ones computed in batched FFTs."""
        found = [self._cache.get(table_key(self._scope, "marginal", lik)) for lik in likelihoods]
        missing = [i for i, m in enumerate(found) if m is None]
        for chunk in _chunks(missing, self._chunk_rows):
            fresh = self._compute_marginals([likelihoods[i] for i in chunk])
            for i, m in zip(chunk, fresh, strict=True):
                self._cache.put(table_key(self._scope, "marginal", likelihoods[i]), m)
                found[i] = m
        return found

    def _compute_marginals(self, likelihoods: Sequence[StratumLikelihood]) -> list[Marginal]:
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
        conv = self.convolve(core)
        nex = h * self._nex_sums(lik) + left * self._nex_left + right * self._nex_right
        out = []
        for r in range(len(liks)):
            if left[r] != 0.0:
                conv[r] += left[r] * self._edge_left_conv.reshape(conv.shape[1:])
            if right[r] != 0.0:
                conv[r] += right[r] * self._edge_right_conv.reshape(conv.shape[1:])
            # τ = 0 is a δ: I(μ, 0) = e^{ℓ(μ)} exactly (no FFT round-off, whatever the dynamic range).
            conv[r, self.grid.tau_zero] = lik[r, self.grid.mu_slice]
            row = conv[r].reshape(-1)
            np.maximum(row, 0.0, out=row)
            peak = max(float(row.max()), float(nex[r]) if self.hierarchy.exnex else 0.0)
            if not peak > 0:
                raise InvalidInputError("likelihood", "has no mass where the prior has mass")
            marginal = row / peak
            log_scale = tops[r] + math.log(peak)
            make = partial(
                _log_mixture, marginal, float(nex[r] / peak), log_scale, lls[r][self.grid.mu_slice],
                self.hierarchy.weight_exchangeable, self.grid.tau_zero,
            )
            out.append(Marginal(log_scale, marginal, float(nex[r] / peak), lik[r] / peak, make))
        return out

    def _nex_sums(self, rows: np.ndarray) -> np.ndarray:
        """Σ_t row(t) N(t; nex) per row, each row summed on its own: a table's value does not depend
        on which other tables were computed with it (a matrix-vector product's rounding can)."""
        return (rows * self.nex_density).sum(axis=1)

    def moments(self, likelihoods: Sequence[StratumLikelihood], specs: Sequence[tuple[str, Any]]) -> np.ndarray:
        """Rows K(e^ℓ ⊙ v)(μ, τ) (scaled like the marginal), v a sinc step at θ = c ("tail", c) or
        forward(θ) ("forward", transform): (likelihoods, specs, G + 1).

        They are only contracted against smooth cavities (the transpose of the sinc-CDF formula), so
        no edge treatment is needed; the last entry is the non-exchangeable part h Σ e^ℓ v N(θ; nex).
        """
        rows = self.moment_rows(likelihoods, specs)
        out = np.empty((len(likelihoods), len(specs), self.grid.size + 1))
        for i, by_spec in enumerate(rows):
            for k, row in enumerate(by_spec):
                out[i, k] = row
        return out

    def moment_rows(self, likelihoods: Sequence[StratumLikelihood], specs: Sequence[tuple[str, Any]]) -> list[list[np.ndarray]]:
        """The (cached) rows of ``moments`` as [likelihood][spec] arrays of length G + 1."""
        out: list[list[Any]] = [[None] * len(specs) for _ in likelihoods]
        missing = []
        for i, lik in enumerate(likelihoods):
            for k, spec in enumerate(specs):
                row = self._cache.get(table_key(self._scope, "moment", lik, *spec))
                if row is None:
                    missing.append((i, k))
                else:
                    out[i][k] = row
        if not missing:
            return out
        weights = {spec: self._moment_weights(*spec) for spec in {specs[k] for _, k in missing}}
        marginals = self.marginals([likelihoods[i] for i, _ in missing])
        for chunk in _chunks(list(range(len(missing))), self._chunk_rows):
            weighted = np.stack([marginals[m].likelihood_on_grid * weights[specs[missing[m][1]]] for m in chunk])
            conv = self.convolve(weighted)
            conv[:, self.grid.tau_zero] = weighted[:, None, self.grid.mu_slice]
            conv = conv.reshape(len(chunk), -1)
            nex = self.grid.step * self._nex_sums(weighted)
            for r, m in enumerate(chunk):
                i, k = missing[m]
                row = np.append(conv[r], nex[r])
                out[i][k] = row
                self._cache.put(table_key(self._scope, "moment", likelihoods[i], *specs[k]), row)
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
