"""A stratum's data as a vectorised log-likelihood on the θ scale (θ = logit p or log λ)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Protocol

import numpy as np
from scipy import special

from designs.core.errors import InvalidInputError


class StratumLikelihood(Protocol):
    """A stratum's data: ``ℓ(θ)`` vectorised over θ. Frozen dataclasses are cached by value.

    Optional: ``information_bound`` (an upper bound of −ℓ''(θ) where ℓ is within 40 of its maximum)
    and ``mode_and_sd()`` ((θ̂, sd) of an interior mode, or None); without them both are found
    numerically on a pilot grid.
    """

    def __call__(self, theta: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class BinomialLikelihood:
    """y responders of n: ℓ(θ) = log C(n, y) + y log expit θ + (n − y) log(1 − expit θ).

    The binomial coefficient is included so that ``log_marginal_likelihood`` is that of the counts
    (predictive probabilities are ratios of these).
    """

    responders: int
    n: int

    def __post_init__(self) -> None:
        if not 0 <= self.responders <= self.n:
            raise InvalidInputError("responders", f"must lie in [0, n = {self.n}]")

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        y, n = self.responders, self.n
        log_choose = special.gammaln(n + 1) - special.gammaln(y + 1) - special.gammaln(n - y + 1)
        return log_choose + y * special.log_expit(theta) + (n - y) * special.log_expit(-np.asarray(theta))

    @property
    def information_bound(self) -> float:
        return self.n / 4.0

    def mode_and_sd(self) -> tuple[float, float] | None:
        y, n = self.responders, self.n
        if not 0 < y < n:
            return None
        p = y / n
        return math.log(p / (1 - p)), 1.0 / math.sqrt(n * p * (1 - p))


@dataclass(frozen=True)
class ExposureLikelihood:
    """d events in total exposure T (exponential / Poisson-process kernel): ℓ(θ) = d·θ − e^θ·T, θ = log λ."""

    events: float
    exposure: float

    def __post_init__(self) -> None:
        if self.events < 0 or self.exposure < 0:
            raise InvalidInputError("events", "events and exposure must be ≥ 0")
        if self.events > 0 and self.exposure == 0:
            raise InvalidInputError("exposure", "must be > 0 when there are events")

    def __call__(self, theta: np.ndarray) -> np.ndarray:
        theta = np.asarray(theta, dtype=float)
        # e^θ overflows past θ ≈ 709.78 (a wide grid: huge mu_sd or fixed τ). There ℓ = −∞ is the true
        # limit for T > 0 (the hazard term dominates), so the overflow is expected; with T = 0 the
        # hazard term vanishes and must not become ∞·0 = NaN.
        if self.exposure == 0:
            return self.events * theta
        with np.errstate(over="ignore"):
            return self.events * theta - np.exp(theta) * self.exposure

    @property
    def information_bound(self) -> float:
        # −ℓ'' = e^θ T; where ℓ ≥ max − 40 it stays below d + 40 + √(80 d).
        d = self.events
        return d + 40.0 + math.sqrt(80.0 * d) if self.exposure > 0 else 0.0

    def mode_and_sd(self) -> tuple[float, float] | None:
        if self.events <= 0 or self.exposure <= 0:
            return None
        return math.log(self.events / self.exposure), 1.0 / math.sqrt(self.events)

