"""POST /v1/analyses/pfs in process: shapes, engines, and problem+json for every bad input."""

from __future__ import annotations

import json

import pytest
from lifelines.datasets import load_leukemia

from tests.conftest import assert_problem

URL = "/v1/analyses/pfs"


def _patients():
    """Freireich et al. (1963) remission times (weeks), 6-MP and placebo as two strata."""
    df = load_leukemia()
    return [
        {"id": f"P{i:02d}", "stratum": "6-MP" if rx == 0 else "placebo", "time_months": float(t), "event": bool(s)}
        for i, (t, s, rx) in enumerate(zip(df["t"], df["status"], df["Rx"]))
    ]


def body(**changes):
    base = {
        "patients": _patients(),
        "strata": ["6-MP", "placebo"],
        "landmark_months": 13,
        "benchmark_landmark_pfs": 0.3,
        "target_landmark_pfs": 0.6,
        "model": {"kind": "independent-exponential"},
    }
    return base | changes


def with_patient(index, **changes):
    patients = _patients()
    patients[index] = patients[index] | changes
    return body(patients=patients)


def test_independent_exponential_on_the_6mp_data(client):
    response = client.post(URL, json=body())
    assert response.status_code == 200, response.text
    result = response.json()
    assert [s["name"] for s in result["strata"]] == ["6-MP", "placebo"]
    six_mp = result["strata"][0]
    assert (six_mp["n"], six_mp["events"], six_mp["person_months"]) == (21, 9, 359.0)
    assert six_mp["kaplan_meier"]["landmark"]["survival"] == pytest.approx(0.6902, abs=5e-5)
    assert six_mp["kaplan_meier"]["landmark"]["greenwood_se"] == pytest.approx(0.1068, abs=5e-5)
    assert len(six_mp["kaplan_meier"]["curve"]["times"]) == 16
    assert set(six_mp["posterior"]) == {"landmark_pfs", "median_pfs", "hazard_ratio_to_benchmark"}
    assert six_mp["decision"] in {"go", "no-go", "continue"} and set(six_mp["decision_criterion"]) == {"id", "text"}
    placebo = result["strata"][1]
    # Placebo: 21 relapses by 23 weeks, λ ~ Gamma(22, 184.6): P(S(13) > 0.3) ≈ 0.14, above futility 0.10.
    assert 0.10 < placebo["prob_landmark_above_benchmark"] < 0.2 < 0.99 < six_mp["prob_landmark_above_benchmark"]
    assert placebo["evaluable_at_landmark"] == 21 and six_mp["evaluable_at_landmark"] == 17
    assert (six_mp["decision"], placebo["decision"]) == ("continue", "continue")
    assert result["benchmark"]["landmark_pfs"] == 0.3
    assert result["provenance"]["model"] == {
        "kind": "independent-exponential",
        "prior": {"shape": 1.0, "rate": pytest.approx(1.77 / 0.6931471805599453)},
        "engine": "closed-form",
    }
    assert len(result["provenance"]["input_sha256"]) == 64
    assert isinstance(result["warnings"], list)


def test_a_misspelt_stratum_without_declared_strata_is_a_422_not_a_stratum_of_its_own(client):
    """'Placebo' for 'placebo' would otherwise be analysed as a one-patient stratum (and could get go)."""
    b = with_patient(30, stratum="Placebo")
    del b["strata"]
    problem = assert_problem(client.post(URL, json=b), 422, "strata")
    assert "'6-MP', 'placebo', 'Placebo'" in problem["detail"]
    declared = assert_problem(client.post(URL, json=with_patient(30, stratum="Placebo")), 422, "patients/30/stratum")
    assert "6-MP, placebo" in declared["detail"]


def test_strata_listed_set_the_order(client):
    result = client.post(URL, json=body(strata=["placebo", "6-MP"])).json()
    assert [s["name"] for s in result["strata"]] == ["placebo", "6-MP"]


