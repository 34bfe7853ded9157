"""An interim progression-free-survival analysis end to end: patients in, per-stratum result out.

Per stratum j: n, events d_j, person-months T_j, the Kaplan–Meier curve with Ŝ(L) and its Greenwood
95% CI, and the posterior of S_j(L), of the median PFS and of the landmark hazard ratio to the
benchmark −ln S_j(L) / −ln S₀(L) (= λ_j / λ₀ for exponential models), from one of three engines:

    closed-form   independent-exponential: λ_j ~ Gamma(a + d_j, b + T_j), exact
    quadrature    hierarchical-exponential: deterministic integration over (μ, τ) (designs.engines.quadrature)
    mcmc          hierarchical kinds: PyMC + nutpie (designs.engines.pymc), checked by R-hat, ESS, divergences

Decision per stratum (first that applies; ``designs.response.decisions.explain_pfs``), with
p_B = P(S_j(L) > benchmark | data) and p_T = P(S_j(L) > target | data):

    final_success        every patient of the stratum is evaluable at L (progressed or died, or
                         followed for at least L months) and p_B > final_threshold (0.95)  → "go"
    futility_posterior   p_B < futility_prob_above_benchmark (default 0.10)                → "no-go"
    efficacy_posterior   p_T > efficacy_prob_above_target (off by default)                 → "go"
    continue             otherwise                                                          → "continue"

With no planned sample size in the request, a stratum whose mature data fall short of the final
threshold is told to continue (unless futility fires), not "no-go".

Summaries of draws, probabilities with their Monte Carlo standard errors, the default seed and the
``diagnostics`` block are ``designs.core.posterior_summary``'s, shared with the response analysis.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from designs.core import posterior_summary as summary
from designs.survival import models as survival
from designs.response.decisions import PFSDecisionRule, explain_pfs
from designs.core.errors import FieldProblem, InvalidInputError
from designs.survival.kaplan_meier import kaplan_meier
from designs.core.provenance import provenance
from designs.survival.models import Benchmark, GammaHazardPosterior, GammaHazardPrior, HierarchicalHazardPrior, PFSModel

MAX_PATIENTS = 2000
MAX_STRATA = 12
_Q_LOW, _Q_HIGH = summary.QUANTILE_LOW, summary.QUANTILE_HIGH
FEW_EVENTS = 3
"""A stratum with fewer events than this is flagged: its posterior leans on the prior and other strata."""


@dataclass(frozen=True)
class PatientRecord:
    """One patient: ``event`` True = progression or death at ``time_months``, False = censored then."""

    id: str | int
    stratum: str
    time_months: float
    event: bool


@dataclass(frozen=True)
class PFSAnalysisInput:
    """Everything one analysis needs, as plain data."""

    patients: Sequence[PatientRecord]
    benchmark_landmark_pfs: float
    target_landmark_pfs: float
    landmark_months: float = 4.0
    model: PFSModel = field(default_factory=PFSModel)
    decision: PFSDecisionRule = field(default_factory=PFSDecisionRule)
    strata: Sequence[str] | None = None
    sampler: Any = None  # designs.engines.pymc.SamplerSettings; None: its defaults
    seed: int | None = None


@dataclass(frozen=True)
class StratumData:
    name: str
    time: np.ndarray
    event: np.ndarray

    @property
    def n(self) -> int:
        return int(self.time.size)


# --- validation -------------------------------------------------------------------------------


def _open_probability(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and 0.0 < value < 1.0


def validate(request: PFSAnalysisInput) -> list[StratumData]:
    """The per-stratum data in reporting order; raises InvalidInputError naming every bad field.

    Patient problems are located as ``patients/<index>/<field>`` and name the patient id.
    """
    problems: list[FieldProblem] = []
    L = request.landmark_months
    if isinstance(L, bool) or not isinstance(L, int | float) or not math.isfinite(L) or L <= 0:
        problems.append(FieldProblem("landmark_months", f"must be a finite number of months > 0 (got {L})"))
    for name in ("benchmark_landmark_pfs", "target_landmark_pfs"):
        if not _open_probability(getattr(request, name)):
            problems.append(FieldProblem(name, f"must lie strictly between 0 and 1 (got {getattr(request, name)})"))
    if (
        _open_probability(request.benchmark_landmark_pfs)
        and _open_probability(request.target_landmark_pfs)
        and request.target_landmark_pfs <= request.benchmark_landmark_pfs
    ):
        problems.append(
            FieldProblem(
                "target_landmark_pfs",
                f"must be greater than benchmark_landmark_pfs (benchmark = {request.benchmark_landmark_pfs}, "
                f"target = {request.target_landmark_pfs})",
            )
        )
    problems.extend(request.decision.problems())

    patients = list(request.patients)
    if not 1 <= len(patients) <= MAX_PATIENTS:
        problems.append(FieldProblem("patients", f"need between 1 and {MAX_PATIENTS} patients (got {len(patients)})"))
    listed = list(request.strata) if request.strata is not None else None
    if listed is not None:
        if not 1 <= len(listed) <= MAX_STRATA:
            problems.append(FieldProblem("strata", f"need between 1 and {MAX_STRATA} strata"))
        for i, name in enumerate(listed):
            if name in listed[:i]:
                problems.append(FieldProblem(f"strata/{i}", f"repeats stratum '{name}'"))
    order: list[str] = list(dict.fromkeys(listed)) if listed is not None else []
    seen_ids: dict[str, int] = {}
    for i, patient in enumerate(patients):
        where, label = f"patients/{i}", f"patient {patient.id!r}"
        key = str(patient.id)
        if key in seen_ids:
            problems.append(FieldProblem(f"{where}/id", f"{label}: duplicate id (first at patients/{seen_ids[key]})"))
        else:
            seen_ids[key] = i
        t = patient.time_months
        if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
            problems.append(FieldProblem(f"{where}/time_months", f"{label}: time must be a finite number (got {t})"))
        elif t < 0:
            problems.append(FieldProblem(f"{where}/time_months", f"{label}: time must be ≥ 0 (got {t})"))
        if not isinstance(patient.event, bool | np.bool_):
            problems.append(FieldProblem(f"{where}/event", f"{label}: event must be true or false"))
        if listed is not None:
            if patient.stratum not in order:
                problems.append(
                    FieldProblem(
                        f"{where}/stratum",
                        f"{label}: unknown stratum '{patient.stratum}' (strata: {', '.join(order)})",
                    )
                )
        elif patient.stratum not in order:
            order.append(patient.stratum)
    if listed is None and len(order) > MAX_STRATA:
        problems.append(FieldProblem("patients", f"at most {MAX_STRATA} strata (got {len(order)})"))
    counts = {name: 0 for name in order}
    for patient in patients:
        if patient.stratum in counts:
            counts[patient.stratum] += 1
    for j, name in enumerate(order):
        if listed is not None and counts[name] == 0:
            problems.append(FieldProblem(f"strata/{j}", f"stratum '{name}' has no patients"))
    if problems:
        raise InvalidInputError(problems)
    strata = []
    for name in order:
        rows = [p for p in patients if p.stratum == name]
        strata.append(
            StratumData(
                name,
                np.array([float(p.time_months) for p in rows]),
                np.array([bool(p.event) for p in rows]),
            )
        )
    return strata


# --- posterior engines ---------------------------------------------------------------------


@dataclass(frozen=True)
class _Summaries:
    """Per-stratum posterior summaries from any engine (lists and arrays indexed by stratum)."""

    landmark_pfs: list[dict[str, Any]]  # mean, median, ci95
    median_pfs: list[dict[str, Any]]  # median, ci95
    hazard_ratio: list[dict[str, Any]]  # median, ci95
    prob_above_benchmark: np.ndarray
    prob_above_target: np.ndarray
    mcse_above_benchmark: np.ndarray | None  # None: exact
    mcse_above_target: np.ndarray | None
    tau: dict[str, Any] | None  # mean, median, ci95 of the between-stratum sd; None: no hierarchy
    diagnostics: dict[str, Any]
    sampler: dict[str, Any] | None = None


def _from_landmark_quantiles(
    median: np.ndarray, low: np.ndarray, high: np.ndarray, benchmark: Benchmark
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Median PFS and HR of an exponential model from quantiles of S(L) (both monotone in S(L)).

    λ = −ln S(L) / L, so median PFS = L·ln 2 / −ln S(L) increases and HR = λ / λ₀ decreases with S(L).
    """
    L = benchmark.landmark_months
    with np.errstate(divide="ignore"):
        to_median = lambda s: L * survival.LN2 / -np.log(s)  # noqa: E731
        to_ratio = lambda s: survival.hazard_ratio_to_benchmark(s, benchmark)  # noqa: E731
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
        {"mean": float(m), "median": float(q), "ci95": summary.interval(lo, hi)}
        for m, q, lo, hi in zip(post.landmark_mean(L), median, low, high)
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


