"""An interim progression-free-survival analysis end to end: patients in, per-stratum result out.

Per stratum j: n, events d_j, person-months T_j, the Kaplan–Meier curve with Ŝ(L) and its Greenwood
95% CI, and the posterior of S_j(L), of the median PFS and of the landmark hazard ratio to the
benchmark −ln S_j(L) / −ln S₀(L) (= λ_j / λ₀ for exponential models), from one of three engines:

    closed-form   independent-exponential: λ_j ~ Gamma(a + d_j, b + T_j), exact
    quadrature    hierarchical-exponential: deterministic integration over (μ, τ) (designs.engines.quadrature)
    mcmc          hierarchical kinds: PyMC + nutpie (designs.engines.pymc), checked by R-hat, ESS, divergences

Decision per stratum (first that applies; ``designs.survival.decisions.explain_pfs``), with
p_B = P(S_j(L) > benchmark | data) and p_T = P(S_j(L) > target | data):

    final_success        final analysis: the stratum's n_planned patients are all enrolled and
                         evaluable at L (progressed or died, or followed for at least L months),
                         and p_B > final_threshold (0.95)                                   → "go"
    final_failure        final analysis otherwise                                          → "no-go"
    futility_posterior   p_B < futility_prob_above_benchmark (default 0.10)                → "no-go"
    efficacy_posterior   p_T > efficacy_prob_above_target (off by default)                 → "go"
    continue             otherwise                                                          → "continue"

A stratum without n_planned never reaches its final analysis, however mature its data (a typed
``no-planned-n`` warning says so): only futility or early efficacy can stop it.

Summaries of draws, probabilities with their Monte Carlo standard errors, the default seed and the
``diagnostics`` block are ``designs.core.posterior_summary``'s, shared with the response analysis.
Warnings are typed caveats (``designs.core.caveats``).

Densities (``designs.core.densities``, for the report's figures): ``posterior.landmark_pfs.density``, S(L)
on [0, 1], and ``between_stratum_spread.density``, τ on [0, upper], from the engine used (closed form:
Gamma CDF differences; quadrature: the engine's CDFs; MCMC: histograms of the draws). They add keys
only: every other number is as without them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from scipy import special

from designs.core import densities
from designs.core import posterior_summary as summary
from designs.core.caveats import Comparison, caveat, near_threshold
from designs.core.provenance import provenance
from designs.engines import pymc as pymc_engine
from designs.engines import quadrature
from designs.engines.sampler_settings import SamplerSettings
from designs.survival import models as survival_models
from designs.survival.decisions import Enrolment, PFSDecisionRule, explain_pfs
from designs.survival.kaplan_meier import kaplan_meier
from designs.survival.models import Benchmark, GammaHazardPosterior, GammaHazardPrior, HierarchicalHazardPrior
from designs.survival.spec import PFSAnalysisSpec

_Q_LOW, _Q_HIGH = summary.QUANTILE_LOW, summary.QUANTILE_HIGH
CI_LEVEL = summary.CI_PROB
"""Level of every posterior interval (``ci95``): stated beside each as ``ci_level``."""
KM_CI_LEVEL = 0.95
"""Level of the Kaplan–Meier Greenwood interval (``designs.survival.kaplan_meier``)."""
TAU_SCALE = "log-hazard"
"""τ is the between-stratum sd of log λ_j (log λ_jk, piecewise): a number on the log-hazard scale."""
FEW_EVENTS = 3
"""A stratum with fewer events than this is flagged: its posterior leans on the prior and other strata."""


@dataclass(frozen=True)
class StratumFollowUp:
    """One stratum's follow-up times (months) and event indicators, as arrays."""

    name: str
    time: np.ndarray
    event: np.ndarray

    @property
    def n(self) -> int:
        return int(self.time.size)


def follow_up(spec: PFSAnalysisSpec) -> list[StratumFollowUp]:
    """The per-stratum data in reporting order."""
    return [
        StratumFollowUp(
            name,
            np.array([p.time_months for p in spec.patients if p.stratum == name]),
            np.array([p.event for p in spec.patients if p.stratum == name], dtype=bool),
        )
        for name in spec.strata
    ]


