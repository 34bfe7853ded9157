"""An interim response analysis end to end: priors as applied, engines, decisions, Simon status, errors."""

from __future__ import annotations

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from scipy import integrate, special

from designs.core.errors import InvalidInputError
from designs.engines import closed_form
from designs.engines.quadrature import BinomialLikelihood, NormalHierarchy, QuadratureEngine
from designs.response import analysis
from designs.response import spec as response_spec
from designs.response.simon_status import SimonRule, simon_status
from designs.response.spec import ResponseAnalysisSpec

STRATA = [
    {"name": "NF1-associated", "n": 12, "responders": 3, "n_planned": 30},
    {"name": "sporadic", "n": 14, "responders": 9, "n_planned": 30},
]


def run(**changes):
    """The analysis of a request (JSON-shaped) with ``changes`` to the default one."""
    request = {"p0": 0.15, "p1": 0.35, "strata": STRATA, "engine": "quadrature", "seed": 1}
    request.update(changes)
    return analysis.analyse_response(ResponseAnalysisSpec.from_mapping(request))


def codes(result, code):
    """The messages of the result's warnings with ``code``."""
    return [w["message"] for w in result["warnings"] if w["code"] == code]


# --------------------------------------------------------------------------------------------------
# Priors


def test_default_priors_are_bhmbasket_defaults():
    logit = math.log(0.15 / 0.85)
    assert response_spec.default_prior("hierarchical", 0.15) == response_spec.HierarchicalPrior(logit, 2.6159, 1.0)
    exnex = response_spec.default_prior("exnex", 0.15)
    assert (exnex.mu_mean, exnex.mu_sd, exnex.tau_scale, exnex.weight_exchangeable, exnex.nex_mean, exnex.nex_sd) == (
        logit,
        2.6159,
        1.0,
        0.5,
        logit,
        2.8006,
    )
    assert response_spec.default_prior("independent", 0.15) == response_spec.BetaPrior(0.15, 0.85)
    assert response_spec.default_prior("pooled", 0.15) == response_spec.BetaPrior(0.15, 0.85)


def test_resolve_fills_defaults_and_echoes_as_applied():
    spec = response_spec.resolve("exnex", {"tau_scale": 0.5, "weight_exchangeable": 0.8}, 0.2)
    assert spec.as_dict() == {
        "kind": "exnex",
        "prior": {
            "mu_mean": math.log(0.25),
            "nex_mean": math.log(0.25),
            "mu_sd": 2.6159,
            "tau_scale": 0.5,
            "weight_exchangeable": 0.8,
            "nex_sd": 2.8006,
        },
    }


@pytest.mark.parametrize(
    ("kind", "prior", "field"),
    [
        ("hierarchical", {"mu_sd": 0}, "model/prior/mu_sd"),
        ("hierarchical", {"tau_scale": -1}, "model/prior/tau_scale"),
        ("exnex", {"weight_exchangeable": 1.5}, "model/prior/weight_exchangeable"),
        ("exnex", {"nex_sd": float("nan")}, "model/prior/nex_sd"),
        ("independent", {"a": 0}, "model/prior/a"),
        ("pooled", {"mu_sd": 1.0}, "model/prior/mu_sd"),
        ("spline", {}, "model/kind"),
    ],
)
def test_resolve_names_bad_fields(kind, prior, field):
    with pytest.raises(InvalidInputError) as info:
        response_spec.resolve(kind, prior, 0.15)
    assert field in {p.field for p in info.value.problems}


# --------------------------------------------------------------------------------------------------
# Engines


def test_independent_closed_form_matches_beta_posteriors():
    result = run(model={"kind": "independent", "prior": {}}, engine=None)
    assert result["engine"] == "closed-form" and result["diagnostics"]["method"] == "closed_form"
    for stratum, row in zip(STRATA, result["strata"], strict=True):
        y, n = stratum["responders"], stratum["n"]
        post = closed_form.summarise(0.15 + y, 0.85 + n - y, (0.15, 0.35))
        assert row["posterior_mean"] == pytest.approx(post.mean)
        assert row["ci95"] == pytest.approx(list(post.ci95))
        assert row["prob_above_p1"] == pytest.approx(post.prob_above[0.35])
        expected = closed_form.predictive_probability_of_success(0.15, 0.85, y, n, 30, 0.15, 0.95)
        assert row["predictive_probability_of_success"] == pytest.approx(float(expected))
    assert [s["name"] for s in result["strata"]] == [s["name"] for s in STRATA]
    assert result["tau"] is None and result["prob_exchangeable"] is None


