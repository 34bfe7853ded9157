"""The qualification set: published results (or independent exact computations) that an installed copy
of gonogo must reproduce, each with its source, its tolerance and why, and how the expected value was
obtained.

A case's expected values are written here, never computed by the code under test when the case runs:
they are the numbers printed in the publication, or (said so in ``how_obtained``) numbers computed once,
independently of gonogo's code (exact rational arithmetic, an independent nested Gauss–Legendre
integration), and frozen. A case's ``compute`` runs gonogo's public core functions and returns the
obtained values, by check name.

Tolerances are absolute. Where the publication prints rounded numbers the tolerance is half a unit of the
last printed place (the obtained value, rounded as printed, is the printed value). Exact computations
(integers, exact sums) are held to rounding error. The MCMC case is held to ``k`` Monte Carlo standard
errors of its own run (reported beside the value) plus the reference's accuracy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

P0, P1 = 0.15, 0.35
"""The response rates of the bhmbasket-default cases (null and alternative)."""


@dataclass(frozen=True)
class Check:
    """One value of a case: its name, its expected value (a number, an integer, or a list of integers
    and ``None``) and its absolute tolerance (0: exactly equal)."""

    name: str
    expected: Any
    tolerance: float


@dataclass(frozen=True)
class Measured:
    """What a case's ``compute`` returns when its tolerance depends on its own Monte Carlo error:
    the values and their Monte Carlo standard errors, by check name."""

    values: dict[str, Any]
    mcse: dict[str, float]
    notes: str = ""


@dataclass(frozen=True)
class Case:
    """A qualification case. ``compute()`` returns ``{check name: obtained value}`` or a ``Measured``;
    with ``mcse_k`` set, a check passes when ``|obtained − expected| ≤ tolerance + mcse_k · MCSE``."""

    id: str
    title: str
    source: str
    how_obtained: str
    tolerance_why: str
    checks: tuple[Check, ...]
    compute: Callable[[], dict[str, Any] | Measured] = field(repr=False, compare=False)
    mcse_k: float | None = None


# --------------------------------------------------------------------------------------------------
# Simon (1989): optimal and minimax two-stage designs

_SIMON_SOURCE = ("Simon R. Optimal two-stage designs for phase II clinical trials. Controlled Clinical Trials "
                 "1989;10:1–10, Table {table} (row p0 {p0:g}, p1 {p1:g}, alpha {alpha:g}, beta {beta:g})")
_SIMON_1989 = {
    # (table, p0, p1, alpha, beta): optimal (r1, n1, r, n, EN(p0), PET(p0)), minimax (the same)
    (1, 0.05, 0.25, 0.05, 0.20): ((0, 9, 2, 17, 12.0, 0.63), (0, 12, 2, 16, 13.8, 0.54)),
    (1, 0.05, 0.25, 0.10, 0.10): ((0, 9, 2, 24, 14.5, 0.63), (0, 13, 2, 20, 16.4, 0.51)),
    (1, 0.05, 0.25, 0.05, 0.10): ((0, 9, 3, 30, 16.8, 0.63), (0, 15, 3, 25, 20.4, 0.46)),
    (1, 0.10, 0.30, 0.05, 0.20): ((1, 10, 5, 29, 15.0, 0.74), (1, 15, 5, 25, 19.5, 0.55)),
    (1, 0.10, 0.30, 0.05, 0.10): ((2, 18, 6, 35, 22.5, 0.73), (2, 22, 6, 33, 26.2, 0.62)),
    (1, 0.20, 0.40, 0.05, 0.20): ((3, 13, 12, 43, 20.6, 0.75), (4, 18, 10, 33, 22.3, 0.72)),
    (1, 0.20, 0.40, 0.10, 0.10): ((3, 17, 10, 37, 26.0, 0.55), (3, 19, 10, 36, 28.3, 0.46)),
    (2, 0.20, 0.35, 0.05, 0.10): ((8, 37, 22, 83, 51.4, 0.69), (8, 42, 21, 77, 58.4, 0.53)),
}


def _simon_case(key: tuple, optimal: tuple, minimax: tuple) -> Case:
    table, p0, p1, alpha, beta = key

    def compute() -> dict[str, Any]:
        from designs.simon import search_designs

        result = search_designs(p0, p1, alpha, beta, nmax=150)
        found = {}
        for label, design in (("optimal", result.optimal), ("minimax", result.minimax)):
            found[f"{label} r1/n1, r/n"] = [design.r1, design.n1, design.r, design.n]
            found[f"{label} EN(p0)"] = design.expected_n_null
            found[f"{label} PET(p0)"] = design.pet_null
        return found

    checks = []
    for label, (r1, n1, r, n, en, pet) in (("optimal", optimal), ("minimax", minimax)):
        checks += [Check(f"{label} r1/n1, r/n", [r1, n1, r, n], 0.0), Check(f"{label} EN(p0)", en, 0.05),
                   Check(f"{label} PET(p0)", pet, 0.005)]
    tag = f"p0-{round(p0 * 100):02d}-p1-{round(p1 * 100):02d}-alpha-{round(alpha * 100):02d}-beta-{round(beta * 100):02d}"
    return Case(
        id=f"simon-1989-{tag}",
        title=f"Simon optimal and minimax designs, p0 {p0:g} vs p1 {p1:g}, alpha {alpha:g}, power {1 - beta:g}",
        source=_SIMON_SOURCE.format(table=table, p0=p0, p1=p1, alpha=alpha, beta=beta),
        how_obtained="as printed in the publication",
        tolerance_why=("designs exactly; EN(p0) printed to 1 decimal and PET(p0) to 2: half a unit of the last "
                       "printed place (0.05, 0.005)"),
        checks=tuple(checks),
        compute=compute,
    )


# --------------------------------------------------------------------------------------------------
# Lee & Liu (2008): predictive probability


def _lee_liu() -> dict[str, Any]:
    from designs.response import predictive

    return {"PP(16 of 23, Nmax 40)": float(predictive.predictive_probability_beta(0.6, 0.4, 16, 23, 40, 0.6, 0.9))}


LEE_LIU_2008 = Case(
    id="lee-liu-2008-predictive-probability",
    title="Predictive probability of success: 16 responders of 23, Nmax 40, Beta(0.6, 0.4), p0 0.6, theta_T 0.9",
    source=("Lee JJ, Liu DD. A predictive probability design for phase II cancer clinical trials. Clinical Trials "
            "2008;5(2):93–105, worked example: PP = 0.5656"),
    how_obtained="as printed in the publication",
    tolerance_why="printed to 4 decimals: half a unit of the last place (5e-5)",
    checks=(Check("PP(16 of 23, Nmax 40)", 0.5656, 5e-5),),
    compute=_lee_liu,
)


# --------------------------------------------------------------------------------------------------
# Freireich et al. (1963): Kaplan–Meier estimates of the 6-MP arm

# 6-MP arm, remission times in weeks, "+" censored (Gehan 1965; 21 patients, 9 relapses, 359 weeks).
FREIREICH_6MP_WEEKS = (6, 6, 6, 6, 7, 9, 10, 10, 11, 13, 16, 17, 19, 20, 22, 23, 25, 32, 32, 34, 35)
FREIREICH_6MP_RELAPSED = (1, 1, 1, 0, 1, 0, 1, 0, 0, 1, 1, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0)
# Klein & Moeschberger (2003) Table 4.1A: t, S(t), Greenwood SE.
_KM_TABLE_4_1A = ((6, 0.857, 0.0764), (7, 0.807, 0.0869), (10, 0.753, 0.0963), (13, 0.690, 0.1068),
                  (16, 0.627, 0.1141), (22, 0.538, 0.1282), (23, 0.448, 0.1346))


def _kaplan_meier() -> dict[str, Any]:
    import numpy as np

    from designs.survival.kaplan_meier import kaplan_meier

    curve = kaplan_meier(np.array(FREIREICH_6MP_WEEKS, dtype=float), np.array(FREIREICH_6MP_RELAPSED, dtype=bool))
    found = {}
    for t, _, _ in _KM_TABLE_4_1A:
        estimate = curve.landmark(t)
        found[f"S({t})"] = estimate.survival
        found[f"SE S({t})"] = estimate.se
    return found


FREIREICH_6MP = Case(
    id="freireich-1963-6mp-kaplan-meier",
    title="Kaplan–Meier estimate and Greenwood standard error of the 6-MP arm (remission, weeks)",
    source=("Freireich EJ et al. Blood 1963;21:699–716 (data as tabulated by Gehan EA, Biometrika 1965;52:203–223); "
            "estimates: Klein JP, Moeschberger ML. Survival Analysis, 2nd ed., Springer 2003, Table 4.1A"),
    how_obtained="as printed in Klein & Moeschberger Table 4.1A; the 21 remission times are embedded in the case",
    tolerance_why="S(t) printed to 3 decimals, SE to 4: half a unit of the last printed place (5e-4, 5e-5)",
    checks=tuple(c for t, s, se in _KM_TABLE_4_1A for c in (Check(f"S({t})", s, 5e-4), Check(f"SE S({t})", se, 5e-5))),
    compute=_kaplan_meier,
)


# --------------------------------------------------------------------------------------------------
# Hierarchical (Berry et al. 2013) and EXNEX (Neuenschwander et al. 2016) posteriors, bhmbasket's priors

_BRUTE_FORCE = ("an independent nested Gauss–Legendre integration over tau, mu and theta (no code shared with "
                "gonogo's quadrature engine; tests/engines/test_quadrature.py, brute_force), computed once and "
                "frozen here")
_QUADRATURE_WHY = ("the reference integration agrees with the engine to ~1e-8 on the reference installation; "
                   "1e-6 leaves a hundredfold margin for floating-point differences between platforms and is far "
                   "below the 3 decimals reported")


def _response_analysis(ys: tuple[int, ...], ns: tuple[int, ...], kind: str, engine: str,
                       seed: int | None = None) -> dict[str, Any]:
    from designs.response.analysis import analyse_response
    from designs.response.spec import ResponseAnalysisSpec

    strata = [{"name": f"stratum {j + 1}", "n": n, "responders": y, "n_planned": 30}
              for j, (y, n) in enumerate(zip(ys, ns, strict=True))]
    request = {"p0": P0, "p1": P1, "strata": strata, "model": {"kind": kind}, "engine": engine}
    if seed is not None:
        request["seed"] = seed
    return analyse_response(ResponseAnalysisSpec.from_mapping(request))


def _posterior_case(case_id: str, title: str, ys: tuple[int, ...], ns: tuple[int, ...], kind: str,
                    tails: list[tuple[float, float]], tau_mean: float, exchangeable: list[float] | None = None) -> Case:
    def compute() -> dict[str, Any]:
        result = _response_analysis(ys, ns, kind, "quadrature")
        found = {}
        for j, stratum in enumerate(result["strata"], start=1):
            found[f"stratum {j} P(p > {P0:g})"] = stratum["prob_above_p0"]
            found[f"stratum {j} P(p > {P1:g})"] = stratum["prob_above_p1"]
            if exchangeable is not None:
                found[f"stratum {j} P(exchangeable)"] = stratum["prob_exchangeable"]
        found["E[tau]"] = result["tau"]["mean"]
        return found

    checks = []
    for j, (above_p0, above_p1) in enumerate(tails, start=1):
        checks += [Check(f"stratum {j} P(p > {P0:g})", above_p0, 1e-6), Check(f"stratum {j} P(p > {P1:g})", above_p1, 1e-6)]
        if exchangeable is not None:
            checks.append(Check(f"stratum {j} P(exchangeable)", exchangeable[j - 1], 1e-6))
    checks.append(Check("E[tau]", tau_mean, 1e-6))
    data = ", ".join(f"{y}/{n}" for y, n in zip(ys, ns, strict=True))
    return Case(
        id=case_id, title=f"{title}: responders {data}, p0 {P0:g}, p1 {P1:g}",
        source=("bhmbasket's default priors (Wiesenfarth & Kohler, R package bhmbasket; mu ~ N(logit p0, 2.6159²), "
                "tau ~ half-normal(1)" + (", non-exchangeable N(logit p0, 2.8006²), w = 0.5" if exchangeable else "")
                + "); model: " + ("Neuenschwander et al., Pharm Stat 2016;15:123–134 (EXNEX)" if exchangeable
                                  else "Berry et al., Clin Trials 2013;10:720–734")),
        how_obtained=_BRUTE_FORCE, tolerance_why=_QUADRATURE_WHY, checks=tuple(checks), compute=compute,
    )


HIERARCHICAL_TYPICAL = _posterior_case(
    "bhmbasket-hierarchical-quadrature", "Hierarchical model, default priors, by quadrature", (3, 9), (12, 14),
    "hierarchical", [(0.926119980790467, 0.4224170255337789), (0.9999520065876011, 0.9538217267347183)],
    0.8993744140422264)
HIERARCHICAL_ZERO = _posterior_case(
    "bhmbasket-hierarchical-zero-responders", "Hierarchical model, default priors, no responders, by quadrature",
    (0, 0), (5, 7), "hierarchical",
    [(0.03651224011573132, 0.0022139607695793122), (0.02977238415012338, 0.001098350930071039)], 0.769659910711383)
EXNEX = _posterior_case(
    "exnex-reference", "EXNEX model (w = 0.5), default priors, by quadrature", (1, 12), (20, 20), "exnex",
    [(0.06515676462636075, 0.0004914267253075756), (0.9999957001696805, 0.9840863895877263)], 0.8234866015788274,
    exchangeable=[0.37675043580948836, 0.3756863200360569])


# --------------------------------------------------------------------------------------------------
# MCMC (PyMC, nutpie) against the same reference, within its Monte Carlo error

MCMC_SEED = 20261121
MCMC_K = 4.0


def _mcmc() -> Measured:
    result = _response_analysis((3, 9), (12, 14), "hierarchical", "mcmc", seed=MCMC_SEED)
    values, mcse = {}, {}
    for j, stratum in enumerate(result["strata"], start=1):
        for key, label in (("prob_above_p0", f"P(p > {P0:g})"), ("prob_above_p1", f"P(p > {P1:g})")):
            values[f"stratum {j} {label}"] = stratum[key]
            mcse[f"stratum {j} {label}"] = stratum["monte_carlo_se"][key]
    diagnostics = result["diagnostics"]
    values["converged"] = bool(diagnostics["converged"])
    notes = (f"max R-hat {diagnostics['max_rhat']:.4f}, min bulk ESS {diagnostics['min_ess_bulk']:.0f}, "
             f"divergences {diagnostics['divergences']}")
    return Measured(values, mcse, notes)


MCMC_VS_QUADRATURE = Case(
    id="mcmc-within-mcse-of-quadrature",
    title=f"PyMC/nutpie hierarchical model, responders 3/12, 9/14, default sampler, seed {MCMC_SEED}",
    source="the hierarchical case's reference (bhmbasket-hierarchical-quadrature), Berry et al. 2013",
    how_obtained=_BRUTE_FORCE,
    tolerance_why=(f"{MCMC_K:g} Monte Carlo standard errors of this run (reported per value) plus 1e-4, the "
                   "quadrature engine's stated accuracy: a correct sampler lands this close all but about 6 times "
                   "in 100,000; the sampler must also report convergence (R-hat, ESS, no divergences)"),
    checks=(Check(f"stratum 1 P(p > {P0:g})", 0.926119980790467, 1e-4),
            Check(f"stratum 1 P(p > {P1:g})", 0.4224170255337789, 1e-4),
            Check(f"stratum 2 P(p > {P0:g})", 0.9999520065876011, 1e-4),
            Check(f"stratum 2 P(p > {P1:g})", 0.9538217267347183, 1e-4),
            Check("converged", True, 0.0)),
    compute=_mcmc,
    mcse_k=MCMC_K,
)


# --------------------------------------------------------------------------------------------------
# Exact operating characteristics against enumeration


def _exact_oc() -> dict[str, Any]:
    from designs import oc

    strata = tuple(oc.StratumPlan(name, (9, 17)) for name in ("A", "B"))
    design = oc.OCDesign(0.05, 0.25, strata, oc.SimonStoppingRule(r1=0, r=2))
    result = oc.operating_characteristics(design, method="exact")
    found = {}
    for scenario in result["scenarios"]:
        rate = scenario["rates"]["A"]
        if scenario["rates"]["B"] != rate:  # the global null and alternative only
            continue
        stratum = scenario["strata"][0]
        found[f"P(go | {rate:g})"] = stratum["prob_go"]
        found[f"PET({rate:g})"] = stratum["prob_stop_at_look"][0]
        found[f"EN({rate:g})"] = stratum["expected_n"]
        found[f"P(any of 2 go | {rate:g})"] = scenario["prob_any_go"]
    return found


EXACT_OC = Case(
    id="oc-exact-vs-enumeration",
    title="Exact operating characteristics of Simon's 0/9, 2/17 in two independent strata (p0 0.05, p1 0.25)",
    source="Simon 1989 Table 1 (p0 0.05, p1 0.25, alpha 0.05, beta 0.20): the optimal design 0/9, 2/17",
    how_obtained=("exact rational arithmetic (Python fractions): every outcome (x1, x2) of the two stages summed "
                  "with binomial weights, P(any of 2) = 1 − (1 − P(go))², computed once and frozen here"),
    tolerance_why="both sides are exact sums: rounding error only (1e-12)",
    checks=(Check("P(go | 0.05)", 0.04660495723896265, 1e-12), Check("PET(0.05)", 0.6302494097246094, 1e-12),
            Check("EN(0.05)", 11.958004722203125, 1e-10), Check("P(any of 2 go | 0.05)", 0.09103789243867977, 1e-12),
            Check("P(go | 0.25)", 0.8121611114474945, 1e-12), Check("PET(0.25)", 0.07508468627929688, 1e-12),
            Check("EN(0.25)", 16.399322509765625, 1e-10), Check("P(any of 2 go | 0.25)", 0.9647165519473594, 1e-12)),
    compute=_exact_oc,
)


# --------------------------------------------------------------------------------------------------
# Safety: Geller et al. (2003) beta-binomial stopping rule, as published by the R package stoppingrule

_STOPPINGRULE_BOUNDS = {(3, 4): 3, (5, 6): 4, (7, 10): 5, (11, 13): 6, (14, 17): 7, (18, 20): 8, (21, 24): 9,
                        (25, 28): 10, (29, 30): 11}
_STOPPINGRULE_OC = {0.20: (0.09957367, 5.651197), 0.25: (0.23832301, 6.536293), 0.30: (0.43615256, 6.926712),
                    0.35: (0.64555222, 6.819377), 0.40: (0.81491087, 6.355803)}


def _safety() -> dict[str, Any]:
    from designs.safety import SafetyDesign, stop_counts
    from designs.safety.boundaries import operating_characteristics

    design = SafetyDesign(0.2, tuple(range(1, 31)), 0.10, "bayesian", 0.6, 2.4)
    counts = stop_counts(design)
    found: dict[str, Any] = {"stop at (patients 1 to 30)": counts}
    for rate in _STOPPINGRULE_OC:
        oc = operating_characteristics(design.looks, counts, rate)
        found[f"P(stop | {rate:g})"] = oc["prob_stop"]
        found[f"E[toxicities] | {rate:g}"] = oc["expected_toxicities"]
    return found


SAFETY_STOPPINGRULE = Case(
    id="safety-geller-2003-stoppingrule",
    title="Toxicity stopping rule: beta-binomial, Beta(0.6, 2.4), p0 0.2, a look after each of 30 patients, "
          "P(stop | p0) ≤ 0.10",
    source=("Geller NL et al. (2003) Design of early trials in stem cell transplantation, in: Advances in Clinical "
            "Trial Biostatistics; as published by Martens MJ, Logan BR, R package stoppingrule, README: "
            "calc.rule.bin(ns = 1:30, p0 = 0.20, alpha = 0.10, type = \"BB\", param = c(0.6, 2.4)) and "
            "OC.rule.bin(rule, ps = seq(0.2, 0.4, 0.05))"),
    how_obtained="as printed in the stoppingrule README (boundaries; rejection probabilities to 8 places, "
                 "expected events to 7 significant digits)",
    tolerance_why="boundaries exactly (None: cannot stop); P(stop) and E[toxicities] to half a unit of the last "
                  "printed place (5e-9, 5e-7)",
    checks=(Check("stop at (patients 1 to 30)",
                  [None, None] + [b for (lo, hi), b in _STOPPINGRULE_BOUNDS.items() for _ in range(lo, hi + 1)], 0.0),
            *(c for rate, (reject, events) in _STOPPINGRULE_OC.items()
              for c in (Check(f"P(stop | {rate:g})", reject, 5e-9), Check(f"E[toxicities] | {rate:g}", events, 5e-7)))),
    compute=_safety,
)


# --------------------------------------------------------------------------------------------------
# PFS: the one-sample log-rank test's sample size (Wu 2015)


def _wu_logrank() -> dict[str, Any]:
    import math as m

    from designs.pfsdesign.laws import SurvivalLaw
    from designs.pfsdesign.logrank import wu_moments

    benchmark = SurvivalLaw.from_median(9.0, 1.22)
    alternative = SurvivalLaw.weibull(benchmark.rates[0] / 1.75, 1.22)
    moments = wu_moments(benchmark, alternative, accrual_months=5.0, follow_up_months=3.0)
    found: dict[str, Any] = {f"n for power {p:g}": m.ceil(moments.sample_size(0.05, p)) for p in (0.80, 0.85, 0.90)}
    found["power at n = 88"] = moments.power(88, 0.05)
    return found


WU_2015_LOGRANK = Case(
    id="wu-2015-one-sample-logrank",
    title="One-sample log-rank sample size: Weibull benchmark (median 9, shape 1.22), hazard ratio 1/1.75, "
          "accrual 5, follow-up 3, one-sided alpha 0.05",
    source=("Wu J. Sample size calculation for the one-sample log-rank test. Pharmaceutical Statistics "
            "2015;14:26–33, Section 4 (Mayo Clinic PBC data as historical control): n = 88, power 0.803"),
    how_obtained=("n = 88 and power 0.803 as printed; n = 100 (85 %) and 117 (90 %) as Wu's R implementation "
                  "(logRank1s) gives them for the same example"),
    tolerance_why="sample sizes exactly; the power printed to 3 decimals: half a unit of the last place (5e-4)",
    checks=(Check("n for power 0.8", 88, 0.0), Check("n for power 0.85", 100, 0.0), Check("n for power 0.9", 117, 0.0),
            Check("power at n = 88", 0.803, 5e-4)),
    compute=_wu_logrank,
)


CASES: tuple[Case, ...] = (
    *(_simon_case(key, optimal, minimax) for key, (optimal, minimax) in _SIMON_1989.items()),
    LEE_LIU_2008,
    FREIREICH_6MP,
    HIERARCHICAL_TYPICAL,
    HIERARCHICAL_ZERO,
    EXNEX,
    EXACT_OC,
    SAFETY_STOPPINGRULE,
    WU_2015_LOGRANK,
    MCMC_VS_QUADRATURE,
)
"""Every case, in the order they run (the MCMC case last: it alone loads PyMC and nutpie)."""
