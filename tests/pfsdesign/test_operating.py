"""Operating characteristics and calibration of PFS rules: exact checks, monotonicity, reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import special, stats
from scipy.signal import fftconvolve

from designs.core.errors import InvalidInputError
from designs.pfsdesign.operating import PFSCalibrationPlan, PFSOCPlan, run
from designs.pfsdesign.spec import PFSDesignSpec
from designs.survival.models import GammaHazardPrior

L = 4.0


def _request(**change):
    body = {
        "strata": [{"name": "NF1", "n_planned": 20, "accrual_per_month": 2.0, "looks": {"by": "calendar", "months": []}}],
        "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35, "landmark_months": L,
        "model": {"kind": "independent-exponential"}, "n_trials": 2000, "seed": 11,
    }
    return body | change


def _sum_of_truncated_exponentials_sf(d: int, rate: float, s: float, points: int = 4000) -> float:
    """P(Y_1 + … + Y_d > s) for Y iid exponential(rate) truncated to [0, L], by convolving the density
    on a fine midpoint grid (error O(h²), h = L / points)."""
    if d == 0:
        return float(s < 0)
    h = L / points
    y = (np.arange(points) + 0.5) * h
    f = rate * np.exp(-rate * y) / -math.expm1(-rate * L) * h  # probability mass per cell
    mass = f
    for _ in range(d - 1):
        mass = fftconvolve(mass, f)
    # The sum of d midpoints: cell k of the convolution sits at (k + d/2)·h.
    centres = (np.arange(mass.size) + d / 2) * h
    return float(np.clip(mass, 0, None)[centres > s].sum())


def test_one_look_independent_exponential_agrees_with_the_exact_probability_of_go():
    """One analysis (the final), follow-up cut at the landmark, futility off: the data at the final are
    n independent (min(X_i, L), 1[X_i ≤ L]), whatever the accrual. So d ~ Binomial(n, 1 − e^{−λL}) and,
    given d, T = (n − d)·L + Y_1 + … + Y_d with Y exponential(λ) truncated to [0, L]. Go when
    P(a + d, (b + T)·λ_B) > c (λ_B = −ln S_B / L), i.e. when T > gammaincinv(a + d, c)/λ_B − b, so

        P(go) = Σ_d Binomial(d; n, 1 − e^{−λL}) · P(Y_1 + … + Y_d > gammaincinv(a + d, c)/λ_B − b − (n − d)L),

    the tail of the sum by numerical convolution. The simulation (20,000 trials) is within 3 MC SEs."""
    n, c, rate_pfs = 20, 0.9, 0.30
    body = _request(n_trials=20_000, max_follow_up_months=L,
                    decision={"final_threshold": c, "futility_prob_above_benchmark": None},
                    scenarios=[{"name": "between", "laws": {"NF1": {"kind": "exponential", "landmark_pfs": rate_pfs}}}])
    result = run(PFSOCPlan.build(PFSDesignSpec.from_mapping(body)))
    got = result["scenarios"][0]["strata"][0]
    prior = GammaHazardPrior()
    lam, lam_b = -math.log(rate_pfs) / L, -math.log(0.15) / L
    exact = 0.0
    for d in range(n + 1):
        needed = special.gammaincinv(prior.shape + d, c) / lam_b - prior.rate - (n - d) * L
        exact += stats.binom.pmf(d, n, -math.expm1(-lam * L)) * _sum_of_truncated_exponentials_sf(d, lam, needed)
    assert abs(got["prob_go"] - exact) < 3 * got["monte_carlo_se"]["prob_go"], (got["prob_go"], exact)
    assert 0.2 < exact < 0.8  # a probability the test can tell apart
    assert got["looks"][0]["final"] and got["looks"][0]["prob_stop"] == 1.0
    assert got["expected_enrolled"] == n


def test_type_i_error_falls_as_the_threshold_rises():
    """Calibration re-thresholds the same simulated trials: type I error and power never rise with the
    threshold, and the chosen threshold is the lowest meeting the target in every stratum."""
    body = _request(strata=[
        {"name": "NF1", "n_planned": 20, "accrual_per_month": 2.0, "looks": {"by": "evaluable", "patients": [10, 20]}},
        {"name": "sporadic", "n_planned": 15, "accrual_per_month": 1.0, "looks": {"by": "calendar", "months": [6]}},
    ], target_type_i_error=0.1)
    result = run(PFSCalibrationPlan.build(PFSDesignSpec.calibration_from_mapping(body)))
    curve = result["curve"]
    assert len(curve) == 30
    for j in range(2):
        t1 = [row["strata"][j]["type_i_error"] for row in curve]
        power = [row["strata"][j]["power"] for row in curve]
        assert all(b <= a for a, b in zip(t1, t1[1:])) and t1[0] > t1[-1]
        assert all(b <= a for a, b in zip(power, power[1:]))
    chosen = next(row for row in curve if all(s["type_i_error"] <= 0.1 for s in row["strata"]))
    assert result["final_threshold"] == chosen["final_threshold"] == result["decision"]["final_threshold"]


def test_calibration_curve_is_the_operating_characteristics_at_each_threshold():
    """The curve's type I error at a candidate is P(go) of the rule with that final threshold, simulated
    on the same seed: re-thresholding changes nothing else."""
    body = _request(target_type_i_error=0.1, thresholds=[0.85, 0.9, 0.95])
    curve = run(PFSCalibrationPlan.build(PFSDesignSpec.calibration_from_mapping(body)))["curve"]
    for row in curve:
        oc = run(PFSOCPlan.build(PFSDesignSpec.from_mapping(_request(decision={"final_threshold": row["final_threshold"]}))))
        by_name = {s["name"]: s for s in oc["scenarios"]}
        assert by_name["benchmark"]["strata"][0]["prob_go"] == row["strata"][0]["type_i_error"]
        assert by_name["target"]["strata"][0]["prob_go"] == row["strata"][0]["power"]


def _hierarchical():
    return _request(model={"kind": "hierarchical-exponential"}, n_trials=2000, strata=[
        {"name": "NF1", "n_planned": 12, "accrual_per_month": 2.0, "looks": {"by": "evaluable", "patients": [6, 12]}},
        {"name": "sporadic", "n_planned": 12, "accrual_per_month": 1.5, "looks": {"by": "calendar", "months": [5]}},
    ], scenarios=[{"name": "mixed", "laws": {"NF1": {"kind": "exponential", "landmark_pfs": 0.35},
                                              "sporadic": {"kind": "weibull", "shape": 1.5, "median_months": 2.0}}}])


@pytest.mark.slow
def test_same_request_and_seed_same_numbers_whatever_the_chunking():
    """Hierarchical model (joint analyses, borrowing): chunks of one RNG block or of two give the same
    document, and so does running it again."""
    spec = PFSDesignSpec.from_mapping(_hierarchical())
    one = run(PFSOCPlan.build(spec, chunk_trials=1000))
    two = run(PFSOCPlan.build(spec, chunk_trials=2000))
    assert one == two
    # The chunks come back in any order: the reduction sorts them by block.
    plan = PFSOCPlan.build(spec, chunk_trials=1000)
    pairs = [(chunk, plan.run_chunk(chunk)) for chunk in reversed(plan.chunks)]
    assert plan.reduce(pairs) == one
    stratum = one["scenarios"][0]["strata"][0]
    assert sum(look["prob_stop"] for look in stratum["looks"]) == pytest.approx(1.0)


def test_every_probability_is_finite_and_the_stops_add_up():
    result = run(PFSOCPlan.build(PFSDesignSpec.from_mapping(_request(strata=[
        {"name": "NF1", "n_planned": 20, "accrual_per_month": 2.0, "looks": {"by": "calendar", "months": [3, 6, 100]}}],
        accrual={"kind": "uniform"}))))
    for scenario in result["scenarios"]:
        s = scenario["strata"][0]
        assert sum(look["prob_stop"] for look in s["looks"]) == pytest.approx(1.0)
        assert s["prob_go"] + s["prob_no_go"] == pytest.approx(1.0)
        assert s["looks"][2]["prob_stop"] == 0.0  # month 100 comes after the final analysis
        assert math.isfinite(s["expected_duration_months"])
    assert result["provenance"]["input_sha256"]


def test_mcmc_only_models_are_refused_saying_what_to_use():
    with pytest.raises(InvalidInputError) as err:
        PFSDesignSpec.from_mapping(_request(model={"kind": "hierarchical-weibull"}))
    (problem,) = err.value.problems
    assert problem.field == "model/kind" and "hierarchical-exponential" in problem.reason


def test_the_comparator_is_the_one_sample_log_rank_design_at_the_strata_accrual_and_its_simulated_power():
    """The comparator block is ``designs.pfsdesign.logrank`` called with the design's own numbers: Wu's
    sample size for the benchmark against the target (exponential at their 4-month rates) at the stratum's
    accrual, and the test's simulated rejection rates at n_planned under each scenario's law, with the
    design's accrual model and seed."""
    from designs.pfsdesign.laws import SurvivalLaw
    from designs.pfsdesign.logrank import logrank_operating_characteristics, logrank_sample_size

    body = _request(comparator={"alpha": 0.05, "power": 0.8}, n_trials=400)
    plan = PFSOCPlan.build(PFSDesignSpec.from_mapping(body))
    result = run(plan)
    assert result["comparator"]["available"] is True
    (stratum,) = result["comparator"]["strata"]
    benchmark, target = SurvivalLaw.from_landmark(0.15, L), SurvivalLaw.from_landmark(0.35, L)
    assert stratum["sample_size"] == logrank_sample_size(benchmark, target, alpha=0.05, power=0.8,
                                                         accrual_per_month=2.0, follow_up_months=L)
    laws = {s.name: s.laws["NF1"] for s in plan.spec.scenarios}
    assert stratum["operating_characteristics"] == logrank_operating_characteristics(
        benchmark, laws, n=20, accrual_per_month=2.0, follow_up_months=L, alpha=0.05, n_trials=400,
        seed=plan.seed, accrual=plan.spec.accrual)
    oc = stratum["operating_characteristics"]
    assert oc["benchmark"]["reject_probability"] < 0.1 < 0.5 < oc["target"]["reject_probability"]


