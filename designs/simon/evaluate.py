"""Exact operating characteristics of a given Simon two-stage design at any response rates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy import special, stats

from designs.core.errors import InvalidInputError
from designs.core.provenance import provenance
from designs.simon.validation import check_design, check_real


TINY_RATE = 1e-300
"""Below this (from ~2e-306 down) scipy's binomial functions overflow in ``ibeta_derivative``."""


def _tiny_rate_operating_characteristics(r1: int, n1: int, r: int, n: int, p: float) -> tuple[float, float, float]:
    """``_operating_characteristics`` at p < ``TINY_RATE``, where scipy's incomplete beta overflows:
    the same exact sums with pmf(k) = C(n, k) p^k (1 − p)^(n − k) from logs (only k ≤ 1 survives)."""
    n2 = n - n1

    def pmf(k: np.ndarray, size: int) -> np.ndarray:
        with np.errstate(under="ignore"):
            log_choose = special.gammaln(size + 1) - special.gammaln(k + 1) - special.gammaln(size - k + 1)
            return np.exp(log_choose + k * np.log(p) + (size - k) * np.log1p(-p))

    def sf(k: np.ndarray, size: int) -> np.ndarray:
        """P(X > k), a sum of positive terms (no cancellation)."""
        terms = pmf(np.arange(size + 1), size)
        tails = np.append(np.cumsum(terms[::-1])[::-1], 0.0)  # tails[i] = P(X ≥ i)
        return tails[np.clip(np.asarray(k) + 1, 0, size + 1)]

    x1 = np.arange(r1 + 1, n1 + 1)
    continued = float(sf(r1, n1))
    pet = float(np.sum(pmf(np.arange(r1 + 1), n1)))
    promising = float(np.sum(pmf(x1, n1) * sf(r - x1, n2)))
    return pet, n1 + continued * n2, promising


def _operating_characteristics(r1: int, n1: int, r: int, n: int, p: float) -> tuple[float, float, float]:
    """(PET, EN, P(promising)) of one design at response rate p, by direct exact sums."""
    if 0.0 < p < TINY_RATE:
        return _tiny_rate_operating_characteristics(r1, n1, r, n, p)
    n2 = n - n1
    pet = float(stats.binom.cdf(r1, n1, p))
    continued = float(stats.binom.sf(r1, n1, p))  # 1 − PET without cancellation
    x1 = np.arange(r1 + 1, n1 + 1)
    promising = float(np.sum(stats.binom.pmf(x1, n1, p) * stats.binom.sf(r - x1, n2, p)))
    return pet, n1 + continued * n2, promising


def evaluate_design(r1: int, n1: int, r: int, n: int, p: Sequence[float]) -> list[dict[str, float]]:
    """Exact PET, expected sample size and probability of declaring promising at each p.

    Formulas in the module docstring. ``p`` values may be anywhere in [0, 1].
    """
    r1, n1, r, n = check_design(r1, n1, r, n)
    if isinstance(p, (str, bytes)) or not isinstance(p, Sequence) or len(p) == 0:
        raise InvalidInputError("p", "must be a non-empty sequence of probabilities")
    rows = []
    for index, value in enumerate(p):
        value = check_real(f"p/{index}", value)
        if not 0.0 <= value <= 1.0:
            raise InvalidInputError(f"p/{index}", f"must be in [0, 1], got {value}")
        pet, expected_n, promising = _operating_characteristics(r1, n1, r, n, value)
        rows.append({"p": value, "pet": pet, "expected_n": expected_n, "prob_reject_null": promising})
    return rows


def design_evaluation(r1: int, n1: int, r: int, n: int, p: Sequence[float]) -> dict[str, Any]:
    """The evaluation result: the design, ``evaluate_design``'s rows at each p, and provenance."""
    rows = evaluate_design(r1, n1, r, n, p)
    design = dict(zip(("r1", "n1", "r", "n"), check_design(r1, n1, r, n), strict=True))
    request = {**design, "p": [row["p"] for row in rows]}
    return {"design": design, "evaluations": rows, "provenance": provenance(request, method="exact binomial enumeration")}
