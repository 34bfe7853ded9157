"""The interim PFS analysis: validation, decisions, and every engine checked against an exact answer.

Exact references: the conjugate Gamma posterior (independent exponential); with τ fixed near 0 the
hierarchical exponential is the pooled model and with τ very large the independent one — under a
flat prior on log λ both are Gamma(d, T) posteriors (Gamma(Σd, ΣT) pooled). MCMC is checked
against the deterministic quadrature engine within 4 Monte Carlo standard errors.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifelines.datasets import load_leukemia
from scipy import integrate, special

from designs.core.errors import InvalidInputError
from designs.engines import diagnostics, quadrature
from designs.engines import pymc as pymc_engine
from designs.survival.analysis import LandmarkTransform, analyse_pfs, decide, follow_up
from designs.survival.decisions import Enrolment, PFSDecisionRule
from designs.survival.models import Benchmark, GammaHazardPosterior, GammaHazardPrior, resolve_model
from designs.survival.spec import PFSAnalysisSpec

RULE = PFSDecisionRule()


def patient(pid, stratum, time, event):
    return {"id": pid, "stratum": stratum, "time_months": time, "event": event}


def patients_from(rows):
    """rows: (stratum, time, event) → patients (JSON-shaped) with ids P0, P1, ..."""
    return [patient(f"P{i}", s, float(t), bool(e)) for i, (s, t, e) in enumerate(rows)]


def synthetic_patients(stats, names=("NF1-associated", "sporadic")):
    """Per stratum (events d, exposure T, n): d events and n − d censorings, all at time T / n."""
    rows = []
    for name, (d, T, n) in zip(names, stats):
        rows += [(name, T / n, i < d) for i in range(n)]
    return patients_from(rows)


@pytest.fixture(scope="module")
def leukemia_patients():
    """Freireich et al. (1963) remission times (weeks), 6-MP and placebo as two strata."""
    df = load_leukemia()
    rows = [("6-MP" if rx == 0 else "placebo", t, s == 1) for t, s, rx in zip(df["t"], df["status"], df["Rx"])]
    return patients_from(rows)


def request(patients, **changes):
    """A JSON-shaped request (benchmark 0.15, target 0.35, independent exponential) with ``changes``;
    its ``strata`` are those the patients name, by first appearance (``strata=None``: none declared)."""
    body = {
        "patients": patients, "strata": list(dict.fromkeys(p["stratum"] for p in patients)),
        "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35, "model": {"kind": "independent-exponential"},
    }  # fmt: skip
    body.update(changes)
    return {k: v for k, v in body.items() if not (k == "strata" and v is None)}


def analyse(body):
    return analyse_pfs(PFSAnalysisSpec.from_mapping(body))


def problems_of(body):
    with pytest.raises(InvalidInputError) as info:
        PFSAnalysisSpec.from_mapping(body)
    return {p.field: p.reason for p in info.value.problems}


# --- validation -------------------------------------------------------------------------------


BASE = [("A", 3.0, True), ("A", 5.0, False), ("B", 1.0, True), ("B", 6.0, False)]


@pytest.mark.parametrize("bad_time", [-0.5, math.nan, math.inf, -math.inf])
def test_negative_or_non_finite_time_names_field_and_patient(bad_time):
    patients = patients_from(BASE)
    patients[2] = patient("P2", "B", bad_time, True)
    problems = problems_of(request(patients))
    assert list(problems) == ["patients/2/time_months"]
    assert "'P2'" in problems["patients/2/time_months"]


def test_duplicate_id_names_the_second_occurrence_and_the_id():
    patients = patients_from(BASE)
    patients[3] = patient("P0", "B", 6.0, False)
    problems = problems_of(request(patients))
    assert list(problems) == ["patients/3/id"]
    assert "'P0'" in problems["patients/3/id"] and "patients/0" in problems["patients/3/id"]


def test_unknown_stratum_and_stratum_without_patients():
    problems = problems_of(request(patients_from(BASE), strata=["A", "C"]))
    assert set(problems) == {"patients/2/stratum", "patients/3/stratum", "strata/1"}
    assert "'P2'" in problems["patients/2/stratum"] and "'B'" in problems["patients/2/stratum"]
    assert "'C'" in problems["strata/1"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"landmark_months": 0.0}, "landmark_months"),
        ({"landmark_months": -4.0}, "landmark_months"),
        ({"benchmark_landmark_pfs": 0.0}, "benchmark_landmark_pfs"),
        ({"benchmark_landmark_pfs": 1.0, "target_landmark_pfs": 0.5}, "benchmark_landmark_pfs"),
        ({"target_landmark_pfs": 1.2}, "target_landmark_pfs"),
        ({"target_landmark_pfs": 0.15}, "target_landmark_pfs"),
        ({"benchmark_landmark_pfs": 0.4}, "target_landmark_pfs"),
        ({"decision": {"final_threshold": 1.0}}, "decision/final_threshold"),
        ({"decision": {"final_threshold": 0.9, "futility_prob_above_benchmark": 0.9}}, "decision/futility_prob_above_benchmark"),
    ],
)
def test_bad_scalars_name_their_field(change, field):
    assert field in problems_of(request(patients_from(BASE), **change))


def test_every_problem_is_reported_at_once():
    patients = patients_from(BASE)
    patients[0] = patient("P0", "A", -1.0, True)
    patients[1] = patient("P0", "A", 5.0, False)
    problems = problems_of(request(patients, landmark_months=0))
    assert set(problems) == {"patients/0/time_months", "patients/1/id", "landmark_months"}


def test_every_bad_field_of_the_request_is_reported_at_once():
    """The one validating constructor: scalars, model, rule, sampler, seed and patients in one InvalidInputError."""
    patients = patients_from(BASE)
    patients[1] = patient("P1", "A", 5.0, "yes")
    body = request(
        patients, landmark_months=-1, target_landmark_pfs=0.1, seed=-3, surprise=1,
        model={"kind": "hierarchical-weibull", "prior": {"shape_log_sd": 0, "cut_points": [0, 2]}}, engine="quadrature",
        decision={"final_threshold": 0.9, "futility_prob_above_benchmark": 0.95}, mcmc={"chains": 0},
    )  # fmt: skip
    assert set(problems_of(body)) == {
        "landmark_months", "target_landmark_pfs", "seed", "surprise", "model/prior/shape_log_sd", "model/prior/cut_points",
        "engine", "decision/futility_prob_above_benchmark", "mcmc/chains", "patients/1/event",
    }  # fmt: skip


def test_strata_as_listed_and_a_single_stratum_needs_no_list():
    rows = [("sporadic", 2.0, True), ("NF1", 3.0, False), ("sporadic", 4.0, False)]
    assert [s.name for s in follow_up(PFSAnalysisSpec.from_mapping(request(patients_from(rows[:1]), strata=None)))] == ["sporadic"]
    listed = follow_up(PFSAnalysisSpec.from_mapping(request(patients_from(rows), strata=["NF1", "sporadic"])))
    assert [(s.name, s.n) for s in listed] == [("NF1", 1), ("sporadic", 2)]


def test_undeclared_strata_are_refused_naming_those_the_patients_name():
    """A misspelt stratum ('Sporadic' for 'sporadic') must not become a one-patient stratum of its own."""
    rows = [("sporadic", 2.0, True), ("NF1", 3.0, False), ("Sporadic", 4.0, False)]
    problems = problems_of(request(patients_from(rows), strata=None))
    assert list(problems) == ["strata"]
    assert "'sporadic', 'NF1', 'Sporadic'" in problems["strata"]
    declared = problems_of(request(patients_from(rows), strata=["sporadic", "NF1"]))
    assert list(declared) == ["patients/2/stratum"]
    assert "'Sporadic'" in declared["patients/2/stratum"] and "sporadic, NF1" in declared["patients/2/stratum"]


@pytest.mark.parametrize("near", ["Sporadic", "sporadic ", "spo-radic"])
def test_declared_strata_differing_only_in_case_spaces_or_punctuation_are_refused(near):
    rows = [("sporadic", 2.0, True), ("NF1", 3.0, False), (near, 4.0, False)]
    problems = problems_of(request(patients_from(rows), strata=["sporadic", "NF1", near]))
    assert list(problems) == ["strata/2"]
    assert f"'{near}'" in problems["strata/2"] and "strata/0 'sporadic'" in problems["strata/2"]


def test_the_engine_an_analysis_reports_is_accepted_back_and_a_wrong_one_says_which_applies(leukemia_patients):
    patients = leukemia_patients
    reported = analyse(request(patients))["provenance"]["engine"]
    assert reported == "closed-form"
    assert analyse(request(patients, engine=reported))["strata"] == analyse(request(patients))["strata"]
    assert "closed-form" in problems_of(request(patients, engine="quadrature"))["engine"]


def test_model_kind_engine_and_prior_fields_are_checked():
    with pytest.raises(InvalidInputError) as info:
        resolve_model("hierarchical-weibull", {"shape": 2.0, "mu_sd": -1.0}, "quadrature")
    assert {p.field for p in info.value.problems} == {"engine", "model/prior/shape", "model/prior/mu_sd"}
    assert resolve_model("independent-exponential").engine == "closed-form"
    assert resolve_model("hierarchical-exponential", engine="quadrature").engine == "quadrature"
    piecewise = resolve_model("hierarchical-piecewise-exponential", {"cut_points": [0, 3]})
    assert piecewise.prior_as_applied()["cut_points"] == [0.0, 3.0]


# --- decisions --------------------------------------------------------------------------------


def _decide(p_b, p_t, enrolment, rule=RULE):
    return decide(p_b, p_t, enrolment, rule, benchmark=0.15, target=0.35, landmark=4.0)


def test_final_go_needs_every_planned_patient_evaluable_at_the_landmark():
    assert _decide(0.97, 0.5, Enrolment(16, 16, 16)) == (
        "go",
        {"id": "final_success", "text": "final analysis (16 of 16 planned patients evaluable at 4 months): P(S(4) > 0.15) = 0.970 > 0.95"},
    )
    decision, criterion = _decide(0.97, 0.5, Enrolment(15, 16, 16))
    assert (decision, criterion["id"]) == ("continue", "continue")
    assert "final analysis not reached: 15 of 16 planned patients evaluable at 4 months" in criterion["text"]


def test_futility_no_go_and_early_efficacy_go():
    assert _decide(0.05, 0.0, Enrolment(3, 16, 16)) == ("no-go", {"id": "futility_posterior", "text": "P(S(4) > 0.15) = 0.050 < 0.1"})
    assert _decide(0.05, 0.0, Enrolment(16, 16, 16))[0] == "no-go"
    early = PFSDecisionRule(efficacy_prob_above_target=0.8)
    assert _decide(0.99, 0.85, Enrolment(3, 16, 16), early) == ("go", {"id": "efficacy_posterior", "text": "P(S(4) > 0.35) = 0.850 > 0.8"})
    assert _decide(0.99, 0.85, Enrolment(3, 16, 16))[0] == "continue"  # early efficacy is off by default
    assert _decide(0.05, 0.0, Enrolment(3, 16, 16), PFSDecisionRule(futility_prob_above_benchmark=None))[0] == "continue"


# --- the closed-form engine on the 6-MP data ----------------------------------------------------


def test_freireich_1963_independent_exponential_analysis(leukemia_patients):
    """Per arm: n 21, relapses 9 / 21, person-time 359 / 182 weeks; Ŝ(13) = 0.6902 for 6-MP (KM);
    posterior Gamma(a + d, b + T) probabilities and quantiles."""
    prior = GammaHazardPrior(shape=1.0, rate=2.0)
    result = analyse(
        request(
            leukemia_patients, landmark_months=13.0, benchmark_landmark_pfs=0.3, target_landmark_pfs=0.6,
            model={"kind": "independent-exponential", "prior": {"shape": 1.0, "rate": 2.0}},
        )
    )
    six_mp, placebo = result["strata"]
    assert (six_mp["name"], six_mp["n"], six_mp["events"], six_mp["person_months"]) == ("6-MP", 21, 9, 359.0)
    assert (placebo["n"], placebo["events"], placebo["person_months"]) == (21, 21, 182.0)
    km = six_mp["kaplan_meier"]["landmark"]
    assert km["survival"] == pytest.approx(0.6902, abs=5e-5) and km["greenwood_se"] == pytest.approx(0.1068, abs=5e-5)
    post = GammaHazardPosterior.update(prior, np.array([9.0, 21.0]), np.array([359.0, 182.0]))
    for j, row in enumerate((six_mp, placebo)):
        a, b = post.shape[j], post.rate[j]
        assert row["prob_landmark_above_benchmark"] == pytest.approx(special.gammainc(a, b * -math.log(0.3) / 13))
        assert row["posterior"]["landmark_pfs"]["mean"] == pytest.approx((b / (b + 13)) ** a)
        lam_median = special.gammaincinv(a, 0.5) / b
        assert row["posterior"]["median_pfs"]["median"] == pytest.approx(math.log(2) / lam_median)
        hr = row["posterior"]["hazard_ratio_to_benchmark"]
        assert hr["median"] == pytest.approx(lam_median / Benchmark(13, 0.3).hazard_per_month)
        assert hr["ci95"][0] < hr["median"] < hr["ci95"][1]
        assert row["monte_carlo_se"] == {"prob_landmark_above_benchmark": None, "prob_landmark_above_target": None}
    assert result["between_stratum_spread"] is None
    assert result["diagnostics"]["exact"] is True
    assert result["provenance"]["model"]["prior"] == {"shape": 1.0, "rate": 2.0}
    assert "seed" not in result["provenance"]


def test_benchmark_block_reports_implied_hazard_and_median(leukemia_patients):
    result = analyse(request(leukemia_patients))
    assert result["benchmark"]["implied_exponential_hazard_per_month"] == pytest.approx(-math.log(0.15) / 4)
    assert result["benchmark"]["implied_exponential_median_months"] == pytest.approx(1.4615, abs=5e-5)


def test_mature_strong_stratum_gets_final_go_and_weak_one_no_go():
    """Everybody followed past 4 months or progressed: the final rule applies where the 16 patients are
    all those planned ("good"); "poor", listed without n_planned, is stopped by futility."""
    rows = [("good", 8.0, False)] * 12 + [("good", 2.0, True)] * 4 + [("poor", 1.0, True)] * 15 + [("poor", 5.0, False)]
    result = analyse(request(patients_from(rows), strata=[{"name": "good", "n_planned": 16}, "poor"]))
    good, poor = result["strata"]
    assert good["evaluable_at_landmark"] == 16
    assert (good["decision"], good["decision_criterion"]["id"]) == ("go", "final_success")
    assert (poor["decision"], poor["decision_criterion"]["id"]) == ("no-go", "futility_posterior")


def test_warnings_for_extrapolation_and_few_events():
    rows = [("A", 1.0, False), ("A", 2.0, True), ("A", 2.5, False), ("B", 3.0, True), ("B", 3.5, True)] + [("B", 3.9, True)] * 3
    result = analyse(request(patients_from(rows), landmark_months=6.0))
    a = result["strata"][0]
    assert a["posterior"]["landmark_pfs"]["extrapolated"] is True
    assert a["kaplan_meier"]["landmark"]["estimable"] is False
    assert "ci95_upper" in a["posterior"]["median_pfs"]["beyond_follow_up"]
    text = " | ".join(w["message"] for w in result["warnings"])
    assert {(w["code"], w.get("stratum")) for w in result["warnings"]} >= {
        ("stratum-sparse", "A"), ("extrapolation", "A"), ("km-not-estimable", "A"),
    }  # fmt: skip
    assert "A: 1 event(s)" in text and "extrapolates beyond the last follow-up (2.5 months)" in text
    assert "median PFS" in text and "Kaplan–Meier estimate at 6 months is undefined" in text


def test_same_request_same_result(leukemia_patients):
    first = analyse(request(leukemia_patients))
    assert first == analyse(request(leukemia_patients))


# --- hierarchical exponential by quadrature: limits of τ -------------------------------------


STATS = [(6, 30.0, 15), (3, 22.0, 15)]  # (events, exposure, n) per stratum


def _fixed_tau_posterior(fixed_tau, events, exposure, thresholds, L=4.0):
    hierarchy = quadrature.NormalHierarchy(math.log(math.log(2) / 3), 20.0, 1.0, fixed_tau=fixed_tau)
    likelihoods = [quadrature.ExposureLikelihood(float(d), float(T)) for d, T in zip(events, exposure)]
    engine = quadrature.QuadratureEngine.for_likelihoods(hierarchy, likelihoods)
    return engine.analyse(likelihoods, thresholds=thresholds, transform=LandmarkTransform(L))


def _gamma_landmark(a, b, L=4.0):
    """P(S(L) > s) and the mean, median and 95% interval of S(L) = exp(−λL) when λ ~ Gamma(a, b)."""
    prob = lambda s: special.gammainc(a, b * -math.log(s) / L)  # noqa: E731
    quantile = lambda q: math.exp(-L * special.gammaincinv(a, 1 - q) / b)  # noqa: E731
    return prob, (b / (b + L)) ** a, quantile(0.5), (quantile(0.025), quantile(0.975))


@pytest.mark.parametrize(("fixed_tau", "label"), [(1e-6, "pooled"), (50.0, "independent")])
def test_hierarchical_exponential_with_tau_fixed_tends_to_pooled_and_independent_closed_forms(fixed_tau, label):
    """Flat prior on log λ (μ sd 20, τ = 10⁻⁶ or 50): τ → 0 gives λ ~ Gamma(Σd, ΣT) in every stratum; τ → ∞ gives
    λ_j ~ Gamma(d_j, T_j) (the likelihood d log λ − λT times the flat-in-log-λ prior 1/λ)."""
    events, exposure = np.array([6.0, 3.0]), np.array([30.0, 22.0])
    post = _fixed_tau_posterior(fixed_tau, events, exposure, thresholds=(0.45, 0.6))
    for j, stratum in enumerate(post.strata):
        a, b = (events.sum(), exposure.sum()) if label == "pooled" else (events[j], exposure[j])
        prob, mean, median, ci = _gamma_landmark(a, b)
        assert 0.05 < prob(0.45) < 0.95
        assert stratum.prob_above[0.45] == pytest.approx(prob(0.45), abs=2e-4)
        assert stratum.prob_above[0.6] == pytest.approx(prob(0.6), abs=2e-4)
        assert stratum.mean == pytest.approx(mean, abs=2e-4)
        assert stratum.median == pytest.approx(median, abs=2e-4)
        assert stratum.ci95 == pytest.approx(ci, abs=2e-4)


def test_pfs_quadrature_with_1990_patients_in_one_stratum_is_its_gamma_posterior():
    """Fuzzing found an IndexError in sinc_quantiles from 412 patients in one stratum: d·θ − e^θ·T has no
    normalising constant, so the stratum's cavity over the joint overflowed e^709 and its density was NaN.
    With 1500 events in 19 900 months the data swamp the prior: S(4) is that of λ ~ Gamma(1500, 19 900)
    (the flat-in-log-λ posterior) to ~1e-4, and the result holds no NaN."""
    patients = synthetic_patients([(1500, 19_900.0, 1990), (3, 22.0, 10)])
    result = analyse(request(patients, model={"kind": "hierarchical-exponential"}, engine="quadrature", benchmark_landmark_pfs=0.7, target_landmark_pfs=0.75))
    prob, mean, median, ci = _gamma_landmark(1500.0, 19_900.0)
    large = result["strata"][0]
    assert large["posterior"]["landmark_pfs"]["mean"] == pytest.approx(mean, abs=5e-4)
    assert large["posterior"]["landmark_pfs"]["median"] == pytest.approx(median, abs=5e-4)
    assert large["posterior"]["landmark_pfs"]["ci95"] == pytest.approx(list(ci), abs=5e-4)
    assert large["prob_landmark_above_benchmark"] == pytest.approx(prob(0.7), abs=5e-3)
    assert result["diagnostics"]["self_check"]["normalising_constant_relative_discrepancy"] < 1e-6
    small = result["strata"][1]["posterior"]["landmark_pfs"]
    assert all(math.isfinite(v) for v in (small["mean"], small["median"], *small["ci95"]))


def test_pfs_quadrature_with_a_stratum_whose_only_events_are_at_time_zero_moves_them_to_half_a_day():
    """Fuzzing: the quadrature engine refused such a stratum with a 422 on a field "exposure" (T = 0 and
    d·log λ has no maximum) where MCMC places the events at half a day with a typed warning. Now the
    quadrature does the same: its answer is that of the data with the events at half a day."""
    rows = [("A", 0.0, True), ("A", 0.0, True), ("B", 2.0, True), ("B", 5.0, False), ("B", 7.0, True)]
    half_day = [(s, pymc_engine.MIN_EVENT_TIME_MONTHS if t == 0.0 else t, e) for s, t, e in rows]
    changes = dict(model={"kind": "hierarchical-exponential"}, engine="quadrature")
    result = analyse(request(patients_from(rows), **changes))
    moved = analyse(request(patients_from(half_day), **changes))
    (warning,) = [w for w in result["warnings"] if w["code"] == "events-at-time-zero"]
    assert warning["message"].startswith("2 event(s) at time 0") and warning["stratum"] is None
    assert all(w["code"] != "events-at-time-zero" for w in moved["warnings"])
    for got, expected in zip(result["strata"], moved["strata"], strict=True):
        # The posterior is the same; only what compares it with the follow-up (last at 0, not half a day) differs.
        for key in ("prob_landmark_above_benchmark", "prob_landmark_above_target", "decision"):
            assert got[key] == expected[key]
        for summary in ("landmark_pfs", "median_pfs", "hazard_ratio_to_benchmark"):
            for key in ("mean", "median", "ci95"):
                assert got["posterior"][summary].get(key) == expected["posterior"][summary].get(key)


def test_quadrature_engine_in_the_analysis_matches_a_brute_force_double_integral():
    """P(S_1(4) > 0.45) under μ ~ N(log(ln 2/3), 1.5²), τ ~ HalfNormal(1): nested scipy quadrature."""
    patients = synthetic_patients(STATS)
    result = analyse(request(patients, model={"kind": "hierarchical-exponential"}, engine="quadrature", benchmark_landmark_pfs=0.45, target_landmark_pfs=0.6))
    d, T = np.array([6.0, 3.0]), np.array([30.0, 22.0])
    m, s = math.log(math.log(2) / 3), 1.5
    edge = math.log(-math.log(0.45) / 4)  # S(4) > 0.45 ⇔ θ < edge

    def marginal(j, mu, tau, upper=np.inf):
        # ∫ exp(d θ − e^θ T) N(θ; μ, τ²) dθ over θ < upper, with θ = μ + τu (smooth in u for any τ).
        f = lambda u: math.exp(d[j] * (mu + tau * u) - math.exp(mu + tau * u) * T[j] - 0.5 * u * u)  # noqa: E731
        hi = min(10.0, (upper - mu) / tau)
        if hi <= -10.0:
            return 0.0
        peak = (math.log(d[j] / T[j]) - mu) / tau
        return integrate.quad(f, -10.0, hi, points=[peak] if -10 < peak < hi else None, limit=200)[0]

    def joint(mu, tau, upper):
        prior = math.exp(-0.5 * ((mu - m) / s) ** 2 - 0.5 * tau**2)
        return prior * marginal(0, mu, tau, upper) * marginal(1, mu, tau)

    opts = {"epsabs": 1e-12, "epsrel": 1e-7}
    num = integrate.dblquad(lambda mu, tau: joint(mu, tau, edge), 1e-9, 6, -8, 4, **opts)[0]
    den = integrate.dblquad(lambda mu, tau: joint(mu, tau, np.inf), 1e-9, 6, -8, 4, **opts)[0]
    assert 0.2 < num / den < 0.8
    assert result["strata"][0]["prob_landmark_above_benchmark"] == pytest.approx(num / den, abs=1e-4)
    spread = result["between_stratum_spread"]
    assert spread["parameter"] == "tau" and 0 < spread["ci95"][0] < spread["median"] < spread["ci95"][1]
    assert result["diagnostics"]["method"] == "quadrature"


def test_a_repeated_pfs_quadrature_analysis_finds_its_tables_of_s_at_the_landmark_again():
    """Equal landmarks give equal transforms, and the engine keys its tables of S(L) by the transform:
    repeating an analysis adds no table to the process-wide cache and gives identical numbers."""
    assert LandmarkTransform(4.0) == LandmarkTransform(4.0) and hash(LandmarkTransform(4.0)) == hash(LandmarkTransform(4.0))
    assert LandmarkTransform(4.0) != LandmarkTransform(4.000001)
    body = request(synthetic_patients(STATS), model={"kind": "hierarchical-exponential"}, engine="quadrature", landmark_months=5.5)
    first = analyse(body)
    kept = quadrature.TABLES.bytes
    assert kept > 0
    assert analyse(body) == first
    assert quadrature.TABLES.bytes == kept


# --- MCMC against quadrature (slow) -------------------------------------------------------------


PANEL = {"early interim": [(6, 30.0, 15), (3, 22.0, 15)], "mid interim": [(12, 48.0, 30), (9, 60.0, 30)]}


@pytest.mark.slow
@pytest.mark.parametrize("panel", list(PANEL))
def test_mcmc_hierarchical_exponential_agrees_with_quadrature_within_4_mcse(panel):
    """NUTS (non-centred, target_accept 0.99, the engine's rerun policy): zero divergences, R-hat ≤ 1.01,
    bulk ESS ≥ 1000, and P(S_j(4) > 0.45), P(S_j(4) > 0.6) and E S_j(4) within 4 MCSE of quadrature."""
    patients = synthetic_patients(PANEL[panel])
    settings = dict(draws=2000, tune=1000, chains=4, target_accept=0.99, max_reruns=1)
    rates = {"benchmark_landmark_pfs": 0.45, "target_landmark_pfs": 0.6}  # posterior probabilities mid-range
    mcmc = analyse(request(patients, model={"kind": "hierarchical-exponential"}, mcmc=settings, seed=2024, **rates))
    exact = analyse(request(patients, model={"kind": "hierarchical-exponential"}, engine="quadrature", **rates))
    d = mcmc["diagnostics"]
    assert (d["divergences"], d["converged"]) == (0, True)
    assert d["max_rhat"] <= 1.01 and d["min_ess_bulk"] >= 1000
    for sampled, reference in zip(mcmc["strata"], exact["strata"]):
        for key in ("prob_landmark_above_benchmark", "prob_landmark_above_target"):
            assert abs(sampled[key] - reference[key]) <= 4 * sampled["monte_carlo_se"][key] + 1e-12, (key, sampled[key], reference[key])
    # Posterior mean of S_j(4): MCSE of the mean from the draws themselves.
    strata = follow_up(PFSAnalysisSpec.from_mapping(request(patients)))
    data = pymc_engine.PFSData(tuple(s.time for s in strata), tuple(s.event.astype(float) for s in strata))
    draws = pymc_engine.sample_pfs(resolve_model("hierarchical-exponential"), data, pymc_engine.SamplerSettings(**settings), 2024)
    assert draws.diagnostics["divergences"] == 0
    landmark = draws.survival(4.0)
    mcse = np.atleast_1d(diagnostics.mcse_of_mean(draws.by_chain(landmark)))
    for j, reference in enumerate(exact["strata"]):
        assert abs(landmark[:, j].mean() - reference["posterior"]["landmark_pfs"]["mean"]) <= 4 * mcse[j]


@pytest.mark.slow
def test_mcmc_with_tau_scale_near_zero_is_the_pooled_model():
    """τ ~ HalfNormal(10⁻⁴): every stratum shares λ; with μ ~ N(m, 10²) the pooled posterior of
    log λ is ∝ exp(D θ − e^θ ΣT) N(θ; m, 10²), integrated here by scipy."""
    patients = synthetic_patients(PANEL["mid interim"])
    model = {"kind": "hierarchical-exponential", "prior": {"tau_scale": 1e-4, "mu_sd": 10.0}}
    settings = dict(draws=1000, tune=1000, chains=4, target_accept=0.95, max_reruns=0)
    result = analyse(request(patients, model=model, mcmc=settings, seed=7, benchmark_landmark_pfs=0.45, target_landmark_pfs=0.6))
    D, T, m = 21.0, 108.0, math.log(math.log(2) / 3)
    post = lambda th: math.exp(D * th - math.exp(th) * T - 0.5 * ((th - m) / 10) ** 2 - D * math.log(D / T) + D)  # noqa: E731
    edge = math.log(-math.log(0.45) / 4)
    prob = integrate.quad(post, -15, edge, limit=200)[0] / integrate.quad(post, -15, 5, limit=200)[0]
    assert result["diagnostics"]["divergences"] == 0 and 0.2 < prob < 0.8
    for row in result["strata"]:
        assert abs(row["prob_landmark_above_benchmark"] - prob) <= 4 * row["monte_carlo_se"]["prob_landmark_above_benchmark"]


@pytest.mark.slow
def test_piecewise_with_one_interval_and_weibull_with_shape_pinned_at_one_match_the_exponential():
    """cut_points [0] is the hierarchical exponential; log k ~ N(0, 0.001²) pins k = 1. Both by NUTS,
    each within 4 MCSE of the quadrature answer."""
    patients = synthetic_patients(PANEL["early interim"])
    rates = {"benchmark_landmark_pfs": 0.45, "target_landmark_pfs": 0.6}
    exact = analyse(request(patients, model={"kind": "hierarchical-exponential"}, engine="quadrature", **rates))
    settings = dict(draws=1000, tune=1000, chains=4, target_accept=0.99, max_reruns=0)
    for kind, prior in (
        ("hierarchical-piecewise-exponential", {"cut_points": [0.0]}),
        ("hierarchical-weibull", {"shape_log_sd": 0.001}),
    ):
        result = analyse(request(patients, model={"kind": kind, "prior": prior}, mcmc=settings, seed=11, **rates))
        assert result["diagnostics"]["divergences"] == 0, kind
        for sampled, reference in zip(result["strata"], exact["strata"]):
            key = "prob_landmark_above_benchmark"
            assert abs(sampled[key] - reference[key]) <= 4 * sampled["monte_carlo_se"][key], (kind, sampled[key], reference[key])


@pytest.mark.slow
def test_events_at_time_zero_are_moved_to_half_a_day_with_a_typed_warning():
    """NUTS on log λ needs log t for an event: an event at t = 0 is placed at half a day and the result says so."""
    rows = [("A", 0.0, True), ("A", 0.0, True), ("A", 3.0, True), ("A", 6.0, False)] + [("B", 2.0, True), ("B", 5.0, False)] * 2
    settings = dict(draws=500, tune=500, chains=2, max_reruns=0)
    result = analyse(request(patients_from(rows), model={"kind": "hierarchical-weibull"}, mcmc=settings, seed=5))
    (warning,) = [w for w in result["warnings"] if w["code"] == "events-at-time-zero"]
    assert warning["message"].startswith("2 event(s) at time 0") and warning["stratum"] is None
    assert result["provenance"]["sampler"]["n_events_at_time_zero"] == [2, 0]
    exact = analyse(request(patients_from(rows)))  # the conjugate model needs no log t: no warning
    assert all(w["code"] != "events-at-time-zero" for w in exact["warnings"])


@pytest.mark.slow
def test_weibull_and_piecewise_report_every_summary():
    """Default priors on realistic data: the shapes of the result, τ and sampler provenance."""
    rng = np.random.default_rng(5)
    rows = []
    for name, hazard in (("NF1-associated", 0.35), ("sporadic", 0.5)):
        t, c = rng.exponential(1 / hazard, 30), rng.uniform(2, 10, 30)
        rows += [(name, min(a, b), a <= b) for a, b in zip(t, c)]
    settings = dict(draws=500, tune=500, chains=2, max_reruns=0)
    for kind in ("hierarchical-weibull", "hierarchical-piecewise-exponential"):
        result = analyse(request(patients_from(rows), model={"kind": kind}, mcmc=settings, seed=3))
        for row in result["strata"]:
            post = row["posterior"]
            assert 0 < post["landmark_pfs"]["ci95"][0] < post["landmark_pfs"]["median"] < post["landmark_pfs"]["ci95"][1] < 1
            assert post["median_pfs"]["ci95"][0] < post["median_pfs"]["median"] < post["median_pfs"]["ci95"][1]
            assert 0 <= row["monte_carlo_se"]["prob_landmark_above_benchmark"] < 0.05
        assert result["provenance"]["sampler"]["kind"] == kind
        assert result["provenance"]["seed"] == 3
        assert result["between_stratum_spread"]["median"] > 0


# --- the planned number of patients -----------------------------------------------------------------

README_PFS_PATIENTS = patients_from(
    [("NF1-associated", 5.2, False), ("NF1-associated", 1.1, True), ("NF1-associated", 3.9, True),
     ("sporadic", 0.9, True), ("sporadic", 4.4, False), ("sporadic", 2.0, True)]
)  # fmt: skip


def readme_pfs_analysis(strata, **changes):
    """The README's PFS example (3 patients per stratum, hierarchical exponential), by quadrature."""
    body = request(README_PFS_PATIENTS, strata=strata, model={"kind": "hierarchical-exponential"}, engine="quadrature", seed=2026)
    return analyse(body | changes)


def test_readme_example_with_3_patients_per_stratum_and_no_n_planned_no_longer_says_go_and_warns():
    """It said "go" for NF1-associated (P(S(4) > 0.15) = 0.962, every one of its 3 patients evaluable):
    maturity without a planned sample size made a final analysis. Now: continue, and a no-planned-n warning."""
    result = readme_pfs_analysis(["NF1-associated", "sporadic"])
    nf1 = result["strata"][0]
    assert nf1["prob_landmark_above_benchmark"] == pytest.approx(0.962, abs=5e-4)
    assert [s["decision"] for s in result["strata"]] == ["continue", "continue"]
    assert [s["n_planned"] for s in result["strata"]] == [None, None]
    assert "no final analysis without n_planned" in nf1["decision_criterion"]["text"]
    assert [w["stratum"] for w in result["warnings"] if w["code"] == "no-planned-n"] == ["NF1-associated", "sporadic"]


def test_readme_example_with_n_planned_3_met_reaches_the_final_analysis():
    """All 3 planned patients evaluable at 4 months: go (0.962 > 0.95) and no-go (0.925 ≤ 0.95), no warning."""
    result = readme_pfs_analysis([{"name": "NF1-associated", "n_planned": 3}, {"name": "sporadic", "n_planned": 3}])
    nf1, sporadic = result["strata"]
    assert (nf1["n"], nf1["n_planned"], nf1["evaluable_at_landmark"]) == (3, 3, 3)
    assert (nf1["decision"], nf1["decision_criterion"]["id"]) == ("go", "final_success")
    assert (sporadic["decision"], sporadic["decision_criterion"]["id"]) == ("no-go", "final_failure")
    assert "3 of 3 planned patients evaluable at 4 months" in nf1["decision_criterion"]["text"]
    assert "no-planned-n" not in {w["code"] for w in result["warnings"]}


def test_readme_example_with_n_planned_21_and_3_evaluable_continues_unless_an_interim_criterion_fires():
    """3 of 21 planned: no final analysis; the posterior is the same as without n_planned."""
    planned = [{"name": "NF1-associated", "n_planned": 21}, {"name": "sporadic", "n_planned": 21}]
    result = readme_pfs_analysis(planned)
    unplanned = readme_pfs_analysis(["NF1-associated", "sporadic"])
    for row, same in zip(result["strata"], unplanned["strata"], strict=True):
        assert (row["decision"], row["decision_criterion"]["id"]) == ("continue", "continue")
        assert "final analysis not reached: 3 of 21 planned patients evaluable at 4 months" in row["decision_criterion"]["text"]
        assert row["prob_landmark_above_benchmark"] == same["prob_landmark_above_benchmark"]
    early = readme_pfs_analysis(planned, decision={"efficacy_prob_above_target": 0.5})
    assert [s["decision_criterion"]["id"] for s in early["strata"]] == ["efficacy_posterior", "efficacy_posterior"]


def test_n_planned_below_the_patients_enrolled_is_refused_naming_the_stratum_field():
    problems = problems_of(request(patients_from(BASE), strata=[{"name": "A", "n_planned": 1}, {"name": "B", "n_planned": 2}]))
    assert list(problems) == ["strata/0/n_planned"]
    assert "enrolled = 2, n_planned = 1" in problems["strata/0/n_planned"]


def test_bad_planned_strata_are_named_at_once():
    strata = [{"name": "A", "n_planned": 0}, {"name": "B", "n_planned": 2, "n": 2}]
    problems = problems_of(request(patients_from(BASE), strata=strata))
    assert set(problems) == {"strata/0/n_planned", "strata/1/n"}
