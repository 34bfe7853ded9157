"""The estimated cost of an interim response analysis (``designs.core.cost``), from its spec alone.

closed form    milliseconds.
quadrature     the grid (``grid_layout``: nodes from the prior scales and the planned patients of
               every stratum), one table per likelihood (FFTs: τ nodes × FFT length), the contraction
               of the predictive probability's outcome tuples over the grid: the design's whole
               final table, this look's futures, or ``MONTE_CARLO_FUTURES`` drawn ones
               (``designs.response.predictive``, same branches).
mcmc           NUTS: (draws + tune) × chains × strata, chains run ``cores_used`` at a time, each
               rerun doubling draws and tune; then the reweighting: futures × draws × strata.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from designs.core import cost as c
from designs.core.cost import Cost
from designs.engines.quadrature import BinomialLikelihood, NormalHierarchy
from designs.engines.quadrature.grid import grid_layout
from designs.engines.sampler_settings import SamplerSettings
from designs.response import predictive
from designs.response.spec import ResponseAnalysisSpec

PRIOR_SCALES = ("model/prior/mu_sd", "model/prior/tau_scale", "model/prior/nex_sd")


def estimate_response(spec: ResponseAnalysisSpec) -> Cost:
    """The cost of ``analyse_response(spec)`` (the same engine choice)."""
    model = spec.model
    y = [s.responders for s in spec.strata]
    n = [s.n for s in spec.strata]
    planned = [s.n_planned for s in spec.strata]
    if model.closed_form:
        return Cost(c.BASE_SECONDS, c.BASE_BYTES, ("strata",), parts={"engine": "closed-form"})
    hierarchy = NormalHierarchy.from_prior(model.prior)
    w = getattr(model.prior, "weight_exchangeable", None)
    if spec.engine == "quadrature" or (w is not None and w in (0.0, 1.0)):
        return quadrature_cost(hierarchy, y, n, planned)
    settings = spec.sampler or SamplerSettings()
    cost = mcmc_cost(settings, model.kind, len(y), per_draw_factor=2.0 if model.kind == "exnex" else 1.0)
    cost = cost.then(reweighting_cost(settings, n, planned))
    if reweighting_may_degenerate(settings, n, planned):
        cost = cost.then(quadrature_cost(hierarchy, y, n, planned))
    return cost


def reweighting_may_degenerate(settings: SamplerSettings, n: Sequence[int], n_planned: Sequence[int]) -> bool:
    """Whether the reweighting will likely fall back to quadrature: the posterior after the future
    patients is narrower than now's by about Π_k (n_k + 2 + m_k) / (n_k + 2) (two prior patients), and
    the draws' weights lose about that factor of effective sample size; below four times the ESS the
    reweighting needs, count the fallback's cost in."""
    shrink = math.prod((int(f) + 2) / (int(k) + 2) for k, f in zip(n, n_planned, strict=True))
    return settings.draws * settings.chains / shrink < 4 * predictive.MIN_WEIGHT_ESS


def quadrature_cost(hierarchy: NormalHierarchy, responders: Sequence[int], n: Sequence[int],
                    n_planned: Sequence[int]) -> Cost:
    """Grid, tables and contractions of ``predictive_probability_hierarchical`` and ``analyse``."""
    layout = grid_layout(hierarchy, _extreme_candidates(n_planned))
    G, A, M, N = layout.cells, layout.tau_nodes, layout.fft_length, layout.theta_nodes
    J = len(n)
    m = [int(f) - int(k) for f, k in zip(n_planned, n, strict=True)]
    futures = math.prod(v + 1 for v in m)
    tables, tuples, held = J, 1, J  # the current data's tables; held: tables alive at once
    if futures > predictive.MAX_ENUMERATION:
        drawn = predictive.MONTE_CARLO_FUTURES
        finals = sum(min(int(f) + 1, v + 1) for f, v in zip(n_planned, m, strict=True))
        tables += sum(v + 1 for v in m) + finals
        tuples = drawn * J
        held = max(held, max(v + 1 for v in m), finals)
        how = "monte-carlo"
    elif futures > 1:
        whole = math.prod(int(f) + 1 for f in n_planned) <= predictive.MAX_FINAL_TABLE
        sizes = [int(f) + 1 for f in n_planned] if whole else [v + 1 for v in m]
        tables += sum(sizes)
        tuples = math.prod(sizes)
        held = sum(sizes)
        how = "whole final table" if whole else "this look's final tuples"
    else:
        tables += J
        how = "final analysis"
    seconds = (c.BASE_SECONDS + c.fft_seconds(tables, A, M)
               + c.CONTRACTION_SECONDS_PER_CELL * (tuples + 1) * G * max(J, 1))
    table_bytes = 8 * (3 * G + N)
    peak = (c.BASE_BYTES + held * table_bytes + held * 16 * G  # tables alive, contraction rows
            + c.CHUNK_BYTES + 16 * tuples + 24 * A * M + 8 * 4_000_000)  # cavity chunks, FFT buffers
    drivers = (*PRIOR_SCALES, "strata/n_planned", "strata")
    return Cost(seconds, int(peak), drivers, parts={
        "engine": "quadrature", "grid_cells": G, "theta_nodes": N, "tau_nodes": A, "fft_length": M,
        "tables": tables, "contracted_tuples": tuples, "future_tuples": futures, "predictive": how,
    })


