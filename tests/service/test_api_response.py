"""POST /v1/analyses/response over HTTP: shapes, determinism, bad input as problem+json."""

from __future__ import annotations

import copy

import pytest

from designs.core.caveats import CODES
from designs.engines.sampler_settings import SamplerSettings
from service.schemas.response import McmcSettings
from service.settings import Settings, get_settings
from tests.conftest import assert_problem

BODY = {
    "p0": 0.15,
    "p1": 0.35,
    "strata": [
        {"name": "NF1-associated", "n": 10, "responders": 3, "n_planned": 21},
        {"name": "sporadic", "n": 10, "responders": 1, "n_planned": 21},
    ],
    "simon": {"r1": 0, "n1": 7, "r": 2, "n": 21},
    "engine": "quadrature",
    "seed": 7,
}


def post(client, body):
    return client.post("/v1/analyses/response", json=body)


def with_(path: str, value):
    """A copy of BODY with the value at a slash path replaced (or removed when value is ...)."""
    body = copy.deepcopy(BODY)
    *parents, last = path.split("/")
    node = body
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node.setdefault(key, {})
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return body


def test_quadrature_analysis_shape_and_order(client):
    r = post(client, BODY)
    assert r.status_code == 200, r.text
    body = r.json()
    assert [s["name"] for s in body["strata"]] == ["NF1-associated", "sporadic"]
    for s in body["strata"]:
        assert 0 < s["ci95"][0] < s["posterior_median"] < s["ci95"][1] < 1
        assert 0 <= s["prob_above_p1"] <= s["prob_above_p0"] <= 1
        assert s["decision"] in {"go", "no-go", "continue"}
        assert s["decision_criterion"]["text"]
        assert s["simon"]["status"]
    prov = body["provenance"]
    assert prov["seed"] == 7 and len(prov["input_sha256"]) == 64
    assert prov["model"]["kind"] == "hierarchical"
    assert prov["model"]["prior"]["mu_sd"] == pytest.approx(2.6159)
    assert body["tau"]["median"] > 0


def test_same_request_same_numbers_and_hash(client):
    first, second = post(client, BODY).json(), post(client, BODY).json()
    assert first["strata"] == second["strata"]
    assert first["provenance"]["input_sha256"] == second["provenance"]["input_sha256"]
    other = post(client, with_("strata/0/responders", 4)).json()
    assert other["provenance"]["input_sha256"] != first["provenance"]["input_sha256"]


def test_closed_form_independent_matches_beta_posterior(client):
    """Independent Beta(p0, 1 − p0): posterior Beta(0.15 + 3, 0.85 + 7); exact tail from scipy."""
    from scipy import stats

    body = post(client, {**BODY, "model": {"kind": "independent"}}).json()
    nf1 = body["strata"][0]
    posterior = stats.beta(0.15 + 3, 0.85 + 7)
    assert nf1["prob_above_p0"] == pytest.approx(posterior.sf(0.15), abs=1e-12)
    assert nf1["posterior_mean"] == pytest.approx(posterior.mean(), abs=1e-12)
    assert nf1["ci95"] == pytest.approx([posterior.ppf(0.025), posterior.ppf(0.975)], abs=1e-9)


def test_prior_is_settable_and_echoed(client):
    body = post(client, {**BODY, "model": {"kind": "exnex", "prior": {"weight_exchangeable": 0.7, "nex_sd": 2.0}}}).json()
    prior = body["provenance"]["model"]["prior"]
    assert prior["weight_exchangeable"] == 0.7 and prior["nex_sd"] == 2.0 and prior["mu_sd"] == pytest.approx(2.6159)
    assert all(0 <= s["prob_exchangeable"] <= 1 for s in body["strata"])


