"""The PyMC engine of record against the deterministic quadrature engine on a panel of datasets.

Issue 3: MCMC is checked, not trusted. Every reported probability and mean from PyMC (nutpie) must lie
within 4 Monte Carlo standard errors of the quadrature answer (itself accurate to ~1e-8, see
tests/engines/test_quadrature.py), on data that stress the models: zero responders, all responders, very
unequal n, and n = 1, for the hierarchical (Berry et al. 2013) and EXNEX (Neuenschwander et al. 2016)
models with bhmbasket's default priors. EXNEX's P(exchangeable) of each stratum is compared too, within
4 Monte Carlo standard errors of its mean over the draws.
"""

from __future__ import annotations

import pytest

from designs.response.analysis import analyse_response
from designs.response.spec import ResponseAnalysisSpec

PANEL = {
    "zero responders": [(0, 10), (0, 10)],
    "all responders": [(10, 10), (9, 10)],
    "very unequal n": [(3, 40), (1, 4)],
    "n = 1": [(1, 1), (2, 12)],
}
KEYS = ("posterior_mean", "prob_above_p0", "prob_above_p1", "predictive_probability_of_success")
QUADRATURE_TOLERANCE = 1e-4  # the quadrature engine's stated accuracy


def _strata(counts):
    return [
        {"name": f"stratum {j}", "n": n, "responders": y, "n_planned": max(n, 21) + 5}
        for j, (y, n) in enumerate(counts)
    ]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["hierarchical", "exnex"])
@pytest.mark.parametrize("label", list(PANEL))
def test_mcmc_within_4_mcse_of_quadrature(kind, label):
    strata = _strata(PANEL[label])
    common = dict(p0=0.15, p1=0.35, strata=strata, model={"kind": kind}, seed=20261121)
    quad = analyse_response(ResponseAnalysisSpec.from_mapping({**common, "engine": "quadrature"}))
    mcmc = analyse_response(ResponseAnalysisSpec.from_mapping({**common, "engine": "mcmc"}))

    diagnostics = mcmc["diagnostics"]
    assert diagnostics["converged"], diagnostics["failed_checks"]
    assert diagnostics["divergences"] == 0
    assert diagnostics["max_rhat"] <= 1.01
    for q, m in zip(quad["strata"], mcmc["strata"], strict=True):
        for key in KEYS:
            se = m["monte_carlo_se"].get(key)
            if se is None:  # computed by quadrature inside the MCMC path: must agree to its accuracy
                assert m[key] == pytest.approx(q[key], abs=QUADRATURE_TOLERANCE), (label, key)
                continue
            assert abs(m[key] - q[key]) <= 4 * se + QUADRATURE_TOLERANCE, (label, m["name"], key, m[key], q[key], se)
        if kind == "exnex":
            se = m["monte_carlo_se"]["prob_exchangeable"]
            assert se > 0, (label, m["name"])
            assert abs(m["prob_exchangeable"] - q["prob_exchangeable"]) <= 4 * se + QUADRATURE_TOLERANCE, (
                label, m["name"], m["prob_exchangeable"], q["prob_exchangeable"], se,
            )  # fmt: skip
        else:
            assert "prob_exchangeable" not in m["monte_carlo_se"]