def test_closed_form_ignores_a_requested_engine_and_says_so():
    result = run(model={"kind": "pooled", "prior": {}}, engine="mcmc")
    assert result["engine"] == "closed-form"
    assert any("ignored" in w for w in codes(result, "engine-ignored"))
    first, second = result["strata"]
    assert first["posterior_mean"] == second["posterior_mean"]
    assert any("same posterior" in w for w in codes(result, "pooled-model"))


def test_hierarchical_quadrature_matches_the_engine():
    result = run(model={"kind": "hierarchical", "prior": {}})
    hierarchy = NormalHierarchy.from_prior(response_spec.default_prior("hierarchical", 0.15))
    liks = [BinomialLikelihood(s["responders"], s["n"]) for s in STRATA]
    post = QuadratureEngine.for_likelihoods(hierarchy, liks).analyse(liks, thresholds=(0.15, 0.35))
    for row, s in zip(result["strata"], post.strata, strict=True):
        assert row["prob_above_p0"] == pytest.approx(s.prob_above[0.15], abs=1e-6)
        assert row["posterior_median"] == pytest.approx(s.median, abs=1e-6)
    assert result["diagnostics"]["method"] == "quadrature"
    assert "1e-4" in result["diagnostics"]["accuracy"]
    assert result["tau"]["ci95"][0] < result["tau"]["median"] < result["tau"]["ci95"][1]
    assert "enumeration" in result["predictive"]["method"]
    assert result["provenance"]["model"] == result["model"] and result["provenance"]["engine"] == "quadrature"
    assert result["provenance"]["seed"] == 1


def test_exnex_reports_probability_of_exchangeability():
    result = run(model={"kind": "exnex", "prior": {"weight_exchangeable": 0.7}})
    assert set(result["prob_exchangeable"]) == {"NF1-associated", "sporadic"}
    for row in result["strata"]:
        assert 0 < row["prob_exchangeable"] < 1
    assert result["model"]["prior"]["weight_exchangeable"] == 0.7


def test_result_is_canonical_json_and_deterministic():
    a, b = run(model={"kind": "exnex"}), run(model={"kind": "exnex"})
    assert json.dumps(a, sort_keys=True, allow_nan=False) == json.dumps(b, sort_keys=True, allow_nan=False)
    for row in a["strata"]:
        assert set(row) >= {
            "name", "n", "responders", "n_planned", "posterior_mean", "posterior_median", "ci95",
            "prob_above_p0", "prob_above_p1", "predictive_probability_of_success", "decision", "decision_criterion",
        }  # fmt: skip
        assert set(row["decision_criterion"]) == {"id", "text"}


def test_seed_is_derived_from_the_request_hash_when_absent():
    a = run(seed=None)
    b = run(seed=None)
    c = run(seed=None, p1=0.4)
    assert a["provenance"]["seed"] == b["provenance"]["seed"] != c["provenance"]["seed"]


def test_decisions_follow_the_rule():
    strata = [
        {"name": "a", "n": 30, "responders": 10, "n_planned": 30},
        {"name": "b", "n": 30, "responders": 2, "n_planned": 30},
        {"name": "c", "n": 10, "responders": 0, "n_planned": 30},
    ]
    result = run(strata=strata, model={"kind": "independent"})
    decisions = [(s["decision"], s["decision_criterion"]["id"]) for s in result["strata"]]
    assert decisions == [("go", "final_success"), ("no-go", "final_failure"), ("no-go", "futility_predictive")]


