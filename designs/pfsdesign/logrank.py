"""The one-sample log-rank test against a benchmark survival curve: the classical comparator of a PFS rule.

As Simon's two-stage design stands beside the Bayesian response rule, the one-sample log-rank test
stands beside the Bayesian PFS rule: the survival of one arm is compared with a benchmark law S0 fixed
in advance (Finkelstein, Muzikansky & Schoenfeld 2003).

Statistic. With n patients, X_i the observed time (event or censoring) and Δ_i the event indicator,

    O = Σ Δ_i                      the observed number of events
    E = Σ Λ0(X_i)                  the events expected under the benchmark (its cumulative hazard at X_i)
    Z = (E − O) / √E               ``classical`` (Finkelstein et al. 2003; Wu 2015 writes L = (O − E)/√E = −Z)

H0: survival no better than the benchmark; H1: better. H0 is rejected when Z > z_{1−α} (fewer events
than the benchmark predicts), i.e. Wu's L < −z_{1−α}; the one-sided p-value is 1 − Φ(Z). The variant
``average-variance`` divides by √((O + E)/2) instead of √E, an estimate of the variance that holds α
more closely in small samples, where the classical test is conservative (see Danzer, Faldum & Schmidt
2021 on such variance estimators); the sample size formula below is the classical statistic's.

Sample size (Wu 2015). Patients enter uniformly over an accrual period t_a and are followed t_f after
the last one, so that patient i is censored administratively at C_i ~ U(t_f, t_a + t_f): the censoring
survival function is G(t) = 1 on [0, t_f], (t_a + t_f − t)/t_a on [t_f, t_a + t_f], 0 beyond. Under the
alternative law S1 (cumulative hazard Λ1; any law, not only proportional hazards), with τ = t_a + t_f,

    p0  = ∫ G S1 dΛ0   = E[Λ0(X)]           p1  = ∫ G S1 dΛ1   = P(event)
    p00 = ∫ G S1 Λ0 dΛ0 = E[Λ0(X)²]/2       p01 = ∫ G S1 Λ0 dΛ1 = E[Δ Λ0(X)]
    ω = p0 − p1,   σ0² = p0,   σ² = Var(Λ0(X) − Δ) = p1 − p1² + 2 p00 − p0² − 2 p01 + 2 p0 p1

(integrals over [0, τ]). E − O is a sum of n terms of mean ω and variance σ², and E/n → σ0², so that

    power(n) = Φ((√n ω − σ0 z_{1−α}) / σ),     n = (σ0 z_{1−α} + σ z_{1−β})² / ω²      (Wu 2015, eq. 3)

The integrals are computed by adaptive quadrature (``scipy.integrate.quad``) after the change of
variable h = Λ(t) (dΛ = dh), which needs no hazard function, leaves bounded integrands even where a
Weibull hazard is infinite at 0, and works for every law of ``designs.pfsdesign.laws``. With accrual
given as patients per month, t_a = n / rate depends on n: ``logrank_sample_size`` returns the smallest
integer n whose power at t_a = n / rate reaches the target (the accrual-rate form of Wu, Chen, Wei,
Weiss & Chauhan 2020, ``OneArm2stage``), with the expected number of events n·p1.

Simulation. ``logrank_operating_characteristics`` simulates the trial under each scenario's true law:
entries over the accrual period, event times by inversion of the law (common random numbers: the same
uniforms for every scenario), administrative censoring at the analysis, t_f after the end of accrual.
Entries are ``uniform`` (default: deterministic, patient i = 1..n at i / rate, as the PFS operating
characteristics call it; the last patient enters at t_a = n / rate and is followed exactly t_f),
``random-uniform`` (independent and uniform over [0, t_a]: the model the formula assumes, equivalently
Poisson accrual given that the n-th patient arrives at t_a) or ``poisson`` (a Poisson process of the
given rate; the analysis t_f after the n-th arrival).

References: Finkelstein DM, Muzikansky A, Schoenfeld DA. Comparing survival of a sample to that of a
standard population. J Natl Cancer Inst 2003;95:1434–1439. Wu J. Sample size calculation for the
one-sample log-rank test. Pharm Stat 2015;14:26–33.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import integrate, stats

from designs.core.validation import MAX_COUNT, MAX_ERROR_RATE, MAX_SEED, Bounds, Checker, is_number
from designs.pfsdesign.laws import SurvivalLaw
from designs.survival.spec import MAX_TIME_MONTHS

STATISTICS = ("classical", "average-variance")
ACCRUALS = ("uniform", "random-uniform", "poisson")
MAX_N = 5_000
EXHAUSTIVE_N = 1_000
"""Where power is not monotone in n (curves that cross), every n up to the first grid point reaching the
target is tried, when that point is at most this (each n costs a few milliseconds of quadrature)."""
"""Largest sample size searched or simulated: beyond it a single-arm phase II trial is not a phase II trial,
and a design that needs more says so (the alternative is too close to the benchmark)."""
MAX_TRIALS = 1_000_000
ALPHA = Bounds(gt=0.0, le=MAX_ERROR_RATE)
POWER = Bounds(gt=0.0, lt=1.0)
ACCRUAL_RATE = Bounds(ge=0.01, le=1000.0)
"""Patients per month (0.01: one patient in eight years, so that t_a = n / rate stays finite in practice)."""
FOLLOW_UP = Bounds(ge=0.0, le=MAX_TIME_MONTHS)
CHUNK_CELLS = 2_000_000
"""Patients simulated at once (trials × n): bounds the memory of a simulation (~100 MB of arrays)."""
REFERENCES = (
    "Finkelstein DM, Muzikansky A, Schoenfeld DA. Comparing survival of a sample to that of a standard "
    "population. J Natl Cancer Inst 2003;95:1434-1439.",
    "Wu J. Sample size calculation for the one-sample log-rank test. Pharm Stat 2015;14:26-33.",
)
STATISTIC_FORMULAS = {
    "classical": "Z = (E - O) / sqrt(E)",
    "average-variance": "Z = (E - O) / sqrt((O + E) / 2)",
}
SAMPLE_SIZE_FORMULA = (
    "n = (sigma0 z_{1-alpha} + sigma z_{1-beta})^2 / omega^2 with sigma0^2 = p0, omega = p0 - p1, "
    "sigma^2 = p1 - p1^2 + 2 p00 - p0^2 - 2 p01 + 2 p0 p1 (Wu 2015, eq. 3); p0, p1, p00, p01 integrals of "
    "G S1 against the benchmark and alternative cumulative hazards under uniform accrual over t_a = n / rate "
    "and follow-up t_f; the smallest integer n whose power at t_a = n / rate reaches the target"
)
_ACCRUAL_TEXT = {
    "uniform": "deterministic, patient i = 1..n at i / rate",
    "random-uniform": "independent and uniform over the accrual period n / rate",
    "poisson": "a Poisson process at the accrual rate",
}
_GRID = sorted({round(1.25**k) for k in range(int(math.log(MAX_N, 1.25)) + 1)} | {MAX_N})
"""Sample sizes 1, 2, 3, 4, 5, 6, 7, 9, 12, … MAX_N scanned before the bisection (each within 25 % of the last)."""
_LARGE_HAZARD = 745.0
"""exp(−745) underflows to 0: an integrand carrying S = exp(−h) vanishes beyond."""


@dataclass(frozen=True)
class WuMoments:
    """Wu's (2015) moments of Λ0(X) − Δ per patient under the alternative, for given t_a and t_f."""

    p0: float
    p1: float
    p00: float
    p01: float

    @property
    def omega(self) -> float:
        """E[Λ0(X) − Δ]: the drift of E − O per patient (positive when the alternative is better)."""
        return self.p0 - self.p1

    @property
    def sigma0(self) -> float:
        return math.sqrt(self.p0)

    @property
    def sigma(self) -> float:
        variance = self.p1 - self.p1**2 + 2.0 * self.p00 - self.p0**2 - 2.0 * self.p01 + 2.0 * self.p0 * self.p1
        return math.sqrt(max(variance, 0.0))

    def power(self, n: float, alpha: float) -> float:
        """Φ((√n ω − σ0 z_{1−α}) / σ): the asymptotic power of the classical test with n patients."""
        z = stats.norm.isf(alpha)
        if self.sigma == 0.0:
            return 1.0 if math.sqrt(n) * self.omega > self.sigma0 * z else 0.0
        return float(stats.norm.cdf((math.sqrt(n) * self.omega - self.sigma0 * z) / self.sigma))

    def sample_size(self, alpha: float, power: float) -> float:
        """(σ0 z_{1−α} + σ z_{1−β})² / ω², not rounded (∞ when ω ≤ 0: the test has no power)."""
        if self.omega <= 0.0:
            return math.inf
        return float((self.sigma0 * stats.norm.isf(alpha) + self.sigma * stats.norm.ppf(power)) ** 2 / self.omega**2)

    def as_dict(self) -> dict[str, float]:
        return {"p0": self.p0, "p1": self.p1, "p00": self.p00, "p01": self.p01, "omega": self.omega,
                "sigma0": self.sigma0, "sigma": self.sigma}