def _quadrature(
    prior: HierarchicalHazardPrior, events: np.ndarray, exposure: np.ndarray, benchmark: Benchmark, target: Benchmark
) -> _Summaries:
    """hierarchical-exponential by deterministic quadrature over (μ, τ) on θ = log λ."""
    from designs.engines import quadrature

    L = benchmark.landmark_months
    hierarchy = quadrature.NormalHierarchy(prior.mu_mean, prior.mu_sd, prior.tau_scale)
    likelihoods = [quadrature.ExposureLikelihood(float(d), float(T)) for d, T in zip(events, exposure)]
    engine = quadrature.QuadratureEngine.for_likelihoods(hierarchy, likelihoods)
    post = engine.analyse(
        likelihoods, thresholds=(benchmark.landmark_pfs, target.landmark_pfs), transform=landmark_transform(L)
    )
    median = np.array([s.median for s in post.strata])
    low = np.array([s.ci95[0] for s in post.strata])
    high = np.array([s.ci95[1] for s in post.strata])
    landmark = [{"mean": s.mean, "median": s.median, "ci95": list(s.ci95)} for s in post.strata]
    medians, ratios = _from_landmark_quantiles(median, low, high, benchmark)
    prob = lambda c: np.array([s.prob_above[c] for s in post.strata])  # noqa: E731
    tau = {"mean": post.tau.mean, "median": post.tau.median, "ci95": list(post.tau.ci95)}
    return _Summaries(
        landmark, medians, ratios, prob(benchmark.landmark_pfs), prob(target.landmark_pfs), None, None, tau,
        summary.quadrature_diagnostics(post),
    )