# --- posterior engines ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Summaries:
    """Per-stratum posterior summaries from any engine (lists and arrays indexed by stratum)."""

    landmark_pfs: list[dict[str, Any]]  # mean, median, ci95, density
    median_pfs: list[dict[str, Any]]  # median, ci95
    hazard_ratio: list[dict[str, Any]]  # median, ci95
    prob_above_benchmark: np.ndarray
    prob_above_target: np.ndarray
    mcse_above_benchmark: np.ndarray | None  # None: exact
    mcse_above_target: np.ndarray | None
    tau: dict[str, Any] | None  # mean, median, ci95, density of the between-stratum sd; None: no hierarchy
    diagnostics: dict[str, Any]
    sampler: dict[str, Any] | None = None
    events_at_time_zero: int = 0  # moved to half a day: the MCMC and quadrature likelihoods need T > 0


def _from_landmark_quantiles(
    median: np.ndarray, low: np.ndarray, high: np.ndarray, benchmark: Benchmark
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Median PFS and HR of an exponential model from quantiles of S(L) (both monotone in S(L)).

    λ = −ln S(L) / L, so median PFS = L·ln 2 / −ln S(L) increases and HR = λ / λ₀ decreases with S(L).
    """
    L = benchmark.landmark_months
    with np.errstate(divide="ignore"):
        to_median = lambda s: L * survival_models.LN2 / -np.log(s)  # noqa: E731
        to_ratio = lambda s: survival_models.hazard_ratio_to_benchmark(s, benchmark)  # noqa: E731
        medians = [
            {"median": summary.finite_or_none(m), "ci95": summary.interval(lo, hi)}
            for m, lo, hi in zip(to_median(median), to_median(low), to_median(high))
        ]
        ratios = [
            {"median": summary.finite_or_none(m), "ci95": summary.interval(lo, hi)}
            for m, lo, hi in zip(to_ratio(median), to_ratio(high), to_ratio(low))
        ]
    return medians, ratios


def _closed_form(
    prior: GammaHazardPrior, events: np.ndarray, exposure: np.ndarray, benchmark: Benchmark, target: Benchmark
) -> _Summaries:
    """independent-exponential: λ_j ~ Gamma(a + d_j, b + T_j), every summary in closed form."""
    post = GammaHazardPosterior.update(prior, events, exposure)
    L = benchmark.landmark_months
    median, low, high = (post.landmark_quantile(q, L) for q in (0.5, _Q_LOW, _Q_HIGH))
    landmark = [
        {"mean": float(m), "median": float(q), "ci95": summary.interval(lo, hi), "density": density}
        for m, q, lo, hi, density in zip(post.landmark_mean(L), median, low, high, _gamma_landmark_densities(post, L))
    ]
    medians, ratios = _from_landmark_quantiles(median, low, high, benchmark)
    return _Summaries(
        landmark, medians, ratios,
        post.prob_landmark_above(benchmark.landmark_pfs, L), post.prob_landmark_above(target.landmark_pfs, L),
        None, None, None,
        summary.closed_form_diagnostics(
            "exact: conjugate Gamma posterior of the exponential hazards; S(L) = exp(−λL) quantiles and tail "
            "probabilities from the Gamma distribution of λ"
        ),
    )


def _gamma_landmark_densities(post: GammaHazardPosterior, landmark_months: float) -> list[dict[str, Any]]:
    """Each stratum's density of S(L) = exp(−λL), λ ~ Gamma(a, b): P(S(L) ≤ s) = P(λ ≥ −ln s / L),
    Q(a, b·h) (and its survival function P(a, b·h), for the upper tail's accuracy)."""

    def hazard(s: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return -np.log(s) / landmark_months

    return [
        densities.from_cdf(lambda s, a=a, b=b: special.gammaincc(a, b * hazard(s)), 0.0, 1.0, "exact: Gamma CDF differences",
                           sf=lambda s, a=a, b=b: special.gammainc(a, b * hazard(s)))
        for a, b in zip(post.shape, post.rate)
    ]


def _quadrature(
    prior: HierarchicalHazardPrior, events: np.ndarray, exposure: np.ndarray, benchmark: Benchmark, target: Benchmark
) -> _Summaries:
    """hierarchical-exponential by deterministic quadrature over (μ, τ) on θ = log λ."""
    L = benchmark.landmark_months
    hierarchy = quadrature.NormalHierarchy(prior.mu_mean, prior.mu_sd, prior.tau_scale)
    likelihoods = [quadrature.ExposureLikelihood(float(d), float(T)) for d, T in zip(events, exposure)]
    engine = quadrature.QuadratureEngine.for_likelihoods(hierarchy, likelihoods)
    transform = LandmarkTransform(L)
    post = engine.analyse(likelihoods, thresholds=(benchmark.landmark_pfs, target.landmark_pfs), transform=transform)
    median = np.array([s.median for s in post.strata])
    low = np.array([s.ci95[0] for s in post.strata])
    high = np.array([s.ci95[1] for s in post.strata])
    landmark = [
        {"mean": s.mean, "median": s.median, "ci95": list(s.ci95),
         "density": densities.from_cdf(lambda x, m=s.marginal: m.parameter_cdf(x, transform), 0.0, 1.0, densities.QUADRATURE)}
        for s in post.strata
    ]
    medians, ratios = _from_landmark_quantiles(median, low, high, benchmark)
    prob = lambda c: np.array([s.prob_above[c] for s in post.strata])  # noqa: E731
    tau = {"mean": post.tau.mean, "median": post.tau.median, "ci95": list(post.tau.ci95),
           "density": densities.from_cdf_on_half_line(post.tau.cdf, post.tau.quantile, densities.QUADRATURE_TAU)}
    return _Summaries(
        landmark, medians, ratios, prob(benchmark.landmark_pfs), prob(target.landmark_pfs), None, None, tau,
        summary.quadrature_diagnostics(post),
    )


@dataclass(frozen=True)
class LandmarkTransform:
    """θ = log λ ↦ S(L) = exp(−L·e^θ), decreasing: the quadrature engine's ``Transform`` for S(L).

    Equal landmarks give equal (and equally hashed) transforms, so the engine's tables of S(L),
    keyed by the transform, are found again by a repeated analysis.
    """

    landmark_months: float
    increasing: ClassVar[bool] = False

    @property
    def name(self) -> str:
        L = self.landmark_months
        return f"S({L:g}) = exp(−{L:g}·e^θ)"

    def forward(self, theta: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # e^θ = ∞ far out on the grid: S = 0 there
            return np.exp(-self.landmark_months * np.exp(theta))

    def inverse(self, s: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(-np.log(s) / self.landmark_months)


def _mcmc(
    spec: PFSAnalysisSpec, strata: list[StratumFollowUp], seed: int, benchmark: Benchmark, target: Benchmark
) -> _Summaries:
    """Hierarchical kinds by NUTS: summaries of draws; probabilities with their MCSE."""
    model = spec.model
    data = pymc_engine.PFSData(tuple(s.time for s in strata), tuple(s.event.astype(float) for s in strata))
    settings = spec.sampler or SamplerSettings()
    draws = pymc_engine.sample_pfs(model, data, settings, seed)
    landmark = draws.survival(benchmark.landmark_months)
    ratio = survival_models.hazard_ratio_to_benchmark(landmark, benchmark)
    p_benchmark, mcse_benchmark = summary.probability_above(landmark, benchmark.landmark_pfs, draws.chains)
    p_target, mcse_target = summary.probability_above(landmark, target.landmark_pfs, draws.chains)
    landmark_summaries = [
        {**row, "density": densities.from_draws(landmark[:, j], 0.0, 1.0, densities.MCMC)}
        for j, row in enumerate(summary.summarise_draws(landmark))
    ]
    tau = {**summary.summarise_scalar_draws(draws.tau, draws.chains),
           "density": densities.from_draws_on_half_line(draws.tau, densities.MCMC)}
    return _Summaries(
        landmark_summaries, summary.summarise_draws(draws.median_survival(), with_mean=False),
        summary.summarise_draws(ratio, with_mean=False), p_benchmark, p_target, mcse_benchmark, mcse_target,
        tau, summary.mcmc_diagnostics(draws.diagnostics), draws.sampler,
        sum(data.n_events_at_time_zero),
    )


def _posterior(
    spec: PFSAnalysisSpec, strata: list[StratumFollowUp], seed: int, benchmark: Benchmark, target: Benchmark
) -> _Summaries:
    model = spec.model
    if model.engine == "closed-form":
        events = np.array([s.event.sum() for s in strata], dtype=float)
        exposure = np.array([s.time.sum() for s in strata])
        return _closed_form(model.prior, events, exposure, benchmark, target)
    if model.engine == "quadrature":
        events, exposure, at_zero = quadrature_statistics(strata)
        summaries = _quadrature(model.prior, events, exposure, benchmark, target)
        return replace(summaries, events_at_time_zero=at_zero)
    return _mcmc(spec, strata, seed, benchmark, target)


def quadrature_statistics(strata: list[StratumFollowUp]) -> tuple[np.ndarray, np.ndarray, int]:
    """Events d_j and exposure T_j per stratum as the quadrature engine takes them, and the number of
    events at t = 0. As the MCMC engine's PFSData, an event at t = 0 is placed at half a day, else a
    stratum whose only events are at 0 has T = 0 and d·log λ no maximum."""
    events = np.array([s.event.sum() for s in strata], dtype=float)
    at_zero = np.array([(s.event & (s.time <= 0.0)).sum() for s in strata])
    exposure = np.array([s.time.sum() for s in strata]) + pymc_engine.MIN_EVENT_TIME_MONTHS * at_zero
    return events, exposure, int(at_zero.sum())


# --- decision -------------------------------------------------------------------------------


def decide(
    prob_above_benchmark: float,
    prob_above_target: float,
    enrolment: Enrolment,
    rule: PFSDecisionRule,
    *,
    benchmark: float,
    target: float,
    landmark: float,
) -> tuple[str, dict[str, str]]:
    """The stratum's decision and the criterion that fired: ("go" | "no-go" | "continue", {id, text})."""
    decision = explain_pfs(
        rule, prob_above_benchmark, prob_above_target, enrolment, benchmark=benchmark, target=target, landmark=landmark
    )
    return decision.decision, decision.criterion_dict()


# --- the analysis ------------------------------------------------------------------------------


def _mcse(values: np.ndarray | None, j: int) -> float | None:
    return None if values is None else float(values[j])


def _beyond(values: dict[str, Any], limit: float) -> list[str]:
    named = [("median", values.get("median")), ("ci95_lower", values["ci95"][0]), ("ci95_upper", values["ci95"][1])]
    return [name for name, v in named if v is not None and v > limit]


def _near_threshold(name: str, decision: str, fired: str, spec: PFSAnalysisSpec, j: int, posterior: _Summaries,
                    benchmark: float, target: float, landmark: float) -> list[dict[str, Any]]:
    """``decision-near-threshold`` caveats: an MCMC probability that decides lies within two of its Monte
    Carlo SEs of the threshold it is compared with (the rule's comparisons, in its order; the criterion
    that fired says whether this was the stratum's final analysis)."""
    if posterior.mcse_above_benchmark is None:
        return []
    rule = spec.decision
    p_b = (f"P(S({landmark:g}) > {benchmark:g} | data)", float(posterior.prob_above_benchmark[j]),
           _mcse(posterior.mcse_above_benchmark, j))
    p_t = (f"P(S({landmark:g}) > {target:g} | data)", float(posterior.prob_above_target[j]),
           _mcse(posterior.mcse_above_target, j))
    if fired.startswith("final"):
        comparisons = [Comparison("final_success", *p_b, rule.final_threshold)]
    else:
        comparisons = [Comparison("futility_posterior", *p_b, rule.futility_prob_above_benchmark),
                       Comparison("efficacy_posterior", *p_t, rule.efficacy_prob_above_target)]
    remedy = ("Confirm with engine 'quadrature' (deterministic) or more draws (mcmc.draws)."
              if spec.model.kind == "hierarchical-exponential" else "Confirm with more draws (mcmc.draws).")
    return near_threshold(name, decision, fired, comparisons, remedy)


def analyse_pfs(spec: PFSAnalysisSpec) -> dict[str, Any]:
    """Fit and decide; the canonical JSON-ready result (see the module docstring).

    ``spec`` is trusted (build it with ``PFSAnalysisSpec.from_mapping``); its request as received
    is hashed for provenance and the default seed.
    """
    strata = follow_up(spec)
    payload = spec.payload()
    seed = summary.resolve_seed(spec.seed, payload)
    L = float(spec.landmark_months)
    benchmark = Benchmark(L, float(spec.benchmark_landmark_pfs))
    target = Benchmark(L, float(spec.target_landmark_pfs))
    posterior = _posterior(spec, strata, seed, benchmark, target)
    landmark, median_pfs = posterior.landmark_pfs, posterior.median_pfs

    warnings: list[dict[str, Any]] = []
    results = []
    for j, stratum in enumerate(strata):
        curve = kaplan_meier(stratum.time, stratum.event)
        km_landmark = curve.landmark(L)
        last = curve.last_follow_up
        evaluable = int(np.count_nonzero(stratum.event | (stratum.time >= L)))
        events = int(stratum.event.sum())
        decision, criterion = decide(
            float(posterior.prob_above_benchmark[j]), float(posterior.prob_above_target[j]),
            Enrolment(evaluable, stratum.n, spec.planned(stratum.name)), spec.decision,
            benchmark=benchmark.landmark_pfs, target=target.landmark_pfs, landmark=L,
        )
        warnings.extend(_near_threshold(
            stratum.name, decision, criterion["id"], spec, j, posterior, benchmark.landmark_pfs, target.landmark_pfs, L))
        landmark_j = dict(landmark[j], extrapolated=L > last, ci_level=CI_LEVEL)
        median_j = dict(median_pfs[j], beyond_follow_up=_beyond(median_pfs[j], last), ci_level=CI_LEVEL)
        name = stratum.name
        if spec.planned(name) is None:
            text = (f"{name}: no n_planned, so no final analysis: only futility or early efficacy can decide; "
                    f"list the stratum in strata as {{name, n_planned}} for a final go / no-go")
            warnings.append(caveat("no-planned-n", text, name))
        if events < FEW_EVENTS:
            borrowing = " and the other strata" if spec.model.hierarchical else ""
            warnings.append(caveat("stratum-sparse", f"{name}: {events} event(s); the posterior rests mostly on the prior{borrowing}", name))
        if not km_landmark.estimable:
            text = f"{name}: the Kaplan–Meier estimate at {L:g} months is undefined (last follow-up {last:g} months, no one left at risk)"
            warnings.append(caveat("km-not-estimable", text, name))
        if L > last:
            warnings.append(caveat("extrapolation", f"{name}: S({L:g}) extrapolates beyond the last follow-up ({last:g} months)", name))
        if median_j["beyond_follow_up"]:
            text = (
                f"{name}: median PFS {', '.join(median_j['beyond_follow_up'])} lies beyond the last "
                f"follow-up ({last:g} months): the model extrapolates"
            )
            warnings.append(caveat("extrapolation", text, name))
        row: dict[str, Any] = {
            "name": stratum.name,
            "n": stratum.n,
            "n_planned": spec.planned(name),
            "events": events,
            "person_months": float(stratum.time.sum()),
            "last_follow_up_months": last,
            "evaluable_at_landmark": evaluable,
            "kaplan_meier": {"curve": {**curve.to_dict(), "ci_level": KM_CI_LEVEL},
                             "landmark": {**km_landmark.to_dict(), "ci_level": KM_CI_LEVEL}},
            "posterior": {
                "landmark_pfs": landmark_j,
                "median_pfs": median_j,
                "hazard_ratio_to_benchmark": {**posterior.hazard_ratio[j], "ci_level": CI_LEVEL},
            },
            "prob_landmark_above_benchmark": float(posterior.prob_above_benchmark[j]),
            "prob_landmark_above_target": float(posterior.prob_above_target[j]),
            "monte_carlo_se": {
                "prob_landmark_above_benchmark": _mcse(posterior.mcse_above_benchmark, j),
                "prob_landmark_above_target": _mcse(posterior.mcse_above_target, j),
            },
            "decision": decision,
            "decision_criterion": criterion,
        }
        results.append(row)

    diagnostics = posterior.diagnostics
    warnings.extend(summary.diagnostics_warnings(diagnostics))
    sampler = posterior.sampler
    at_zero = posterior.events_at_time_zero
    if at_zero:
        text = f"{at_zero} event(s) at time 0 were placed at half a day for the likelihood (log 0 is undefined)"
        warnings.append(caveat("events-at-time-zero", text))
    tau = posterior.tau
    spread = None if tau is None else {
        "parameter": "tau",
        "description": "between-stratum sd of log hazards",
        **tau,
        "ci_level": CI_LEVEL,
        "scale": TAU_SCALE,
    }
    return {
        "landmark_months": L,
        "strata": results,
        "benchmark": benchmark.to_dict(),
        "target": target.to_dict(),
        "between_stratum_spread": spread,
        "diagnostics": diagnostics,
        "provenance": provenance(
            payload,
            model=spec.model.to_dict(),
            engine=spec.model.engine,
            sampler=sampler,
            seed=seed if spec.model.engine == "mcmc" else None,
            method=_METHOD[spec.model.engine],
        ),
        "warnings": warnings,
    }


_METHOD = {
    "closed-form": "conjugate Gamma posterior of exponential hazards (exact)",
    "quadrature": "deterministic quadrature over (μ, τ) of the hierarchical exponential model",
    "mcmc": "NUTS (PyMC + nutpie), non-centred hierarchical model",
}