@pytest.mark.parametrize(
    ("path", "value", "field"),
    [
        ("strata", [], "strata"),
        ("strata/0/responders", 11, "strata/0/responders"),
        ("strata/1/n", 22, "strata/1/n_planned"),
        ("strata/1/name", "NF1-associated", "strata"),
        ("strata/1/name", "nf1 associated", "strata/1/name"),
        ("strata/0/responders", -1, "strata/0/responders"),
        ("strata/0/n", -2, "strata/0/n"),
        ("p1", 0.15, "p1"),
        # Fuzzing: p0 = 5e-324 gave a null predictive probability and a decision "= nan … continue".
        ("p0", 5e-324, "p0"),
        ("p1", 1 - 1e-16, "p1"),
        ("p1", 0.10, "p1"),
        ("model", {"kind": "bayesian-magic"}, "model/kind"),
        ("model", {"kind": "hierarchical", "prior": {"mu_sd": 0}}, "model/prior/mu_sd"),
        ("model", {"kind": "hierarchical", "prior": {"tau_scale": -1}}, "model/prior/tau_scale"),
        ("model", {"kind": "exnex", "prior": {"nex_sd": 0}}, "model/prior/nex_sd"),
        ("model", {"kind": "independent", "prior": {"mu_sd": 1}}, "model"),
        # Fuzzing: these made the quadrature grid divide by zero (5e-324), come out empty (mu_sd 1e-300)
        # or ask for 33–126 GiB (1e6); the schema now refuses them, naming the field.
        ("model", {"kind": "hierarchical", "prior": {"tau_scale": 5e-324}}, "model/prior/tau_scale"),
        ("model", {"kind": "hierarchical", "prior": {"tau_scale": 1e6}}, "model/prior/tau_scale"),
        ("model", {"kind": "hierarchical", "prior": {"mu_sd": 1e-300}}, "model/prior/mu_sd"),
        ("model", {"kind": "hierarchical", "prior": {"mu_sd": 1e6}}, "model/prior/mu_sd"),
        ("model", {"kind": "exnex", "prior": {"nex_sd": 1e6}}, "model/prior/nex_sd"),
        ("model", {"kind": "hierarchical", "prior": {"mu_mean": 1e3}}, "model/prior/mu_mean"),
        ("mcmc", {"draws": 100_001}, "mcmc/draws"),
        ("mcmc", {"draws": 99}, "mcmc/draws"),
        ("mcmc", {"tune": 10}, "mcmc/tune"),
        ("mcmc", {"chains": 0}, "mcmc/chains"),
        ("decision", {"futility_ppos": 0.5, "efficacy_ppos": 0.4}, "decision/efficacy_ppos"),
        ("decision", {"final_threshold": 1.0}, "decision/final_threshold"),
        ("decision", {"final_threshold": 0.9, "futility_prob_above_p0": 0.9}, "decision/futility_prob_above_p0"),
        ("engine", "gibbs", "engine"),
        ("seed", -1, "seed"),
        ("surprise", 1, "surprise"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(client, path, value, field):
    assert_problem(post(client, with_(path, value)), 422, field)


def test_a_request_without_mcmc_settings_gets_the_sampler_defaults():
    """The schema's defaults are SamplerSettings' (a request may not go below 100 draws, the warm-up's 10 may)."""
    defaults = SamplerSettings()
    assert McmcSettings().model_dump() == {name: getattr(defaults, name) for name in ("draws", "tune", "chains", "target_accept")}


def test_more_than_twelve_strata_is_rejected(client):
    strata = [{"name": f"s{i}", "n": 1, "responders": 0, "n_planned": 5} for i in range(13)]
    assert_problem(post(client, {**BODY, "strata": strata}), 422, "strata")


def test_stratum_with_few_patients_warns(client):
    few = {"name": "sporadic", "n": 1, "responders": 0, "n_planned": 21}
    body = post(client, {**BODY, "strata": [BODY["strata"][0], few]}).json()
    (warning,) = [w for w in body["warnings"] if w.get("stratum") == "sporadic"]
    assert warning["code"] == "stratum-sparse" and "n = 1" in warning["message"]


def test_every_bad_field_is_named_in_one_problem(client):
    """Cross-field checks (the spec's) are reported together: responders > n, p1 ≤ p0, a prior field of another kind."""
    bad = with_("strata/0/responders", 11)
    bad["p1"] = 0.1
    bad["model"] = {"kind": "independent", "prior": {"mu_sd": 1}}
    assert_problem(post(client, bad), 422, "strata/0/responders", "p1", "model/prior/mu_sd")


def test_warning_codes_are_an_enum_in_the_openapi_document(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    assert schemas["Warning"]["properties"]["code"]["enum"] == list(CODES)
    assert schemas["ResponseAnalysisResult"]["properties"]["warnings"]["items"] == {"$ref": "#/components/schemas/Warning"}


@pytest.mark.slow
def test_mcmc_agrees_with_quadrature_and_is_reproducible(client):
    """The engine of record (PyMC) within 4 Monte Carlo standard errors of the quadrature engine."""
    quad = post(client, BODY).json()
    mcmc_body = {**BODY, "engine": "mcmc"}
    mcmc = post(client, mcmc_body).json()
    assert mcmc["diagnostics"]["converged"] is True
    assert mcmc["diagnostics"]["divergences"] == 0
    for q, m in zip(quad["strata"], mcmc["strata"]):
        for key in ("prob_above_p0", "prob_above_p1", "posterior_mean", "predictive_probability_of_success"):
            se = m["monte_carlo_se"][key]
            assert abs(q[key] - m[key]) <= 4 * se + 1e-4, (key, q[key], m[key], se)
    again = post(client, mcmc_body).json()
    assert again["strata"] == mcmc["strata"]


def test_schema_and_cross_field_problems_are_reported_together(client):
    """p0 out of range (the schema's) and responders > n, n > n_planned (the spec's): one 422 names all."""
    body = copy.deepcopy(BODY)
    body["p0"] = 1.5
    body["strata"][0] = {"name": "NF1-associated", "n": 10, "responders": 12, "n_planned": 5}
    problem = assert_problem(post(client, body), 422, "p0", "strata/0/responders", "strata/0/n_planned")
    assert len({e["field"] for e in problem["errors"]}) == len(problem["errors"])  # each field once


def test_settings_limits_and_spec_problems_are_reported_together(client, overrides):
    overrides[get_settings] = lambda: Settings(max_strata=1, warm_up_models=False)
    body = with_("strata/1/responders", 11)
    assert_problem(post(client, body), 422, "strata", "strata/1/responders")


def test_a_problem_is_listed_once(client, overrides):
    """A spec's general problem (``simon``) adds nothing beside the schema's specific one (``simon/n1``),
    and the Settings limit of strata is not repeated by the spec's."""
    problem = assert_problem(post(client, with_("simon", {"r1": 7, "n1": 7, "r": 9, "n": 21}) | {"p0": 2}), 422,
                             "p0", "simon/n1")
    assert [e["field"] for e in problem["errors"]].count("simon") == 0
    overrides[get_settings] = lambda: Settings(max_strata=1, warm_up_models=False)
    problem = assert_problem(post(client, {**BODY, "p0": 2}), 422, "p0", "strata")
    assert [e["field"] for e in problem["errors"]].count("strata") == 1
    assert "GONOGO_MAX_STRATA" in problem["detail"]