def wu_moments(benchmark: SurvivalLaw, alternative: SurvivalLaw, *, accrual_months: float,
               follow_up_months: float) -> WuMoments:
    """p0, p1, p00, p01 of Wu (2015) under ``alternative``, accrual uniform over ``accrual_months`` and
    follow-up ``follow_up_months`` after the last patient (see the module for the integrals)."""
    t_a, t_f = float(accrual_months), float(follow_up_months)
    tau = t_a + t_f
    kinks = {t_f, *benchmark.cut_points, *alternative.cut_points}

    def censoring(t: float) -> float:
        """G(t): the probability that a patient is still under follow-up at time t after entry."""
        if t <= t_f:
            return 1.0
        return max(tau - t, 0.0) / t_a if t_a > 0.0 else 0.0

    def against(law: SurvivalLaw, weight: Callable[[float, float], float]) -> float:
        """∫_0^τ G(t) S1(t) weight(t, Λ(t)) dΛ(t) for Λ the law's cumulative hazard, as ∫ dh with t = Λ⁻¹(h)
        (against the alternative's own Λ1, S1 = e^{−h} vanishes beyond h = 745)."""
        top = float(law.cumulative_hazard(tau))
        if law == alternative:
            top = min(top, _LARGE_HAZARD)
        breaks = [float(law.cumulative_hazard(t)) for t in kinks if 0.0 < t < tau]

        def integrand(h: float) -> float:
            t = float(law.time_at(h))
            return censoring(t) * float(alternative.survival(t)) * weight(t, h)

        return _integrate(integrand, top, breaks)

    lambda0 = benchmark.cumulative_hazard
    return WuMoments(
        p0=against(benchmark, lambda t, h: 1.0),
        p1=against(alternative, lambda t, h: 1.0),
        p00=against(benchmark, lambda t, h: h),
        p01=against(alternative, lambda t, h: float(lambda0(t))),
    )


