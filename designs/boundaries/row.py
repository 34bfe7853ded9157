"""One decision row: the decisions of every responder count 0..n at one look, read as boundaries.

A rule is monotone at a look when its decisions over y = 0..n read no-go* continue* go*; then
``no_go_max`` (the largest count giving no-go), ``go_min`` (the smallest giving go) and the continue
range between them say everything. Where a coupled rule is not monotone in the count (the predictive
probability of a hierarchical model can fall as the count rises), the boundaries are still the largest
no-go count and the smallest go count, and ``note`` lists the counts that break the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from designs.core.decisions import DECISION_OF_CODE, INACTIVE

RANK = {"no-go": 0, "continue": 1, "go": 2}


@dataclass(frozen=True)
class DecisionRow:
    """The decisions of counts 0..n and the boundaries they imply."""

    decisions: tuple[str, ...]
    no_go_max: int | None
    go_min: int | None
    continue_range: tuple[int, int] | None
    monotone: bool
    note: str | None

    @classmethod
    def of_codes(cls, codes: np.ndarray) -> DecisionRow:
        """From the decision codes of counts 0..n (``designs.core.decisions``)."""
        if np.any(codes == INACTIVE):
            raise ValueError("a boundary row needs the decisions of an analysed stratum")
        decisions = tuple(DECISION_OF_CODE[int(c)] for c in codes)
        no_go = [y for y, d in enumerate(decisions) if d == "no-go"]
        go = [y for y, d in enumerate(decisions) if d == "go"]
        kept = [y for y, d in enumerate(decisions) if d == "continue"]
        ranks = [RANK[d] for d in decisions]
        breaks = [y for y in range(1, len(ranks)) if ranks[y] < max(ranks[:y])]
        note = None
        if breaks:
            listed = ", ".join(f"y = {y} ({decisions[y]})" for y in breaks)
            note = (
                f"not monotone in the responder count: {listed} below a smaller count's better decision; "
                "no_go_max is the largest no-go count and go_min the smallest go count"
            )
        return cls(
            decisions=decisions,
            no_go_max=no_go[-1] if no_go else None,
            go_min=go[0] if go else None,
            continue_range=(kept[0], kept[-1]) if kept else None,
            monotone=not breaks,
            note=note,
        )

    def boundaries(self) -> dict[str, Any]:
        """The boundary fields of the canonical JSON (without the full row)."""
        return {
            "no_go_max": self.no_go_max,
            "go_min": self.go_min,
            "continue": None if self.continue_range is None else list(self.continue_range),
            "monotone": self.monotone,
            "note": self.note,
        }
