"""Summaries shared by the response and PFS analyses: draws, MCSE, the seed and one diagnostics shape."""

from __future__ import annotations

import math

import numpy as np
import pytest

from designs.core import posterior_summary as ps
from designs.core.errors import InvalidInputError
from designs.core.provenance import input_hash
from designs.response.analysis import analyse_response
from designs.response.spec import ResponseAnalysisSpec
from designs.survival.analysis import analyse_pfs
from designs.survival.spec import PFSAnalysisSpec

STRATA = [
    {"name": "NF1-associated", "n": 12, "responders": 3, "n_planned": 30},
    {"name": "sporadic", "n": 14, "responders": 9, "n_planned": 30},
]
PATIENTS = [
    {"id": f"P{i}", "stratum": stratum, "time_months": t, "event": e}
    for i, (stratum, t, e) in enumerate(
        [("A", 1.0, True), ("A", 3.0, True), ("A", 6.0, False), ("A", 2.5, True),
         ("B", 5.0, True), ("B", 8.0, False), ("B", 7.0, True), ("B", 9.0, False)]
    )
]


def test_draw_summaries_are_mean_median_and_the_95_equal_tailed_interval():
    rng = np.random.default_rng(1)
    draws = np.column_stack([rng.normal(0, 1, 4000), rng.exponential(2, 4000)])
    rows = ps.summarise_draws(draws)
    for j, row in enumerate(rows):
        assert row["mean"] == pytest.approx(draws[:, j].mean())
        assert row["median"] == pytest.approx(np.median(draws[:, j]))
        assert row["ci95"] == pytest.approx(list(np.quantile(draws[:, j], [0.025, 0.975])))
    assert set(ps.summarise_draws(draws, with_mean=False)[0]) == {"median", "ci95"}
    unbounded = ps.summarise_draws(np.full((10, 1), math.inf))[0]
    assert unbounded == {"mean": None, "median": None, "ci95": [None, None]}


def test_probability_mcse_of_independent_draws_is_binomial():
    """Independent draws: ESS ≈ S, so MCSE ≈ √(p̂(1 − p̂)/S) (within 10%)."""
    draws = np.random.default_rng(2).uniform(size=(8000, 2))
    prob, mcse = ps.probability_above(draws, 0.3, chains=4)
    np.testing.assert_allclose(prob, (draws > 0.3).mean(axis=0))
    np.testing.assert_allclose(mcse, np.sqrt(prob * (1 - prob) / 8000), rtol=0.1)
    tau = ps.summarise_scalar_draws(draws[:, 0], chains=4)
    assert tau["monte_carlo_se_mean"] == pytest.approx(draws[:, 0].std() / math.sqrt(8000), rel=0.1)


def test_default_seed_is_the_first_32_bits_of_the_request_sha256():
    payload = {"p0": 0.15, "strata": STRATA}
    assert ps.resolve_seed(None, payload) == int(input_hash(payload)[:8], 16)
    assert ps.resolve_seed(7, payload) == 7
    for bad in (-1, 1.5, True):
        with pytest.raises(InvalidInputError) as info:
            ps.resolve_seed(bad, payload)
        assert [p.field for p in info.value.problems] == ["seed"]


@pytest.mark.parametrize(
    ("response_kind", "pfs_kind", "pfs_engine", "method"),
    [
        ("independent", "independent-exponential", None, "closed_form"),
        ("hierarchical", "hierarchical-exponential", "quadrature", "quadrature"),
    ],
)
def test_response_and_pfs_diagnostics_blocks_have_the_same_shape(response_kind, pfs_kind, pfs_engine, method):
    response_request = {"p0": 0.15, "p1": 0.35, "strata": STRATA, "model": {"kind": response_kind}, "engine": "quadrature", "seed": 1}
    response = analyse_response(ResponseAnalysisSpec.from_mapping(response_request))
    pfs_request = {
        "patients": PATIENTS, "strata": ["A", "B"], "benchmark_landmark_pfs": 0.15, "target_landmark_pfs": 0.35,
        "model": {"kind": pfs_kind}, "engine": pfs_engine,
    }  # fmt: skip
    pfs = analyse_pfs(PFSAnalysisSpec.from_mapping(pfs_request))
    assert set(response["diagnostics"]) == set(pfs["diagnostics"])
    for block in (response["diagnostics"], pfs["diagnostics"]):
        assert block["method"] == method and block["converged"] is True and block["failed_checks"] == []
        assert block["deterministic"] is True and block["exact"] is (method == "closed_form")
        assert all(block[k] is None for k in ("max_rhat", "min_ess_bulk", "min_ess_tail", "divergences", "reruns", "thresholds"))
        assert "equal-tailed" in block["interval"] and block["accuracy"]
    for result in (response, pfs):
        assert {"diagnostics", "provenance", "warnings"} <= set(result)
        assert set(result["provenance"]) >= {"software", "input_sha256", "model", "engine", "method"}


def test_mcmc_block_has_the_same_keys_as_the_deterministic_ones():
    report = {
        "converged": False, "failed_checks": ["max R-hat 1.0500 (p) > 1.01"], "max_rhat": 1.05, "min_ess_bulk": 120.0,
        "min_ess_tail": 90.0, "divergences": 2, "reruns": 1, "thresholds": {"rhat_max": 1.01}, "quantities": {},
    }
    block = ps.mcmc_diagnostics(report)
    assert set(ps.closed_form_diagnostics("exact")) <= set(block)
    assert (block["method"], block["exact"], block["deterministic"], block["max_rhat"]) == ("mcmc", False, False, 1.05)
    (warning,) = ps.diagnostics_warnings(block)
    assert warning["code"] == "mcmc-not-converged" and warning["stratum"] is None
    assert "convergence checks" in warning["message"] and "R-hat" in warning["message"]


def test_quadrature_self_check_off_tolerance_is_a_typed_warning():
    block = {"converged": True, "self_check": {"normalisation": 1e-9, "edge_mass": 3e-5}}
    (warning,) = ps.diagnostics_warnings(block)
    assert warning["code"] == "quadrature-self-check" and "Cross-check with engine 'mcmc'" in warning["message"]
    assert ps.diagnostics_warnings({"converged": True, "self_check": {"edge_mass": 1e-7}}) == []