def _integrate(f: Callable[[float], float], top: float, breaks: Sequence[float]) -> float:
    """∫_0^top f by ``quad`` over pieces split at ``breaks`` (kinks of the integrand) and at 1, 2, 4, …
    (so that mass near 0 of a long range is never stepped over)."""
    if top <= 0.0:
        return 0.0
    edges = {0.0, top, *(b for b in breaks if 0.0 < b < top)}
    edge = 1.0
    while edge < top:
        edges.add(edge)
        edge *= 2.0
    points = sorted(edges)
    return float(sum(integrate.quad(f, a, b, epsabs=1e-13, epsrel=1e-11, limit=200)[0] for a, b in zip(points, points[1:])))


def logrank_sample_size(benchmark: SurvivalLaw, alternative: SurvivalLaw, *, alpha: float, power: float,
                        accrual_per_month: float, follow_up_months: float) -> dict[str, Any]:
    """The smallest n for which the classical one-sample log-rank test at one-sided level ``alpha`` has
    power ``power`` against ``alternative`` (Wu 2015), accruing ``accrual_per_month`` patients a month
    (t_a = n / rate) and following every patient at least ``follow_up_months`` after the last one enters.

    Raises ``InvalidInputError`` naming every impossible input: power ≤ α, an alternative the test has no
    power against (not better than the benchmark over the trial's follow-up), a design needing more than
    ``MAX_N`` patients.
    """
    check = Checker()
    _check_law(check, "benchmark", benchmark)
    _check_law(check, "alternative", alternative)
    alpha = check.number("alpha", alpha, ALPHA)
    power = check.number("power", power, POWER)
    rate = check.number("accrual_per_month", accrual_per_month, ACCRUAL_RATE)
    t_f = check.number("follow_up_months", follow_up_months, FOLLOW_UP)
    if alpha is not None and power is not None and power <= alpha:
        check.add("power", f"must exceed alpha (power {power} ≤ alpha {alpha}): a level-alpha test already rejects with probability alpha at the benchmark")
    check.raise_if_any()

    def moments(n: int) -> WuMoments:
        return wu_moments(benchmark, alternative, accrual_months=n / rate, follow_up_months=t_f)

    # Power rises with n when the alternative is better throughout; for curves that cross, a longer
    # accrual may lower ω, so power at MAX_N bounds nothing. A geometric scan finds the first grid point
    # reaching the target; if power ever fell along the scan, every n below that point is tried in turn
    # (the first n reaching the target, not one of several; up to EXHAUSTIVE_N, beyond which the bisection
    # is used and the answer is the first n after the last grid point below the target); otherwise a bisection between it and the
    # grid point before (power(low) < target ≤ power(high)). Only when no grid point reaches the target
    # is the design refused, quoting the best power found.
    powers: dict[int, float] = {}

    def power_at(n: int) -> float:
        if n not in powers:
            powers[n] = moments(n).power(n, alpha)
        return powers[n]

    low, high, falling, previous = 0, None, False, -1.0
    for n in _GRID:
        if power_at(n) >= power:
            high = n
            break
        falling |= powers[n] < previous
        previous, low = powers[n], n
    if high is None and falling:  # a peak between grid points may reach the target: try every n around it
        best = max(powers, key=powers.__getitem__)
        after = next((n for n in _GRID if n > best), MAX_N)
        high = next((n for n in range(1, min(after, EXHAUSTIVE_N) + 1) if power_at(n) >= power), None)
        low = high - 1 if high is not None else low
    if high is None:
        best = max(powers, key=powers.__getitem__)
        if all(moments(n).omega <= 0.0 for n in (_GRID[0], best)):
            check.add("alternative", "is not better than the benchmark over the trial's follow-up (E[Λ0(X)] ≤ P(event)): "
                      "the one-sample log-rank test has no power against it")
        else:
            why = ("power falls again as the trial grows, because the alternative's survival curve crosses the "
                   "benchmark's" if falling else "the alternative is too close to the benchmark for a single-arm trial")
            check.add("power", f"needs more than {MAX_N} patients: not reached by any n up to {MAX_N} (the highest power found is {powers[best]:.3f}, at "
                      f"n = {best}): {why}")
        check.raise_if_any()
    if falling and high <= EXHAUSTIVE_N:
        high = next(n for n in range(1, high + 1) if power_at(n) >= power)
    while high - low > 1:
        middle = (low + high) // 2
        if power_at(middle) >= power:
            high = middle
        else:
            low = middle
    n = high
    at_n = moments(n)
    t_a = n / rate
    return {
        "n": n,
        "accrual_months": t_a,
        "follow_up_months": t_f,
        "analysis_months": t_a + t_f,
        "expected_events": n * at_n.p1,
        "expected_benchmark_events": n * at_n.p0,
        "power_at_n": at_n.power(n, alpha),
        "power_at_n_minus_1": moments(n - 1).power(n - 1, alpha) if n > 1 else 0.0,
        "alpha": alpha,
        "power": power,
        "accrual_per_month": rate,
        "critical_value": float(stats.norm.isf(alpha)),
        "statistic": "classical",
        "statistic_formula": STATISTIC_FORMULAS["classical"],
        "formula": SAMPLE_SIZE_FORMULA,
        "moments": at_n.as_dict(),
        "formula_n_at_accrual": at_n.sample_size(alpha, power),
        "benchmark": benchmark.to_dict(),
        "alternative": alternative.to_dict(),
        "reference": list(REFERENCES),
    }


