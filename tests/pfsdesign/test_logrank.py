"""The one-sample log-rank comparator (``designs.pfsdesign.logrank``): Wu's (2015) sample sizes and the
OneArm2stage single-stage designs reproduced, the moments against closed forms and simulation, the
statistic by hand, simulated type I error and power at the designed n, seeding and bad input."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate

from designs.core.errors import InvalidInputError
from designs.pfsdesign.laws import SurvivalLaw
from designs.pfsdesign.logrank import (
    MAX_N,
    logrank_operating_characteristics,
    logrank_sample_size,
    one_sample_logrank,
    wu_moments,
)

# Wu (2015), section 4: Mayo Clinic PBC data as historical control, Weibull with median 9 years and
# shape 1.22; hazard ratio 1/1.75; accrual 5 years, follow-up 3 years; one-sided alpha 0.05.
PBC = SurvivalLaw.from_median(9.0, 1.22)
PBC_ALTERNATIVE = SurvivalLaw.weibull(PBC.rates[0] / 1.75, 1.22)
# SARC-like PFS benchmark: 4-month PFS 15 % against 35 %.
SARC = SurvivalLaw.from_landmark(0.15, 4.0)
SARC_TARGET = SurvivalLaw.from_landmark(0.35, 4.0)


def problems(error: pytest.ExceptionInfo) -> dict[str, str]:
    return {p.field: p.reason for p in error.value.problems}


@pytest.mark.parametrize(("power", "n"), [(0.80, 88), (0.85, 100), (0.90, 117)])
def test_wu_2015_pbc_example_sample_sizes_88_100_117(power, n):
    """Wu 2015's example (n = 88 at 80 % power), as its R implementation logRank1s also gives 100 at 85 %
    and 117 at 90 %: the ceiling of (σ0 z_{1−α} + σ z_{1−β})² / ω² at t_a = 5, t_f = 3."""
    moments = wu_moments(PBC, PBC_ALTERNATIVE, accrual_months=5.0, follow_up_months=3.0)
    assert math.ceil(moments.sample_size(0.05, power)) == n
    assert moments.sample_size(0.05, power) > n - 1


def test_wu_2015_pbc_example_power_0_803_at_88():
    moments = wu_moments(PBC, PBC_ALTERNATIVE, accrual_months=5.0, follow_up_months=3.0)
    assert round(moments.power(88, 0.05), 3) == 0.803


def test_wu_2015_weibull_shape_0_1_hazard_ratio_1_2_needs_534_for_90_percent_power():
    """Wu 2015's simulation setting (as in logRank1s's example): Weibull shape 0.1, median 1, hazard ratio
    1/1.2, accrual 3, follow-up 1, 90 % power: n = 534. A hazard infinite at 0 tests the quadrature."""
    benchmark = SurvivalLaw.from_median(1.0, 0.1)
    alternative = SurvivalLaw.weibull(benchmark.rates[0] / 1.2, 0.1)
    moments = wu_moments(benchmark, alternative, accrual_months=3.0, follow_up_months=1.0)
    assert math.ceil(moments.sample_size(0.05, 0.90)) == 534


def test_wu_2015_pbc_example_at_an_accrual_rate_gives_88():
    """The same design stated as 17.6 patients a year (88 in 5 years): the smallest n whose power at
    t_a = n / rate reaches 80 % is again 88."""
    result = logrank_sample_size(PBC, PBC_ALTERNATIVE, alpha=0.05, power=0.8, accrual_per_month=17.6, follow_up_months=3.0)
    assert result["n"] == 88
    assert result["accrual_months"] == pytest.approx(5.0)
    assert round(result["power_at_n"], 3) == 0.803
    assert result["power_at_n_minus_1"] < 0.8 <= result["power_at_n"]


@pytest.mark.parametrize(
    ("s0", "x0", "hr", "follow_up", "rate", "power", "n", "accrual"),
    [(0.62, 2.0, 0.467, 2.0, 5.0, 0.8, 25, 5.0), (0.25, 12.0, 0.7, 12.0, 6.0, 0.9, 90, 15.0)],
)
def test_onearm2stage_single_stage_designs(s0, x0, hr, follow_up, rate, power, n, accrual):
    """OneArm2stage::Optimal.KJ (Wu, Chen, Wei, Weiss & Chauhan 2020), single stage, exponential: its
    documented examples nsingle = 25 (tasingle 5) and nsingle = 90 (tasingle 15)."""
    benchmark = SurvivalLaw.from_landmark(s0, x0)
    alternative = SurvivalLaw.exponential(benchmark.rates[0] * hr)
    result = logrank_sample_size(benchmark, alternative, alpha=0.05, power=power, accrual_per_month=rate, follow_up_months=follow_up)
    assert result["n"] == n
    assert result["accrual_months"] == pytest.approx(accrual)


def test_moments_equal_the_closed_forms_of_exponential_laws():
    """Independent check: for exponential laws (λ0, λ1) and C ~ U(t_f, t_a + t_f), averaging over C
    P(T ≤ c) = 1 − e^{−λ1 c}, E[min(T, c)] = (1 − e^{−λ1 c}) / λ1, E[min(T, c)²] = 2 (1 − e^{−λ1 c}(1 + λ1 c)) / λ1²
    and E[T; T ≤ c] = (1 − e^{−λ1 c}(1 + λ1 c)) / λ1 gives p1, p0 = λ0 E[X], p00 = λ0² E[X²] / 2,
    p01 = λ0 E[T; T ≤ C]."""
    lam0, lam1, t_a, t_f = 0.47, 0.26, 11.0, 6.0
    tau = t_a + t_f
    mean_exp = (math.exp(-lam1 * t_f) - math.exp(-lam1 * tau)) / (lam1 * t_a)  # E[e^{−λ1 C}]
    mean_c_exp = ((t_f / lam1 + 1 / lam1**2) * math.exp(-lam1 * t_f) - (tau / lam1 + 1 / lam1**2) * math.exp(-lam1 * tau)) / t_a
    tail = 1 - mean_exp - lam1 * mean_c_exp  # E[1 − e^{−λ1 C}(1 + λ1 C)]
    p1 = 1 - mean_exp
    expected = {"p1": p1, "p0": lam0 * p1 / lam1, "p00": lam0**2 * tail / lam1**2, "p01": lam0 * tail / lam1}
    moments = wu_moments(SurvivalLaw.exponential(lam0), SurvivalLaw.exponential(lam1), accrual_months=t_a, follow_up_months=t_f)
    for name, value in expected.items():
        assert getattr(moments, name) == pytest.approx(value, rel=1e-9), name


@pytest.mark.parametrize("seed", range(8))
def test_moments_equal_direct_integrals_in_time_for_any_law(seed):
    """Independent check of the quadrature in h = Λ(t) for random laws: in time, by parts,
    p1 = F1(t_f) + (1/t_a) ∫_{t_f}^{τ} (F1(t) − F1(t_f)) dt, and with a Weibull benchmark of hazard
    λ0(t) = r k t^{k−1}, p0 = ∫ G S1 λ0 dt and p00 = ∫ G S1 Λ0 λ0 dt."""
    rng = np.random.default_rng(seed)
    cuts = (0.0, *np.cumsum(rng.uniform(0.5, 6.0, 2)))
    alternative = [SurvivalLaw.piecewise(cuts, tuple(rng.uniform(0.02, 0.8, 3))),
                   SurvivalLaw.weibull(rng.uniform(0.02, 0.5), rng.uniform(0.5, 3.0))][seed % 2]
    rate, shape = rng.uniform(0.05, 0.5), rng.uniform(1.0, 2.5)
    benchmark = SurvivalLaw.weibull(rate, shape)
    t_a, t_f = rng.uniform(1.0, 30.0), rng.uniform(0.0, 12.0)
    tau = t_a + t_f
    moments = wu_moments(benchmark, alternative, accrual_months=t_a, follow_up_months=t_f)

    def quad(f, a, b):
        inner = [c for c in alternative.cut_points if a < c < b]
        return integrate.quad(f, a, b, points=inner or None, limit=500, epsabs=1e-13, epsrel=1e-11)[0]

    def g(t):
        return 1.0 if t <= t_f else (tau - t) / t_a

    def f1(t):
        return 1.0 - float(alternative.survival(t))

    def hazard0(t):
        return rate * shape * t ** (shape - 1.0)

    def lam0(t):
        return float(benchmark.cumulative_hazard(t))

    p1 = f1(t_f) + quad(lambda t: f1(t) - f1(t_f), t_f, tau) / t_a
    p0 = quad(lambda t: float(alternative.survival(t)) * hazard0(t), 0.0, t_f) + quad(
        lambda t: g(t) * float(alternative.survival(t)) * hazard0(t), t_f, tau)
    p00 = quad(lambda t: float(alternative.survival(t)) * lam0(t) * hazard0(t), 0.0, t_f) + quad(
        lambda t: g(t) * float(alternative.survival(t)) * lam0(t) * hazard0(t), t_f, tau)
    assert moments.p1 == pytest.approx(p1, rel=1e-8, abs=1e-12)
    assert moments.p0 == pytest.approx(p0, rel=1e-8, abs=1e-12)
    assert moments.p00 == pytest.approx(p00, rel=1e-8, abs=1e-12)


@pytest.mark.parametrize(
    "alternative",
    [SurvivalLaw.weibull(0.15, 1.4), SurvivalLaw.piecewise((0.0, 2.0, 5.0), (0.5, 0.2, 0.35)), SARC_TARGET],
    ids=["weibull", "piecewise", "exponential"],
)
def test_expected_events_agree_with_simulation(alternative):
    """n·p1 (events) and n·p0 (the benchmark's expected events E) against the simulated means under the
    formula's own model (random-uniform entries), within 4 Monte Carlo SEs: the quadrature for any law."""
    design = logrank_sample_size(SARC, alternative, alpha=0.05, power=0.8, accrual_per_month=3.0, follow_up_months=6.0)
    oc = logrank_operating_characteristics(SARC, {"truth": alternative}, n=design["n"], accrual_per_month=3.0,
                                           follow_up_months=6.0, alpha=0.05, n_trials=10_000, seed=11,
                                           accrual="random-uniform")["truth"]
    assert abs(oc["mean_events"] - design["expected_events"]) < 4 * oc["mean_events_mcse"]
    assert oc["mean_expected_events"] == pytest.approx(design["expected_benchmark_events"], rel=0.01)


def test_statistic_on_a_hand_computed_data_set():
    """Benchmark hazard 0.2 a month; times 2, 5, 10, 4 with events 1, 0, 1, 0: O = 2, E = 0.2 × 21 = 4.2,
    Z = 2.2 / √4.2 = 1.0735, p = 1 − Φ(Z) = 0.1415; the average-variance form divides by √3.1."""
    benchmark = SurvivalLaw.exponential(0.2)
    result = one_sample_logrank([2.0, 5.0, 10.0, 4.0], [1, 0, 1, 0], benchmark)
    assert result["observed_events"] == 2
    assert result["expected_events"] == pytest.approx(4.2)
    assert result["z"] == pytest.approx(2.2 / math.sqrt(4.2))
    assert result["p_value"] == pytest.approx(0.5 * math.erfc(2.2 / math.sqrt(4.2) / math.sqrt(2)))
    assert round(result["z"], 4) == 1.0735 and round(result["p_value"], 4) == 0.1415
    variant = one_sample_logrank(np.array([2.0, 5.0, 10.0, 4.0]), np.array([1, 0, 1, 0]), benchmark, statistic="average-variance")
    assert variant["z"] == pytest.approx(2.2 / math.sqrt(3.1))


def test_more_events_than_expected_gives_a_negative_z():
    result = one_sample_logrank([1.0, 1.0, 1.0], [1, 1, 1], SurvivalLaw.exponential(0.1))
    assert result["z"] == pytest.approx((0.3 - 3) / math.sqrt(0.3))
    assert result["p_value"] > 0.99


def _oc(benchmark, alternative, design, *, statistic="classical", n_trials=10_000, seed=2026):
    return logrank_operating_characteristics(
        benchmark, {"benchmark": benchmark, "alternative": alternative}, n=design["n"], accrual_per_month=design["accrual_per_month"],
        follow_up_months=design["follow_up_months"], alpha=design["alpha"], n_trials=n_trials, seed=seed, statistic=statistic)


def test_type_i_error_and_power_at_the_wu_sample_size_weibull_benchmark():
    """Wu's Weibull setting (n = 534): simulated type I error within 3 MC SEs of 0.05 (Wu and logRank1s
    report 0.0472 from their simulation) and power within 0.015 of the nominal 90 %."""
    benchmark = SurvivalLaw.from_median(1.0, 0.1)
    alternative = SurvivalLaw.weibull(benchmark.rates[0] / 1.2, 0.1)
    design = logrank_sample_size(benchmark, alternative, alpha=0.05, power=0.9, accrual_per_month=534 / 3, follow_up_months=1.0)
    assert design["n"] == 534
    oc = _oc(benchmark, alternative, design)
    null = oc["benchmark"]
    assert abs(null["reject_probability"] - 0.05) < 3 * null["mcse"]
    assert abs(oc["alternative"]["reject_probability"] - design["power_at_n"]) < 0.015


def test_type_i_error_and_power_at_the_wu_sample_size_exponential_benchmark():
    """Exponential benchmark (4-month PFS 15 %), hazard ratio 0.85, 10 patients a month, 6 months'
    follow-up: n = 249. The classical test is slightly conservative here (type I error 0.0457 with 200 000
    trials, 2.1 MC SEs of 10 000 trials below 0.05): it must not exceed 0.05 by 3 MC SEs nor fall 0.01
    below; the average-variance statistic (0.0497 with 200 000 trials) lies within 3 MC SEs of 0.05.
    Power within 0.02 of nominal (simulated 0.812 vs 0.801)."""
    alternative = SurvivalLaw.exponential(SARC.rates[0] * 0.85)
    design = logrank_sample_size(SARC, alternative, alpha=0.05, power=0.8, accrual_per_month=10.0, follow_up_months=6.0)
    assert design["n"] == 249
    oc = _oc(SARC, alternative, design)
    null = oc["benchmark"]
    assert 0.04 < null["reject_probability"] < 0.05 + 3 * null["mcse"]
    assert abs(oc["alternative"]["reject_probability"] - design["power_at_n"]) < 0.02
    variant = _oc(SARC, alternative, design, statistic="average-variance")["benchmark"]
    assert abs(variant["reject_probability"] - 0.05) < 3 * variant["mcse"]


def test_small_trials_classical_test_is_conservative_and_average_variance_holds_alpha():
    """SARC 15 % vs 35 % at 4 months, 2 a month, 6 months' follow-up: n = 22. The classical statistic
    rejects H0 in ~3.6 % of trials at the benchmark (conservative in small samples, as the literature reports)
    and has more power than the asymptotic formula says (~0.84 vs 0.806); the average-variance statistic
    holds 0.05 within 3 MC SEs."""
    design = logrank_sample_size(SARC, SARC_TARGET, alpha=0.05, power=0.8, accrual_per_month=2.0, follow_up_months=6.0)
    assert design["n"] == 22
    classical = _oc(SARC, SARC_TARGET, design)
    assert classical["benchmark"]["reject_probability"] + 3 * classical["benchmark"]["mcse"] < 0.05
    assert 0 < classical["alternative"]["reject_probability"] - design["power_at_n"] < 0.06
    variant = _oc(SARC, SARC_TARGET, design, statistic="average-variance")
    assert abs(variant["benchmark"]["reject_probability"] - 0.05) < 3 * variant["benchmark"]["mcse"]


@pytest.mark.parametrize("accrual", ["uniform", "random-uniform", "poisson"])
def test_same_seed_same_numbers_and_common_random_numbers_across_scenarios(accrual):
    kwargs = dict(n=30, accrual_per_month=3.0, follow_up_months=6.0, alpha=0.05, n_trials=2_000, seed=5, accrual=accrual)
    first = logrank_operating_characteristics(SARC, {"a": SARC, "b": SARC_TARGET}, **kwargs)
    assert logrank_operating_characteristics(SARC, {"a": SARC, "b": SARC_TARGET}, **kwargs) == first
    # A scenario's numbers do not depend on the other scenarios (the same patients under every law).
    assert logrank_operating_characteristics(SARC, {"b": SARC_TARGET}, **kwargs)["b"] == first["b"]
    assert logrank_operating_characteristics(SARC, {"a": SARC, "b": SARC_TARGET}, **kwargs | {"seed": 6}) != first


def test_analysis_time_is_follow_up_after_the_end_of_accrual():
    oc = logrank_operating_characteristics(SARC, {"a": SARC}, n=30, accrual_per_month=3.0, follow_up_months=6.0,
                                           alpha=0.05, n_trials=4_000, seed=1, accrual="poisson")["a"]
    assert oc["analysis_months"] == pytest.approx(16.0, abs=0.1)  # E[30th arrival] = 10 months
    even = logrank_operating_characteristics(SARC, {"a": SARC}, n=30, accrual_per_month=3.0, follow_up_months=6.0,
                                             alpha=0.05, n_trials=10, seed=1, accrual="uniform")["a"]
    assert even["analysis_months"] == pytest.approx(16.0) and even["accrual_months"] == pytest.approx(10.0)


def test_power_not_above_alpha_is_refused():
    with pytest.raises(InvalidInputError) as error:
        logrank_sample_size(SARC, SARC_TARGET, alpha=0.1, power=0.1, accrual_per_month=2.0, follow_up_months=6.0)
    assert "alpha" in problems(error)["power"]


def test_alternative_not_better_than_benchmark_is_refused():
    worse = SurvivalLaw.from_landmark(0.10, 4.0)
    with pytest.raises(InvalidInputError) as error:
        logrank_sample_size(SARC, worse, alpha=0.05, power=0.8, accrual_per_month=2.0, follow_up_months=6.0)
    assert "no power" in problems(error)["alternative"]


def test_a_design_needing_more_than_max_n_patients_is_refused():
    close = SurvivalLaw.exponential(SARC.rates[0] * 0.99)
    with pytest.raises(InvalidInputError) as error:
        logrank_sample_size(SARC, close, alpha=0.05, power=0.8, accrual_per_month=2.0, follow_up_months=6.0)
    assert f"more than {MAX_N}" in problems(error)["power"]


def test_every_bad_argument_is_named_at_once():
    with pytest.raises(InvalidInputError) as error:
        logrank_sample_size("exponential", SARC_TARGET, alpha=0.0, power=1.0, accrual_per_month=-1.0, follow_up_months=float("nan"))
    assert set(problems(error)) == {"benchmark", "alpha", "power", "accrual_per_month", "follow_up_months"}
    with pytest.raises(InvalidInputError) as error:
        logrank_operating_characteristics(SARC, {"x": 0.15}, n=0, accrual_per_month=0.0, follow_up_months=-1.0, alpha=0.7,
                                          n_trials=0, seed=-1, statistic="wald", accrual="weekly")
    assert set(problems(error)) == {"laws/x", "n", "accrual_per_month", "follow_up_months", "alpha", "n_trials", "seed",
                                    "statistic", "accrual"}
    with pytest.raises(InvalidInputError) as error:
        one_sample_logrank([1.0, -2.0, float("nan")], [1, 2], SARC, statistic="wald")
    assert set(problems(error)) == {"time/1", "time/2", "event/1", "event", "statistic"}


def test_data_without_follow_up_is_refused_not_nan():
    with pytest.raises(InvalidInputError) as error:
        one_sample_logrank([0.0, 0.0], [0, 0], SARC)
    assert "no follow-up" in problems(error)["time"]


def test_sample_size_is_the_smallest_n_reaching_the_power():
    """Brute force over every smaller n (t_a = n / rate each time), for a law whose curve crosses the
    benchmark's (better for 4 months, worse after)."""
    crossing = SurvivalLaw.piecewise((0.0, 4.0), (0.2, 0.8))
    design = logrank_sample_size(SARC, crossing, alpha=0.05, power=0.8, accrual_per_month=1.0, follow_up_months=1.0)
    powers = [wu_moments(SARC, crossing, accrual_months=n / 1.0, follow_up_months=1.0).power(n, 0.05) for n in range(1, design["n"] + 1)]
    assert max(powers[:-1]) < 0.8 <= powers[-1] == pytest.approx(design["power_at_n"])


def test_a_peak_of_power_between_grid_points_is_found_when_curves_cross_and_power_falls_with_n():
    """Curves that cross (hazard 0.01 a month for 3 months, then 3.0, against an exponential benchmark with
    median 6; 10 patients a month, 0.5 months of follow-up): power rises to about 0.86 near n = 25 and falls
    towards 0 as the trial lengthens. Power at n = 5,000 bounds nothing: the design must still be found
    (the first n reaching the target, checked against every smaller n), and an unreachable target refused
    quoting the highest power and saying why."""
    benchmark, crossing = SurvivalLaw.from_median(6.0), SurvivalLaw.piecewise((0.0, 3.0), (0.01, 3.0))
    kwargs = dict(alpha=0.05, accrual_per_month=10.0, follow_up_months=0.5)

    def power(n):
        return wu_moments(benchmark, crossing, accrual_months=n / 10.0, follow_up_months=0.5).power(n, 0.05)

    for target in (0.5, 0.8):
        n = logrank_sample_size(benchmark, crossing, power=target, **kwargs)["n"]
        assert power(n) >= target and all(power(m) < target for m in range(1, n))
    assert power(200) < 0.1  # the fall that made the old check at n = 5,000 refuse these designs
    with pytest.raises(InvalidInputError) as error:
        logrank_sample_size(benchmark, crossing, power=0.95, **kwargs)
    assert "crosses" in problems(error)["power"] and "highest power" in problems(error)["power"]
