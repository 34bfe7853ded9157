"""Posterior summaries shared by the interim analyses (response and PFS): one shape for every engine.

    summary of draws   mean, median and the 95% equal-tailed interval: the 0.025 and 0.975 quantiles
                       of the pooled draws (linear interpolation), stated explicitly
    P(X > c)           the mean of the indicator draws, with its Monte Carlo standard error
                       √(p̂(1 − p̂)/ESS_mean) (``designs.engines.diagnostics.mcse_of_probability``)
    default seed       the first 32 bits of the SHA-256 of the canonical request
    diagnostics        one block for every engine kind (closed form, quadrature, MCMC) with the keys
                       method, exact, deterministic, converged, failed_checks, max_rhat, min_ess_bulk,
                       min_ess_tail, divergences, reruns, thresholds, accuracy, interval; the MCMC-only
                       keys are None for deterministic engines, and each engine adds its own details
                       (quadrature: grid, self_check, log_marginal_likelihood; MCMC: per-quantity checks)

Draws are (S, ...) stacked chain after chain, as ``designs.engines.pymc`` returns them; ``chains`` says
how to split them for the ESS behind a Monte Carlo standard error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from designs.core.caveats import caveat
from designs.core.errors import InvalidInputError
from designs.core.provenance import input_hash

CI_PROB = 0.95
QUANTILE_LOW, QUANTILE_HIGH = (1 - CI_PROB) / 2, (1 + CI_PROB) / 2
INTERVAL_NOTE = "95% equal-tailed (posterior quantiles 0.025 and 0.975)"
QUADRATURE_ACCURACY = (
    "deterministic quadrature over (μ, τ) with band-limited θ integrals; reported probabilities "
    "agree with brute-force integration to < 1e-6 (target 1e-4)"
)
QUADRATURE_TOLERANCE = 1e-6
"""Largest self-check discrepancy (normalising constant, mass at the grid edges) left unreported."""
MCMC_ACCURACY = "Monte Carlo: means and probabilities carry their Monte Carlo standard errors"
_MCMC_KEYS = ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "reruns", "thresholds")


# --- numbers ----------------------------------------------------------------------------------


def finite_or_none(value: float) -> float | None:
    """JSON has no infinity or NaN: an unbounded or undefined summary is null."""
    value = float(value)
    return value if math.isfinite(value) else None


def interval(low: float, high: float) -> list[float | None]:
    return [finite_or_none(low), finite_or_none(high)]


def jsonable(value: Any) -> Any:
    """numpy scalars/arrays to plain Python, recursively; non-finite floats to None."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating | float):
        return finite_or_none(value)
    return value


# --- summaries of draws --------------------------------------------------------------------------


