"""Exact operating characteristics: the probability of every reachable state carried look by look.

RBesT's ``oc1S`` idea, extended to several looks and strata:

    P_{k+1}(look, y') = Σ_y P_k(look, y) · 1[decision(k, look, y) = continue] · Π_j Bin(y'_j − y_j; Δn_j, p_j),

summing the mass that stops. For a model whose decisions in stratum j depend on stratum j's data
only (independent Beta–binomial, Simon), strata are enumerated one at a time and
P(any go) = 1 − Π_j (1 − P(go_j)). For a model that couples strata (pooled, hierarchical, EXNEX)
the state is the joint outcome tuple: exact while Σ over reachable looks of Π_j (n_j + 1) stays
under ``EXACT_CELL_LIMIT``.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
from scipy import stats

from designs.core.decisions import CONTINUE, EARLY_GO, ENDINGS, FINAL_GO
from designs.core.errors import InvalidInputError
from designs.oc.design import OCDesign
from designs.oc.tables import DENSE_CELL_LIMIT, DecisionTables, dense_cell_count
from designs.oc.tally import Tally

EXACT_CELL_LIMIT = DENSE_CELL_LIMIT


def _transition(n_from: int, n_to: int, rate: float) -> np.ndarray:
    """T[y, y'] = P(y' responders at n_to | y at n_from) = Bin(y' − y; n_to − n_from, rate)."""
    increments = stats.binom.pmf(np.arange(n_to - n_from + 1), n_to - n_from, rate)
    table = np.zeros((n_from + 1, n_to + 1))
    for y in range(n_from + 1):
        table[y, y : y + n_to - n_from + 1] = increments
    return table


def _exact_joint(tables: DecisionTables, rates: Sequence[float]) -> Tally:
    design = tables.design
    n_strata = len(design.strata)
    tally = Tally.empty(design, trials=1.0)
    start = tuple(0 for _ in design.strata)
    mass = np.ones(())
    for stratum, rate in zip(design.strata, rates, strict=True):
        mass = np.multiply.outer(mass, stats.binom.pmf(np.arange(stratum.looks[0] + 1), stratum.looks[0], rate))
    # state: (look index, any go so far) -> probability over the outcome grid
    states: dict[tuple[tuple[int, ...], bool], np.ndarray] = {(start, False): mass}
    for analysis in range(design.n_analyses):
        following: dict[tuple[tuple[int, ...], bool], np.ndarray] = {}
        for (look_index, went), mass in states.items():
            active = [j for j in range(n_strata) if look_index[j] == analysis]
            if not active:
                continue
            codes = tables.grid(analysis, look_index)
            go_now = np.zeros(mass.shape, dtype=bool)
            for j in active:
                code = codes[..., j]
                for e in range(len(ENDINGS)):
                    tally.ends[j, analysis, e] += float(mass[code == e + 1].sum())
                go_now |= (code == EARLY_GO) | (code == FINAL_GO)
            for continuing in itertools.product((False, True), repeat=len(active)):
                keep = np.ones(mass.shape, dtype=bool)
                for j, cont in zip(active, continuing, strict=True):
                    keep &= (codes[..., j] == CONTINUE) == cont
                part = np.where(keep, mass, 0.0)
                if not part.any():
                    continue
                for now_went, piece in ((True, np.where(go_now, part, 0.0)), (False, np.where(go_now, 0.0, part))):
                    flag = went or now_went
                    if not any(continuing):
                        if flag:
                            tally.any_go += float(piece.sum())
                        continue
                    if not piece.any():
                        continue
                    nxt = list(look_index)
                    for j, cont in zip(active, continuing, strict=True):
                        if cont:
                            looks = design.strata[j].looks
                            piece = np.moveaxis(
                                np.tensordot(piece, _transition(looks[analysis], looks[analysis + 1], rates[j]), axes=([j], [0])),
                                -1,
                                j,
                            )
                            nxt[j] = analysis + 1
                    key = (tuple(nxt), flag)
                    following[key] = following[key] + piece if key in following else piece
        states = following
    return tally


def exact_tally(design: OCDesign, rates: Sequence[float], tables: DecisionTables | None = None) -> Tally:
    """Exact operating characteristics of ``design`` at true ``rates`` (one per stratum)."""
    tables = tables if tables is not None else DecisionTables(design)
    if tables.separable and len(design.strata) > 1:
        tally = Tally.empty(design, trials=1.0)
        prob_no_go = 1.0
        for j in range(len(design.strata)):
            sub = tables.substratum(j)
            part = _exact_joint(sub, [rates[j]])
            tally.ends[j, : part.ends.shape[1]] = part.ends[0]
            prob_no_go *= 1.0 - part.any_go
        tally.any_go = 1.0 - prob_no_go
        return tally
    if dense_cell_count(design) > EXACT_CELL_LIMIT:
        raise InvalidInputError(
            "method",
            f"exact enumeration needs {dense_cell_count(design):,} joint outcome tuples (limit {EXACT_CELL_LIMIT:,}); "
            "use method 'simulation'",
        )
    if not tables.dense:
        tables = DecisionTables(design, tables.decider, dense=True)
    return _exact_joint(tables, list(rates))


def exact_available(design: OCDesign, tables: DecisionTables | None = None) -> bool:
    """Whether ``exact_tally`` can enumerate this design."""
    tables = tables if tables is not None else DecisionTables(design)
    if tables.separable:
        return all(dense_cell_count(design.substratum(j)) <= EXACT_CELL_LIMIT for j in range(len(design.strata)))
    return dense_cell_count(design) <= EXACT_CELL_LIMIT