def landmark_transform(landmark_months: float) -> Any:
    """θ = log λ ↦ S(L) = exp(−L·e^θ), decreasing, for the quadrature engine."""
    from designs.engines import quadrature

    L = landmark_months

    def inverse(s: np.ndarray) -> np.ndarray:
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(-np.log(s) / L)

    def forward(theta: np.ndarray) -> np.ndarray:
        with np.errstate(over="ignore"):  # e^θ = ∞ far out on the grid: S = 0 there
            return np.exp(-L * np.exp(theta))

    return quadrature.Transform(f"S({L:g}) = exp(−{L:g}·e^θ)", forward, inverse, increasing=False)


def _mcmc(
    request: PFSAnalysisInput, strata: list[StratumData], seed: int, benchmark: Benchmark, target: Benchmark
) -> _Summaries:
    """Hierarchical kinds by NUTS: summaries of draws; probabilities with their MCSE."""
    from designs.engines import pymc as sampling

    model = request.model
    data = sampling.PFSData(tuple(s.time for s in strata), tuple(s.event.astype(float) for s in strata))
    settings = request.sampler if request.sampler is not None else sampling.SamplerSettings()
    draws = sampling.sample_pfs(model, data, settings, seed)
    landmark = draws.survival(benchmark.landmark_months)
    ratio = survival.hazard_ratio_to_benchmark(landmark, benchmark)
    p_benchmark, mcse_benchmark = summary.probability_above(landmark, benchmark.landmark_pfs, draws.chains)
    p_target, mcse_target = summary.probability_above(landmark, target.landmark_pfs, draws.chains)
    return _Summaries(
        summary.summarise_draws(landmark), summary.summarise_draws(draws.median_survival(), with_mean=False),
        summary.summarise_draws(ratio, with_mean=False), p_benchmark, p_target, mcse_benchmark, mcse_target,
        summary.summarise_scalar_draws(draws.tau, draws.chains), summary.mcmc_diagnostics(draws.diagnostics), draws.sampler,
    )


def _posterior(
    request: PFSAnalysisInput, strata: list[StratumData], seed: int, benchmark: Benchmark, target: Benchmark
) -> _Summaries:
    model = request.model
    events = np.array([s.event.sum() for s in strata], dtype=float)
    exposure = np.array([s.time.sum() for s in strata])
    if model.engine == "closed-form":
        return _closed_form(model.prior, events, exposure, benchmark, target)
    if model.engine == "quadrature":
        return _quadrature(model.prior, events, exposure, benchmark, target)
    return _mcmc(request, strata, seed, benchmark, target)


# --- decision -------------------------------------------------------------------------------


def decide(
    prob_above_benchmark: float,
    prob_above_target: float,
    all_evaluable: bool,
    rule: PFSDecisionRule,
    *,
    benchmark: float,
    target: float,
    landmark: float,
) -> tuple[str, dict[str, str]]:
    """The stratum's decision and the criterion that fired: ("go" | "no-go" | "continue", {id, text})."""
    decision = explain_pfs(
        rule, prob_above_benchmark, prob_above_target, all_evaluable, benchmark=benchmark, target=target, landmark=landmark
    )
    return decision.decision, decision.criterion_dict()


# --- the analysis ------------------------------------------------------------------------------