def test_hierarchical_exponential_by_quadrature(client):
    response = client.post(URL, json=body(model={"kind": "hierarchical-exponential", "prior": {"mu_sd": 2.0}}, engine="quadrature"))
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["diagnostics"]["method"] == "quadrature"
    assert result["provenance"]["model"]["prior"]["mu_sd"] == 2.0
    assert result["between_stratum_spread"]["parameter"] == "tau"


def test_route_is_documented_with_a_stable_operation_id(client):
    spec = client.get("/openapi.json").json()
    operation = spec["paths"][URL]["post"]
    assert operation["operationId"] == "analyses-pfs"
    assert operation["tags"] == ["analyses"]
    assert "application/problem+json" in operation["responses"]["422"]["content"]


# --- bad input: 422 problem+json naming the field (and the patient id) ------------------------


@pytest.mark.parametrize("bad", [-1.0, "NaN", "Infinity", "-Infinity"])
def test_negative_or_non_finite_time(client, bad):
    # NaN and Infinity are not JSON; Python's parser (and FastAPI's) accepts them, so send raw text.
    text = json.dumps(with_patient(3, time_months=0.0)).replace('"time_months": 0.0', f'"time_months": {bad}', 1)
    response = client.post(URL, content=text, headers={"content-type": "application/json"})
    problem = assert_problem(response, 422, "patients/3/time_months")
    assert "'P03'" in problem["detail"]


def test_unknown_stratum(client):
    problem = assert_problem(client.post(URL, json=body(strata=["6-MP"])), 422, "patients/21/stratum")
    assert "'P21'" in problem["detail"] and "placebo" in problem["detail"]


def test_stratum_with_no_patients(client):
    problem = assert_problem(client.post(URL, json=body(strata=["6-MP", "placebo", "sporadic"])), 422, "strata/2")
    assert "sporadic" in problem["detail"]


def test_duplicate_ids(client):
    problem = assert_problem(client.post(URL, json=with_patient(5, id="P00")), 422, "patients/5/id")
    assert "'P00'" in problem["detail"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"landmark_months": 0}, "landmark_months"),
        ({"landmark_months": -2}, "landmark_months"),
        ({"benchmark_landmark_pfs": 0}, "benchmark_landmark_pfs"),
        ({"benchmark_landmark_pfs": 1}, "benchmark_landmark_pfs"),
        ({"target_landmark_pfs": 1.5}, "target_landmark_pfs"),
        ({"benchmark_landmark_pfs": 0.6, "target_landmark_pfs": 0.6}, "target_landmark_pfs"),
        ({"benchmark_landmark_pfs": 0.7}, "target_landmark_pfs"),
        ({"patients": []}, "patients"),
        ({"model": {"kind": "hierarchical-weibull", "prior": {"shape": 2}}}, "model"),
        ({"model": {"kind": "cox"}}, "model/kind"),
        ({"model": {"kind": "hierarchical-weibull"}, "engine": "quadrature"}, "engine"),
        ({"model": {"kind": "hierarchical-piecewise-exponential", "prior": {"cut_points": [1, 2]}}}, "model/prior/cut_points"),
        ({"decision": {"final_threshold": 0.9, "futility_prob_above_benchmark": 0.95}}, "decision/futility_prob_above_benchmark"),
        ({"decision": {"final_threshold": 0.9, "futility_prob_above_benchmark": 0.9}}, "decision/futility_prob_above_benchmark"),
        ({"mcmc": {"target_accept": 0.8}}, "mcmc/target_accept"),
        ({"unknown": 1}, "unknown"),
        # Fuzzing: a prior scale of 1e6 made the quadrature grid ask for tens of GiB, 1e-9 divide by zero.
        ({"model": {"kind": "hierarchical-exponential", "prior": {"tau_scale": 1e6}}, "engine": "quadrature"}, "model/prior/tau_scale"),
        ({"model": {"kind": "hierarchical-exponential", "prior": {"mu_sd": 1e-9}}, "engine": "quadrature"}, "model/prior/mu_sd"),
        ({"model": {"kind": "hierarchical-weibull", "prior": {"shape_log_sd": 1e6}}}, "model/prior/shape_log_sd"),
    ],
)
def test_bad_fields(client, changes, field):
    assert_problem(client.post(URL, json=body(**changes)), 422, field)


