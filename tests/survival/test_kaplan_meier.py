"""Kaplan–Meier curve and Greenwood CI against the published 6-MP leukaemia remission results.

Data: Freireich et al. (1963) 6-mercaptopurine vs placebo remission times in weeks (Gehan 1965), as
bundled with lifelines (``load_leukemia``: the Anderson/Kleinbaum copy, Rx = 0 is 6-MP, Rx = 1 placebo).
Published product-limit estimates and Greenwood standard errors for the 6-MP group: Klein &
Moeschberger (2003), Survival Analysis, 2nd ed., Table 4.1A; Kalbfleisch & Prentice (2002), §1.1.
"""

from __future__ import annotations

import numpy as np
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_leukemia

from designs.survival.kaplan_meier import Z_95, kaplan_meier

# Klein & Moeschberger (2003) Table 4.1A: 6-MP group, t, S(t), Greenwood SE.
PUBLISHED_6MP = [
    (6, 0.857, 0.0764),
    (7, 0.807, 0.0869),
    (10, 0.753, 0.0963),
    (13, 0.690, 0.1068),
    (16, 0.627, 0.1141),
    (22, 0.538, 0.1282),
    (23, 0.448, 0.1346),
]


@pytest.fixture(scope="module")
def leukemia():
    df = load_leukemia()
    groups = {}
    for name, rx in (("6-MP", 0), ("placebo", 1)):
        g = df[df["Rx"] == rx]
        groups[name] = (g["t"].to_numpy(dtype=float), g["status"].to_numpy().astype(bool))
    return groups


def test_leukemia_data_is_the_freireich_1963_trial(leukemia):
    """Gehan (1965): 21 patients per arm; 6-MP 9 relapses in 359 weeks, placebo 21 in 182 weeks."""
    time, event = leukemia["6-MP"]
    assert (len(time), int(event.sum()), time.sum()) == (21, 9, 359.0)
    time, event = leukemia["placebo"]
    assert (len(time), int(event.sum()), time.sum()) == (21, 21, 182.0)


def test_freireich_1963_6mp_product_limit_and_greenwood_se_klein_moeschberger_table_4_1a(leukemia):
    """Ŝ(13) = 0.690 with Greenwood SE 0.1068 (and the rest of K&M Table 4.1A)."""
    curve = kaplan_meier(*leukemia["6-MP"])
    for t, survival, se in PUBLISHED_6MP:
        estimate = curve.landmark(t)
        assert estimate.survival == pytest.approx(survival, abs=5e-4)
        assert estimate.se == pytest.approx(se, abs=5e-5)


def test_6mp_product_limit_by_hand(leukemia):
    """Exact product-limit arithmetic: 18/21, ×16/17, ×14/15, ×11/12 at 6, 7, 10, 13 weeks."""
    curve = kaplan_meier(*leukemia["6-MP"])
    s6 = 18 / 21
    s7 = s6 * 16 / 17
    s10 = s7 * 14 / 15
    s13 = s10 * 11 / 12
    for t, s in ((6, s6), (7, s7), (10, s10), (13, s13), (15.9, s13)):
        assert curve.landmark(t).survival == pytest.approx(s, rel=1e-12)
    # Greenwood at 13: Ŝ² Σ d/(n(n−d)) over 6, 7, 10, 13.
    var = s13**2 * (3 / (21 * 18) + 1 / (17 * 16) + 1 / (15 * 14) + 1 / (12 * 11))
    estimate = curve.landmark(13)
    assert estimate.se == pytest.approx(np.sqrt(var), rel=1e-12)
    assert estimate.ci95 == pytest.approx((s13 - Z_95 * np.sqrt(var), s13 + Z_95 * np.sqrt(var)), rel=1e-12)
    assert estimate.at_risk == 12


@pytest.mark.parametrize("group", ["6-MP", "placebo"])
def test_curve_matches_lifelines_kaplan_meier_fitter(leukemia, group):
    time, event = leukemia[group]
    curve = kaplan_meier(time, event)
    fitter = KaplanMeierFitter().fit(time, event)
    expected = fitter.survival_function_at_times(curve.times).to_numpy()
    np.testing.assert_allclose(curve.survival, expected, rtol=1e-12)
    table = fitter.event_table.loc[curve.times]
    np.testing.assert_array_equal(curve.at_risk, table["at_risk"].to_numpy())
    np.testing.assert_array_equal(curve.events, table["observed"].to_numpy())
    np.testing.assert_array_equal(curve.censored, table["censored"].to_numpy())


def test_landmark_beyond_last_follow_up_is_not_estimable(leukemia):
    """6-MP's longest time (35 weeks) is censored with Ŝ = 0.448: Ŝ(40) is undefined."""
    estimate = kaplan_meier(*leukemia["6-MP"]).landmark(40)
    assert not estimate.estimable and estimate.survival is None and estimate.ci95 is None


def test_curve_that_reaches_zero_has_a_zero_interval_past_it(leukemia):
    """Placebo: every patient relapsed by 23 weeks, so Ŝ(40) = 0 with CI [0, 0] (no NaN warning)."""
    estimate = kaplan_meier(*leukemia["placebo"]).landmark(40)
    assert estimate.estimable and estimate.survival == 0.0 and estimate.ci95 == (0.0, 0.0)


def test_before_the_first_time_survival_is_one():
    estimate = kaplan_meier(np.array([2.0, 3.0]), np.array([True, False])).landmark(1.0)
    assert (estimate.survival, estimate.se, estimate.ci95, estimate.at_risk) == (1.0, 0.0, (1.0, 1.0), 2)


def test_to_dict_is_json_ready(leukemia):
    d = kaplan_meier(*leukemia["6-MP"]).to_dict()
    assert set(d) == {"times", "survival", "at_risk", "events", "censored", "ci95_lower", "ci95_upper"}
    assert all(isinstance(v, list) and len(v) == 16 for v in d.values())