def by_chain(draws: np.ndarray, chains: int) -> np.ndarray:
    """Draws (S, ...) stacked chain after chain → (chains, S / chains, ...)."""
    values = np.asarray(draws, dtype=float)
    return values.reshape(chains, values.shape[0] // chains, *values.shape[1:])


def summarise_draws(draws: np.ndarray, *, with_mean: bool = True) -> list[dict[str, Any]]:
    """Per column of draws (S, J): {mean, median, ci95} with the 95% equal-tailed interval."""
    values = np.asarray(draws, dtype=float)
    # Infinite draws are legitimate (a median PFS when S(t) never reaches 1/2): interpolating between
    # two of them gives NaN, reported as null like the infinity itself.
    with np.errstate(invalid="ignore"):
        low, median, high = np.quantile(values, [QUANTILE_LOW, 0.5, QUANTILE_HIGH], axis=0, method="linear")
    rows = [{"median": finite_or_none(m), "ci95": interval(lo, hi)} for lo, m, hi in zip(low, median, high, strict=True)]
    if with_mean:
        rows = [{"mean": finite_or_none(m), **row} for m, row in zip(values.mean(axis=0), rows, strict=True)]
    return rows


def summarise_scalar_draws(draws: np.ndarray, chains: int | None = None) -> dict[str, Any]:
    """{mean, median, ci95} of draws (S,) of one quantity (e.g. τ); with ``chains``, the MCSE of the mean."""
    values = np.asarray(draws, dtype=float)
    summary = summarise_draws(values[:, None])[0]
    if chains is not None:
        summary["monte_carlo_se_mean"] = finite_or_none(float(np.atleast_1d(mcse_of_mean(values, chains))[0]))
    return summary


def mcse_of_mean(draws: np.ndarray, chains: int) -> np.ndarray:
    """Monte Carlo standard errors of the column means of draws (S, J): sd / √ESS_mean."""
    from designs.engines import diagnostics  # deferred (heavy): arviz_stats (~0.5 s), only when there are draws

    return np.atleast_1d(diagnostics.mcse_of_mean(by_chain(draws, chains)))


def probability_above(draws: np.ndarray, threshold: float, chains: int) -> tuple[np.ndarray, np.ndarray]:
    """P(X_j > threshold) per column of draws (S, J) as indicator means, and their MCSE."""
    from designs.engines import diagnostics  # deferred (heavy): arviz_stats, as in ``mcse_of_mean``

    indicator = (np.asarray(draws, dtype=float) > threshold).astype(float)
    mcse = np.atleast_1d(diagnostics.mcse_of_probability(by_chain(indicator, chains)))
    return indicator.mean(axis=0), mcse


# --- seed -----------------------------------------------------------------------------------------


def seed_from_payload(payload: Any) -> int:
    """The default seed: the first 32 bits of the SHA-256 of the canonical request."""
    return int(input_hash(payload)[:8], 16)


def resolve_seed(seed: Any, payload: Any) -> int:
    """``seed`` when given (an integer ≥ 0), else the one derived from ``payload``."""
    if seed is None:
        return seed_from_payload(payload)
    if not isinstance(seed, int | np.integer) or isinstance(seed, bool | np.bool_) or seed < 0:
        raise InvalidInputError("seed", "must be an integer ≥ 0")
    return int(seed)


# --- diagnostics blocks ----------------------------------------------------------------------------


def _block(method: str, *, exact: bool, deterministic: bool, accuracy: str, interval_note: str) -> dict[str, Any]:
    return {
        "method": method,
        "exact": exact,
        "deterministic": deterministic,
        "converged": True,
        "failed_checks": [],
        **dict.fromkeys(_MCMC_KEYS),
        "accuracy": accuracy,
        "interval": interval_note,
    }


def closed_form_diagnostics(accuracy: str) -> dict[str, Any]:
    """The block of a conjugate (exact) posterior; ``accuracy`` names the distribution used."""
    return _block("closed_form", exact=True, deterministic=True, accuracy=accuracy, interval_note=INTERVAL_NOTE)


def quadrature_diagnostics(posterior: Any) -> dict[str, Any]:
    """The block of a ``designs.engines.quadrature`` posterior: grid, self-check and log marginal likelihood."""
    engine = dict(posterior.diagnostics)
    engine.pop("method", None)
    return {
        **_block("quadrature", exact=False, deterministic=True, accuracy=QUADRATURE_ACCURACY, interval_note=INTERVAL_NOTE),
        **jsonable(engine),
        "log_marginal_likelihood": finite_or_none(posterior.log_marginal_likelihood),
    }


def mcmc_diagnostics(report: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The block of an MCMC fit from its convergence report (``designs.engines.pymc``): R-hat, ESS, ..."""
    report = dict(report) if isinstance(report, Mapping) else {"report": report}
    block = _block(
        "mcmc",
        exact=False,
        deterministic=False,
        accuracy=MCMC_ACCURACY,
        interval_note="95% equal-tailed (quantiles 0.025 and 0.975 of the draws)",
    )
    block.update(jsonable(report))
    block["method"] = "mcmc"
    return block


def diagnostics_warnings(diagnostics: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The typed caveats a diagnostics block calls for: failed MCMC checks, a quadrature self-check off tolerance."""
    warnings = []
    if diagnostics.get("converged") is False:
        failed = diagnostics.get("failed_checks") or []
        message = (
            "MCMC did not pass its convergence checks (see diagnostics)"
            + (f": {'; '.join(failed)}" if failed else "")
            + ". Treat the numbers with caution."
        )
        warnings.append(caveat("mcmc-not-converged", message))
    check = diagnostics.get("self_check")
    if check and max(check.values()) > QUADRATURE_TOLERANCE:
        message = (
            "The quadrature's self-check is outside its tolerance (extreme conflict between strata or data far "
            f"from the prior): {check}. Cross-check with engine 'mcmc'."
        )
        warnings.append(caveat("quadrature-self-check", message))
    return warnings