def test_more_than_2000_patients(client):
    patients = [{"id": i, "stratum": "A", "time_months": 1.0, "event": True} for i in range(2001)]
    assert_problem(client.post(URL, json=body(patients=patients)), 422, "patients")


def test_missing_patient_field(client):
    patients = _patients()
    del patients[4]["event"]
    assert_problem(client.post(URL, json=body(patients=patients)), 422, "patients/4/event")


@pytest.mark.slow
def test_hierarchical_exponential_by_mcmc(client):
    response = client.post(
        URL,
        json=body(model={"kind": "hierarchical-exponential"}, mcmc={"draws": 500, "tune": 500, "chains": 2}, seed=5),
    )
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["diagnostics"]["method"] == "mcmc"
    assert result["provenance"]["seed"] == 5 and result["provenance"]["sampler"]["chains"] == 2
    assert all(s["monte_carlo_se"]["prob_landmark_above_benchmark"] is not None for s in result["strata"])


def test_schema_and_cross_field_problems_are_reported_together(client):
    """A prior sd ≤ 0 (the schema's), cut points not starting at 0 and a target below the benchmark (the
    spec's): one 422 names all three."""
    request = body(model={"kind": "hierarchical-piecewise-exponential", "prior": {"mu_sd": -1, "cut_points": [1, 3]}},
                   target_landmark_pfs=0.2)
    assert_problem(client.post(URL, json=request), 422, "model/prior/mu_sd", "model/prior/cut_points",
                   "target_landmark_pfs")


def test_strata_with_n_planned_reach_the_final_analysis_and_plain_names_still_work(client):
    """6-MP with n_planned 21 (its 21 patients, 17 evaluable at 13 weeks: continue, no final analysis);
    placebo with n_planned 21 (all 21 relapsed: final analysis, P(S(13) > 0.3) ≈ 0.14 ≤ 0.95: no-go)."""
    planned = client.post(URL, json=body(strata=[{"name": "6-MP", "n_planned": 21}, {"name": "placebo", "n_planned": 21}]))
    assert planned.status_code == 200, planned.text
    six_mp, placebo = planned.json()["strata"]
    assert (six_mp["decision"], six_mp["decision_criterion"]["id"]) == ("continue", "continue")
    assert "17 of 21 planned patients evaluable at 13 months" in six_mp["decision_criterion"]["text"]
    assert (placebo["decision"], placebo["decision_criterion"]["id"]) == ("no-go", "final_failure")
    assert "no-planned-n" not in {w["code"] for w in planned.json()["warnings"]}
    mixed = client.post(URL, json=body(strata=["6-MP", {"name": "placebo", "n_planned": 30}])).json()
    assert [w["stratum"] for w in mixed["warnings"] if w["code"] == "no-planned-n"] == ["6-MP"]


def test_n_planned_below_the_patients_enrolled_is_a_422_naming_the_field(client):
    strata = [{"name": "6-MP", "n_planned": 20}, {"name": "placebo", "n_planned": 21}]
    problem = assert_problem(client.post(URL, json=body(strata=strata)), 422, "strata/0/n_planned")
    assert [e["field"] for e in problem["errors"]] == ["strata/0/n_planned"]
    assert "enrolled = 21, n_planned = 20" in problem["errors"][0]["reason"]


@pytest.mark.parametrize(
    ("stratum", "field"),
    [
        ({"name": "placebo", "n_planned": 0}, "strata/1/n_planned"),
        ({"name": "placebo"}, "strata/1/n_planned"),
        ({"name": "placebo", "n_planned": 21, "n": 21}, "strata/1/n"),
        (7, "strata/1"),
    ],
)
def test_a_bad_planned_stratum_is_a_422_at_its_own_field_not_under_the_union(client, stratum, field):
    problem = assert_problem(client.post(URL, json=body(strata=["6-MP", stratum])), 422, field)
    assert not any(e["field"].startswith(("strata/1/planned", "strata/1/name")) for e in problem["errors"])
