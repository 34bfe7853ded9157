"""The true survival laws of a PFS design scenario (``designs.pfsdesign.laws``): the SARC benchmark's two
conventions, inversion sampling against the survival function, piecewise hazards, and bad laws named
all at once."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from designs.core.validation import Checker
from designs.pfsdesign.laws import SurvivalLaw, law_from_mapping


def test_sarc_benchmark_conventions_differ_median_1_77_months_is_not_4_month_pfs_15_percent():
    """An exponential with median 1.77 months (pooled SARC phase II trials) has S(4) = 2^(−4/1.77) = 0.2088;
    the same trials' 4-month PFS of 15% is an exponential with median 4·ln 2 / −ln 0.15 = 1.461 months."""
    assert SurvivalLaw.from_median(1.77).landmark(4.0) == pytest.approx(2 ** (-4 / 1.77), rel=1e-12)
    assert SurvivalLaw.from_median(1.77).landmark(4.0) == pytest.approx(0.2088, abs=5e-5)
    assert SurvivalLaw.from_landmark(0.15, 4.0).median() == pytest.approx(4 * math.log(2) / -math.log(0.15), rel=1e-12)
    weibull = SurvivalLaw.from_landmark(0.15, 4.0, shape=1.5)
    assert weibull.landmark(4.0) == pytest.approx(0.15, rel=1e-12) and weibull.kind == "weibull"


@pytest.mark.parametrize("law", [
    SurvivalLaw.from_median(1.77), SurvivalLaw.from_median(3.0, shape=0.7), SurvivalLaw.from_median(3.0, shape=2.5),
    SurvivalLaw.piecewise((0.0, 2.0, 6.0), (0.5, 0.1, 0.9)),
], ids=["exponential", "weibull-0.7", "weibull-2.5", "piecewise"])
def test_inversion_sampling_has_the_law_s_survival_function(law):
    """Kolmogorov–Smirnov of 20,000 draws against 1 − S(t): a p-value below 1e-4 would mean the inverse
    cumulative hazard is wrong (the draws are seeded, so this is deterministic)."""
    draws = law.sample(np.random.default_rng(1).uniform(size=20_000))
    assert stats.kstest(draws, lambda t: 1.0 - law.survival(t)).pvalue > 1e-4
    assert law.survival(law.median()) == pytest.approx(0.5, rel=1e-12)


def test_piecewise_cumulative_hazard_by_hand():
    law = SurvivalLaw.piecewise((0.0, 2.0, 6.0), (0.5, 0.1, 0.9))
    assert law.cumulative_hazard([1.0, 3.0, 10.0]).tolist() == pytest.approx([0.5, 1.1, 1.0 + 0.4 + 3.6])
    assert law.time_at(law.cumulative_hazard([1.0, 3.0, 10.0])).tolist() == pytest.approx([1.0, 3.0, 10.0])


def problems(raw):
    check = Checker()
    assert law_from_mapping(check, "laws/NF1", raw, 4.0) is None
    return {p.field: p.reason for p in check.problems}


def test_every_bad_field_of_a_law_is_named_at_once():
    found = problems({"kind": "piecewise-exponential", "cut_points": [1, 0.5], "hazards_per_month": [0.1, -2, 0.2],
                      "median_months": 3})
    assert set(found) == {"laws/NF1/median_months", "laws/NF1/hazards_per_month/1", "laws/NF1/cut_points/0",
                          "laws/NF1/cut_points/1", "laws/NF1/hazards_per_month"}
    assert set(problems({"kind": "weibull", "median_months": -1})) == {"laws/NF1/shape", "laws/NF1/median_months"}
    assert "exactly one" in problems({"median_months": 2, "landmark_pfs": 0.2})["laws/NF1"]
    assert set(problems({"kind": "gompertz", "rate": 1})) == {"laws/NF1/kind", "laws/NF1/rate"}