def test_small_strata_warn():
    strata = [{"name": "a", "n": 2, "responders": 1, "n_planned": 20}, {"name": "b", "n": 0, "responders": 0, "n_planned": 20}]
    result = run(strata=strata, model={"kind": "hierarchical"})
    sparse = [w for w in result["warnings"] if w["code"] == "stratum-sparse"]
    empty = [w for w in result["warnings"] if w["code"] == "stratum-empty"]
    assert [w["stratum"] for w in sparse] == ["a"] and "dominated by the prior" in sparse[0]["message"]
    assert [w["stratum"] for w in empty] == ["b"] and "no evaluable patients" in empty[0]["message"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"strata": [STRATA[0], {**STRATA[1], "responders": 15}]}, "strata/1/responders"),
        ({"strata": [{**STRATA[0], "n_planned": 10}, STRATA[1]]}, "strata/0/n_planned"),
        ({"strata": [STRATA[0], {**STRATA[1], "name": STRATA[0]["name"]}]}, "strata/1/name"),
        ({"strata": [STRATA[0], {**STRATA[1], "name": STRATA[0]["name"].upper() + " "}]}, "strata/1/name"),
        ({"strata": [STRATA[0], {**STRATA[1], "n": -1}]}, "strata/1/n"),
        ({"strata": STRATA * 7}, "strata"),
        ({"strata": []}, "strata"),
        ({"p1": 0.1}, "p1"),
        ({"p0": 1.2}, "p0"),
        ({"engine": "gibbs"}, "engine"),
        ({"model": {"kind": "hierarchical", "prior": {"mu_sd": -2}}}, "model/prior/mu_sd"),
        ({"decision": {"futility_ppos": 0.9, "efficacy_ppos": 0.5}}, "decision/efficacy_ppos"),
        ({"decision": {"futility_prob_above_p0": 0.96}}, "decision/futility_prob_above_p0"),
        ({"model": {"kind": "independent", "prior": {"mu_sd": 1.0}}}, "model/prior/mu_sd"),
        ({"mcmc": {"chains": 0}}, "mcmc/chains"),
        ({"seed": -1}, "seed"),
        ({"surprise": 1}, "surprise"),
        ({"simon": {"r1": 3, "n1": 2, "r": 5, "n": 20}}, "simon/n1"),  # n1 must exceed r1
        ({"simon": {"r1": -1, "n1": 2, "r": 5, "n": 20}}, "simon/r1"),
    ],
)
def test_invalid_requests_name_the_field(change, field):
    with pytest.raises(InvalidInputError) as info:
        run(**change)
    assert field in {p.field for p in info.value.problems}


# --------------------------------------------------------------------------------------------------
# Simon status


SIMON = {"r1": 1, "n1": 10, "r": 5, "n": 29}


@pytest.mark.parametrize(
    ("n", "y", "status", "needed"),
    [
        (6, 0, "stage1_ongoing", 2),
        (6, 2, "stage1_passed", 4),
        (9, 0, "stage1_futile", None),
        (10, 1, "stopped_stage1", None),
        (10, 3, "continue_stage2", 3),
        (10, 7, "continue_stage2", 0),
        (15, 1, "stopped_stage1", None),
        (15, 4, "stage2_ongoing", 2),
        (15, 8, "stage2_ongoing", 0),
        (27, 3, "stage2_futile", 3),
        (29, 6, "promising", None),
        (29, 5, "not_promising", None),
        (31, 6, "beyond_design", None),
    ],
)
def test_simon_status(n, y, status, needed):
    result = simon_status(SimonRule(**SIMON), n, y)
    assert result["status"] == status
    assert result["responders_needed"] == needed
    assert result["text"]


def test_simon_status_texts_count_what_is_missing_and_say_when_r_is_already_exceeded():
    """SARC031's 0/7, 2/21: 3 responders among 3 evaluable patients already exceed r = 2 (promising,
    not "0 more needed"); the 4 evaluable patients still to come to fill stage 1 are not called "not yet
    enrolled" (a not-evaluable patient left out of n may have been); one responder is "1 more responder"."""
    from designs.response.simon_status import simon_status_in_order

    rule = SimonRule(r1=0, n1=7, r=2, n=21)
    assert "it will be declared promising" in simon_status(rule, 3, 3)["text"]
    assert "0 more" not in simon_status(rule, 3, 3)["text"]
    ongoing = simon_status_in_order(rule, ["non-responder"] * 3)
    assert "(4 more evaluable patients to come)" in ongoing["text"] and "not yet enrolled" not in ongoing["text"]
    assert "1 more responder among these 4 is needed" in ongoing["text"]


@pytest.mark.parametrize(
    ("rule", "field", "problem"),
    [
        ({"r1": 9, "n1": 9, "r": 10, "n": 20}, "simon/n1", "n1 must exceed r1 (r1 = 9, n1 = 9)"),
        ({"r1": 3, "n1": 9, "r": 2, "n": 17}, "simon/r", "r must be at least r1 (r1 = 3, r = 2)"),
        ({"r1": 0, "n1": 9, "r": 17, "n": 17}, "simon/n", "n must exceed r (r = 17, n = 17)"),
        ({"r1": -1, "n1": 9, "r": 2, "n": 17}, "simon/r1", "must be an integer in [0, 100000] (got -1)"),
    ],
)
def test_simon_rule_names_the_broken_ordering_in_the_schemas_words(rule, field, problem):
    """The rule reports the field and the words of ``order_problem`` (as the HTTP schemas and Simon's evaluation)."""
    with pytest.raises(InvalidInputError) as caught:
        SimonRule(**rule)
    assert [(p.field, p.reason) for p in caught.value.problems] == [(field, problem)]


