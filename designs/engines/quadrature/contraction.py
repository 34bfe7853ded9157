"""Many outcome tuples at once: every posterior quantity is Σ_g π(g) Π_k R_k(g) (times one stratum's
moment row), a contraction over the (τ, μ) grid of per-likelihood tables.

``batch`` takes any list of outcome tuples (the distinct tuples of the other strata give one cavity
each); ``product`` takes the Cartesian product of candidate lists (a tensor product, used by the
predictive probability). Both multiply on the linear scale, rescaling every cavity to max 1 after
each factor (no underflow however many strata), and contract by matrix products.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from designs.core.errors import InvalidInputError
from designs.engines.quadrature.grid import LOGIT, QuadratureGrid, Transform, thresholds_on_theta
from designs.engines.quadrature.likelihoods import StratumLikelihood
from designs.engines.quadrature.tables import LikelihoodTables

CAVITY_CHUNK_ELEMENTS = 4e6
"""Cavities per chunk keep each (cavities, G) array near 32 MB."""


def _cavities_per_chunk(grid: QuadratureGrid) -> int:
    return max(1, int(CAVITY_CHUNK_ELEMENTS // grid.size))


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


def _cavity_chunks(
    grid: QuadratureGrid, rows: list[np.ndarray], log_scales: list[np.ndarray], index: list[np.ndarray], j: int
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """Distinct cavities of stratum j — prior × Π_{k≠j} [w I_k + (1 − w) M_k] — scaled to max 1,
    in chunks: yields (tuples, cavities (c, G), log scale (c,), cavity of each tuple in the chunk).

    ``rows[k]`` (V_k, G) are the scaled mixtures of stratum k's distinct values, ``log_scales[k]``
    their log scales. Products on the linear scale, rescaled to max 1 after every factor (as in
    ``product``): multiplications instead of one exp per cell and cavity.
    """
    n_tuples = index[0].size
    per_chunk = _cavities_per_chunk(grid)
    others = [k for k in range(len(rows)) if k != j]
    if not others:
        yield np.arange(n_tuples), grid.prior_scaled[None, :], np.array([grid.log_prior_top]), np.zeros(n_tuples, dtype=int)
        return
    keys = np.stack([index[k] for k in others], axis=1)
    cav_keys, cav_of_tuple = np.unique(keys, axis=0, return_inverse=True)
    cav_of_tuple = cav_of_tuple.reshape(-1)
    order = np.argsort(cav_of_tuple, kind="stable")
    bounds = np.searchsorted(cav_of_tuple[order], np.arange(0, cav_keys.shape[0] + per_chunk, per_chunk))
    for c, start in enumerate(range(0, cav_keys.shape[0], per_chunk)):
        stop = min(start + per_chunk, cav_keys.shape[0])
        cavity = np.repeat(grid.prior_scaled[None, :], stop - start, axis=0)
        offset = np.full(stop - start, grid.log_prior_top)
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
    tables: LikelihoodTables,
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
    thresholds_theta = thresholds_on_theta(thresholds, transform)
    wanted = set(range(n_strata)) if strata is None else set(strata)
    w = tables.hierarchy.weight_exchangeable
    exnex = tables.hierarchy.exnex
    specs = [("tail", c) for c in thresholds_theta] + ([("forward", transform)] if means else [])

    values, index, marginals, mixtures, log_scales = [], [], [], [], []
    for j in range(n_strata):
        uniq, inv = np.unique(outcomes[:, j], return_inverse=True)
        values.append(uniq)
        index.append(inv.reshape(-1))
        marginals.append(tables.marginals([likelihoods_by_stratum[j][k] for k in uniq]))
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
        rows = np.empty((len(values[j]), n_rows, tables.grid.size))
        nex = np.zeros((len(values[j]), n_rows))
        rows[:, 0] = mixtures[j]
        if n_specs:
            moments = tables.moments([likelihoods_by_stratum[j][k] for k in values[j]], specs)
            rows[:, 1 : 1 + n_specs] = w * moments[:, :, :-1]
            nex[:, 1 : 1 + n_specs] = (1.0 - w) * moments[:, :, -1]
        if exnex and want_j:
            rows[:, 1 + n_specs] = w * np.stack([m.marginal for m in marginals[j]])
        if j == 0:
            rows[:, -1] = mixtures[j] * tables.grid.tau_for_mean
        products = np.empty((n_tuples, n_rows))
        cav_offset = np.empty(n_tuples)
        for tuples, cavity, offset, cav_index in _cavity_chunks(tables.grid, mixtures, log_scales, index, j):
            part = _contract(rows, cavity, index[j][tuples], cav_index)
            if exnex and n_specs:
                # Non-exchangeable constants enter as nex · Σ_g cavity.
                part += nex[index[j][tuples]] * cavity.sum(axis=1)[cav_index][:, None]
            products[tuples] = part
            cav_offset[tuples] = offset[cav_index]
        z = products[:, 0]
        if not np.all(z > 0):
            # Every cell's joint mass underflowed: the data have likelihood below e^-745 wherever the
            # prior puts mass (e.g. 40/40 responders under logit p ~ N(−20, 0.01²)). No double holds it.
            raise InvalidInputError(
                "model/prior",
                "the prior and the data conflict beyond double precision (the data are less likely than "
                "e^-745 wherever the prior has mass): widen the prior or centre it nearer the data",
            )
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
    tables: LikelihoodTables,
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
    n_strata, n_thresholds, n_cells = len(sizes), len(thresholds), tables.grid.size
    specs = [("tail", c) for c in thresholds_on_theta(thresholds, transform)]
    w = tables.hierarchy.weight_exchangeable
    # Per stratum: R per candidate (K_j, G) and T_c per candidate (K_j, C, G), filled in place (no
    # temporaries: on a fresh array the page faults cost more than the arithmetic).
    mixtures, tails, log_scales = [], [], []
    for candidates in likelihoods_by_stratum:
        candidates = list(candidates)
        marginals = tables.marginals(candidates)
        moment_rows = tables.moment_rows(candidates, specs) if specs else [[] for _ in candidates]
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
    chunk = min(_cavities_per_chunk(tables.grid), max(math.prod(sizes) // k for k in sizes))
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
            cav[:] = tables.grid.prior_scaled
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
            z[:, start:stop] = mixtures[j] @ cav.T
            if n_thresholds:
                tail_products[:, start:stop] = tails[j] @ cav.T
        z = z.reshape(sizes[j], *other_sizes)
        tail_products = tail_products.reshape(sizes[j], n_thresholds, *other_sizes)
        if j == 0:
            with np.errstate(divide="ignore"):
                log_top = log_scales[0] + tables.grid.log_prior_top
                log_z[...] = np.log(z) + cavity_log_scale.reshape(other_sizes) + log_top.reshape(-1, *[1] * len(others))
        for c in range(n_thresholds):
            with np.errstate(divide="ignore", invalid="ignore"):
                tail = np.clip(tail_products[:, c] / z, 0.0, 1.0)
            prob_above[..., j, c] = np.moveaxis(tail if transform.increasing else 1.0 - tail, 0, j)
    return ProductPosterior(log_z, prob_above)
