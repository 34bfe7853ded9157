"""PyMC engine of record: hierarchical response and PFS models, compiled once, data swapped per request.

Each model is a PyMC model whose data *and priors* are ``pm.Data`` containers. It is compiled with
nutpie (numba backend) once per process and per (kind, number of strata J[, number of intervals K]),
lazily and under a lock; a request swaps its data in with ``CompiledPyMCModel.with_data``, which
returns a new object (the cached one is never mutated, so concurrent requests can share it), and
samples with NUTS. Compiling takes 5–30 s per model; a warm two-stratum fit about 0.15 s.

Models (all non-centred; every scale parameter is standardised, e.g. μ = mu_mean + mu_sd·μ₀ with
μ₀ ~ N(0, 1) and τ = tau_scale·τ₀ with τ₀ ~ HalfNormal(1), so that the compiled initial point — which
PyMC computes from the data the model was *built* with — suits any prior swapped in later):

    hierarchical          y_j ~ Bin(n_j, expit θ_j), θ_j = μ + τ z_j; μ ~ N(mu_mean, mu_sd²),
                          τ ~ HalfNormal(tau_scale), z_j ~ N(0, 1)
    exnex                 p(y_j) = w Bin(y_j | expit θex_j) + (1 − w) Bin(y_j | expit θnex_j),
                          θex_j = μ + τ z_j, θnex_j = nex_mean + nex_sd u_j, u_j ~ N(0, 1)
                          (Neuenschwander et al. 2016, Pharm Stat 15:123–134; membership
                          marginalised, then drawn per draw from its Rao-Blackwellised probability)
    hierarchical-exponential          log λ_j = μ + τ z_j; Σ_j d_j log λ_j − λ_j T_j
    hierarchical-weibull              h_j(t) = λ_j k t^(k−1), log k ~ N(0, shape_log_sd²);
                                      Σ_i δ_i (log λ_j + log k + (k − 1) log t_i) − λ_j t_i^k
    hierarchical-piecewise-exponential log λ_jk = μ_k + τ z_jk on [c_k, c_k+1) (last open);
                                      Σ_jk d_jk log λ_jk − λ_jk T_jk

Times are in months. The Weibull likelihood needs log t_i for events, so an event at t = 0 is moved
to ``MIN_EVENT_TIME_MONTHS`` (half a day) — :class:`PFSData` counts these in
``n_events_at_time_zero`` so the analysis can warn; a censoring at t = 0 carries no information and is
left out of the Weibull likelihood.

Convergence policy: max rank-normalised split R-hat ≤ 1.01, min bulk ESS ≥ 400 over every free
parameter and reported quantity, no divergence after warm-up. On failure, sampling is rerun (up to
``max_reruns`` times) with draws and tune doubled, target_accept raised to 0.99 and a seed derived
from the request seed; if it still fails, the last result is returned with
``diagnostics["converged"] = False``.
:class:`~designs.core.errors.ConvergenceError` is raised only when sampling itself fails.

Determinism: each chain's random stream is derived from the seed and the chain index by nutpie, so
the same data and seed give bit-identical draws whatever the number of cores (checked by a test).
"""

from __future__ import annotations

import dataclasses
import math
import os
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from importlib.metadata import version
from typing import Any

import numpy as np
from scipy.special import expit, log_expit

from designs.engines import diagnostics
from designs.survival import models as survival
from designs.core.errors import ConvergenceError, FieldProblem, InvalidInputError

RESPONSE_KINDS: tuple[str, ...] = ("hierarchical", "exnex")
PFS_KINDS: tuple[str, ...] = survival.HIERARCHICAL_KINDS
ALL_KINDS: tuple[str, ...] = RESPONSE_KINDS + PFS_KINDS

MAX_STRATA = 12
MAX_PATIENTS_PER_STRATUM = 100_000
MAX_CUT_POINTS = 20
MAX_DRAWS = 100_000
MAX_CHAINS = 8
RERUN_TARGET_ACCEPT = 0.99
PFS_MIN_TARGET_ACCEPT = 0.99
"""PFS fits sample with at least this target_accept: with a few dozen events per stratum their
non-centred posteriors funnel in the tail of τ and diverge at 0.95 in most fits, and a rerun costs
more than the smaller steps do."""
MIN_EVENT_TIME_MONTHS = 0.5 / 30.4375
"""Half a day in months: where an event recorded at t = 0 is placed (log 0 is undefined)."""