def test_simon_status_is_reported_per_stratum():
    result = run(simon=SIMON, model={"kind": "independent"})
    assert [s["simon"]["status"] for s in result["strata"]] == ["stage2_ongoing", "stage2_ongoing"]


# --------------------------------------------------------------------------------------------------
# The MCMC seam


def _fake_sampler(record):
    """Stands in for designs.engines.pymc.sample_response: independent Beta draws, 4 chains."""

    def sample(spec, responders, n, settings, seed):
        record.update(kind=spec.kind, responders=responders, n=n, prior=spec.prior.as_dict(), seed=seed)
        rng = np.random.default_rng(seed)
        p = np.stack([rng.beta(0.15 + y, 0.85 + m - y, size=4000) for y, m in zip(responders, n, strict=True)], axis=1)
        return SimpleNamespace(
            p=p,
            tau=np.abs(rng.normal(0.5, 0.2, size=4000)),
            prob_exchangeable=rng.uniform(0.5, 0.7, size=p.shape) if spec.kind == "exnex" else None,
            diagnostics={"converged": True, "max_rhat": 1.001},
            chains=4,
        )

    return sample


def test_mcmc_summaries_from_draws(monkeypatch):
    record: dict = {}
    monkeypatch.setattr(analysis, "sample_response", _fake_sampler(record))
    strata = [{**s, "n_planned": 20} for s in STRATA]
    result = run(strata=strata, engine="mcmc", model={"kind": "exnex"}, mcmc={"draws": 1000, "tune": 1000, "chains": 4}, seed=5)
    assert record["kind"] == "exnex" and record["responders"] == [3, 9] and record["seed"] == 5
    assert result["predictive"]["method"].startswith("reweighting")
    assert record["prior"]["nex_sd"] == 2.8006
    assert result["engine"] == "mcmc" and result["provenance"]["sampler"]["draws"] == 1000
    draws = _fake_sampler({})(response_spec.resolve("exnex", None, 0.15), [3, 9], [12, 14], None, 5)
    p = draws.p
    for j, row in enumerate(result["strata"]):
        assert row["posterior_median"] == pytest.approx(np.quantile(p[:, j], 0.5))
        assert row["ci95"] == pytest.approx(list(np.quantile(p[:, j], [0.025, 0.975])))  # 95%, not ArviZ's 89%
        assert row["prob_above_p0"] == pytest.approx(np.mean(p[:, j] > 0.15))
        mcse = row["monte_carlo_se"]
        assert set(mcse) >= {"posterior_mean", "prob_above_p0", "prob_above_p1", "predictive_probability_of_success"}
        assert 0 < mcse["prob_above_p1"] < 0.02
        # Beta draws are the independent posterior: the reweighted PP matches Lee & Liu's within MCSE.
        exact = closed_form.predictive_probability_of_success(0.15, 0.85, STRATA[j]["responders"], STRATA[j]["n"], 20, 0.15, 0.95)
        assert abs(row["predictive_probability_of_success"] - float(exact)) <= 4 * max(mcse["predictive_probability_of_success"], 5e-3)
    membership = draws.prob_exchangeable
    assert result["prob_exchangeable"] == pytest.approx(dict(zip(["NF1-associated", "sporadic"], membership.mean(axis=0))))
    for j, row in enumerate(result["strata"]):
        # Independent draws: the MCSE of their mean is sd / √S (within 10%).
        assert row["monte_carlo_se"]["prob_exchangeable"] == pytest.approx(membership[:, j].std() / math.sqrt(4000), rel=0.1)
    assert result["diagnostics"]["method"] == "mcmc" and result["diagnostics"]["max_rhat"] == 1.001


@pytest.mark.slow
def test_pymc_engine_agrees_with_quadrature_within_4_mcse():
    """The PyMC engine of record against the deterministic quadrature (slow: compiles the model)."""
    mcmc = run(engine="mcmc", model={"kind": "hierarchical"}, mcmc={"draws": 2000, "tune": 1000, "chains": 4}, seed=3)
    quad = run(engine="quadrature", model={"kind": "hierarchical"})
    assert mcmc["engine"] == "mcmc"
    for m, q in zip(mcmc["strata"], quad["strata"], strict=True):
        for key in ("prob_above_p0", "prob_above_p1", "posterior_mean"):
            assert abs(m[key] - q[key]) <= 4 * m["monte_carlo_se"][key] + 1e-4  # quadrature accuracy


