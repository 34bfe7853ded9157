"""PFS models: benchmark conversions, priors of the PFS kinds, exact Gamma posterior, survival functionals.

Kinds (rates and hazards per month, times in months):

    independent-exponential            λ_j ~ Gamma(a, b) per stratum; posterior Gamma(a + d_j, b + T_j)
    hierarchical-exponential           log λ_j = μ + τ·z_j, μ ~ N(m, s²), τ ~ HalfNormal(τ_scale), z_j ~ N(0, 1)
    hierarchical-weibull               S_j(t) = exp(−λ_j·t^k): shared shape log k ~ N(0, σ_k²), log λ_j as above
    hierarchical-piecewise-exponential λ_jk on intervals [c_k, c_k+1): log λ_jk = μ_k + τ·z_jk, μ_k ~ N(m, s²)

d_j is the number of events and T_j the total follow-up (censored time included) of stratum j, the
sufficient statistics of the exponential likelihood d_j·log λ_j − λ_j·T_j.

Benchmark conventions are not interchangeable: an exponential with median 1.77 months has
S(4) = exp(−4·ln 2 / 1.77) = 0.2088, not the 0.15 historical 4-month rate of the same pooled SARC
phase II trials. The request states the benchmark as a landmark rate; its implied
exponential hazard is −ln(S₀) / landmark and its implied median ln 2 / hazard.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from scipy import special

from designs.core.validation import PRIOR_LOCATION, PRIOR_SD, PRIOR_TAU_SCALE, Bounds, Checker

LN2 = math.log(2.0)
HISTORICAL_MEDIAN_PFS_MONTHS = 1.77
"""Historical median PFS of MPNST in pooled SARC phase II trials (months)."""

HIERARCHICAL_KINDS: tuple[str, ...] = (
    "hierarchical-exponential",
    "hierarchical-weibull",
    "hierarchical-piecewise-exponential",
)
DEFAULT_CUT_POINTS: tuple[float, ...] = (0.0, 2.0, 4.0, 6.0, 12.0)


# --- benchmark conversions -------------------------------------------------------------------


def exponential_hazard_from_landmark(landmark_pfs: float, landmark_months: float) -> float:
    """λ = −ln S(t) / t: the exponential hazard whose survival at ``landmark_months`` is ``landmark_pfs``."""
    return -math.log(landmark_pfs) / landmark_months


def exponential_median(hazard: float) -> float:
    """Median ln 2 / λ of an exponential with hazard λ."""
    return LN2 / hazard


def exponential_landmark_from_median(median_months: float, landmark_months: float) -> float:
    """S(t) = exp(−t·ln 2 / median) = 2^(−t / median).

    Public API for Python callers (the service states benchmarks as landmark rates): it shows that
    the historical median of 1.77 months means S(4) = 0.2088, not the historical 0.15.
    """
    return math.exp(-landmark_months * LN2 / median_months)


@dataclass(frozen=True)
class Benchmark:
    """A historical benchmark stated as a landmark PFS rate, with its exponential equivalents."""

    landmark_months: float
    landmark_pfs: float

    @property
    def hazard_per_month(self) -> float:
        return exponential_hazard_from_landmark(self.landmark_pfs, self.landmark_months)

    @property
    def median_months(self) -> float:
        return exponential_median(self.hazard_per_month)

    def to_dict(self) -> dict[str, Any]:
        return {
            "landmark_months": self.landmark_months,
            "landmark_pfs": self.landmark_pfs,
            "implied_exponential_hazard_per_month": self.hazard_per_month,
            "implied_exponential_median_months": self.median_months,
        }


# --- priors (plain data; the JSON prior maps one-to-one onto these) ---------------------------


@dataclass(frozen=True)
class GammaHazardPrior:
    """λ_j ~ Gamma(shape, rate) with rate per month.

    Default: one pseudo-event (shape 1) centred on the historical median, rate = shape·1.77 / ln 2, so
    that the prior median-of-hazard equivalent ln 2·shape / rate equals 1.77 months.
    """

    shape: float = 1.0
    rate: float | None = None

    def __post_init__(self) -> None:
        if self.rate is None:
            object.__setattr__(self, "rate", self.shape * HISTORICAL_MEDIAN_PFS_MONTHS / LN2)


@dataclass(frozen=True)
class HierarchicalHazardPrior:
    """Non-centred hierarchical prior on log hazards (per month).

    log λ_j = μ + τ·z_j; μ ~ Normal(mu_mean, mu_sd), τ ~ HalfNormal(tau_scale), z_j ~ Normal(0, 1).
    Default μ centred on a 3-month median (log(ln 2 / 3)) with sd 1.5 on the log scale.
    Weibull adds ``shape_log_sd`` (log k ~ Normal(0, shape_log_sd), centred at k = 1, the exponential);
    piecewise adds ``cut_points`` (interval starts, first 0; the last interval is open).
    """

    mu_mean: float = math.log(LN2 / 3.0)
    mu_sd: float = 1.5
    tau_scale: float = 1.0
    shape_log_sd: float | None = None
    cut_points: tuple[float, ...] | None = None

    def as_mapping(self) -> dict[str, Any]:
        """The prior as applied, without fields that do not belong to the kind."""
        out = {k: v for k, v in asdict(self).items() if v is not None}
        if "cut_points" in out:
            out["cut_points"] = list(out["cut_points"])
        return out


def default_prior(kind: str) -> GammaHazardPrior | HierarchicalHazardPrior:
    """The default prior of a PFS model kind."""
    if kind == "independent-exponential":
        return GammaHazardPrior()
    if kind == "hierarchical-weibull":
        return HierarchicalHazardPrior(shape_log_sd=0.5)
    if kind == "hierarchical-piecewise-exponential":
        return HierarchicalHazardPrior(cut_points=DEFAULT_CUT_POINTS)
    if kind == "hierarchical-exponential":
        return HierarchicalHazardPrior()
    raise ValueError(f"unknown PFS model kind {kind!r}")


@dataclass(frozen=True)
class PFSModel:
    """A PFS model spec: kind, prior and engine ("closed-form", "mcmc" or "quadrature").

    Build one with :func:`resolve_model` (or a ``designs.survival.spec.PFSAnalysisSpec``), which fills
    in defaults and checks that the engine suits the kind.
    """

    kind: str = "hierarchical-exponential"
    prior: GammaHazardPrior | HierarchicalHazardPrior = field(default_factory=HierarchicalHazardPrior)
    engine: str = "mcmc"

    @property
    def hierarchical(self) -> bool:
        return self.kind in HIERARCHICAL_KINDS

    def prior_as_applied(self) -> dict[str, Any]:
        if isinstance(self.prior, GammaHazardPrior):
            return {"shape": self.prior.shape, "rate": self.prior.rate}
        return self.prior.as_mapping()

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "prior": self.prior_as_applied(), "engine": self.engine}


ENGINES: dict[str, tuple[str, ...]] = {
    "independent-exponential": ("closed-form",),
    "hierarchical-exponential": ("mcmc", "quadrature"),
    "hierarchical-weibull": ("mcmc",),
    "hierarchical-piecewise-exponential": ("mcmc",),
}
"""The engines of each kind; the first is the default."""
KINDS: tuple[str, ...] = (*HIERARCHICAL_KINDS, "independent-exponential")
DEFAULT_KIND = "hierarchical-exponential"


@dataclass(frozen=True)
class PriorParameter:
    """One prior field: its bounds (of each element, for a list) and what it means."""

    bounds: Bounds
    description: str


_POSITIVE = Bounds(ge=1e-3, le=1e6)
"""A Gamma prior's shape or rate: as the Beta prior's a and b (``designs.response.spec``)."""
CUT_POINT_BOUNDS = Bounds(ge=0.0, le=1000.0)
SHAPE_LOG_SD_BOUNDS = Bounds(ge=1e-3, le=PRIOR_SD.le)
"""Sampled by MCMC only (no quadrature grid to resolve it): 0.001 pins the Weibull shape at 1."""
MAX_CUT_POINTS = 12
PRIOR_PARAMETERS: dict[str, PriorParameter] = {
    "shape": PriorParameter(_POSITIVE, "independent-exponential: Gamma shape a of λ (default 1)"),
    "rate": PriorParameter(_POSITIVE, "independent-exponential: Gamma rate b of λ, months (default a·1.77/ln 2)"),
    "mu_mean": PriorParameter(PRIOR_LOCATION, "mean of μ, log hazard per month (default log(ln 2 / 3))"),
    "mu_sd": PriorParameter(PRIOR_SD, "sd of μ (default 1.5)"),
    "tau_scale": PriorParameter(PRIOR_TAU_SCALE, "scale of the half-normal prior on τ (default 1)"),
    "shape_log_sd": PriorParameter(SHAPE_LOG_SD_BOUNDS, "hierarchical-weibull: sd of log shape, centred at shape 1 (default 0.5)"),
    "cut_points": PriorParameter(
        CUT_POINT_BOUNDS,
        "hierarchical-piecewise-exponential: interval starts in months, first 0, increasing "
        "(default [0, 2, 4, 6, 12]; the last interval is open)",
    ),
}
"""Every prior field of every kind, in the JSON prior's order (rates and hazards per month)."""
PRIOR_FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name in PRIOR_PARAMETERS if asdict(default_prior(kind)).get(name) is not None) for kind in ENGINES
}
"""Which prior fields each model kind takes; omitted ones take the kind's defaults (echoed in the result)."""