def _extreme_candidates(n_planned: Sequence[int]) -> list[list[BinomialLikelihood]]:
    """The candidates that set the grid of all counts 0..n_k (``predictive.engine_for``'s): every count
    has information n_k / 4, and the mode ± 12 sd of y of n, logit(y/n) ∓ 12 / √(y (1 − y/n)), is
    monotone in y on each half, so y = 1 and y = n − 1 reach furthest (0 and n have no mode). The same
    layout as all n_k + 1 of them, without building 100,000 likelihoods for a large n_planned."""
    return [[BinomialLikelihood(z, int(nk)) for z in sorted({0, 1, int(nk) - 1, int(nk)}) if 0 <= z <= int(nk)]
            for nk in n_planned]


def _values_per_draw(kind: str, strata: int) -> int:
    """Numbers nutpie keeps per draw: the free and derived parameters, and its sample statistics."""
    per_stratum = 6 if kind == "exnex" else 4
    return 14 + per_stratum * strata


def attempts(settings: SamplerSettings) -> list[tuple[int, int]]:
    """(draws, tune) of the first run and of every rerun the settings allow, as the convergence policy
    makes them (``designs.engines.pymc.policy``: each rerun's settings are ``for_rerun`` of the last)."""
    out = []
    for _ in range(settings.max_reruns + 1):
        out.append((settings.draws, settings.tune))
        settings = settings.for_rerun()
    return out


def mcmc_cost(settings: SamplerSettings, kind: str, strata: int, *, per_draw_factor: float = 1.0,
              values_per_draw: int | None = None) -> Cost:
    """NUTS with nutpie: chains run ``cores_used`` at a time; each rerun doubles draws and tune.
    ``per_draw_factor`` scales the time of one draw (a PFS likelihood over patients)."""
    rounds = math.ceil(settings.chains / settings.cores_used)
    runs = [c.NUTS_SECONDS_BASE + c.NUTS_SECONDS_PER_DRAW * per_draw_factor * (d + t) * rounds * (1 + strata / 2)
            for d, t in attempts(settings)]
    values = values_per_draw if values_per_draw is not None else _values_per_draw(kind, strata)
    largest = max(d for d, _ in attempts(settings))
    peak = c.BASE_BYTES + largest * settings.chains * values * c.TRACE_BYTES_PER_VALUE
    return Cost(runs[0], int(peak), ("mcmc/draws", "mcmc/tune", "mcmc/chains", "mcmc/max_reruns", "strata"),
                rerun_seconds=sum(runs[1:]),
                parts={"engine": "mcmc", "draws_per_chain": settings.draws, "tune": settings.tune,
                       "chains": settings.chains, "reruns_allowed": settings.max_reruns,
                       "largest_draws_per_chain": largest})


def reweighting_cost(settings: SamplerSettings, n: Sequence[int], n_planned: Sequence[int]) -> Cost:
    """``predictive_probability_by_reweighting`` over the kept draws (the largest rerun's for memory)."""
    m = [int(f) - int(k) for f, k in zip(n_planned, n, strict=True)]
    J = len(m)
    futures = math.prod(v + 1 for v in m)
    largest = max(d for d, _ in attempts(settings)) * settings.chains
    draws = settings.draws * settings.chains

    def rows(s: int) -> int:
        if futures == 1:
            return 1
        if futures <= predictive.MAX_ENUMERATION and futures * s <= predictive.MAX_REWEIGHTED_CELLS:
            return futures
        return predictive.MONTE_CARLO_FUTURES

    # The whole pass and ten batch passes over the same cells: about two passes of (futures × draws).
    seconds = c.REWEIGHTING_SECONDS_PER_CELL * 2 * rows(draws) * draws * (J + 4)
    block = min(c.CHUNK_BYTES, rows(largest) * largest * (predictive.REWEIGHTING_BYTES_PER_CELL + J))
    peak = c.BASE_BYTES + block + 8 * 8 * largest * J  # the blocks, and the draws' logs and indicators
    return Cost(seconds, int(peak), ("strata/n_planned", "mcmc/draws", "mcmc/chains"),
                parts={"reweighted_futures": rows(draws), "reweighted_draws": draws})