RESPONSE_PRIOR_KEYS: dict[str, tuple[str, ...]] = {
    "hierarchical": ("mu_mean", "mu_sd", "tau_scale"),
    "exnex": ("mu_mean", "mu_sd", "tau_scale", "weight_exchangeable", "nex_mean", "nex_sd"),
}
PFS_PRIOR_KEYS: dict[str, tuple[str, ...]] = {
    "hierarchical-exponential": ("mu_mean", "mu_sd", "tau_scale"),
    "hierarchical-weibull": ("mu_mean", "mu_sd", "tau_scale", "shape_log_sd"),
    "hierarchical-piecewise-exponential": ("mu_mean", "mu_sd", "tau_scale", "cut_points"),
}
_POSITIVE_PRIOR_KEYS = frozenset({"mu_sd", "tau_scale", "nex_sd", "shape_log_sd"})


# --- settings --------------------------------------------------------------------------------


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings of one analysis (per chain: ``tune`` warm-up and ``draws`` kept draws).

    The defaults (4 chains × 1000 draws after 500 warm-up; nutpie adapts quickly) give a bulk ESS
    of about 2500 on the response rates of a two-stratum model and ≥ 700 on τ, in about 0.15 s on
    two idle cores.
    ``cores`` None runs min(chains, CPUs available) chains in parallel; it does not change the draws.
    """

    draws: int = 1000
    tune: int = 500
    chains: int = 4
    target_accept: float = 0.95
    max_reruns: int = 1
    cores: int | None = None

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []

        def check_int(name: str, value: Any, low: int, high: int) -> None:
            if not _is_int(value) or not low <= value <= high:
                problems.append(FieldProblem(f"mcmc/{name}", f"must be an integer in [{low}, {high}]"))

        check_int("draws", self.draws, 10, MAX_DRAWS)
        check_int("tune", self.tune, 10, MAX_DRAWS)
        check_int("chains", self.chains, 1, MAX_CHAINS)
        check_int("max_reruns", self.max_reruns, 0, 3)
        if self.cores is not None:
            check_int("cores", self.cores, 1, MAX_CHAINS)
        ta = self.target_accept
        if isinstance(ta, bool) or not isinstance(ta, int | float) or not 0.95 <= ta < 1.0:
            problems.append(
                FieldProblem("mcmc/target_accept", "must lie in [0.95, 1) (small steps for hierarchical funnels)")
            )
        if problems:
            raise InvalidInputError(problems)

    def for_rerun(self) -> SamplerSettings:
        """The settings of a rerun: draws and tune doubled (capped), target_accept raised to ≥ 0.99.

        Divergences in these models come from the funnel between τ and z (non-centred, in the tail of
        τ when the data pin every θ_j down); smaller steps remove most of them.
        """
        return SamplerSettings(
            draws=min(2 * self.draws, MAX_DRAWS),
            tune=min(2 * self.tune, MAX_DRAWS),
            chains=self.chains,
            target_accept=max(self.target_accept, RERUN_TARGET_ACCEPT),
            max_reruns=self.max_reruns,
            cores=self.cores,
        )


# --- data --------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class PFSData:
    """PFS data by stratum: follow-up ``times`` (months), ``events`` (1 = progression or death, 0 = censored).

    Validated and normalised on construction: ``times`` become float arrays with events at t = 0
    moved to ``MIN_EVENT_TIME_MONTHS`` (counted in ``n_events_at_time_zero``), ``events`` 0/1 floats.
    ``cut_points`` (interval starts, first 0) is only used by the piecewise model; the prior's
    ``cut_points`` take precedence when given.
    """

    times: tuple[np.ndarray, ...]
    events: tuple[np.ndarray, ...]
    cut_points: tuple[float, ...] | None = None
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
            if len(t) > MAX_PATIENTS_PER_STRATUM:
                problems.append(FieldProblem(f"strata/{j}/times", f"at most {MAX_PATIENTS_PER_STRATUM} patients"))
            if not np.all(np.isfinite(t)) or np.any(t < 0):
                problems.append(FieldProblem(f"strata/{j}/times", "must be finite and ≥ 0"))
            if e.dtype.kind not in "biuf" or not np.all((e == 0) | (e == 1)):
                problems.append(FieldProblem(f"strata/{j}/events", "must be 0 (censored) or 1 (event)"))
                continue
            e = e.astype(float)
            zero_event = (t <= 0.0) & (e == 1.0)
            t = np.where(zero_event, MIN_EVENT_TIME_MONTHS, t)
            for array in (t, e):
                array.flags.writeable = False
            times.append(t)
            events.append(e)
            at_zero.append(int(zero_event.sum()))
        if self.cut_points is not None:
            problems.extend(_cut_point_problems(self.cut_points, "cut_points"))
        if problems:
            raise InvalidInputError(problems)
        object.__setattr__(self, "times", tuple(times))
        object.__setattr__(self, "events", tuple(events))
        object.__setattr__(self, "n_events_at_time_zero", tuple(at_zero))
        if self.cut_points is not None:
            object.__setattr__(self, "cut_points", tuple(float(c) for c in self.cut_points))

    @classmethod
    def from_flat(
        cls,
        time: Sequence[float],
        event: Sequence[int],
        stratum: Sequence[int],
        n_strata: int,
        cut_points: Sequence[float] | None = None,
    ) -> PFSData:
        """From one row per patient with a 0-based stratum index."""
        stratum, time, event = np.asarray(stratum), np.asarray(time), np.asarray(event)
        if stratum.size and (stratum.dtype.kind not in "iu" or stratum.min() < 0 or stratum.max() >= n_strata):
            raise InvalidInputError("stratum", f"must be integers in [0, {n_strata})")
        if not len(time) == len(event) == len(stratum):
            raise InvalidInputError("stratum", "time, event and stratum must have one entry per patient")
        return cls(
            times=tuple(time[stratum == j] for j in range(n_strata)),
            events=tuple(event[stratum == j] for j in range(n_strata)),
            cut_points=None if cut_points is None else tuple(cut_points),
        )

    @property
    def n_strata(self) -> int:
        return len(self.times)

    def _flat(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
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
        time, event, stratum = self._flat()
        return survival.piecewise_sufficient_stats(
            time, event, stratum, self.n_strata, np.asarray(cut_points, dtype=float)
        )


def _cut_point_problems(cut_points: Any, name: str) -> list[FieldProblem]:
    try:
        cuts = np.asarray(cut_points, dtype=float)
    except (TypeError, ValueError):
        return [FieldProblem(name, "must be a list of numbers")]
    if cuts.ndim != 1 or not 1 <= cuts.size <= MAX_CUT_POINTS:
        return [FieldProblem(name, f"must list between 1 and {MAX_CUT_POINTS} interval starts")]
    if not np.all(np.isfinite(cuts)) or cuts[0] != 0.0 or np.any(np.diff(cuts) <= 0):
        return [FieldProblem(name, "must start at 0 and increase strictly (finite months)")]
    return []


# --- results -----------------------------------------------------------------------------------


def _stack_chains(values: np.ndarray | None) -> np.ndarray | None:
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
            return survival.exponential_survival(self.hazard, t)
        if self.kind == "hierarchical-weibull":
            assert self.shape is not None
            return survival.weibull_survival(self.hazard, self.shape[:, None], t)
        assert self.cut_points is not None
        return survival.piecewise_survival(self.hazard, np.asarray(self.cut_points), t)

    def median_survival(self) -> np.ndarray:
        """Draws (S, J) of the median PFS (months)."""
        if self.kind == "hierarchical-exponential":
            return survival.LN2 / self.hazard
        if self.kind == "hierarchical-weibull":
            assert self.shape is not None
            return survival.weibull_median(self.hazard, self.shape[:, None])
        assert self.cut_points is not None
        return survival.piecewise_median(self.hazard, np.asarray(self.cut_points))

    def by_chain(self, values: np.ndarray) -> np.ndarray:
        """Reshape draws (S, ...) to (chain, draw, ...)."""
        return _by_chain(values, self.chains)


# --- models --------------------------------------------------------------------------------------


def _binomial_kernel(pt, y, n, theta):
    """log Bin(y | n, expit θ) without the binomial coefficient (constant in θ): stable in θ."""
    return -y * pt.softplus(-theta) - (n - y) * pt.softplus(theta)


def build_model(kind: str, n_strata: int, n_intervals: int | None = None):
    """The PyMC model of ``kind`` for ``n_strata`` strata (and ``n_intervals`` intervals, piecewise).

    Two ``pm.Data`` vectors carry everything a request changes (see :func:`model_inputs`):
    ``prior``, the prior parameters in the order of ``RESPONSE_PRIOR_KEYS`` / ``PFS_PRIOR_KEYS``
    (cut points excluded), and ``data``:

        response kinds        [responders (J), n (J)]
        exponential           [events d_j (J), exposure T_j (J)]
        piecewise             [events d_jk (J·K, row-major), exposure T_jk (J·K)]
        Weibull               [events d_j (J), Σ_i δ_i log t_i (J), log t_i (N), stratum of i (N),
                               weight of i (N; 1, or 0 for a padding row)]

    Two containers rather than one per quantity because nutpie compiles an extraction routine per
    shared variable (about a second each); the Weibull patient count N may change from request to
    request without recompiling.
    """
    import pymc as pm
    import pytensor.tensor as pt

    J = n_strata
    n_prior = len((RESPONSE_PRIOR_KEYS | PFS_PRIOR_KEYS)[kind]) - (kind == "hierarchical-piecewise-exponential")
    with pm.Model() as model:
        # Placeholder values (valid for every prior parameter; one patient for the Weibull). A request
        # may change the length of ``data`` (the Weibull patient count) but not its rank.
        prior = pm.Data("prior", np.full(n_prior, 0.5))
        if kind == "hierarchical-piecewise-exponential":
            placeholder = np.ones(2 * J * n_intervals)
        elif kind == "hierarchical-weibull":
            placeholder = np.concatenate([np.ones(2 * J), [0.0, 0.0, 1.0]])
        else:
            placeholder = np.ones(2 * J)
        data = pm.Data("data", placeholder)
        mu_mean, mu_sd, tau_scale = prior[0], prior[1], prior[2]
        tau = pm.Deterministic("tau", tau_scale * pm.HalfNormal("tau_std", 1.0))
        if kind == "hierarchical-piecewise-exponential":
            K = n_intervals
            mu = pm.Deterministic("mu", mu_mean + mu_sd * pm.Normal("mu_std", 0.0, 1.0, shape=K))
            log_hazard = mu[None, :] + tau * pm.Normal("z", 0.0, 1.0, shape=(J, K))
            events, exposure = data[: J * K].reshape((J, K)), data[J * K : 2 * J * K].reshape((J, K))
            pm.Potential("log_likelihood", (events * log_hazard - pt.exp(log_hazard) * exposure).sum())
            return model
        mu = pm.Deterministic("mu", mu_mean + mu_sd * pm.Normal("mu_std", 0.0, 1.0))
        theta = mu + tau * pm.Normal("z", 0.0, 1.0, shape=J)
        if kind == "hierarchical":
            pm.Potential("log_likelihood", _binomial_kernel(pt, data[:J], data[J : 2 * J], theta).sum())
        elif kind == "exnex":
            weight, nex_mean, nex_sd = prior[3], prior[4], prior[5]
            theta_nex = nex_mean + nex_sd * pm.Normal("u", 0.0, 1.0, shape=J)
            loglik_ex = _binomial_kernel(pt, data[:J], data[J : 2 * J], theta)
            loglik_nex = _binomial_kernel(pt, data[:J], data[J : 2 * J], theta_nex)
            pm.Potential(
                "log_likelihood",
                pt.logaddexp(pt.log(weight) + loglik_ex, pt.log1p(-weight) + loglik_nex).sum(),
            )
        elif kind == "hierarchical-exponential":
            events, exposure = data[:J], data[J : 2 * J]
            pm.Potential("log_likelihood", (events * theta - pt.exp(theta) * exposure).sum())
        elif kind == "hierarchical-weibull":
            log_shape = pm.Deterministic("log_shape", prior[3] * pm.Normal("log_shape_std", 0.0, 1.0))
            events, event_log_time = data[:J], data[J : 2 * J]
            patients = data[2 * J :].reshape((3, -1))
            log_time, weight = patients[0], patients[2]
            stratum = pt.cast(patients[1], "int64")
            cumulative_hazard = weight * pt.exp(theta[stratum] + pt.exp(log_shape) * log_time)
            pm.Potential(
                "log_likelihood",
                (events * (theta + log_shape)).sum()
                + (pt.exp(log_shape) - 1.0) * event_log_time.sum()
                - cumulative_hazard.sum(),
            )
        else:
            raise ValueError(f"unknown model kind {kind!r}")
    return model


def _weibull_data(data: PFSData) -> np.ndarray:
    """The Weibull data vector: per-stratum event sums, then per-patient log t, stratum, weight."""
    time, event, stratum = data._flat()
    # A censoring at t = 0 contributes nothing (t^k = 0), but log 0 would poison the gradient in k.
    keep = time > 0.0
    log_time, event, stratum = np.log(time[keep]), event[keep], stratum[keep]
    event_log_time = np.bincount(stratum, weights=event * log_time, minlength=data.n_strata)
    weight = np.ones_like(log_time)
    if log_time.size == 0:  # keep one row, with weight 0
        log_time, stratum, weight = np.zeros(1), np.zeros(1, dtype=int), np.zeros(1)
    return np.concatenate([data.events_per_stratum, event_log_time, log_time, stratum, weight])


def model_inputs(kind: str, prior: Mapping[str, float], data: Any) -> dict[str, np.ndarray]:
    """The ``prior`` and ``data`` vectors of :func:`build_model` for validated inputs.

    ``data`` is (responders, n) for the response kinds and a :class:`PFSData` for the PFS kinds;
    ``prior`` holds every key of the kind (for the piecewise kind including ``cut_points``).
    """
    keys = [k for k in (RESPONSE_PRIOR_KEYS | PFS_PRIOR_KEYS)[kind] if k != "cut_points"]
    prior_vector = np.array([prior[k] for k in keys], dtype=float)
    if kind in RESPONSE_KINDS:
        responders, n = data
        data_vector = np.concatenate([responders, n]).astype(float)
    elif kind == "hierarchical-exponential":
        data_vector = np.concatenate([data.events_per_stratum, data.exposure_per_stratum])
    elif kind == "hierarchical-weibull":
        data_vector = _weibull_data(data)
    else:
        events, exposure = data.interval_statistics(prior["cut_points"])
        data_vector = np.concatenate([events.reshape(-1), exposure.reshape(-1)])
    return {"prior": prior_vector, "data": data_vector}


# --- compiled model cache --------------------------------------------------------------------

_compiled: dict[tuple[str, int, int | None], Any] = {}
_compile_lock = threading.Lock()
compile_seconds: dict[tuple[str, int, int | None], float] = {}
"""Wall time of each compilation in this process (for the benchmark and provenance)."""


def compiled_model(kind: str, n_strata: int, n_intervals: int | None = None):
    """The nutpie-compiled model of (kind, J[, K]): compiled on first use, then shared (thread-safe)."""
    key = (kind, n_strata, n_intervals if kind == "hierarchical-piecewise-exponential" else None)
    model = _compiled.get(key)
    if model is not None:
        return model
    # One lock for all compilations: numba and PyTensor's compile caches are process-wide, and two
    # shared cores gain nothing from compiling in parallel.
    with _compile_lock:
        model = _compiled.get(key)
        if model is None:
            import nutpie

            start = time.perf_counter()
            model = nutpie.compile_pymc_model(build_model(*key))
            compile_seconds[key] = time.perf_counter() - start
            _compiled[key] = model
    return model


def warm_up(
    kinds: Iterable[str] = ALL_KINDS,
    strata_counts: Iterable[int] = (2,),
    interval_counts: Iterable[int] = (len(survival.DEFAULT_CUT_POINTS),),
) -> dict[str, float]:
    """Compile the models the service expects and run one tiny fit each; returns seconds per model.

    The first fit in a process also pays one-off costs outside compilation (about a second), so
    start-up takes it instead of the first request.
    """
    timings: dict[str, float] = {}
    settings = SamplerSettings(draws=10, tune=10, chains=1, max_reruns=0)
    for kind in kinds:
        if kind not in ALL_KINDS:
            raise InvalidInputError("model/kind", f"must be one of {', '.join(ALL_KINDS)}")
        for J in strata_counts:
            for K in interval_counts if kind == "hierarchical-piecewise-exponential" else (None,):
                start = time.perf_counter()
                compiled = compiled_model(kind, J, K)
                _run_nutpie(compiled, settings, seed=0)
                timings[f"{kind}/J={J}" + (f"/K={K}" if K else "")] = time.perf_counter() - start
    return timings


# --- sampling ---------------------------------------------------------------------------------


def _derived_seed(seed: int, *path: int) -> int:
    """A 64-bit seed derived from the request seed and a path (purpose, attempt) by SeedSequence."""
    return int(np.random.SeedSequence(seed, spawn_key=path).generate_state(1, np.uint64)[0])


def _cores(settings: SamplerSettings) -> int:
    if settings.cores is not None:
        return min(settings.cores, settings.chains)
    available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(settings.chains, available))


def _column_to_numpy(column) -> np.ndarray:
    import pyarrow as pa

    array = pa.array(column)
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        array = array.flatten()
    return array.to_numpy(zero_copy_only=False)


@dataclass
class _Trace:
    draws: dict[str, np.ndarray]  # name -> (chain, draw, *shape)
    divergences: int
    max_treedepth_hits: int
    seconds: float


def _run_nutpie(compiled, settings: SamplerSettings, seed: int) -> _Trace:
    """Sample with nutpie and return post-warm-up draws by chain (raw Arrow trace, no xarray)."""
    import nutpie

    start = time.perf_counter()
    raw = nutpie.sample(
        compiled,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=_cores(settings),
        seed=seed,
        target_accept=settings.target_accept,
        save_warmup=False,
        progress_bar=False,
        return_raw_trace=True,
    )
    draw_batches, stat_batches = raw.get_arrow_trace()
    if len(draw_batches) != settings.chains:
        raise RuntimeError(f"nutpie returned {len(draw_batches)} of {settings.chains} chains")
    per_chain: dict[str, list[np.ndarray]] = {}
    divergences = treedepth = 0
    for draw_batch, stat_batch in zip(draw_batches, stat_batches, strict=True):
        kept = ~_column_to_numpy(stat_batch.column("tuning")).astype(bool)
        if kept.sum() != settings.draws:
            raise RuntimeError(f"a chain returned {kept.sum()} of {settings.draws} draws")
        divergences += int(_column_to_numpy(stat_batch.column("diverging"))[kept].sum())
        treedepth += int(_column_to_numpy(stat_batch.column("maxdepth_reached"))[kept].sum())
        for name in draw_batch.column_names:
            column = draw_batch.column(name)
            shape_text = (column.field.metadata or {}).get(b"shape", b"")
            shape = tuple(int(s) for s in shape_text.decode().split(",")) if shape_text else ()
            values = _column_to_numpy(column).reshape((draw_batch.num_rows, *shape))[kept]
            per_chain.setdefault(name, []).append(values)
    draws = {name: np.stack(chains).astype(float) for name, chains in per_chain.items()}
    for name, values in draws.items():
        if not np.all(np.isfinite(values)):
            raise RuntimeError(f"non-finite draws of {name}")
    return _Trace(draws, divergences, treedepth, time.perf_counter() - start)


def _sample_with_policy(
    kind: str,
    compiled,
    settings: SamplerSettings,
    seed: int,
    derive: Callable[[_Trace, int], tuple[dict[str, np.ndarray], Any]],
    prior_as_applied: Mapping[str, Any],
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Sample, check convergence, rerun with doubled draws while failing; return the last attempt.

    ``derive(trace, attempt)`` returns (reported quantities by chain, result payload). The checks
    run over the free parameters and the reported quantities; quantities that are monotone
    functions of one of these (μ, τ, θ_j = logit p_j, k = exp(log k), ...) are left out, since
    rank-normalised R-hat and bulk/tail ESS are invariant under monotone maps.
    """
    attempts: list[dict[str, Any]] = []
    current = settings
    for attempt in range(settings.max_reruns + 1):
        nutpie_seed = seed if attempt == 0 else _derived_seed(seed, 0, attempt)
        try:
            trace = _run_nutpie(compiled, current, nutpie_seed)
        except Exception as error:  # nutpie raises RuntimeError/ValueError from Rust; keep the cause
            raise ConvergenceError(
                f"MCMC sampling failed for model {kind!r}: {error}",
                {"converged": False, "stage": "sampling", "error": str(error), "attempt": attempt},
            ) from error
        reported, payload = derive(trace, attempt)
        free = {name: trace.draws[name] for name in _free_parameters(kind) if name in trace.draws}
        report = diagnostics.convergence_summary({**free, **reported}, trace.divergences)
        report["max_treedepth_hits"] = trace.max_treedepth_hits
        attempts.append(
            {
                "draws": current.draws,
                "tune": current.tune,
                "target_accept": current.target_accept,
                "seed": nutpie_seed,
                "seconds": round(trace.seconds, 4),
                "converged": report["converged"],
                "failed_checks": report["failed_checks"],
            }
        )
        if report["converged"] or attempt == settings.max_reruns:
            break
        current = current.for_rerun()
    report["reruns"] = len(attempts) - 1
    sampler = {
        "engine": "pymc+nutpie (NUTS)",
        "versions": {"pymc": version("pymc"), "nutpie": version("nutpie")},
        "kind": kind,
        "prior": dict(prior_as_applied),
        "draws": current.draws,
        "tune": current.tune,
        "chains": current.chains,
        "cores": _cores(current),
        "target_accept": current.target_accept,
        "max_reruns": settings.max_reruns,
        "seed": seed,
        "reruns": len(attempts) - 1,
        "attempts": attempts,
    }
    return payload, report, sampler