def one_sample_logrank(time: Any, event: Any, benchmark: SurvivalLaw, *, statistic: str = "classical") -> dict[str, Any]:
    """O, E, Z and the one-sided p-value 1 − Φ(Z) of the one-sample log-rank test of a data set (times in
    months, events 1 or 0) against ``benchmark``; Z > 0 when survival is better than the benchmark."""
    check = Checker()
    _check_law(check, "benchmark", benchmark)
    check.choice("statistic", statistic, STATISTICS)
    times, events = _data(check, time, event)
    check.raise_if_any()
    observed = float(events.sum())
    expected = float(benchmark.cumulative_hazard(times).sum())
    if expected <= 0.0:
        check.add("time", "no follow-up: every time is 0, so no events are expected under the benchmark and the test is undefined")
        check.raise_if_any()
    z = float(_z(np.asarray(observed), np.asarray(expected), statistic))
    return {
        "observed_events": observed,
        "expected_events": expected,
        "z": z,
        "p_value": float(stats.norm.sf(z)),
        "n": int(times.size),
        "statistic": statistic,
        "statistic_formula": STATISTIC_FORMULAS[statistic],
        "alternative": "survival better than the benchmark (Z > 0: fewer events than expected)",
        "benchmark": benchmark.to_dict(),
        "reference": list(REFERENCES),
    }


