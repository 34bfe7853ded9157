"""Issue 14: the names in an MCMC fit's diagnostics (R-hat and ESS per quantity) are PyMC's internal
ones (mu_std, z, ...); the diagnostics keep them as keys (clients read them) and say what each is in a
``parameters`` map, written once in ``designs.engines.pymc.models``."""

from __future__ import annotations

import numpy as np
import pytest

from designs.engines.pymc import models, policy
from designs.engines.pymc.run import Trace
from designs.engines.sampler_settings import SamplerSettings

REPORTED = {
    "hierarchical": ("p",),
    "exnex": ("p", "prob_exchangeable"),
    "hierarchical-exponential": ("log_hazard",),
    "hierarchical-weibull": ("log_hazard", "median_survival"),
    "hierarchical-piecewise-exponential": ("log_hazard", "median_survival"),
}


@pytest.mark.parametrize("kind", models.ALL_KINDS)
def test_every_name_a_fit_can_report_has_a_description(kind):
    for name in (*models.free_parameters(kind), *REPORTED[kind]):
        description = models.PARAMETER_DESCRIPTIONS[kind][name]
        assert description and description != name


def test_tau_is_described_on_the_scale_of_its_model():
    assert "logit" in models.PARAMETER_DESCRIPTIONS["hierarchical"]["tau_std"]
    assert "log-hazard" in models.PARAMETER_DESCRIPTIONS["hierarchical-exponential"]["tau_std"]


def test_the_convergence_report_describes_every_quantity_it_names(monkeypatch):
    rng = np.random.default_rng(3)
    draws = {"mu_std": rng.normal(size=(2, 300)), "tau_std": np.abs(rng.normal(size=(2, 300))),
             "z": rng.normal(size=(2, 300, 3))}
    monkeypatch.setattr(policy, "run_nutpie", lambda compiled, settings, seed: Trace(draws, 0, 0, 0.1))

    def derive(trace, attempt):
        p = 1 / (1 + np.exp(-(trace.draws["mu_std"][..., None] + trace.draws["z"])))
        return {"p": p, "fixed": np.ones((2, 300))}, None

    _, report, _ = policy.sample_with_policy("hierarchical", None, SamplerSettings(max_reruns=0), 1, derive, {})
    assert set(report["parameters"]) == set(report["quantities"]) | set(report["constant_quantities"])
    assert report["parameters"]["mu_std"].startswith("mean logit (mu)")
    assert report["parameters"]["fixed"] == "fixed"  # a name without a description stands for itself