def _free_parameters(kind: str) -> tuple[str, ...]:
    extra = {"exnex": ("u",), "hierarchical-weibull": ("log_shape_std",)}.get(kind, ())
    return ("mu_std", "tau_std", "z", *extra)


def _check_seed(seed: Any) -> None:
    if not _is_int(seed) or not 0 <= seed < 2**64:
        raise InvalidInputError("seed", "must be an integer in [0, 2^64)")


def _prior_values(
    kind: str, prior: Mapping[str, Any], keys: Sequence[str], defaults: Mapping[str, Any]
) -> dict[str, Any]:
    """The prior as applied: every key of the kind, from ``prior`` or ``defaults``, validated."""
    problems: list[FieldProblem] = []
    unknown = sorted(set(prior) - set(keys))
    for name in unknown:
        problems.append(FieldProblem(f"model/prior/{name}", f"not a parameter of the {kind} prior ({', '.join(keys)})"))
    values: dict[str, Any] = {}
    for name in keys:
        if name == "cut_points":
            cuts = prior.get(name, defaults.get(name))
            problems.extend(_cut_point_problems(cuts, "model/prior/cut_points"))
            if not problems:
                values[name] = tuple(float(c) for c in cuts)
            continue
        if name not in prior and name not in defaults:
            problems.append(FieldProblem(f"model/prior/{name}", "required"))
            continue
        value = prior.get(name, defaults.get(name))
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            problems.append(FieldProblem(f"model/prior/{name}", "must be a finite number"))
        elif name in _POSITIVE_PRIOR_KEYS and value <= 0:
            problems.append(FieldProblem(f"model/prior/{name}", "must be > 0"))
        elif name == "weight_exchangeable" and not 0 < value < 1:
            problems.append(FieldProblem(f"model/prior/{name}", "must lie in (0, 1); use kind 'hierarchical' for w = 1"))
        else:
            values[name] = float(value)
    if problems:
        raise InvalidInputError(problems)
    return values


