"""Issue 14: PFS design operating characteristics and calibration echo every setting simulated,
defaults filled in (``settings``)."""

from __future__ import annotations

from designs.pfsdesign.operating import PFSCalibrationPlan, PFSOCPlan, run
from designs.pfsdesign.spec import PFSDesignSpec
from designs.survival.decisions import PFSDecisionRule

REQUEST = {
    "strata": [{"name": "NF1", "n_planned": 20, "accrual_per_month": 2.0, "looks": {"by": "calendar", "months": []}}],
    "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35,
    "model": {"kind": "independent-exponential"}, "n_trials": 500,
}


def test_pfs_oc_settings_fill_in_the_defaults_and_the_derived_seed():
    result = run(PFSOCPlan.build(PFSDesignSpec.from_mapping(REQUEST)))
    settings = result["settings"]
    assert settings["landmark_months"] == 4.0 and settings["accrual"] == "poisson"
    assert settings["decision"] == PFSDecisionRule().as_dict()
    assert settings["model"]["kind"] == "independent-exponential" and settings["model"]["prior"]
    assert settings["engine"] == "closed-form"
    assert settings["n_trials"] == 500 and settings["seed"] == result["seed"]
    assert settings["strata"][0]["n_planned"] == 20


def test_pfs_calibration_settings_add_the_target_and_the_thresholds():
    body = {**REQUEST, "target_type_i_error": 0.1, "thresholds": [0.8, 0.9, 0.95]}
    result = run(PFSCalibrationPlan.build(PFSDesignSpec.calibration_from_mapping(body)))
    settings = result["settings"]
    assert settings["target_type_i_error"] == 0.1 and settings["thresholds"] == [0.8, 0.9, 0.95]
    assert settings["decision"] == PFSDecisionRule().as_dict()