def _cut_points(check: Checker, value: Any) -> tuple[float, ...] | None:
    where = "model/prior/cut_points"
    if not check.size(where, value, 1, MAX_CUT_POINTS, "cut points"):
        return None
    cuts = [check.number(f"{where}/{i}", c, CUT_POINT_BOUNDS) for i, c in enumerate(value)]
    if None in cuts:
        return None
    if cuts[0] != 0 or any(b <= a for a, b in zip(cuts, cuts[1:])):
        check.add(where, "must start at 0 and increase strictly")
        return None
    return tuple(cuts)


def resolve_in(check: Checker, kind: Any, prior: Any, engine: str | None) -> PFSModel | None:
    """The model spec of ``kind`` with the given prior fields and the kind's defaults for the rest;
    problems (``model/kind``, ``model/prior/<field>``, ``engine``) go to ``check``."""
    if check.choice("model/kind", kind, KINDS) is None:
        return None
    before = len(check.problems)
    engine = ENGINES[kind][0] if engine is None else engine
    if engine not in ENGINES[kind]:
        check.add("engine", f"kind '{kind}' is computed by {' or '.join(ENGINES[kind])}, not {engine!r}")
    # A null field is an omitted one (the HTTP schema lists every kind's fields).
    given = {k: v for k, v in check.mapping("model/prior", prior).items() if v is not None}
    check.unknown("model/prior/", given, PRIOR_FIELDS[kind], f"the {kind} prior")
    values = {}
    for name in PRIOR_FIELDS[kind]:
        if name not in given:
            continue
        if name == "cut_points":
            values[name] = _cut_points(check, given[name])
        else:
            values[name] = check.number(f"model/prior/{name}", given[name], PRIOR_PARAMETERS[name].bounds)
    if len(check.problems) > before:
        return None
    # The Gamma prior's default rate follows its shape: build it afresh rather than replace fields.
    applied = GammaHazardPrior(**values) if kind == "independent-exponential" else replace(default_prior(kind), **values)
    return PFSModel(kind, applied, engine)


