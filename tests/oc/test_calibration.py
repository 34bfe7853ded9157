"""Calibration of the final threshold θ (and the futility cut-off) against a type I error target."""

from __future__ import annotations

import numpy as np
import pytest

from designs.oc import calibration
from designs import oc
from designs.response import spec as response_spec
from designs.response.decisions import DecisionRule
from designs.core.errors import InfeasibleDesignError, InvalidInputError
from designs.core.provenance import input_hash

P0, P1 = 0.15, 0.35
THRESHOLDS = [0.80, 0.85, 0.88, 0.90, 0.92, 0.94, 0.96, 0.98]


def mpnst(kind: str, **rule) -> oc.OCDesign:
    strata = (oc.StratumPlan("NF1", (7, 14, 21)), oc.StratumPlan("sporadic", (7, 14, 21)))
    return oc.OCDesign(P0, P1, strata, DecisionRule(**rule), response_spec.resolve(kind, {}, P0))


@pytest.mark.parametrize(
    ("kind", "method"), [("independent", "exact"), ("pooled", "exact"), ("hierarchical", "simulation")]
)
def test_type_i_error_under_the_global_null_decreases_as_the_threshold_increases(kind, method):
    """Every candidate sees the same outcomes (exact, or simulation with common random numbers)."""
    result = calibration.calibrate(mpnst(kind), target=0.10, thresholds=THRESHOLDS, method=method, n_trials=3_000, seed=3)
    assert [c["final_threshold"] for c in result["candidates"]] == THRESHOLDS
    for stratum in ("NF1", "sporadic"):
        type_i = np.array([c["type_i_error"][stratum] for c in result["candidates"]])
        power = np.array([c["power"][stratum] for c in result["candidates"]])
        assert np.all(np.diff(type_i) <= 1e-12) and type_i[0] > type_i[-1]
        assert np.all(np.diff(power) <= 1e-12)


def test_the_chosen_threshold_meets_the_target_with_the_most_power():
    result = calibration.calibrate(mpnst("independent"), target=0.10, thresholds=THRESHOLDS)
    rows = result["candidates"]
    chosen = next(r for r in rows if r["final_threshold"] == result["final_threshold"])
    assert chosen["feasible"] and chosen["max_type_i_error"] <= 0.10
    assert all(r["mean_power"] <= chosen["mean_power"] + 1e-12 for r in rows if r["feasible"])
    assert any(not r["feasible"] for r in rows)  # the target binds
    # The full table at the chosen thresholds: the default scenarios, exact.
    table = result["operating_characteristics"]
    assert [s["name"] for s in table["scenarios"]][:2] == ["global null", "global alternative"]
    assert max(s["prob_go"] for s in table["scenarios"][0]["strata"]) == pytest.approx(chosen["max_type_i_error"])


def test_futility_cut_off_is_searched_with_the_threshold():
    result = calibration.calibrate(
        mpnst("independent"), target=0.10, thresholds=[0.85, 0.90, 0.95], futility_ppos=[0.0, 0.05, 0.2]
    )
    assert len(result["candidates"]) == 9
    assert {(c["final_threshold"], c["futility_ppos"]) for c in result["candidates"]} == {
        (t, f) for t in (0.85, 0.90, 0.95) for f in (0.0, 0.05, 0.2)
    }
    assert result["futility_ppos"] in (0.0, 0.05, 0.2)
    # A stricter futility cut-off stops more null trials: type I error and E[N | null] fall.
    at_090 = {c["futility_ppos"]: c for c in result["candidates"] if c["final_threshold"] == 0.90}
    assert at_090[0.2]["max_type_i_error"] <= at_090[0.0]["max_type_i_error"]
    assert at_090[0.2]["expected_n_null"] < at_090[0.0]["expected_n_null"]


def test_hierarchical_calibration_reports_borrowing_at_the_chosen_threshold():
    result = calibration.calibrate(mpnst("hierarchical"), target=0.10, thresholds=THRESHOLDS, method="exact")
    table = result["operating_characteristics"]
    sporadic = next(b for b in table["borrowing"] if b["scenario"] == "only NF1 active" and b["stratum"] == "sporadic")
    assert sporadic["inflation"] > 0.02
    assert any(w["code"] == "borrowing-inflation" and w["stratum"] == "sporadic" and "borrowing" in w["message"]
               for w in result["warnings"])


