"""The estimated cost of a response analysis grows with its drivers (designs.response.cost)."""

from __future__ import annotations

import copy

from designs.core.cost import MB
from designs.response import predictive
from designs.response.cost import estimate_response
from designs.response.spec import ResponseAnalysisSpec

BODY = {
    "p0": 0.15, "p1": 0.35,
    "strata": [{"name": "a", "n": 10, "responders": 3, "n_planned": 21},
               {"name": "b", "n": 10, "responders": 1, "n_planned": 21}],
    "model": {"kind": "hierarchical"}, "seed": 1,
}


def _cost(**changes):
    body = copy.deepcopy(BODY) | changes
    return estimate_response(ResponseAnalysisSpec.from_mapping(body))


def test_closed_form_costs_milliseconds():
    cost = _cost(model={"kind": "independent"})
    assert cost.seconds < 0.1 and cost.parts["engine"] == "closed-form"


def test_mcmc_time_grows_with_draws_tune_and_chains_and_reruns_are_counted_apart():
    small = _cost(mcmc={"draws": 1000, "tune": 500, "chains": 4})
    more_draws = _cost(mcmc={"draws": 10_000, "tune": 500, "chains": 4})
    more_chains = _cost(mcmc={"draws": 1000, "tune": 500, "chains": 8})
    assert more_draws.seconds > 5 * small.seconds and more_chains.seconds > 1.5 * small.seconds
    assert small.rerun_seconds > small.seconds  # one rerun with twice the draws and warm-up
    assert _cost(mcmc={"draws": 1000, "tune": 500, "chains": 4, "max_reruns": 0}).rerun_seconds == 0
    assert more_draws.peak_bytes > small.peak_bytes


def test_the_issues_mcmc_extreme_fits_in_memory_now_that_the_reweighting_works_in_blocks():
    """100,000 draws and warm-up on 8 chains: minutes, but the reweighting's temporaries are bounded
    (they were futures × draws: 11.9 GiB at 50,000 × 8)."""
    cost = _cost(mcmc={"draws": 100_000, "tune": 100_000, "chains": 8})
    assert cost.seconds > 60
    assert cost.peak_bytes < 2048 * MB
    assert cost.parts["reweighted_futures"] == predictive.MONTE_CARLO_FUTURES


def test_quadrature_cost_grows_with_the_prior_scales_and_the_planned_patients():
    base = _cost(engine="quadrature")
    wide = _cost(engine="quadrature", model={"kind": "hierarchical", "prior": {"mu_sd": 10, "tau_scale": 10}})
    larger = _cost(engine="quadrature", strata=[{"name": k, "n": 10, "responders": 2, "n_planned": 200} for k in "ab"])
    assert wide.parts["grid_cells"] > 4 * base.parts["grid_cells"] and wide.seconds > base.seconds
    assert larger.parts["grid_cells"] > base.parts["grid_cells"] and larger.peak_bytes > base.peak_bytes


def test_a_reweighting_that_will_degenerate_counts_its_quadrature_fallback():
    """200 planned patients of which 20 are in: the draws' weights degenerate and quadrature answers."""
    strata = [{"name": k, "n": 20, "responders": 5, "n_planned": 200} for k in "abc"]
    cost = _cost(strata=strata)
    assert cost.parts["engine"] == "mcmc" and "draws_per_chain" in cost.parts
    assert "grid_cells" in cost.parts  # the fallback's
    assert cost.seconds > _cost(engine="quadrature", strata=strata).seconds


def test_the_estimate_sizes_the_grid_of_the_analysis_exactly():
    """The estimate's grid layout from four counts per stratum is the engine's, built from all of them."""
    from designs.engines.quadrature import BinomialLikelihood, NormalHierarchy
    from designs.engines.quadrature.grid import grid_layout
    from designs.response.cost import _extreme_candidates

    hierarchy = NormalHierarchy(-1.7, 10.0, 10.0)
    for planned in ([21, 21], [1, 40, 3], [200, 7, 60]):
        every = [[BinomialLikelihood(z, n) for z in range(n + 1)] for n in planned]
        assert grid_layout(hierarchy, _extreme_candidates(planned)) == grid_layout(hierarchy, every)
