"""The estimated cost of an interim PFS analysis (``designs.core.cost``), from its spec alone.

closed form    milliseconds (Kaplan–Meier per stratum).
quadrature     the grid of the hierarchical-exponential model (``grid_layout``: nodes from the prior
               scales and the events and exposure of every stratum) and one table per stratum.
mcmc           NUTS as the response analysis's (``designs.response.cost.mcmc_cost``); a Weibull
               likelihood is evaluated per patient, the exponential ones on sufficient statistics.
"""

from __future__ import annotations

from designs.core import cost as c
from designs.core.cost import Cost
from designs.engines import quadrature
from designs.engines.quadrature.grid import grid_layout
from designs.engines.sampler_settings import SamplerSettings
from designs.response.cost import mcmc_cost
from designs.survival.analysis import follow_up, quadrature_statistics
from designs.survival.spec import PFSAnalysisSpec

PATIENT_SECONDS = 6e-5
"""Reading one patient, Kaplan–Meier and the summaries that go over patients."""
WEIBULL_PATIENTS_PER_STRATUM_DRAW = 25
"""A Weibull draw costs as one response stratum's per this many patients."""


def estimate_pfs(spec: PFSAnalysisSpec) -> Cost:
    """The cost of ``analyse_pfs(spec)``."""
    model = spec.model
    strata = list(spec.strata)
    J = len(strata)
    patients = len(spec.patients)
    base = Cost(c.BASE_SECONDS + PATIENT_SECONDS * patients, c.BASE_BYTES + 2_000 * patients, ("patients",),
                parts={"patients": patients})
    if model.engine == "closed-form":
        return base
    if model.engine == "quadrature":
        events, exposure, _ = quadrature_statistics(follow_up(spec))
        prior = model.prior
        hierarchy = quadrature.NormalHierarchy(prior.mu_mean, prior.mu_sd, prior.tau_scale)
        likelihoods = [quadrature.ExposureLikelihood(float(d), float(max(t, 1e-9))) for d, t in zip(events, exposure)]
        layout = grid_layout(hierarchy, likelihoods)
        G, A, M, N = layout.cells, layout.tau_nodes, layout.fft_length, layout.theta_nodes
        seconds = c.fft_seconds(J, A, M) + c.CONTRACTION_SECONDS_PER_CELL * G * J + 2e-4 * J
        peak = 8 * (J * (3 * G + N) + 3 * A * M + 4_000_000)
        return base.then(Cost(seconds, int(c.BASE_BYTES + peak), ("model/prior/mu_sd", "model/prior/tau_scale", "patients"),
                              parts={"engine": "quadrature", "grid_cells": G, "theta_nodes": N, "tau_nodes": A,
                                     "fft_length": M}))
    settings = spec.sampler or SamplerSettings()
    factor = 1.0
    pieces = 0
    if model.kind == "hierarchical-weibull":
        factor = 1.0 + patients / max(J, 1) / WEIBULL_PATIENTS_PER_STRATUM_DRAW
    elif model.kind == "hierarchical-piecewise-exponential":
        pieces = len(getattr(model.prior, "cut_points", None) or ())
        factor = 1.0 + pieces / 4
    values = 14 + (4 + pieces) * J
    return base.then(mcmc_cost(settings, model.kind, J, per_draw_factor=factor, values_per_draw=values))