def _canonical_payload(request: PFSAnalysisInput) -> dict[str, Any]:
    """A JSON-ready form of the request (for the input hash when no request body is given)."""
    return {
        "patients": [asdict(p) for p in request.patients],
        "strata": list(request.strata) if request.strata is not None else None,
        "landmark_months": request.landmark_months,
        "benchmark_landmark_pfs": request.benchmark_landmark_pfs,
        "target_landmark_pfs": request.target_landmark_pfs,
        "model": request.model.to_dict(),
        "decision": asdict(request.decision),
        "sampler": asdict(request.sampler) if request.sampler is not None else None,
        "seed": request.seed,
    }


def _mcse(values: np.ndarray | None, j: int) -> float | None:
    return None if values is None else float(values[j])


def _beyond(values: dict[str, Any], limit: float) -> list[str]:
    named = [("median", values.get("median")), ("ci95_lower", values["ci95"][0]), ("ci95_upper", values["ci95"][1])]
    return [name for name, v in named if v is not None and v > limit]


def analyse_pfs(request: PFSAnalysisInput, *, payload: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Validate, fit and decide; the canonical JSON-ready result (see the module docstring).

    ``payload`` is the request as received (for provenance and the default seed); without it a
    canonical form of ``request`` is used.
    """
    strata = validate(request)
    payload = dict(payload) if payload is not None else _canonical_payload(request)
    seed = summary.resolve_seed(request.seed, payload)
    L = float(request.landmark_months)
    benchmark = Benchmark(L, float(request.benchmark_landmark_pfs))
    target = Benchmark(L, float(request.target_landmark_pfs))
    posterior = _posterior(request, strata, seed, benchmark, target)
    landmark, median_pfs = posterior.landmark_pfs, posterior.median_pfs

    warnings: list[str] = []
    results = []
    for j, stratum in enumerate(strata):
        curve = kaplan_meier(stratum.time, stratum.event)
        km_landmark = curve.landmark(L)
        last = curve.last_follow_up
        evaluable = int(np.count_nonzero(stratum.event | (stratum.time >= L)))
        events = int(stratum.event.sum())
        decision, criterion = decide(
            float(posterior.prob_above_benchmark[j]), float(posterior.prob_above_target[j]),
            evaluable == stratum.n, request.decision,
            benchmark=benchmark.landmark_pfs, target=target.landmark_pfs, landmark=L,
        )
        landmark_j = dict(landmark[j], extrapolated=L > last)
        median_j = dict(median_pfs[j], beyond_follow_up=_beyond(median_pfs[j], last))
        if events < FEW_EVENTS:
            warnings.append(
                f"{stratum.name}: {events} event(s); the posterior rests mostly on the prior"
                + (" and the other strata" if request.model.kind != "independent-exponential" else "")
            )
        if not km_landmark.estimable:
            warnings.append(
                f"{stratum.name}: the Kaplan–Meier estimate at {L:g} months is undefined "
                f"(last follow-up {last:g} months, no one left at risk)"
            )
        if L > last:
            warnings.append(f"{stratum.name}: S({L:g}) extrapolates beyond the last follow-up ({last:g} months)")
        if median_j["beyond_follow_up"]:
            warnings.append(
                f"{stratum.name}: median PFS {', '.join(median_j['beyond_follow_up'])} lies beyond the last "
                f"follow-up ({last:g} months): the model extrapolates"
            )
        row: dict[str, Any] = {
            "name": stratum.name,
            "n": stratum.n,
            "events": events,
            "person_months": float(stratum.time.sum()),
            "last_follow_up_months": last,
            "evaluable_at_landmark": evaluable,
            "kaplan_meier": {"curve": curve.to_dict(), "landmark": km_landmark.to_dict()},
            "posterior": {
                "landmark_pfs": landmark_j,
                "median_pfs": median_j,
                "hazard_ratio_to_benchmark": posterior.hazard_ratio[j],
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
    at_zero = sum((sampler or {}).get("n_events_at_time_zero", []))
    if at_zero:
        warnings.append(f"{at_zero} event(s) at time 0 were placed at half a day for sampling (log 0 is undefined)")
    tau = posterior.tau
    spread = None if tau is None else {
        "parameter": "tau",
        "description": "between-stratum sd of log hazards",
        **tau,
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
            model=request.model.to_dict(),
            engine=request.model.engine,
            sampler=sampler,
            seed=seed if request.model.engine == "mcmc" else None,
            method=_METHOD[request.model.engine],
        ),
        "warnings": warnings,
    }


_METHOD = {
    "closed-form": "conjugate Gamma posterior of exponential hazards (exact)",
    "quadrature": "deterministic quadrature over (μ, τ) of the hierarchical exponential model",
    "mcmc": "NUTS (PyMC + nutpie), non-centred hierarchical model",
}
