"""Issue 14: operating characteristics and calibration results echo every rule and model setting they
used, defaults filled in (``settings``), so that a result read alone says what it is the result of —
and resubmitting those settings reproduces it."""

from __future__ import annotations

from designs.response import spec as response_spec
from designs.response.decisions import DecisionRule

OC = "/v1/designs/operating-characteristics"
CALIBRATE = "/v1/designs/calibrate"
MINIMAL = {"p0": 0.15, "p1": 0.35, "strata": [{"name": "NF1", "looks": [7, 14, 21]}], "model": {"kind": "independent"}}


def test_exact_oc_settings_equal_the_requests_filled_settings(client):
    body = client.post(OC, json=MINIMAL).json()
    settings = body["settings"]
    assert settings == {
        "p0": 0.15,
        "p1": 0.35,
        "strata": [{"name": "NF1", "looks": [7, 14, 21]}],
        "model": response_spec.resolve("independent", {}, 0.15).as_dict(),  # the kind's default prior, filled in
        "fixed_tau": None,
        "decision": DecisionRule().as_dict(),  # every default threshold, filled in
        "engine": "closed form (Beta–binomial)",
        "method": "exact",  # auto, resolved
        "n_trials": None,
        "seed": None,
        "simon": None,
    }


def test_simulated_oc_settings_name_the_seed_and_trials_and_reproduce_the_result(client):
    body = client.post(OC, json={**MINIMAL, "method": "simulation", "n_trials": 300}).json()
    settings = body["settings"]
    assert settings["method"] == "simulation" and settings["n_trials"] == 300
    assert settings["seed"] == body["seed"] and isinstance(settings["seed"], int)  # derived from the request
    again = {key: settings[key] for key in ("p0", "p1", "strata", "model", "decision", "method", "n_trials", "seed")}
    assert client.post(OC, json=again).json()["scenarios"] == body["scenarios"]


def test_calibration_settings_add_the_target_and_the_candidates(client):
    request = {**MINIMAL, "target_type_i_error": 0.1, "thresholds": [0.9, 0.95, 0.8]}
    body = client.post(CALIBRATE, json=request).json()
    settings = body["settings"]
    assert settings["target_type_i_error"] == 0.1
    assert settings["thresholds"] == [0.8, 0.9, 0.95]
    assert settings["futility_ppos"] is None and settings["thresholds_skipped"] == []
    assert settings["decision"] == DecisionRule().as_dict()  # as requested, before calibration
    assert body["operating_characteristics"]["settings"]["decision"]["final_threshold"] == body["final_threshold"]