def resolve_model(kind: str, prior: Mapping[str, Any] | None = None, engine: str | None = None) -> PFSModel:
    """``resolve_in`` for one model: raises InvalidInputError naming every bad field."""
    check = Checker()
    model = resolve_in(check, kind, prior, engine)
    check.raise_if_any()
    return model


# --- sufficient statistics -------------------------------------------------------------------


def interval_exposure(time: np.ndarray, cut_points: np.ndarray) -> np.ndarray:
    """Time spent in each interval [c_k, c_k+1) (last open) before ``time``: shape time.shape + (K,)."""
    time = np.asarray(time, dtype=float)
    starts = np.asarray(cut_points, dtype=float)
    ends = np.append(starts[1:], np.inf)
    return np.clip(time[..., None] - starts, 0.0, ends - starts)


def exponential_sufficient_stats(
    time: np.ndarray, event: np.ndarray, stratum: np.ndarray, n_strata: int
) -> tuple[np.ndarray, np.ndarray]:
    """Per stratum: events d_j and total follow-up T_j (censored time included), from one row per patient.

    Public API for Python callers (the analyses sum each stratum's arrays); the exponential MLE is
    d_j / T_j (checked against lifelines on the Freireich et al. 1963 6-MP data).
    """
    stratum = np.asarray(stratum, dtype=int)
    events = np.bincount(stratum, weights=np.asarray(event, dtype=float), minlength=n_strata)
    exposure = np.bincount(stratum, weights=np.asarray(time, dtype=float), minlength=n_strata)
    return events, exposure