def test_calibration_is_the_same_whatever_the_order_of_candidates():
    plan = calibration.calibration_plan(mpnst("independent"), target=0.10, thresholds=THRESHOLDS)
    forward = plan.reduce([(i, plan.run_chunk(i)) for i in plan.chunks])
    backward = plan.reduce([(i, plan.run_chunk(i)) for i in reversed(plan.chunks)])
    assert forward == backward


def test_no_feasible_threshold_is_an_infeasible_design_error_with_a_suggestion():
    with pytest.raises(InfeasibleDesignError) as info:
        calibration.calibrate(mpnst("independent"), target=0.001, thresholds=[0.5, 0.6])
    assert info.value.suggestion


def test_simulated_calibration_warns_when_the_target_is_within_monte_carlo_error():
    result = calibration.calibrate(
        mpnst("hierarchical"), target=0.10, thresholds=[0.80, 0.85, 0.8536, 0.86, 0.90], method="simulation", n_trials=500, seed=1
    )
    chosen = next(c for c in result["candidates"] if c["final_threshold"] == result["final_threshold"])
    assert chosen["mcse_max_type_i_error"] > 0
    close = chosen["max_type_i_error"] + 2 * chosen["mcse_max_type_i_error"] > 0.10
    margin = [w for w in result["warnings"] if w["code"] == "calibration-margin"]
    assert close == bool(margin)
    assert all("Monte Carlo" in w["message"] for w in margin)
    exact = calibration.calibrate(mpnst("independent"), target=0.10, thresholds=THRESHOLDS)
    assert not any(w["code"] == "calibration-margin" for w in exact["warnings"])


def test_calibration_warns_when_the_lowest_threshold_is_chosen():
    """Both 0.96 and 0.98 keep the type I error ≤ 0.10; 0.96 has more power: lower ones might do better still."""
    edge = calibration.calibrate(mpnst("independent"), target=0.10, thresholds=[0.96, 0.98])
    assert edge["final_threshold"] == 0.96
    (warning,) = [w for w in edge["warnings"] if w["code"] == "calibration-edge"]
    assert "lowest candidate" in warning["message"] and "0.96" in warning["message"]
    inside = calibration.calibrate(mpnst("independent"), target=0.10, thresholds=THRESHOLDS)
    assert inside["final_threshold"] > THRESHOLDS[0]
    assert not any(w["code"] == "calibration-edge" for w in inside["warnings"])


def test_bad_calibration_input_names_the_field():
    with pytest.raises(InvalidInputError) as info:
        calibration.calibration_plan(mpnst("independent"), thresholds=[0.95, 0.9, 1.0])
    assert info.value.problems[0].field == "thresholds/2"
    with pytest.raises(InvalidInputError) as info:
        calibration.calibration_plan(mpnst("independent"), futility_ppos=[0.99])
    assert info.value.problems[0].field == "futility_ppos/0"


def test_calibration_and_its_chosen_operating_characteristics_carry_the_same_provenance():
    """Stamped by the core from the request given: the chosen candidate's OC carry the calibration's."""
    request = {"target_type_i_error": 0.10, "seed": 4}
    result = calibration.calibrate(
        mpnst("pooled"), target=0.10, thresholds=[0.9, 0.95], method="simulation", n_trials=200, seed=4, request=request
    )
    assert result["provenance"]["input_sha256"] == input_hash(request)
    assert result["provenance"]["seed"] == 4 and result["provenance"]["model"]["kind"] == "pooled"
    assert result["operating_characteristics"]["provenance"] == result["provenance"]


def test_thresholds_at_or_below_the_futility_bar_are_skipped_with_a_typed_warning():
    """A posterior futility bar of 0.6 allows only final thresholds above it: the others are not rules."""
    design = mpnst("independent", futility_prob_above_p0=0.6)
    result = calibration.calibrate(design, target=0.10, thresholds=[0.5, 0.55, 0.6, 0.9, 0.95])
    assert [c["final_threshold"] for c in result["candidates"]] == [0.9, 0.95]
    skipped = [w for w in result["warnings"] if w["code"] == "calibration-thresholds-skipped"]
    assert len(skipped) == 1 and "3 candidate" in skipped[0]["message"]
    with pytest.raises(InvalidInputError) as info:
        calibration.calibrate(design, target=0.10, thresholds=[0.5, 0.6])
    assert info.value.problems[0].field == "thresholds"
