"""Toxicity stopping boundaries for a single-arm trial and their exact operating characteristics.

A rule monitors the number of patients with a dose-limiting toxicity among the first n evaluable
patients at each planned look n_1 < … < n_J and stops the trial when that count reaches b_n. Every
method here orders the counts x at a look by a score s(x, n), increasing in x, and stops when
s(x, n) ≥ k for one constant k shared by all looks:

- ``bayesian`` (Geller et al. 2003, beta-binomial): s = P(p > p0 | x of n) under a Beta(a, b) prior,
  i.e. the upper tail of Beta(a + x, b + n − x) at p0; stop when it exceeds c. c is calibrated as the
  smallest value, over the finite set of distinct posterior probabilities at the looks, for which the
  exact P(stop at any look | p0) ≤ α.
- ``pocock`` (Ivanova, Qaqish & Schell 2005, Pocock-type): stop when the one-sided binomial p-value
  P(X_n ≥ x | p0) ≤ γ, a nominal level constant over the looks; γ is the largest such level (over the
  finite set of binomial tail probabilities) for which P(stop | p0) ≤ α.
- ``obrien-fleming`` (O'Brien–Fleming-type): the nominal level shrinks with information: at look n it
  is 1 − Φ(z √(N / n)), N the last look, so that the z-value of the p-value must exceed z √(N / n);
  the smallest z (over the finite set of such z-values) with P(stop | p0) ≤ α. This is the OBF shape
  on the z-scale (boundary ∝ 1/√(information fraction)); the constant reported is z and the nominal
  level at the last look, 1 − Φ(z).

Because every candidate constant is one of finitely many scores, the calibration is exact: P(stop | p0)
is non-increasing in k, a bisection over the sorted distinct scores finds the least conservative rule
meeting α, and the next less conservative rule (the next smaller score) is reported with its P(stop | p0)
> α. Operating characteristics come from a forward recursion over the count distribution of the trials
still running (``operating_characteristics``), exact up to floating point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import special, stats

from designs.core.caveats import caveat
from designs.core.provenance import provenance
from designs.core.validation import CLOSED_PROBABILITY, MAX_ERROR_RATE, Bounds, Checker, is_integer

METHODS = ("bayesian", "pocock", "obrien-fleming")
MAX_LOOK_N = 500
"""Largest number of evaluable patients at a look (the exact recursion is O(J · N²) at worst)."""
MAX_RATES = 100
DEFAULT_PRIOR = (1.0, 1.0)
"""The Bayesian rule's default prior, Beta(1, 1) (uniform): it claims nothing about the toxicity rate;
the calibration, not the prior, controls P(stop | p0)."""
SAFETY_DEFAULTS = {"method": "bayesian", "alpha": 0.10}
"""What a safety rule takes when a protocol's safety section or a safety analysis's design does not say
(the prior: ``DEFAULT_PRIOR``), and what POST /v1/designs/safety-boundaries takes too."""
PRIOR_PARAMETER = Bounds(gt=0.0, le=1000.0)
ALPHA = Bounds(gt=0.0, le=MAX_ERROR_RATE)
DEFAULT_RATE_STEPS = 7
"""The default OC grid: p0, p0 + 0.05, … (7 rates, those below 1)."""


@dataclass(frozen=True)
class SafetyDesign:
    """A toxicity monitoring rule to calibrate: acceptable rate ``p0``, cumulative evaluable patients
    at each look, the largest P(stop | p0) ``alpha``, the method and (bayesian) the Beta prior."""

    p0: float
    looks: tuple[int, ...]
    alpha: float
    method: str
    prior_a: float = DEFAULT_PRIOR[0]
    prior_b: float = DEFAULT_PRIOR[1]

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> SafetyDesign:
        """A design from JSON-like values (``prior`` as ``{"a", "b"}`` or None); every bad field is
        reported at once as ``InvalidInputError``."""
        check = Checker()
        check.unknown("", values, ("p0", "looks", "alpha", "method", "prior"), "a safety design")
        p0 = check.response_rate("p0", values.get("p0"))
        alpha = check.number("alpha", values.get("alpha"), ALPHA)
        method = values.get("method")
        if method not in METHODS:
            check.add("method", f"must be one of {', '.join(METHODS)} (got {method!r})")
        looks = _looks(check, values.get("looks"))
        a, b = beta_prior(check, "prior", values.get("prior"))
        check.raise_if_any()
        return cls(p0, looks, alpha, method, a, b)


def beta_prior(check: Checker, where: str, raw: Any) -> tuple[float, float]:
    """A Beta(a, b) prior ``{a, b}``: null or omitted parameters take ``DEFAULT_PRIOR``'s; a bad one is
    held by ``check`` (and stands in as its default, so that checking goes on)."""
    if raw is None:
        return DEFAULT_PRIOR
    if not isinstance(raw, Mapping):
        check.add(where, "must be an object {a, b} or null")
        return DEFAULT_PRIOR
    check.unknown(f"{where}/", raw, ("a", "b"), "a Beta prior")
    a, b = (default if raw.get(name) is None else check.number(f"{where}/{name}", raw[name], PRIOR_PARAMETER) or default
            for name, default in zip(("a", "b"), DEFAULT_PRIOR, strict=True))
    return a, b


def _looks(check: Checker, looks: Any) -> tuple[int, ...]:
    """Strictly increasing integers in [1, MAX_LOOK_N], at least one."""
    if not isinstance(looks, Sequence) or isinstance(looks, str) or not looks:
        check.add("looks", "must be a non-empty list of cumulative evaluable patient numbers")
        return ()
    before = len(check.problems)
    for i, n in enumerate(looks):
        check.integer(f"looks/{i}", n, 1, MAX_LOOK_N)
    if len(check.problems) == before:
        for i in range(1, len(looks)):
            if looks[i] <= looks[i - 1]:
                check.add(f"looks/{i}", f"looks must be strictly increasing ({looks[i]} follows {looks[i - 1]})")
    return tuple(int(n) for n in looks if is_integer(n))


def scores(design: SafetyDesign) -> list[np.ndarray]:
    """Per look, s(x, n) for x = 0 … n (increasing in x); the rule stops when s ≥ k."""
    out = []
    last = design.looks[-1]
    for n in design.looks:
        x = np.arange(n + 1)
        if design.method == "bayesian":
            # P(p > p0 | x of n) = 1 − I_{p0}(a + x, b + n − x)
            out.append(special.betaincc(design.prior_a + x, design.prior_b + n - x, design.p0))
        else:
            tail = stats.binom.sf(x - 1, n, design.p0)  # P(X_n ≥ x | p0)
            if design.method == "pocock":
                out.append(-tail)
            else:
                out.append(stats.norm.isf(tail) * np.sqrt(n / last))
    return out


def _counts_at(looks_scores: list[np.ndarray], k: float) -> list[int | None]:
    """b_n = the smallest x with s(x, n) ≥ k; None where no count reaches k."""
    counts: list[int | None] = []
    for s in looks_scores:
        hit = np.flatnonzero(s >= k)
        counts.append(int(hit[0]) if hit.size else None)
    return counts


def operating_characteristics(looks: Sequence[int], counts: Sequence[int | None], rate: float) -> dict[str, Any]:
    """Exact P(stop), P(stop at each look), expected number of evaluable patients and expected number of
    toxicities when the trial ends (stopped or complete) at a true toxicity ``rate``: the distribution of
    the toxicity count among trials still running is carried forward, convolved with
    Binomial(n_j − n_{j−1}, rate) at each look, and the mass at x ≥ b_j removed."""
    running = np.ones(1)
    previous = 0
    by_look = []
    toxicities = 0.0  # Σ over stopped trials of x·P(stop with x toxicities)
    increments: dict[int, np.ndarray] = {}  # Binomial(m, rate) pmf per cohort size m, computed once
    for n, b in zip(looks, counts, strict=True):
        m = n - previous
        if m not in increments:
            increments[m] = stats.binom.pmf(np.arange(m + 1), m, rate)
        running = np.convolve(running, increments[m])
        previous = n
        stopped = 0.0
        if b is not None:
            stopped = float(running[b:].sum())
            toxicities += float(np.arange(b, running.size) @ running[b:])
            running[b:] = 0.0
        by_look.append(stopped)
    prob_stop = float(sum(by_look))
    expected_n = float(sum(p * n for p, n in zip(by_look, looks, strict=True)) + (1.0 - prob_stop) * looks[-1])
    toxicities += float(np.arange(running.size) @ running)
    return {"rate": float(rate), "prob_stop": prob_stop, "prob_stop_by_look": by_look, "expected_n": expected_n,
            "expected_toxicities": toxicities}


def prob_any_stops(prob_stop: float, strata: int) -> float:
    """P(at least one of ``strata`` independent strata stops) when each stops with ``prob_stop``:
    1 − (1 − p)^k, the family-wise false-stop rate of a per-stratum rule with every stratum at p0."""
    return float(-np.expm1(strata * np.log1p(-prob_stop))) if prob_stop < 1.0 else 1.0


def _prob_stop_null(design: SafetyDesign, counts: list[int | None]) -> float:
    return operating_characteristics(design.looks, counts, design.p0)["prob_stop"]


@dataclass(frozen=True)
class Calibration:
    """The calibrated rule: threshold k, its counts and P(stop | p0); the next less conservative rule."""

    candidates: np.ndarray
    index: int
    """Position of k among the sorted distinct scores; len(candidates): the rule never stops."""
    counts: list[int | None]
    prob_stop_null: float
    next_counts: list[int | None] | None
    next_prob_stop_null: float | None


def calibrate(design: SafetyDesign) -> Calibration:
    """The smallest threshold k among the distinct scores with P(stop | p0) ≤ α (bisection: P(stop | p0)
    does not increase with k), and the rule at the next smaller score, which exceeds α."""
    looks_scores = scores(design)
    candidates = np.unique(np.concatenate(looks_scores))
    low, high = 0, len(candidates)  # high: never stop, P = 0 ≤ α
    cache: dict[int, tuple[list[int | None], float]] = {}

    def rule(i: int) -> tuple[list[int | None], float]:
        if i not in cache:
            counts = [None] * len(design.looks) if i == len(candidates) else _counts_at(looks_scores, candidates[i])
            cache[i] = (counts, _prob_stop_null(design, counts))
        return cache[i]

    while low < high:  # invariant: rule(high) meets α
        middle = (low + high) // 2
        if rule(middle)[1] <= design.alpha:
            high = middle
        else:
            low = middle + 1
    counts, prob = rule(high)
    next_counts, next_prob = rule(high - 1) if high > 0 else (None, None)
    return Calibration(candidates, high, counts, prob, next_counts, next_prob)


def stop_counts(design: SafetyDesign) -> list[int | None]:
    """b_n per look of the calibrated rule: stop when toxicities among the first n evaluable ≥ b_n
    (None: no count stops there)."""
    return calibrate(design).counts


def _constant(design: SafetyDesign, calibration: Calibration) -> dict[str, Any]:
    """The calibrated constant in the method's own terms (see the module docstring)."""
    values, i = calibration.candidates, calibration.index
    if design.method == "bayesian":
        # stop when P(p > p0 | data) > c: the smallest c giving the rule "score ≥ k" is the score below k
        # (never stopping: c = the largest score); i = 0 stops at x = 0 on the first look, never within α
        return {"name": "c", "value": float(values[i - 1])}
    if i == len(values):
        return {"name": "gamma" if design.method == "pocock" else "z", "value": None}
    if design.method == "pocock":
        return {"name": "gamma", "value": float(-values[i])}
    return {"name": "z", "value": float(values[i]), "final_nominal_level": float(stats.norm.sf(values[i]))}