def test_blas_is_limited_by_the_first_design_to_start_and_restored_by_the_last_to_finish():
    """The BLAS limit is global to the process: nested (or concurrent) computations share one limiter,
    set by the first and lifted by the last, so that one finishing does not lift it under another."""
    from designs.pfsdesign import operating

    assert operating._BLAS_USERS == [0, None]
    with operating.one_blas_thread():
        limiter = operating._BLAS_USERS[1]
        assert limiter is not None
        with operating.one_blas_thread():
            assert operating._BLAS_USERS == [2, limiter]
        assert operating._BLAS_USERS == [1, limiter]
    assert operating._BLAS_USERS == [0, None]


def test_a_simulated_final_analysis_is_the_pfs_analysis_of_the_same_patients():
    """Hierarchical model, no interim stopping: at stratum NF1's final analysis the simulated
    P(S(L) > benchmark) is the one ``POST /v1/analyses/pfs``'s core (quadrature engine) gives for the
    same patients of both strata, to 1e-4, and so is the decision."""
    from designs.pfsdesign.simulate import patient_records, simulate_block
    from designs.survival.analysis import analyse_pfs
    from designs.survival.spec import PFSAnalysisSpec

    body = _hierarchical() | {"decision": {"final_threshold": 0.8, "futility_prob_above_benchmark": None}}
    spec = PFSDesignSpec.from_mapping(body)
    outcome = simulate_block(spec, spec.scenarios[0], seed=3, block=0, n_trials=6)
    for trial in range(6):
        month = float(outcome.month[trial, 0])
        patients = patient_records(spec, spec.scenarios[0], 3, 0, trial, month)
        result = analyse_pfs(PFSAnalysisSpec.from_mapping({
            "patients": patients, "strata": [{"name": s.name, "n_planned": s.n_planned} for s in spec.strata],
            "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35, "landmark_months": L,
            "model": {"kind": "hierarchical-exponential"}, "engine": "quadrature",
            "decision": {"final_threshold": 0.8, "futility_prob_above_benchmark": None}}))
        nf1 = result["strata"][0]
        assert nf1["decision_criterion"]["id"] in ("final_success", "final_failure")
        assert abs(nf1["prob_landmark_above_benchmark"] - outcome.final_prob[trial, 0]) < 1e-4
        assert (nf1["decision"] == "go") == (outcome.ending[trial, 0] == 3)
        assert outcome.enrolled[trial, 0] == nf1["n"] == 12


