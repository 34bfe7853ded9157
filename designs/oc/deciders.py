"""Deciders: the decision codes of a rule for many outcome tuples at one analysis.

At every look an active stratum is told to continue, stop for futility, stop early with a go (its
enrolment ends), or, at its final look, go / no-go: ``CONTINUE``, ``FUTILITY``, ``EARLY_GO``,
``FINAL_GO``, ``FINAL_NO_GO`` (``designs.core.decisions``); ``INACTIVE`` for a stratum that is not
analysed at this look. Decisions are deterministic functions of the data available at the analysis.
Simon's rule is applied as such; the Bayesian rules of ``designs.response.decisions`` read the
posterior and predictive tables of ``designs.oc.model_tables``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Sequence
from typing import Protocol

import numpy as np

from designs.core.decisions import CONTINUE, FINAL_GO, FINAL_NO_GO, FUTILITY, INACTIVE
from designs.core.errors import InvalidInputError
from designs.oc.design import OCDesign, SimonStoppingRule
from designs.oc.model_tables import GRID_CELL_LIMIT, ModelTables
from designs.response.decisions import DecisionRule
from designs.response.decisions import decide as decide_stratum
from designs.response.predictive import MAX_ENUMERATION


class Decider(Protocol):
    """Decision codes for many outcome tuples at one analysis.

    ``decide(analysis, look_index, y)``: ``look_index[j]`` is the look whose data stratum j holds
    (stratum j is analysed now iff ``look_index[j] == analysis``), ``y`` is an (m, J) integer array
    of responders; returns an (m, J) int8 array of codes, ``INACTIVE`` for strata not analysed.
    ``separable``: stratum j's decisions depend on stratum j's data only.
    """

    separable: bool

    def decide(self, analysis: int, look_index: tuple[int, ...], y: np.ndarray) -> np.ndarray: ...


class SimonDecider:
    """Simon's rule per stratum: futility stop after n1 if y ≤ r1, go at n if y > r."""

    separable = True

    def __init__(self, design: OCDesign):
        self.rule: SimonStoppingRule = design.rule

    def decide(self, analysis: int, look_index: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        codes = np.full(y.shape, INACTIVE, dtype=np.int8)
        for j, look in enumerate(look_index):
            if look != analysis:
                continue
            if analysis == 0:
                codes[:, j] = np.where(y[:, j] <= self.rule.r1, FUTILITY, CONTINUE)
            else:
                codes[:, j] = np.where(y[:, j] > self.rule.r, FINAL_GO, FINAL_NO_GO)
        return codes


def decider_for(design: OCDesign) -> Decider:
    """The decider that applies ``design.rule`` with ``design.model``."""
    if isinstance(design.rule, SimonStoppingRule):
        return SimonDecider(design)
    return BayesianDecider(design)


class BayesianDecider:
    """Go / no-go / continue of ``designs.response.decisions.decide`` for many outcome tuples at one analysis.

    At an interim, the predictive probability of success of an analysed stratum assumes that every
    stratum still enrolling reaches its final size and that strata that stopped keep their data:
    for borrowing models the joint future of all enrolling strata is enumerated
    (``predictive.HierarchicalPredictive``; Lee & Liu 2008 extended through the marginal likelihood).
    """

    def __init__(self, design: OCDesign):
        self.design = design
        self.rule = design.rule if isinstance(design.rule, DecisionRule) else DecisionRule(**dataclasses.asdict(design.rule))
        self.kind = getattr(design.model, "kind", None)
        if self.kind is None:
            raise InvalidInputError("model", "a Bayesian rule needs a response model")
        self.separable = self.kind == "independent"
        self.closed_form = self.kind in ("independent", "pooled")
        self.looks = tuple(s.looks for s in design.strata)
        self.tables = ModelTables(design.model, design.p0, self.looks, design.fixed_tau)
        if not self.closed_form:
            self._check_predictive_tables()

    def _check_predictive_tables(self) -> None:
        limit = 4 * MAX_ENUMERATION  # HierarchicalPredictive's largest table of final outcomes
        # The largest table is at the first interim, every stratum still enrolling: Π_j (N_j + 1).
        cells = math.prod(s.final_n + 1 for s in self.design.strata)
        if any(len(s.looks) > 1 for s in self.design.strata) and cells > limit:
            raise InvalidInputError(
                "strata",
                f"predictive probabilities at interim looks would tabulate {cells:,} joint final outcomes "
                f"(limit {limit:,}): use fewer coupled strata or smaller looks, or no interim looks",
            )

    def _shape(self, analysis: int, look_index: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...], list[int]]:
        """(n now, n final with stopped strata frozen, interim-analysed strata)."""
        n_now = tuple(looks[i] for looks, i in zip(self.looks, look_index, strict=True))
        n_final = tuple(looks[-1] if i == analysis else looks[i] for looks, i in zip(self.looks, look_index, strict=True))
        interim = [j for j, i in enumerate(look_index) if i == analysis and analysis < len(self.looks[j]) - 1]
        return n_now, n_final, interim

    def decide(self, analysis: int, look_index: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        n_now, n_final, interim = self._shape(analysis, look_index)
        active = [j for j, i in enumerate(look_index) if i == analysis]
        final = [j for j in active if j not in interim]
        codes = np.full(y.shape, INACTIVE, dtype=np.int8)
        if not active:
            return codes
        if final or self.rule.futility_prob_above_p0 is not None:
            prob_above = self.tables.prob_above(n_now, y)
        else:
            prob_above = np.ones(y.shape)  # not read by an interim rule without futility_prob_above_p0
        ppos = np.zeros(y.shape)
        if interim:
            ppos = self.tables.predictive(y, n_now, n_final, self.rule.final_threshold)
        for j in active:
            codes[:, j], _ = decide_stratum(self.rule, n_now[j], self.looks[j][-1], prob_above[:, j], ppos[:, j])
        return codes

    def predictive_probability_of_success(
        self, analysis: int, look_index: tuple[int, ...], y: np.ndarray, strata: Sequence[int]
    ) -> np.ndarray:
        """PPoS (m, len(strata)) at this analysis (every stratum still enrolling reaches its final size)."""
        n_now, n_final, _ = self._shape(analysis, look_index)
        return self.tables.predictive(y, n_now, n_final, self.rule.final_threshold)[:, list(strata)]

    def grids_needed(self, analysis: int, look_index: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The n tuples whose posterior grids ``decide(analysis, look_index, ·)`` reads."""
        n_now, n_final, interim = self._shape(analysis, look_index)
        active = [j for j, i in enumerate(look_index) if i == analysis]
        needed = [n_now] if len(interim) < len(active) or self.rule.futility_prob_above_p0 is not None else []
        if interim:
            needed.append(n_final)
        return needed

    def prefetch(self, keys: Iterable[tuple[int, tuple[int, ...]]]) -> None:
        """Posterior (and, for borrowing models, predictive) tables of every n tuple these keys need."""
        needed = [n for k, t in keys for n in self.grids_needed(k, t)]
        self.tables.prefetch([n for n in needed if math.prod(v + 1 for v in n) <= GRID_CELL_LIMIT])