def default_rates(p0: float) -> list[float]:
    """p0, p0 + 0.05, … (``DEFAULT_RATE_STEPS`` rates below 1), rounded to 10 decimals."""
    return [round(p0 + 0.05 * i, 10) for i in range(DEFAULT_RATE_STEPS) if p0 + 0.05 * i < 1.0]


def check_rates(rates: Any) -> list[float]:
    """True toxicity rates for the OC: 1 … MAX_RATES values in [0, 1] (``InvalidInputError``)."""
    check = Checker()
    if not isinstance(rates, Sequence) or isinstance(rates, str) or not 1 <= len(rates) <= MAX_RATES:
        check.add("rates", f"must be a list of 1 to {MAX_RATES} toxicity rates in [0, 1]")
    else:
        for i, rate in enumerate(rates):
            check.number(f"rates/{i}", rate, CLOSED_PROBABILITY)
    check.raise_if_any()
    return [float(r) for r in rates]


def safety_boundaries(design: SafetyDesign, *, rates: Sequence[float] | None = None, request: Any = None) -> dict[str, Any]:
    """The calibrated boundaries of ``design``, their exact OC at ``rates`` (default ``default_rates``)
    and how the constant was found, as the route's canonical JSON."""
    rates = default_rates(design.p0) if rates is None else check_rates(list(rates))
    calibration = calibrate(design)
    constant = _constant(design, calibration)
    warnings = []
    if all(b is None for b in calibration.counts):
        warnings.append(caveat("safety-never-stops", "no toxicity count stops the trial at any look with "
                               f"P(stop | p0) ≤ {design.alpha:g}: add patients or raise alpha"))
    prior = {"a": design.prior_a, "b": design.prior_b} if design.method == "bayesian" else None
    return {
        "method": design.method,
        "p0": design.p0,
        "alpha": design.alpha,
        "prior": prior,
        "constant": constant["value"],
        "looks": [{"look": j + 1, "n": n, "stop_at": b} for j, (n, b) in enumerate(zip(design.looks, calibration.counts, strict=True))],
        "operating_characteristics": [operating_characteristics(design.looks, calibration.counts, r) for r in rates],
        "calibration": {
            "constant": constant,
            "distinct_constants": int(len(calibration.candidates)),
            "prob_stop_null": calibration.prob_stop_null,
            "next_less_conservative": None if calibration.next_counts is None else {
                "stop_at": calibration.next_counts, "prob_stop_null": calibration.next_prob_stop_null},
        },
        "warnings": warnings,
        "provenance": provenance(request if request is not None else _request_of(design, rates),
                                 method=f"safety-boundaries/{design.method}",
                                 model={"prior": prior} if prior else None),
    }


def _request_of(design: SafetyDesign, rates: list[float]) -> dict[str, Any]:
    return {"p0": design.p0, "looks": list(design.looks), "alpha": design.alpha, "method": design.method,
            "prior": {"a": design.prior_a, "b": design.prior_b}, "rates": rates}