def test_null_efficacy_threshold_disables_early_go():
    strata = [{"name": "a", "n": 14, "responders": 12, "n_planned": 30}]
    assert run(strata=strata, model={"kind": "independent"})["strata"][0]["decision"] == "go"
    disabled = run(strata=strata, model={"kind": "independent"}, decision={"efficacy_ppos": None})
    assert disabled["strata"][0]["decision"] == "continue"


def test_every_bad_field_is_reported_at_once():
    """The one validating constructor names every mistake of a request in one InvalidInputError."""
    request = {
        "p0": 1.2,
        "p1": 0.35,
        "strata": [STRATA[0], {**STRATA[1], "responders": 15}, {**STRATA[0], "n_planned": 5}],
        "model": {"kind": "exnex", "prior": {"nex_sd": 0, "a": 1.0}},
        "decision": {"futility_ppos": 0.9, "efficacy_ppos": 0.5},
        "simon": {"r1": 3, "n1": 2, "r": 5, "n": 20},
        "engine": "gibbs",
        "mcmc": {"chains": 0},
        "seed": -1,
        "surprise": True,
    }
    with pytest.raises(InvalidInputError) as info:
        ResponseAnalysisSpec.from_mapping(request)
    assert {p.field for p in info.value.problems} == {
        "p0", "strata/1/responders", "strata/2/n_planned", "strata/2/name", "model/prior/nex_sd", "model/prior/a",
        "decision/efficacy_ppos", "simon/n1", "engine", "mcmc/chains", "seed", "surprise",
    }  # fmt: skip


def _logit_normal_posterior(y, n, mean, sd, thresholds):
    """Brute force: p = expit(θ), θ ~ N(mean, sd²), y of n responded; E[p] and P(p > c) by adaptive quadrature."""

    def weight(theta):
        return special.expit(theta) ** y * special.expit(-theta) ** (n - y) * np.exp(-0.5 * ((theta - mean) / sd) ** 2)

    lo, hi = mean - 12 * sd, mean + 12 * sd
    mass = integrate.quad(weight, lo, hi, epsabs=0, epsrel=1e-11, limit=200)[0]
    post_mean = integrate.quad(lambda t: special.expit(t) * weight(t), lo, hi, epsabs=0, epsrel=1e-11, limit=200)[0] / mass
    above = {c: integrate.quad(weight, special.logit(c), hi, epsabs=0, epsrel=1e-11, limit=200)[0] / mass for c in thresholds}
    return post_mean, above


def test_exnex_with_weight_0_is_the_independent_normal_model():
    """w = 0: every stratum is non-exchangeable, logit p_j ~ N(nex_mean, nex_sd²) on its own (brute force)."""
    prior = {"weight_exchangeable": 0.0, "nex_mean": -1.0, "nex_sd": 1.5}
    result = run(model={"kind": "exnex", "prior": prior}, engine=None)
    assert result["engine"] == "quadrature" and codes(result, "engine-substituted")
    for stratum, row in zip(STRATA, result["strata"], strict=True):
        mean, above = _logit_normal_posterior(stratum["responders"], stratum["n"], -1.0, 1.5, (0.15, 0.35))
        assert row["posterior_mean"] == pytest.approx(mean, abs=1e-6)
        assert row["prob_above_p0"] == pytest.approx(above[0.15], abs=1e-6)
        assert row["prob_above_p1"] == pytest.approx(above[0.35], abs=1e-6)
        assert row["prob_exchangeable"] == 0.0


def test_exnex_with_weight_1_is_the_hierarchical_model():
    """w = 1: every stratum is exchangeable, which is the hierarchical model with the same μ and τ priors."""
    shared = {"mu_mean": -1.2, "mu_sd": 2.0, "tau_scale": 0.7}
    exnex = run(model={"kind": "exnex", "prior": {**shared, "weight_exchangeable": 1.0}})
    hierarchical = run(model={"kind": "hierarchical", "prior": shared})
    keys = ("posterior_mean", "posterior_median", "prob_above_p0", "prob_above_p1", "predictive_probability_of_success")
    for e, h in zip(exnex["strata"], hierarchical["strata"], strict=True):
        for key in keys:
            assert e[key] == pytest.approx(h[key], abs=1e-6), key
        assert e["ci95"] == pytest.approx(h["ci95"], abs=1e-6)
        assert e["prob_exchangeable"] == 1.0