def logrank_operating_characteristics(benchmark: SurvivalLaw, laws: Mapping[str, SurvivalLaw], *, n: int,
                                      accrual_per_month: float, follow_up_months: float, alpha: float,
                                      n_trials: int, seed: int, statistic: str = "classical",
                                      accrual: str = "uniform") -> dict[str, dict[str, Any]]:
    """Per scenario (name → true law), the simulated probability that the one-sample log-rank test of n
    patients rejects H0 at one-sided level ``alpha``, with its Monte Carlo SE, the mean number of events
    O and of expected events E, and when the analysis happens (t_f after the end of accrual).

    Same arguments and seed give the same numbers; every scenario sees the same entries and the same
    uniforms (common random numbers), so that differences between scenarios are not Monte Carlo noise.
    """
    check = Checker()
    _check_law(check, "benchmark", benchmark)
    if not isinstance(laws, Mapping) or not 1 <= len(laws) <= 100:
        check.add("laws", "need between 1 and 100 scenarios, a mapping from names to survival laws")
        laws = {}
    for name, law in laws.items():
        _check_law(check, f"laws/{name}", law)
    n = check.integer("n", n, 1, MAX_N)
    rate = check.number("accrual_per_month", accrual_per_month, ACCRUAL_RATE)
    t_f = check.number("follow_up_months", follow_up_months, FOLLOW_UP)
    alpha = check.number("alpha", alpha, ALPHA)
    n_trials = check.integer("n_trials", n_trials, 1, MAX_TRIALS)
    check.integer("seed", seed, 0, MAX_SEED)
    check.choice("statistic", statistic, STATISTICS)
    check.choice("accrual", accrual, ACCRUALS)
    check.raise_if_any()

    names = list(laws)
    critical = float(stats.norm.isf(alpha))
    t_a = n / rate
    rejections = np.zeros(len(names))
    events = np.zeros(len(names))
    events_sq = np.zeros(len(names))
    expected = np.zeros(len(names))
    analysis_total = 0.0
    rng = np.random.default_rng(seed)
    chunk = max(1, CHUNK_CELLS // n)
    for start in range(0, n_trials, chunk):
        trials = min(chunk, n_trials - start)
        if accrual == "random-uniform":
            entry = rng.uniform(0.0, t_a, size=(trials, n))
            analysis = np.full((trials, 1), t_a + t_f)
        elif accrual == "uniform":
            entry = np.broadcast_to(np.arange(1, n + 1) / rate, (trials, n))
            analysis = np.full((trials, 1), t_a + t_f)
        else:
            entry = np.cumsum(rng.exponential(1.0 / rate, size=(trials, n)), axis=1)
            analysis = entry[:, -1:] + t_f
        uniforms = 1.0 - rng.random((trials, n))  # on (0, 1]: T = H⁻¹(−log U) finite
        follow = analysis - entry
        analysis_total += float(analysis.sum())
        for j, name in enumerate(names):
            times = laws[name].sample(uniforms)
            observed_events = times <= follow
            x = np.where(observed_events, times, follow)
            o = observed_events.sum(axis=1).astype(float)
            e = benchmark.cumulative_hazard(x).sum(axis=1)
            rejections[j] += np.count_nonzero(_z(o, e, statistic) > critical)
            events[j] += o.sum()
            events_sq[j] += (o**2).sum()
            expected[j] += e.sum()

    method = (f"simulation of {n_trials} trials of {n} patients (seed {seed}): entries {_ACCRUAL_TEXT[accrual]}, "
              "event times by inversion of the scenario's law (the same uniforms in every scenario), administrative "
              f"censoring {t_f:g} months after the end of accrual; reject H0 when {STATISTIC_FORMULAS[statistic]} > "
              f"z_(1-alpha) = {critical:.4f}")
    out: dict[str, dict[str, Any]] = {}
    for j, name in enumerate(names):
        p = rejections[j] / n_trials
        mean_o = events[j] / n_trials
        var_o = max(events_sq[j] / n_trials - mean_o**2, 0.0)
        out[name] = {
            "reject_probability": float(p),
            "mcse": math.sqrt(p * (1.0 - p) / n_trials),
            "mean_events": float(mean_o),
            "mean_events_mcse": math.sqrt(var_o / n_trials),
            "mean_expected_events": float(expected[j] / n_trials),
            "analysis_months": analysis_total / n_trials,
            "accrual_months": t_a if accrual != "poisson" else analysis_total / n_trials - t_f,
            "n": n,
            "n_trials": n_trials,
            "alpha": alpha,
            "critical_value": critical,
            "statistic": statistic,
            "statistic_formula": STATISTIC_FORMULAS[statistic],
            "accrual": accrual,
            "seed": seed,
            "method": method,
            "law": laws[name].to_dict(),
        }
    return out


def _z(observed: np.ndarray, expected: np.ndarray, statistic: str) -> np.ndarray:
    """The statistic, 0 where its variance estimate is 0 (no information: never rejects, never NaN)."""
    variance = expected if statistic == "classical" else (observed + expected) / 2.0
    return np.divide(expected - observed, np.sqrt(variance), out=np.zeros_like(variance, dtype=float), where=variance > 0.0)


def _check_law(check: Checker, where: str, law: Any) -> None:
    if not isinstance(law, SurvivalLaw):
        check.add(where, f"must be a survival law (designs.pfsdesign.laws.SurvivalLaw), got {type(law).__name__}")


def _data(check: Checker, time: Any, event: Any) -> tuple[np.ndarray, np.ndarray]:
    """Times (finite, ≥ 0, at most MAX_TIME_MONTHS) and event indicators (0 or 1), one per patient."""
    time, event = (x.tolist() if isinstance(x, np.ndarray) else x for x in (time, event))
    ok = check.size("time", time, 1, MAX_COUNT, "times (months), one per patient")
    ok &= check.size("event", event, 1, MAX_COUNT, "event indicators (1 event, 0 censored), one per patient")
    if not ok:
        return np.zeros(0), np.zeros(0)
    for i, t in enumerate(time):
        if not is_number(t) or not 0.0 <= t <= MAX_TIME_MONTHS:
            check.add(f"time/{i}", f"must be a number of months in [0, {MAX_TIME_MONTHS:g}] (got {t!r})")
    for i, d in enumerate(event):
        if d not in (0, 1):
            check.add(f"event/{i}", f"must be 1 (event) or 0 (censored) (got {d!r})")
    if len(time) != len(event):
        check.add("event", f"need one event indicator per time ({len(time)} times, {len(event)} indicators)")
    if check.problems:
        return np.zeros(0), np.zeros(0)
    return np.asarray(time, dtype=float), np.asarray(event, dtype=float)
