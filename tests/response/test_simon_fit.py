"""Issue 14: a Simon design reported beside an analysis (or an OC table) that does not fit the request's
rates says so (caveat ``simon-design-misfit``) with its exact type I error and power."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from designs import oc
from designs.response.analysis import analyse_response
from designs.response.decisions import DecisionRule
from designs.response.simon_status import simon_fit
from designs.response.spec import ResponseAnalysisSpec
from designs.simon import evaluate_design

SARC031 = {"r1": 0, "n1": 7, "r": 2, "n": 21}
MINIMAX_015_035 = {"r1": 2, "n1": 15, "r": 7, "n": 28}  # Simon minimax, p0 0.15, p1 0.35, alpha 0.05, beta 0.2


def misfits(warnings):
    return [w for w in warnings if w["code"] == "simon-design-misfit"]


def test_0_of_7_2_of_21_at_p0_015_has_type_i_error_0_517_and_is_flagged():
    (row,) = evaluate_design(0, 7, 2, 21, [0.15])
    assert row["prob_reject_null"] == pytest.approx(0.517, abs=5e-4)
    (warning,) = simon_fit(SARC031, 0.15, 0.35)
    assert warning["stratum"] is None
    assert "type I error at p0 = 0.15 is 0.517 > alpha = 0.05" in warning["message"]
    assert "defaults" in warning["message"]  # the request states no alpha: the defaults are named


def test_a_design_searched_for_the_rates_fits():
    assert simon_fit(MINIMAX_015_035, 0.15, 0.35) == []


def test_power_shortfall_is_flagged_against_the_stated_beta():
    """2/15, 7/28 has power 0.803 at 0.35: enough for beta 0.2, not for beta 0.1."""
    (warning,) = simon_fit(MINIMAX_015_035, 0.15, 0.35, alpha=0.05, beta=0.10)
    assert "power at p1 = 0.35 is 0.803 < 1 − beta = 0.9" in warning["message"]
    assert "defaults" not in warning["message"]


def test_response_analysis_carries_the_misfit_and_not_for_a_fitting_design():
    request = {"p0": 0.15, "p1": 0.35, "model": {"kind": "independent"},
               "strata": [{"name": "A", "n": 10, "responders": 3, "n_planned": 21}]}
    given = analyse_response(ResponseAnalysisSpec.from_mapping({**request, "simon": SARC031}))
    assert len(misfits(given["warnings"])) == 1
    fitting = analyse_response(ResponseAnalysisSpec.from_mapping({**request, "simon": MINIMAX_015_035}))
    assert misfits(fitting["warnings"]) == []


def test_operating_characteristics_beside_a_misfit_simon_design_say_so():
    design = oc.OCDesign(0.15, 0.35, (oc.StratumPlan("A", (7, 21)),), DecisionRule(), _independent())
    result = oc.operating_characteristics(design, method="exact", simon=SARC031)
    assert len(misfits(result["warnings"])) == 1


def test_the_readme_response_example_uses_a_design_that_fits_its_rates():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    body = re.search(r"localhost:8000/v1/analyses/response -H '[^']*' -d '(.*?)'\n", readme, re.S).group(1)
    request = json.loads(body)
    assert simon_fit(request["simon"], request["p0"], request["p1"]) == []


def _independent():
    from designs.response import spec

    return spec.resolve("independent", {}, 0.15)


def test_a_design_held_to_the_error_rates_it_states_it_was_planned_for(client):
    """SARC031's 0/7, 2/21 at p0 0.05, p1 0.25: type I error 0.064, more than the default alpha 0.05
    (power 0.830 meets the default 0.8); planned for alpha 0.1 it fits, and the analysis says nothing. Stated alpha/beta are checked like any field, and a request without them computes
    and hashes as before."""
    request = {"p0": 0.05, "p1": 0.25, "engine": "quadrature", "model": {"kind": "independent"},
               "strata": [{"name": "NF1", "n": 7, "responders": 1, "n_planned": 21}]}
    at_defaults = client.post("/v1/analyses/response", json={**request, "simon": SARC031}).json()
    (misfit,) = misfits(at_defaults["warnings"])
    assert "type I error at p0 = 0.05 is 0.064 > alpha = 0.05" in misfit["message"] and "power" not in misfit["message"]
    planned = client.post("/v1/analyses/response", json={**request, "simon": {**SARC031, "alpha": 0.1, "beta": 0.2}})
    assert planned.status_code == 200 and misfits(planned.json()["warnings"]) == []
    assert planned.json()["provenance"]["input_sha256"] != at_defaults["provenance"]["input_sha256"]
    bad = client.post("/v1/analyses/response", json={**request, "simon": {**SARC031, "alpha": 5}})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "simon/alpha"
