"""Tallies: what a run of trials (or the exact enumeration) leaves behind."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from designs.core.decisions import ENDINGS
from designs.oc.design import OCDesign


@dataclass
class Tally:
    """How each stratum's enrolment ended, summed over trials (counts) or exact (probabilities).

    ``ends[j, k, e]``: weight of trials whose stratum j ended at its look k with ending ``ENDINGS[e]``.
    ``any_go``: weight of trials with a go in at least one stratum. ``trials``: the total weight.
    """

    ends: np.ndarray
    any_go: float
    trials: float

    @classmethod
    def empty(cls, design: OCDesign, trials: float = 0, dtype: type = np.float64) -> Tally:
        """No trial has ended yet: ``trials`` of total weight (1 for the exact enumeration)."""
        return cls(np.zeros((len(design.strata), design.n_analyses, len(ENDINGS)), dtype=dtype), 0, trials)

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.ends + other.ends, self.any_go + other.any_go, self.trials + other.trials)
