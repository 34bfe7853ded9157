"""What a design search returns: designs with their exact operating characteristics at p0 and p1."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class SimonDesign:
    """One two-stage design and its exact operating characteristics at p0 and p1."""

    r1: int
    n1: int
    r: int
    n: int
    expected_n_null: float
    pet_null: float
    type_i_error: float
    power: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "r1": self.r1,
            "n1": self.n1,
            "r": self.r,
            "n": self.n,
            "expected_n_null": self.expected_n_null,
            "pet_null": self.pet_null,
            "type_i_error": self.type_i_error,
            "power": self.power,
        }


@dataclass(frozen=True)
class AdmissibleDesign(SimonDesign):
    """A design on the admissible boundary with the weights q for which it is the best design.

    ``q_range = (lo, hi)``: for every q in [lo, hi] the design minimises q·n + (1 − q)·EN(p0) over all
    feasible designs (Jung, Lee, Kim & George 2004). A design lying on a straight edge between two
    others is admissible at a single q and has lo == hi.
    """

    q_range: tuple[float, float] = (0.0, 1.0)

    def as_dict(self) -> dict[str, Any]:
        return {**super().as_dict(), "q_range": self.q_range}


@dataclass(frozen=True)
class SimonSearchResult:
    """Optimal, minimax and admissible designs for one set of constraints."""

    p0: float
    p1: float
    alpha: float
    beta: float
    nmax: int
    optimal: SimonDesign
    minimax: SimonDesign
    admissible: list[AdmissibleDesign]
    warnings: list[dict[str, str]] = field(default_factory=list)  # caveats ``{code, message}``
    provenance: dict[str, Any] = field(default_factory=dict)  # ``designs.core.provenance``

    def as_dict(self) -> dict[str, Any]:
        return {
            "p0": self.p0,
            "p1": self.p1,
            "alpha": self.alpha,
            "beta": self.beta,
            "nmax": self.nmax,
            "optimal": self.optimal.as_dict(),
            "minimax": self.minimax.as_dict(),
            "admissible": [design.as_dict() for design in self.admissible],
            "warnings": list(self.warnings),
            "provenance": self.provenance,
        }
