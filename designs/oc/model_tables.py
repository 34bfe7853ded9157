"""Posterior and predictive tables of a response model over whole grids of outcome tuples.

The response analysis's posteriors and predictive probabilities (``designs.engines.closed_form``,
``designs.engines.quadrature``, ``designs.response.predictive``) computed once per model and
schedule per process, and shared by the Bayesian decision rules of every calibration candidate.
"""

from __future__ import annotations

import copy
import math
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

import numpy as np

from designs.engines import closed_form as beta_binomial
from designs.engines.quadrature import BinomialLikelihood, NormalHierarchy, QuadratureEngine
from designs.oc.design import OCDesign
from designs.response.predictive import HierarchicalPredictive

# Posterior grids over every outcome tuple of an n tuple are kept while at most this many cells
# (= 4 · predictive.MAX_ENUMERATION, the largest final table of HierarchicalPredictive).
GRID_CELL_LIMIT = 200_000


def _beta(model: Any) -> tuple[float, float]:
    return float(model.prior.a), float(model.prior.b)


class ModelTables:
    """Posterior P(p_j > p0 | y) and predictive probabilities of success for one model and schedule.

    Independent / pooled: closed forms (``beta_binomial``). Hierarchical / EXNEX: one quadrature
    engine for the design (its likelihood tables cached per (n, y)); ``predictive.HierarchicalPredictive``
    per final n tuple, whose table of the final outcomes also serves the final decisions. Every grid
    is computed once per process and shared by the decision rules of all calibration candidates.
    """

    def __init__(self, model: Any, p0: float, looks: tuple[tuple[int, ...], ...], fixed_tau: float | None = None):
        self.model, self.p0, self.looks, self.fixed_tau = model, p0, looks, fixed_tau
        self.kind = model.kind
        self._threshold = 0.95  # the success threshold of the first predictive tables (any works)
        self._prob_above: dict[tuple[int, ...], np.ndarray] = {}
        self._predictive: dict[tuple[int, ...], Any] = {}
        self._engine = None

    # --- P(p_j > p0 | y) --------------------------------------------------------------------------

    def prob_above(self, n: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        """(m, J) posterior P(p_j > p0) of the rows of ``y`` at sizes ``n``: from the grid of every
        outcome tuple at ``n`` (computed once) while it is small, else for these rows only."""
        if n in self._prob_above or math.prod(v + 1 for v in n) <= GRID_CELL_LIMIT:
            self.prefetch([n])
            return self._prob_above[n][tuple(y.T)]
        if self.kind in ("independent", "pooled"):
            return self._beta_prob_above(np.asarray(n), y)
        unique, inverse = np.unique(y, axis=0, return_inverse=True)
        return self._quadrature_prob_above(n, unique)[inverse.reshape(-1)]

    def prefetch(self, n_tuples: Iterable[tuple[int, ...]]) -> None:
        """Grids of P(p_j > p0) for these n tuples (quadrature: the final-outcome tables of
        ``predictive.HierarchicalPredictive``, which the predictive probabilities then reuse)."""
        for n in sorted({tuple(n) for n in n_tuples} - set(self._prob_above)):
            if self.kind in ("independent", "pooled"):
                y = np.indices(tuple(v + 1 for v in n)).reshape(len(n), -1).T
                self._prob_above[n] = self._beta_prob_above(np.asarray(n), y).reshape(tuple(v + 1 for v in n) + (len(n),))
            else:
                self.hierarchical_predictive(n, self._threshold)

    def _beta_prob_above(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        a, b = _beta(self.model)
        if self.kind == "independent":
            return beta_binomial.prob_above(self.p0, *beta_binomial.posterior_parameters(a, b, y, n[None, :]))
        # One rate: only the total matters (computed once per distinct total).
        totals, inverse = np.unique(y.sum(axis=1), return_inverse=True)
        shared = beta_binomial.prob_above(self.p0, *beta_binomial.posterior_parameters(a, b, totals, n.sum()))
        return np.repeat(shared[inverse.reshape(-1), None], len(n), axis=1)

    def _quadrature_prob_above(self, n: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        likelihoods = [[BinomialLikelihood(k, nj) for k in range(nj + 1)] for nj in n]
        return self.engine().batch(likelihoods, y, thresholds=[self.p0], means=False).prob_above[:, :, 0]

    def engine(self):
        if self._engine is None:
            hierarchy = NormalHierarchy.from_prior(self.model.prior, fixed_tau=self.fixed_tau)
            candidates = [[BinomialLikelihood(k, n) for n in looks for k in range(n + 1)] for looks in self.looks]
            self._engine = QuadratureEngine.for_likelihoods(hierarchy, candidates)
        return self._engine

    # --- predictive probability of success --------------------------------------------------------

    def predictive(self, y: np.ndarray, n: tuple[int, ...], n_final: tuple[int, ...], threshold: float) -> np.ndarray:
        """(m, J) PPoS when every stratum enrols to ``n_final`` (stopped strata: n_final = n)."""
        if self.kind in ("independent", "pooled"):
            a, b = _beta(self.model)
            if self.kind == "independent":
                return beta_binomial.predictive_probability_of_success(
                    a, b, y, np.asarray(n)[None, :], np.asarray(n_final)[None, :], self.p0, threshold
                )
            # predictive.predictive_probability_pooled on totals, vectorised over the distinct totals.
            totals, inverse = np.unique(y.sum(axis=1), return_inverse=True)
            shared = beta_binomial.predictive_probability_of_success(a, b, totals, sum(n), sum(n_final), self.p0, threshold)
            return np.repeat(shared[inverse.reshape(-1), None], len(n), axis=1)
        return self.hierarchical_predictive(n_final, threshold).probability(y, n)[0]

    def hierarchical_predictive(self, n_final: tuple[int, ...], threshold: float):
        """``predictive.HierarchicalPredictive`` for ``n_final``; its final table is computed once and
        reused for every threshold (only the success indicator changes)."""
        base = self._predictive.get(n_final)
        if base is None:
            base = HierarchicalPredictive(self.engine(), n_final, self.p0, self._threshold)
            self._predictive[n_final] = base
            self._prob_above.setdefault(n_final, base.prob_above_p0)
        if base.final_threshold == threshold:
            return base
        # Seam: HierarchicalPredictive has no "same table, other threshold" constructor.
        other = copy.copy(base)
        other.final_threshold = threshold
        other.success = base.prob_above_p0 > threshold
        return other

    def __getstate__(self) -> dict[str, Any]:
        # Workers rebuild the engine and tables they need rather than receive them.
        return {**self.__dict__, "_prob_above": {}, "_predictive": {}, "_engine": None}


# One set of tables per model and schedule per process: calibration candidates share them.
_MODEL_CACHE: OrderedDict[tuple, ModelTables] = OrderedDict()
_MODEL_CACHE_SIZE = 8


def model_tables_for(design: OCDesign) -> ModelTables:
    """The tables of ``design``'s model and schedule (cached per process)."""
    key = (design.model, design.p0, tuple(s.looks for s in design.strata), design.fixed_tau)
    tables = _MODEL_CACHE.get(key)
    if tables is None:
        tables = ModelTables(design.model, design.p0, key[2], design.fixed_tau)
        _MODEL_CACHE[key] = tables
        while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
            _MODEL_CACHE.popitem(last=False)
    else:
        _MODEL_CACHE.move_to_end(key)
    return tables


def clear_model_tables() -> None:
    """Forget every cached table (a benchmark times a cold start)."""
    _MODEL_CACHE.clear()