def test_uniform_accrual_puts_the_final_analysis_when_the_last_patient_is_followed_to_the_landmark():
    """Uniform accrual at 1 patient a month: patient i enters at month i (i = 0 … 9); with almost no
    events (S(4) = 0.999) the last one is evaluable at month 9 + 4 = 13, the final analysis. Poisson
    accrual at the same rate spreads it around 13 (its last entry has mean 9 months and sd 3)."""
    def body(kind):
        return _request(accrual={"kind": kind}, n_trials=1000, strata=[
            {"name": "NF1", "n_planned": 10, "accrual_per_month": 1.0, "looks": {"by": "calendar", "months": [4.5]}}],
            scenarios=[{"name": "long", "laws": {"NF1": {"kind": "exponential", "landmark_pfs": 0.999}}}])

    uniform = run(PFSOCPlan.build(PFSDesignSpec.from_mapping(body("uniform"))))["scenarios"][0]["strata"][0]
    assert uniform["looks"][0]["prob_stop"] == 0.0 and uniform["prob_go"] > 0.99
    assert uniform["expected_duration_months"] == pytest.approx(13.0, abs=0.01)
    assert uniform["expected_enrolled"] == 10
    poisson = run(PFSOCPlan.build(PFSDesignSpec.from_mapping(body("poisson"))))["scenarios"][0]["strata"][0]
    assert poisson["expected_duration_months"] == pytest.approx(13.0, abs=4 * poisson["monte_carlo_se"]["expected_duration_months"])
    assert poisson["monte_carlo_se"]["expected_duration_months"] > 10 * uniform["monte_carlo_se"]["expected_duration_months"]


def test_a_look_no_trial_stops_at_and_an_impractical_comparator_are_said():
    """A calendar look at month 40, after every simulated final analysis, and a target so close to the
    benchmark that the log-rank test needs 10 years of accrual at 2 a month: both are caveats, not silence."""
    body = _request(strata=[{"name": "NF1", "n_planned": 20, "accrual_per_month": 2.0,
                             "looks": {"by": "calendar", "months": [3, 40]}}],
                    target_landmark_pfs=0.2, n_trials=500, comparator={"alpha": 0.05, "power": 0.8})
    result = run(PFSOCPlan.build(PFSDesignSpec.from_mapping(body)))
    codes = [(w["code"], w["stratum"]) for w in result["warnings"]]
    assert codes == [("look-never-stops", "NF1"), ("comparator-impractical", "NF1")]
    assert "interim look 2, month 40" in result["warnings"][0]["message"]
    assert run(PFSOCPlan.build(PFSDesignSpec.from_mapping(_request())))["warnings"] == []
