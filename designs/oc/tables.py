"""Decision tables: decision codes keyed by (analysis, look index, outcome tuple), each computed once.

Decisions are deterministic functions of the data available at the analysis — analysis index ``k``,
each stratum's look index (strata that stopped keep their data) and the responder counts — so they
are computed once per distinct outcome tuple, and shared by the exact enumeration and the simulation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable

import numpy as np

from designs.core.arrays import read_only
from designs.core.decisions import INACTIVE
from designs.oc.deciders import Decider, decider_for
from designs.oc.design import OCDesign

# Largest number of outcome cells (summed over reachable looks) held as dense decision tables.
DENSE_CELL_LIMIT = 400_000


def reachable_look_indices(design: OCDesign, analysis: int) -> list[tuple[int, ...]]:
    """Look-index tuples at ``analysis`` with at least one stratum analysed."""
    ranges = [range(min(analysis, len(s.looks) - 1) + 1) for s in design.strata]
    return [t for t in itertools.product(*ranges) if analysis in t]


def grid_shape(design: OCDesign, look_index: tuple[int, ...]) -> tuple[int, ...]:
    """The outcome grid at these looks: (n_j + 1) responder counts per stratum."""
    return tuple(s.looks[i] + 1 for s, i in zip(design.strata, look_index, strict=True))


def dense_cell_count(design: OCDesign) -> int:
    """Outcome tuples over every reachable (analysis, look index): the size of dense tables.

    At analysis k: Π_j A_j − Π_j B_j, A_j = Σ_{i ≤ min(k, K_j − 1)} (n_ji + 1) over look indices up to
    k, B_j the same sum without look k (tuples where no stratum is analysed).
    """
    total = 0
    for k in range(design.n_analyses):
        with_k = math.prod(sum(n + 1 for n in s.looks[: k + 1]) for s in design.strata)
        without_k = math.prod(sum(n + 1 for n in s.looks[: min(k, len(s.looks))]) for s in design.strata)
        total += with_k - without_k
    return total


class DecisionTables:
    """Decision codes keyed by (analysis, look index, outcome tuple), each computed once.

    Dense: for every reachable (analysis, look index) the codes of the whole outcome grid, computed
    in one vectorised call (2 strata with n ≤ 60 give ≤ 61² = 3,721 tuples per look). Sparse (too
    many strata for a grid): codes of the tuples met so far, computed for the unique new ones only.
    """

    def __init__(self, design: OCDesign, decider: Decider | None = None, *, dense: bool | None = None):
        self.design = design
        self.decider = decider if decider is not None else decider_for(design)
        self.dense = dense_cell_count(design) <= DENSE_CELL_LIMIT if dense is None else dense
        self._grids: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}
        self._sparse: dict[tuple[int, tuple[int, ...]], dict[bytes, np.ndarray]] = {}
        self._substrata: dict[int, DecisionTables] = {}

    @property
    def separable(self) -> bool:
        return bool(getattr(self.decider, "separable", False))

    def grid(self, analysis: int, look_index: tuple[int, ...]) -> np.ndarray:
        """Codes over the whole outcome grid: shape ``grid + (J,)``."""
        key = (analysis, tuple(look_index))
        table = self._grids.get(key)
        if table is None:
            shape = grid_shape(self.design, key[1])
            y = np.indices(shape).reshape(len(shape), -1).T
            table = np.asarray(self.decider.decide(analysis, key[1], y), dtype=np.int8).reshape(shape + (len(shape),))
            self._grids[key] = read_only(table)
        return table

    def precompute(self, progress: Callable[[float], None] | None = None) -> DecisionTables:
        """Fill every dense table now (before shipping the tables to workers)."""
        if not self.dense and self.separable:
            for j in range(len(self.design.strata)):
                self.substratum(j).precompute()
        if self.dense:
            keys = [(k, t) for k in range(self.design.n_analyses) for t in reachable_look_indices(self.design, k)]
            if hasattr(self.decider, "prefetch"):
                self.decider.prefetch(keys)
            for done, (k, t) in enumerate(keys, start=1):
                self.grid(k, t)
                if progress is not None:
                    progress(done / len(keys))
        return self

    def codes(self, analysis: int, look_index: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        """Codes for the rows of ``y`` (m, J)."""
        if self.dense:
            table = self.grid(analysis, look_index)
            return table[tuple(y.T)]
        if self.separable:
            # Stratum j's decisions depend on its own data only: one small table per stratum.
            codes = np.full(y.shape, INACTIVE, dtype=np.int8)
            for j, look in enumerate(look_index):
                if look == analysis:
                    codes[:, j] = self.substratum(j).grid(analysis, (look,))[y[:, j], 0]
            return codes
        cache = self._sparse.setdefault((analysis, tuple(look_index)), {})
        unique, inverse = np.unique(y, axis=0, return_inverse=True)
        keys = [row.tobytes() for row in unique]
        missing = [i for i, key in enumerate(keys) if key not in cache]
        if missing:
            fresh = np.asarray(self.decider.decide(analysis, tuple(look_index), unique[missing]), dtype=np.int8)
            for i, row in zip(missing, fresh, strict=True):
                cache[keys[i]] = row
        return np.stack([cache[key] for key in keys])[inverse.reshape(-1)]

    def substratum(self, index: int) -> DecisionTables:
        """Dense tables of stratum ``index`` alone (separable rules)."""
        if index not in self._substrata:
            design = self.design.substratum(index)
            self._substrata[index] = DecisionTables(design, decider_for(design), dense=True)
        return self._substrata[index]
