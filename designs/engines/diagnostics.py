"""MCMC diagnostics: rank-normalised split R-hat, bulk and tail ESS, Monte Carlo standard errors.

Every function takes draws *by chain*: an array of shape ``(chain, draw, *event_shape)`` and returns
one value per event element. The estimators are ArviZ's (``arviz_stats``, ArviZ 1.x), called on
explicit arrays with the chain axis first and the draw axis second:

    R-hat      rank-normalised split R-hat, the larger of bulk and folded (Vehtari et al. 2021,
               Bayesian Analysis 16(2):667–718, doi:10.1214/20-BA1221)
    bulk ESS   ESS of the rank-normalised split chains (same paper)
    tail ESS   min of the ESS of the 5% and 95% quantile indicators (same paper)
    MCSE       of a mean: sd / √ESS_mean; of a probability estimated by the mean of an
               indicator: √(p (1 − p) / ESS_mean)

A quantity whose draws are all equal (a constant) has no defined R-hat or ESS: these functions
return NaN for it and :func:`convergence_summary` leaves it out of the checks.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import arviz_stats as azs
import numpy as np

RHAT_MAX = 1.01
"""Largest acceptable R-hat (Vehtari et al. 2021 recommend 1.01)."""
ESS_BULK_MIN = 400
"""Smallest acceptable bulk ESS over all chains (Vehtari et al. 2021: 100 per chain, 4 chains)."""
MAX_DIVERGENCES = 0
"""Post-warm-up divergent transitions tolerated."""
TAIL_ESS_PROBS = (0.05, 0.95)
"""Quantiles whose indicator ESS defines the tail ESS (Vehtari et al. 2021)."""


def _by_chain(draws_by_chain: np.ndarray) -> np.ndarray:
    values = np.asarray(draws_by_chain, dtype=float)
    if values.ndim < 2:
        raise ValueError(f"draws must have shape (chain, draw, ...), got shape {values.shape}")
    return values


def _constant(values: np.ndarray) -> np.ndarray:
    """Elements (of the event shape) whose draws are all equal across chains and draws."""
    flat = values.reshape(values.shape[0] * values.shape[1], -1)
    return (flat.max(axis=0) == flat.min(axis=0)).reshape(values.shape[2:])


def _with_nan_for_constants(values: np.ndarray, statistic) -> np.ndarray | float:
    """Apply ``statistic`` (vectorised over trailing axes) to the non-constant elements only.

    ArviZ divides by the between-draw variance, which is zero for a constant (a RuntimeWarning and a
    meaningless number), so constants get NaN without being passed to it.
    """
    event_shape = values.shape[2:]
    flat = values.reshape(values.shape[0], values.shape[1], -1)
    varying = ~_constant(values).reshape(-1)
    result = np.full(flat.shape[2], np.nan)
    if varying.any():
        result[varying] = np.asarray(statistic(flat[:, :, varying]), dtype=float)
    result = result.reshape(event_shape)
    return float(result) if result.ndim == 0 else result


def rhat(draws_by_chain: np.ndarray) -> np.ndarray | float:
    """Rank-normalised split R-hat per element (``arviz_stats.rhat(method="rank")``).

    A single chain is split into halves first, so that R-hat compares its two halves (as four
    quarter-chains after ArviZ's own split) instead of being undefined.
    """
    values = _by_chain(draws_by_chain)
    if values.shape[0] == 1:
        half = values.shape[1] // 2
        values = np.stack([values[0, :half], values[0, half : 2 * half]])
    return _with_nan_for_constants(
        values, lambda v: azs.rhat(v, method="rank", chain_axis=0, draw_axis=1)
    )


def ess_bulk(draws_by_chain: np.ndarray) -> np.ndarray | float:
    """Bulk effective sample size over all chains, per element."""
    return _with_nan_for_constants(
        _by_chain(draws_by_chain), lambda v: azs.ess(v, method="bulk", chain_axis=0, draw_axis=1)
    )


def ess_tail(draws_by_chain: np.ndarray) -> np.ndarray | float:
    """Tail effective sample size (5% and 95% quantiles) over all chains, per element."""
    return _with_nan_for_constants(
        _by_chain(draws_by_chain),
        lambda v: azs.ess(v, method="tail", prob=TAIL_ESS_PROBS, chain_axis=0, draw_axis=1),
    )


def ess_mean(draws_by_chain: np.ndarray) -> np.ndarray | float:
    """Effective sample size for the mean (split chains, not rank-normalised), per element."""
    return _with_nan_for_constants(
        _by_chain(draws_by_chain), lambda v: azs.ess(v, method="mean", chain_axis=0, draw_axis=1)
    )


def mcse_of_mean(draws_by_chain: np.ndarray) -> np.ndarray | float:
    """Monte Carlo standard error of the posterior mean: sd / √ESS_mean (0 for a constant)."""
    values = _by_chain(draws_by_chain)
    sd = values.reshape(values.shape[0] * values.shape[1], *values.shape[2:]).std(axis=0, ddof=1)
    result = np.where(_constant(values), 0.0, sd / np.sqrt(ess_mean(values)))
    return float(result) if result.ndim == 0 else result


def mcse_of_probability(indicator_draws_by_chain: np.ndarray) -> np.ndarray | float:
    """MCSE of a posterior probability estimated as the mean of 0/1 indicator draws.

    √(p̂ (1 − p̂) / ESS_mean) with p̂ the indicator mean: for independent draws ESS_mean ≈ S and
    this is the binomial √(p̂ (1 − p̂) / S).

    When every draw agrees (p̂ = 0 or 1) the plug-in formula would claim an error of 0, yet a
    probability below ~1/S is then estimated as exactly 0. There the error is that of the
    Jeffreys-smoothed estimate p̃ = 0.5 / (S + 1) (or 1 − p̃), √(p̃ (1 − p̃) / S): never zero, and
    about the size of the probabilities that S draws cannot resolve.
    """
    values = _by_chain(indicator_draws_by_chain)
    if not np.all((values == 0.0) | (values == 1.0)):
        raise ValueError("indicator draws must be 0 or 1")
    p = values.mean(axis=(0, 1))
    n_draws = values.shape[0] * values.shape[1]
    smoothed = 0.5 / (n_draws + 1)
    unresolved = np.sqrt(smoothed * (1.0 - smoothed) / n_draws)
    constant = _constant(values)
    with np.errstate(invalid="ignore", divide="ignore"):
        plug_in = np.sqrt(p * (1.0 - p) / np.where(constant, 1.0, ess_mean(values)))
    result = np.where(constant, unresolved, plug_in)
    return float(result) if result.ndim == 0 else result


def _json_number(value: float) -> float | None:
    return None if not math.isfinite(value) else float(value)


def convergence_summary(
    draws_by_chain: Mapping[str, np.ndarray],
    divergences: int,
    *,
    rhat_max: float = RHAT_MAX,
    ess_bulk_min: float = ESS_BULK_MIN,
    max_divergences: int = MAX_DIVERGENCES,
) -> dict[str, Any]:
    """Worst R-hat, bulk and tail ESS over every quantity and element, divergences, and the verdict.

    ``converged`` is True when max R-hat ≤ ``rhat_max``, min bulk ESS ≥ ``ess_bulk_min`` and
    divergences ≤ ``max_divergences``; ``failed_checks`` names the checks that failed. Tail ESS is
    reported, not checked. Constant quantities are listed under ``constant_quantities`` and skipped.
    """
    worst_rhat, worst_rhat_name = -math.inf, None
    worst_bulk, worst_bulk_name = math.inf, None
    worst_tail, worst_tail_name = math.inf, None
    per_quantity: dict[str, dict[str, float | None]] = {}
    constants: list[str] = []
    for name, draws in draws_by_chain.items():
        values = _by_chain(draws)
        r = np.atleast_1d(rhat(values))
        bulk = np.atleast_1d(ess_bulk(values))
        tail = np.atleast_1d(ess_tail(values))
        if np.all(np.isnan(r)) and np.all(np.isnan(bulk)):
            constants.append(name)
            continue
        q_rhat, q_bulk, q_tail = np.nanmax(r), np.nanmin(bulk), np.nanmin(tail)
        per_quantity[name] = {
            "max_rhat": _json_number(q_rhat),
            "min_ess_bulk": _json_number(q_bulk),
            "min_ess_tail": _json_number(q_tail),
        }
        if q_rhat > worst_rhat:
            worst_rhat, worst_rhat_name = q_rhat, name
        if q_bulk < worst_bulk:
            worst_bulk, worst_bulk_name = q_bulk, name
        if q_tail < worst_tail:
            worst_tail, worst_tail_name = q_tail, name

    failed: list[str] = []
    if worst_rhat > rhat_max:
        failed.append(f"max R-hat {worst_rhat:.4f} ({worst_rhat_name}) > {rhat_max}")
    if worst_bulk < ess_bulk_min:
        failed.append(f"min bulk ESS {worst_bulk:.0f} ({worst_bulk_name}) < {ess_bulk_min}")
    if divergences > max_divergences:
        failed.append(f"{divergences} divergent transitions after warm-up")
    return {
        "converged": not failed,
        "failed_checks": failed,
        "max_rhat": _json_number(worst_rhat),
        "max_rhat_quantity": worst_rhat_name,
        "min_ess_bulk": _json_number(worst_bulk),
        "min_ess_bulk_quantity": worst_bulk_name,
        "min_ess_tail": _json_number(worst_tail),
        "min_ess_tail_quantity": worst_tail_name,
        "divergences": int(divergences),
        "thresholds": {
            "rhat_max": rhat_max,
            "ess_bulk_min": ess_bulk_min,
            "max_divergences": max_divergences,
        },
        "quantities": per_quantity,
        "constant_quantities": constants,
    }