def piecewise_sufficient_stats(
    time: np.ndarray, event: np.ndarray, stratum: np.ndarray, n_strata: int, cut_points: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Per stratum and interval: events d_jk and exposure T_jk, each of shape (J, K)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    stratum = np.asarray(stratum, dtype=int)
    k = len(cut_points)
    # An event at exactly c_k belongs to the interval that ends there (its hazard acted up to c_k).
    interval = np.clip(np.searchsorted(np.asarray(cut_points, dtype=float), time, side="left") - 1, 0, k - 1)
    events = np.zeros((n_strata, k))
    np.add.at(events, (stratum[event], interval[event]), 1.0)
    exposure = np.zeros((n_strata, k))
    np.add.at(exposure, stratum, interval_exposure(time, cut_points))
    return events, exposure


# --- survival functionals (vectorised over draws) --------------------------------------------


def exponential_survival(hazard: np.ndarray, t: float) -> np.ndarray:
    """S(t) = exp(−λ t)."""
    return np.exp(-np.asarray(hazard) * t)


def weibull_survival(rate: np.ndarray, shape: np.ndarray, t: float) -> np.ndarray:
    """S(t) = exp(−λ·t^k) (λ the Weibull rate, k the shape)."""
    return np.exp(-np.asarray(rate) * t ** np.asarray(shape))


def weibull_median(rate: np.ndarray, shape: np.ndarray) -> np.ndarray:
    """Median (ln 2 / λ)^(1/k)."""
    return (LN2 / np.asarray(rate)) ** (1.0 / np.asarray(shape))


def piecewise_survival(hazards: np.ndarray, cut_points: np.ndarray, t: float) -> np.ndarray:
    """S(t) = exp(−Σ_k λ_k Δ_k(t)); ``hazards`` has the K intervals on its last axis."""
    return np.exp(-(np.asarray(hazards) * interval_exposure(np.asarray(t), cut_points)).sum(axis=-1))


def piecewise_median(hazards: np.ndarray, cut_points: np.ndarray) -> np.ndarray:
    """The time where the piecewise-linear cumulative hazard reaches ln 2."""
    hazards = np.asarray(hazards, dtype=float)
    starts = np.asarray(cut_points, dtype=float)
    widths = np.diff(starts)
    # Cumulative hazard at each interval start: H(c_0) = 0, H(c_k+1) = H(c_k) + λ_k (c_k+1 − c_k).
    h_at_start = np.concatenate(
        [np.zeros(hazards.shape[:-1] + (1,)), np.cumsum(hazards[..., :-1] * widths, axis=-1)], axis=-1
    )
    k = np.clip((h_at_start <= LN2).sum(axis=-1) - 1, 0, len(starts) - 1)
    h_k = np.take_along_axis(h_at_start, k[..., None], axis=-1)[..., 0]
    lam_k = np.take_along_axis(hazards, k[..., None], axis=-1)[..., 0]
    return starts[k] + (LN2 - h_k) / lam_k


def hazard_ratio_to_benchmark(landmark_survival: np.ndarray, benchmark: Benchmark) -> np.ndarray:
    """Landmark cumulative-hazard ratio −ln S_j(L) / −ln S₀(L).

    For exponential models this is exactly λ_j / λ₀; for Weibull and piecewise models it is the ratio
    of the average hazards over [0, L].
    """
    with np.errstate(divide="ignore"):
        return np.log(landmark_survival) / math.log(benchmark.landmark_pfs)


# --- exact posterior of the independent exponential model ------------------------------------


@dataclass(frozen=True)
class GammaHazardPosterior:
    """Per-stratum posterior λ_j ~ Gamma(a + d_j, b + T_j) (conjugate; exact, no MCMC)."""

    shape: np.ndarray
    rate: np.ndarray

    @classmethod
    def update(cls, prior: GammaHazardPrior, events: np.ndarray, exposure: np.ndarray) -> GammaHazardPosterior:
        return cls(prior.shape + np.asarray(events, dtype=float), prior.rate + np.asarray(exposure, dtype=float))

    # scipy.special directly: freezing a scipy.stats distribution costs milliseconds per call.
    def hazard_cdf(self, hazard: float | np.ndarray) -> np.ndarray:
        """P(λ_j ≤ x) = P(a, b·x), the regularised lower incomplete gamma function."""
        return special.gammainc(self.shape, self.rate * np.asarray(hazard))

    def hazard_quantile(self, q: float) -> np.ndarray:
        return special.gammaincinv(self.shape, q) / self.rate

    def prob_landmark_above(self, landmark_pfs: float, landmark_months: float) -> np.ndarray:
        """P(S_j(t) > s) = P(λ_j < −ln s / t) = Gamma CDF."""
        return self.hazard_cdf(exponential_hazard_from_landmark(landmark_pfs, landmark_months))

    def landmark_mean(self, landmark_months: float) -> np.ndarray:
        """E[exp(−λ t)] = (b / (b + t))^a, the Gamma moment-generating function at −t."""
        return (self.rate / (self.rate + landmark_months)) ** self.shape

    def landmark_quantile(self, q: float, landmark_months: float) -> np.ndarray:
        """S = exp(−λ t) decreases in λ: its q-quantile is exp(−t·λ_(1−q))."""
        return np.exp(-landmark_months * self.hazard_quantile(1.0 - q))

    def draws(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` independent draws of λ, shape (n, J) (for functionals without a closed form)."""
        return rng.gamma(self.shape, 1.0 / self.rate, size=(n, len(self.shape)))