def _check_response_data(responders: Sequence[int], n: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    problems: list[FieldProblem] = []
    y_list, n_list = list(responders), list(n)
    if not 1 <= len(n_list) <= MAX_STRATA:
        raise InvalidInputError("strata", f"need between 1 and {MAX_STRATA} strata")
    if len(y_list) != len(n_list):
        raise InvalidInputError("strata", "responders and n must have one entry per stratum")
    for j, (y_j, n_j) in enumerate(zip(y_list, n_list, strict=True)):
        if not _is_int(n_j) or not 0 <= n_j <= MAX_PATIENTS_PER_STRATUM:
            problems.append(
                FieldProblem(f"strata/{j}/n", f"must be an integer in [0, {MAX_PATIENTS_PER_STRATUM}]")
            )
        elif not _is_int(y_j) or not 0 <= y_j <= n_j:
            problems.append(FieldProblem(f"strata/{j}/responders", f"must be an integer in [0, n = {n_j}]"))
    if problems:
        raise InvalidInputError(problems)
    return np.asarray(y_list, dtype=float), np.asarray(n_list, dtype=float)


def sample_response(
    kind: str,
    responders: Sequence[int],
    n: Sequence[int],
    prior: Mapping[str, float],
    settings: SamplerSettings,
    seed: int,
) -> ResponseDraws:
    """Posterior draws of per-stratum response rates under the ``hierarchical`` or ``exnex`` model.

    EXNEX membership is marginalised in the sampler; afterwards, per draw, the probability that
    stratum j is exchangeable is w·Bin(y_j | θex_j) / (w·Bin(y_j | θex_j) + (1 − w)·Bin(y_j | θnex_j))
    and θ_j is θex_j or θnex_j according to a membership drawn with that probability (numpy
    Generator seeded from ``seed``).
    """
    if kind not in RESPONSE_KINDS:
        raise InvalidInputError("model/kind", f"must be one of {', '.join(RESPONSE_KINDS)}")
    y, n_arr = _check_response_data(responders, n)
    values = _prior_values(kind, prior, RESPONSE_PRIOR_KEYS[kind], {})
    _check_seed(seed)
    compiled = compiled_model(kind, len(y)).with_data(**model_inputs(kind, values, (y, n_arr)))

    def derive(trace: _Trace, attempt: int) -> tuple[dict[str, np.ndarray], Any]:
        mu, tau, z = trace.draws["mu"], trace.draws["tau"], trace.draws["z"]
        theta = mu[..., None] + tau[..., None] * z  # (chain, draw, J)
        prob_exchangeable = None
        if kind == "exnex":
            w = values["weight_exchangeable"]
            theta_nex = values["nex_mean"] + values["nex_sd"] * trace.draws["u"]
            log_ex = math.log(w) + y * log_expit(theta) + (n_arr - y) * log_expit(-theta)
            log_nex = math.log1p(-w) + y * log_expit(theta_nex) + (n_arr - y) * log_expit(-theta_nex)
            prob_exchangeable = expit(log_ex - log_nex)
            rng = np.random.default_rng(_derived_seed(seed, 1, attempt))
            exchangeable = rng.random(prob_exchangeable.shape) < prob_exchangeable
            theta = np.where(exchangeable, theta, theta_nex)
        p = expit(theta)
        reported = {"p": p}
        if prob_exchangeable is not None:
            reported["prob_exchangeable"] = prob_exchangeable
        return reported, (p, theta, tau, mu, prob_exchangeable)

    (p, theta, tau, mu, prob_exchangeable), report, sampler = _sample_with_policy(
        kind, compiled, settings, seed, derive, values
    )
    return ResponseDraws(
        p=_stack_chains(p),
        tau=_stack_chains(tau),
        prob_exchangeable=_stack_chains(prob_exchangeable),
        theta=_stack_chains(theta),
        diagnostics=report,
        sampler=sampler,
        mu=_stack_chains(mu),
        chains=settings.chains,
    )


def sample_pfs(
    kind: str,
    data: PFSData,
    prior: Mapping[str, float],
    settings: SamplerSettings,
    seed: int,
) -> PFSDraws:
    """Posterior draws of per-stratum hazards under a hierarchical PFS model (see module docstring).

    Sampling uses target_accept ≥ ``PFS_MIN_TARGET_ACCEPT`` (recorded in ``sampler``).
    Missing prior keys take the defaults of :func:`designs.survival.models.default_prior`. For the
    piecewise kind the cut points come from ``prior["cut_points"]``, else ``data.cut_points``, else
    the default (0, 2, 4, 6, 12) months; a model is compiled per number of intervals.
    """
    if kind not in PFS_KINDS:
        raise InvalidInputError("model/kind", f"must be one of {', '.join(PFS_KINDS)}")
    if not isinstance(data, PFSData):
        raise InvalidInputError("data", "must be a PFSData")
    defaults = survival.default_prior(kind).as_mapping()
    if data.cut_points is not None:
        defaults["cut_points"] = data.cut_points
    values = _prior_values(kind, prior, PFS_PRIOR_KEYS[kind], defaults)
    _check_seed(seed)
    J = data.n_strata
    cut_points = values.get("cut_points")
    compiled = compiled_model(kind, J, None if cut_points is None else len(cut_points))
    compiled = compiled.with_data(**model_inputs(kind, values, data))
    if settings.target_accept < PFS_MIN_TARGET_ACCEPT:
        settings = dataclasses.replace(settings, target_accept=PFS_MIN_TARGET_ACCEPT)
    prior_as_applied = {k: list(v) if k == "cut_points" else v for k, v in values.items()}

    def derive(trace: _Trace, attempt: int) -> tuple[dict[str, np.ndarray], PFSDraws]:
        mu, tau, z = trace.draws["mu"], trace.draws["tau"], trace.draws["z"]
        if kind == "hierarchical-piecewise-exponential":
            log_hazard = mu[:, :, None, :] + tau[..., None, None] * z  # (chain, draw, J, K)
        else:
            log_hazard = mu[..., None] + tau[..., None] * z  # (chain, draw, J)
        shape = np.exp(trace.draws["log_shape"]) if kind == "hierarchical-weibull" else None
        draws = PFSDraws(
            kind=kind,
            log_hazard=_stack_chains(log_hazard),
            shape=_stack_chains(shape),
            cut_points=cut_points,
            tau=_stack_chains(tau),
            diagnostics={},
            sampler={},
            mu=_stack_chains(mu),
            chains=settings.chains,
        )
        reported = {"log_hazard": log_hazard}
        if kind != "hierarchical-exponential":  # the exponential median is monotone in log λ_j
            reported["median_survival"] = draws.by_chain(draws.median_survival())
        return reported, draws

    draws, report, sampler = _sample_with_policy(kind, compiled, settings, seed, derive, prior_as_applied)
    sampler["n_events_at_time_zero"] = list(data.n_events_at_time_zero)
    return dataclasses.replace(draws, diagnostics=report, sampler=sampler)
