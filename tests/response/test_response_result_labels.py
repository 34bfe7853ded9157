"""Issue 14: results that explain themselves. Every interval of a response analysis says its level
(``ci_level`` beside ``ci95``) and τ says its scale (logit)."""

from __future__ import annotations

import pytest
from scipy import stats

from designs.response.analysis import analyse_response
from designs.response.spec import ResponseAnalysisSpec

STRATA = [
    {"name": "NF1-associated", "n": 12, "responders": 3, "n_planned": 30},
    {"name": "sporadic", "n": 14, "responders": 9, "n_planned": 30},
]


def run(**changes):
    request = {"p0": 0.15, "p1": 0.35, "strata": STRATA, "seed": 1}
    request.update(changes)
    return analyse_response(ResponseAnalysisSpec.from_mapping(request))


def test_independent_ci95_states_level_095_and_holds_that_beta_posterior_mass():
    result = run(model={"kind": "independent", "prior": {"a": 0.5, "b": 0.5}})
    for stratum in result["strata"]:
        assert stratum["ci_level"] == 0.95
        posterior = stats.beta(0.5 + stratum["responders"], 0.5 + stratum["n"] - stratum["responders"])
        lower, upper = stratum["ci95"]
        assert posterior.cdf(upper) - posterior.cdf(lower) == pytest.approx(stratum["ci_level"], abs=1e-9)
    assert result["tau"] is None


@pytest.mark.parametrize("kind", ["hierarchical", "exnex"])
def test_tau_is_reported_on_the_logit_scale_with_its_interval_level(kind):
    result = run(model={"kind": kind}, engine="quadrature")
    tau = result["tau"]
    assert tau["scale"] == "logit"
    assert "logit" in tau["description"]
    assert tau["ci_level"] == 0.95
    assert 0 <= tau["ci95"][0] <= tau["median"] <= tau["ci95"][1]
    assert all(s["ci_level"] == 0.95 for s in result["strata"])
