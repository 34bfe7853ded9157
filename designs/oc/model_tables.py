"""Posterior and predictive tables of a response model over whole grids of outcome tuples.

The response analysis's posteriors and predictive probabilities (``designs.engines.closed_form``,
``designs.engines.quadrature``, ``designs.response.predictive``) computed once per model and
schedule per process, and shared by the Bayesian decision rules of every calibration candidate.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import numpy as np
from cachetools import cached

from designs.core.arrays import read_only
from designs.core.memory import CACHES
from designs.engines import closed_form
from designs.engines.quadrature import BinomialLikelihood, NormalHierarchy, QuadratureEngine
from designs.response.predictive import HierarchicalPredictive, clear_caches, final_table

# Posterior grids over every outcome tuple of an n tuple are kept while at most this many cells
# (= 4 · predictive.MAX_ENUMERATION, the largest final table of HierarchicalPredictive).
GRID_CELL_LIMIT = 200_000
_GRIDS = CACHES.cache("oc-beta-grids")
"""Closed-form posterior grids kept per process, a share of the one cache budget (quadrature grids
are the final tables of ``predictive.final_table``, bounded there)."""
_ENGINES = CACHES.cache("oc-engines")
"""Quadrature engines kept per process, one per (hierarchy, schedule), bounded by bytes; their
tables are bounded apart."""
TABLE_THRESHOLD = 0.95
"""The success threshold of the final tables kept (any works: another threshold only changes the
success indicator, ``HierarchicalPredictive.with_threshold``)."""


def _beta(model: Any) -> tuple[float, float]:
    return float(model.prior.a), float(model.prior.b)


class ModelTables:
    """Posterior P(p_j > p0 | y) and predictive probabilities of success for one model and schedule.

    Independent / pooled: closed forms (``designs.engines.closed_form``), whole grids kept per process. Hierarchical
    / EXNEX: one quadrature engine for the schedule (``_engine``, kept per process; its likelihood
    tables in the process-wide table cache); ``predictive.final_table`` per final n tuple, whose
    P(p_j > p0) of the final outcomes also serves the final decisions. Every grid and table is
    computed once per process and shared by the decision rules of all calibration candidates.
    """

    def __init__(self, model: Any, p0: float, looks: tuple[tuple[int, ...], ...], fixed_tau: float | None = None):
        self.model, self.p0, self.looks, self.fixed_tau = model, p0, looks, fixed_tau
        self.kind = model.kind
        self.closed_form = self.kind in ("independent", "pooled")

    # --- P(p_j > p0 | y) --------------------------------------------------------------------------

    def prob_above(self, n: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        """(m, J) posterior P(p_j > p0) of the rows of ``y`` at sizes ``n``: from the grid of every
        outcome tuple at ``n`` (computed once) while it is small, else for these rows only."""
        if math.prod(v + 1 for v in n) <= GRID_CELL_LIMIT:
            return self.grid(n)[tuple(y.T)]
        if self.closed_form:
            return _beta_prob_above(self.model, self.p0, np.asarray(n), y)
        unique, inverse = np.unique(y, axis=0, return_inverse=True)
        return self._quadrature_prob_above(n, unique)[inverse.reshape(-1)]

    def grid(self, n: tuple[int, ...]) -> np.ndarray:
        """P(p_j > p0) of every outcome tuple at ``n``, shape (n_1 + 1, …, n_J + 1, J); read-only."""
        if self.closed_form:
            return _beta_grid(self.model, self.p0, tuple(n))
        return self.hierarchical_predictive(tuple(n), TABLE_THRESHOLD).prob_above_p0

    def prefetch(self, n_tuples: Iterable[tuple[int, ...]]) -> None:
        """Grids of P(p_j > p0) for these n tuples (quadrature: the final tables of
        ``predictive.final_table``, which the predictive probabilities then reuse)."""
        for n in sorted({tuple(n) for n in n_tuples}):
            self.grid(n)

    def _quadrature_prob_above(self, n: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        likelihoods = [[BinomialLikelihood(k, nj) for k in range(nj + 1)] for nj in n]
        return self.engine().batch(likelihoods, y, thresholds=[self.p0], means=False).prob_above[:, :, 0]

    def engine(self) -> QuadratureEngine:
        """The schedule's engine: its grid suits every look of every stratum (shared; do not modify)."""
        return _engine(NormalHierarchy.from_prior(self.model.prior, fixed_tau=self.fixed_tau), self.looks)

    # --- predictive probability of success --------------------------------------------------------

    def predictive(self, y: np.ndarray, n: tuple[int, ...], n_final: tuple[int, ...], threshold: float) -> np.ndarray:
        """(m, J) PPoS when every stratum enrols to ``n_final`` (stopped strata: n_final = n)."""
        if self.closed_form:
            a, b = _beta(self.model)
            if self.kind == "independent":
                return closed_form.predictive_probability_of_success(
                    a, b, y, np.asarray(n)[None, :], np.asarray(n_final)[None, :], self.p0, threshold
                )
            # predictive.predictive_probability_pooled on totals, vectorised over the distinct totals.
            totals, inverse = np.unique(y.sum(axis=1), return_inverse=True)
            shared = closed_form.predictive_probability_of_success(a, b, totals, sum(n), sum(n_final), self.p0, threshold)
            return np.repeat(shared[inverse.reshape(-1), None], len(n), axis=1)
        return self.hierarchical_predictive(n_final, threshold).probability(y, n)[0]

    def hierarchical_predictive(self, n_final: tuple[int, ...], threshold: float) -> HierarchicalPredictive:
        """``predictive.HierarchicalPredictive`` for ``n_final``: one final table per process
        (``predictive.final_table``), reused for every threshold."""
        table = final_table(self.engine(), n_final, self.p0, TABLE_THRESHOLD)
        return table if threshold == TABLE_THRESHOLD else table.with_threshold(threshold)


def _beta_prob_above(model: Any, p0: float, n: np.ndarray, y: np.ndarray) -> np.ndarray:
    """(m, J) P(p_j > p0 | y) under independent or pooled Beta priors."""
    a, b = _beta(model)
    if model.kind == "independent":
        return closed_form.prob_above(p0, *closed_form.posterior_parameters(a, b, y, n[None, :]))
    # One rate: only the total matters (computed once per distinct total).
    totals, inverse = np.unique(y.sum(axis=1), return_inverse=True)
    shared = closed_form.prob_above(p0, *closed_form.posterior_parameters(a, b, totals, n.sum()))
    return np.repeat(shared[inverse.reshape(-1), None], len(n), axis=1)


@cached(_GRIDS, lock=_GRIDS.lock)
def _beta_grid(model: Any, p0: float, n: tuple[int, ...]) -> np.ndarray:
    shape = tuple(v + 1 for v in n)
    y = np.indices(shape).reshape(len(n), -1).T
    return read_only(_beta_prob_above(model, p0, np.asarray(n), y).reshape(shape + (len(n),)))


@cached(_ENGINES, lock=_ENGINES.lock)
def _engine(hierarchy: NormalHierarchy, looks: tuple[tuple[int, ...], ...]) -> QuadratureEngine:
    candidates = [[BinomialLikelihood(k, n) for n in stratum for k in range(n + 1)] for stratum in looks]
    return QuadratureEngine.for_likelihoods(hierarchy, candidates)


def clear_model_tables() -> None:
    """Forget every kept grid, engine and table (a benchmark times a cold start)."""
    _beta_grid.cache_clear()
    _engine.cache_clear()
    clear_caches()
