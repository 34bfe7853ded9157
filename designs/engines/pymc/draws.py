"""What the PyMC engine takes and returns: PFS data by stratum, and posterior draws of response and PFS models.

Draws are stacked chain after chain (S = chains × draws); ``by_chain`` restores the (chain, draw, ...)
shape that the convergence diagnostics and Monte Carlo standard errors need.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from designs.core.arrays import read_only
from designs.core.errors import FieldProblem, InvalidInputError
from designs.core.validation import MAX_COUNT, MAX_STRATA
from designs.survival import models as survival_models

MIN_EVENT_TIME_MONTHS = 0.5 / 30.4375
"""Half a day in months: where an event recorded at t = 0 is placed (log 0 is undefined)."""


@dataclass(frozen=True, eq=False)
class PFSData:
    """PFS data by stratum: follow-up ``times`` (months), ``events`` (1 = progression or death, 0 = censored).

    Validated and normalised on construction: ``times`` become float arrays with events at t = 0
    moved to ``MIN_EVENT_TIME_MONTHS`` (counted in ``n_events_at_time_zero``), ``events`` 0/1 floats.
    The piecewise model's cut points belong to its prior, not to the data.
    """

    times: tuple[np.ndarray, ...]
    events: tuple[np.ndarray, ...]
    n_events_at_time_zero: tuple[int, ...] = field(init=False)

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []
        if not 1 <= len(self.times) <= MAX_STRATA:
            problems.append(FieldProblem("strata", f"need between 1 and {MAX_STRATA} strata"))
        if len(self.events) != len(self.times):
            problems.append(FieldProblem("strata", "times and events must list the same strata"))
        if problems:
            raise InvalidInputError(problems)
        times, events, at_zero = [], [], []
        for j, (t, e) in enumerate(zip(self.times, self.events, strict=True)):
            try:
                t = np.asarray(t, dtype=float).reshape(-1)
                e = np.asarray(e).reshape(-1) if np.size(e) else np.zeros(0)
            except (TypeError, ValueError):
                problems.append(FieldProblem(f"strata/{j}", "times and events must be lists of numbers"))
                continue
            if len(t) != len(e):
                problems.append(FieldProblem(f"strata/{j}/events", "must have one entry per time"))
                continue
            if len(t) > MAX_COUNT:
                problems.append(FieldProblem(f"strata/{j}/times", f"at most {MAX_COUNT} patients"))
            if not np.all(np.isfinite(t)) or np.any(t < 0):
                problems.append(FieldProblem(f"strata/{j}/times", "must be finite and ≥ 0"))
            if e.dtype.kind not in "biuf" or not np.all((e == 0) | (e == 1)):
                problems.append(FieldProblem(f"strata/{j}/events", "must be 0 (censored) or 1 (event)"))
                continue
            e = e.astype(float)
            zero_event = (t <= 0.0) & (e == 1.0)
            t = np.where(zero_event, MIN_EVENT_TIME_MONTHS, t)
            times.append(read_only(t))
            events.append(read_only(e))
            at_zero.append(int(zero_event.sum()))
        if problems:
            raise InvalidInputError(problems)
        object.__setattr__(self, "times", tuple(times))
        object.__setattr__(self, "events", tuple(events))
        object.__setattr__(self, "n_events_at_time_zero", tuple(at_zero))

    @property
    def n_strata(self) -> int:
        return len(self.times)

    def flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(time, event, stratum): one row per patient, stratum after stratum."""
        time = np.concatenate(self.times)
        event = np.concatenate(self.events)
        stratum = np.concatenate([np.full(len(t), j) for j, t in enumerate(self.times)]).astype(int)
        return time, event, stratum

    @property
    def events_per_stratum(self) -> np.ndarray:
        """d_j: events per stratum."""
        return np.array([e.sum() for e in self.events])

    @property
    def exposure_per_stratum(self) -> np.ndarray:
        """T_j: total follow-up per stratum, censored time included (months)."""
        return np.array([t.sum() for t in self.times])

    def interval_statistics(self, cut_points: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
        """(d_jk, T_jk): events and exposure per stratum and interval [c_k, c_k+1), each (J, K)."""
        time, event, stratum = self.flat()
        return survival_models.piecewise_sufficient_stats(
            time, event, stratum, self.n_strata, np.asarray(cut_points, dtype=float)
        )


def stack_chains(values: np.ndarray | None) -> np.ndarray | None:
    """(chain, draw, ...) -> (chain·draw, ...), chain after chain."""
    return None if values is None else values.reshape(-1, *values.shape[2:])


def _by_chain(values: np.ndarray, chains: int) -> np.ndarray:
    values = np.asarray(values)
    return values.reshape(chains, values.shape[0] // chains, *values.shape[1:])


@dataclass(frozen=True, eq=False)
class ResponseDraws:
    """Posterior draws of a response model; draws are stacked chain after chain (S = chains × draws).

    ``p`` (S, J) response rates, ``theta`` (S, J) their logits, ``tau`` (S,) between-stratum sd,
    ``prob_exchangeable`` (S, J) the Rao-Blackwellised probability that stratum j belongs to the
    exchangeable component (EXNEX only, else None), ``mu`` (S,) the exchangeable mean.
    """

    p: np.ndarray
    tau: np.ndarray
    prob_exchangeable: np.ndarray | None
    theta: np.ndarray
    diagnostics: dict[str, Any]
    sampler: dict[str, Any]
    mu: np.ndarray | None = None
    chains: int = 1

    def by_chain(self, values: np.ndarray) -> np.ndarray:
        """Reshape draws (S, ...) to (chain, draw, ...), e.g. for :func:`diagnostics.mcse_of_probability`."""
        return _by_chain(values, self.chains)


@dataclass(frozen=True, eq=False)
class PFSDraws:
    """Posterior draws of a PFS model; draws are stacked chain after chain (S = chains × draws).

    ``log_hazard``: (S, J) log λ_j for the exponential and Weibull kinds (for the Weibull λ_j is the
    rate in S_j(t) = exp(−λ_j t^k)); (S, J, K) log λ_jk for the piecewise kind. ``shape`` (S,) the
    Weibull shape k (None otherwise), ``cut_points`` the piecewise interval starts (None otherwise),
    ``tau`` (S,) the between-stratum sd of log hazards.
    """

    kind: str
    log_hazard: np.ndarray
    shape: np.ndarray | None
    cut_points: tuple[float, ...] | None
    tau: np.ndarray
    diagnostics: dict[str, Any]
    sampler: dict[str, Any]
    mu: np.ndarray | None = None
    chains: int = 1

    @property
    def hazard(self) -> np.ndarray:
        """λ_j (S, J) or λ_jk (S, J, K)."""
        return np.exp(self.log_hazard)

    def survival(self, t: float) -> np.ndarray:
        """Draws (S, J) of S_j(t), t in months."""
        if not math.isfinite(t) or t < 0:
            raise InvalidInputError("landmark_months", "must be finite and ≥ 0")
        if self.kind == "hierarchical-exponential":
            return survival_models.exponential_survival(self.hazard, t)
        if self.kind == "hierarchical-weibull":
            assert self.shape is not None
            return survival_models.weibull_survival(self.hazard, self.shape[:, None], t)
        assert self.cut_points is not None
        return survival_models.piecewise_survival(self.hazard, np.asarray(self.cut_points), t)

    def median_survival(self) -> np.ndarray:
        """Draws (S, J) of the median PFS (months)."""
        if self.kind == "hierarchical-exponential":
            return survival_models.LN2 / self.hazard
        if self.kind == "hierarchical-weibull":
            assert self.shape is not None
            return survival_models.weibull_median(self.hazard, self.shape[:, None])
        assert self.cut_points is not None
        return survival_models.piecewise_median(self.hazard, np.asarray(self.cut_points))

    def by_chain(self, values: np.ndarray) -> np.ndarray:
        """Reshape draws (S, ...) to (chain, draw, ...)."""
        return _by_chain(values, self.chains)
