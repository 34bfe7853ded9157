"""Validation of Simon-design arguments: each bad value named by its field (``InvalidInputError``)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from numbers import Integral, Real
from typing import Any

from designs.core.errors import InvalidInputError
from designs.core.validation import MAX_ERROR_RATE, RESPONSE_RATE

NMAX_LIMIT = 1000
"""Largest total sample size a search or an evaluation accepts."""


def check_real(field_name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise InvalidInputError(field_name, f"must be a finite number, got {value!r}")
    return float(value)


def check_int(field_name: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise InvalidInputError(field_name, f"must be an integer, got {value!r}")
    value = int(value)
    if not low <= value <= high:
        raise InvalidInputError(field_name, f"must be between {low} and {high}, got {value}")
    return value


def check_response_rate(field_name: str, value: Any) -> float:
    """A null or target response rate within ``RESPONSE_RATE``."""
    value = check_real(field_name, value)
    if not RESPONSE_RATE.contains(value):
        raise InvalidInputError(field_name, f"must lie in {RESPONSE_RATE.text()}, got {value}")
    return value


def check_error_rate(field_name: str, value: Any) -> float:
    value = check_real(field_name, value)
    if not 0.0 < value <= MAX_ERROR_RATE:
        raise InvalidInputError(field_name, f"must be in (0, {MAX_ERROR_RATE:g}], got {value}")
    return value


def check_design(r1: Any, n1: Any, r: Any, n: Any) -> tuple[int, int, int, int]:
    """Simon's design {r1, n1, r, n} as integers, field by field in that order (``order_problem``'s orderings)."""
    checked: dict[str, int] = {}
    for field_name, value, low in (("r1", r1, 0), ("n1", n1, 1), ("r", r, 0), ("n", n, 2)):
        checked[field_name] = check_int(field_name, value, low, NMAX_LIMIT)
        problem = order_problem(field_name, checked[field_name], checked)
        if problem is not None:
            raise InvalidInputError(field_name, problem)
    return checked["r1"], checked["n1"], checked["r"], checked["n"]


def order_problem(field_name: str, value: int, earlier: Mapping[str, Any], *, attained: bool = False) -> str | None:
    """Why ``field_name`` = ``value`` breaks Simon's orderings with the fields checked before it, or None.

    A design {r1, n1, r, n}: r1 < n1 < n and r1 ≤ r < n. A trial's outcome (``attained``: n is the
    attained total) {r1, n1, n, responders}: n1 ≤ n and responders ≤ n, with responders ≤ r1 when the
    trial stopped after stage 1 (n = n1) and > r1 when it went on (n > n1). ``earlier`` holds the
    fields checked so far; a field missing from it (or None) is not compared.
    """
    known = {name: v for name, v in earlier.items() if v is not None} | {field_name: value}
    r1, n1, r, n = known.get("r1"), known.get("n1"), known.get("r"), known.get("n")
    if field_name == "n1" and r1 is not None and not r1 < n1:
        return f"n1 must exceed r1 (r1 = {r1}, n1 = {n1})"
    if field_name == "r" and r1 is not None and r < r1:
        return f"r must be at least r1 (r1 = {r1}, r = {r})"
    if field_name == "n" and attained:
        if n1 is not None and n < n1:
            return f"n (the attained total) must be at least n1 (n1 = {n1}, n = {n})"
    elif field_name == "n":
        if n1 is not None and not n1 < n:
            return f"n must exceed n1 (n1 = {n1}, n = {n})"
        if r is not None and not r < n:
            return f"n must exceed r (r = {r}, n = {n})"
    if field_name == "responders":
        if n is not None and value > n:
            return f"responders cannot exceed n (n = {n})"
        if None not in (n, n1, r1):
            if n == n1 and value > r1:
                return f"a trial that stopped after stage 1 (n = n1) has at most r1 = {r1} responders"
            if n > n1 and value <= r1:
                return f"a trial that went on to stage 2 (n > n1) has more than r1 = {r1} responders"
    return None
