"""Validation of Simon-design arguments: each bad value named by its field (``InvalidInputError``)."""

from __future__ import annotations

import math
from numbers import Integral, Real
from typing import Any

from designs.core.errors import InvalidInputError

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


def check_open_probability(field_name: str, value: Any) -> float:
    value = check_real(field_name, value)
    if not 0.0 < value < 1.0:
        raise InvalidInputError(field_name, f"must be strictly between 0 and 1, got {value}")
    return value


def check_error_rate(field_name: str, value: Any) -> float:
    value = check_real(field_name, value)
    if not 0.0 < value <= 0.5:
        raise InvalidInputError(field_name, f"must be in (0, 0.5], got {value}")
    return value


def check_design(r1: Any, n1: Any, r: Any, n: Any) -> tuple[int, int, int, int]:
    n = check_int("n", n, 2, NMAX_LIMIT)
    n1 = check_int("n1", n1, 1, n - 1)
    r1 = check_int("r1", r1, 0, n1 - 1)
    r = check_int("r", r, r1, n - 1)
    return r1, n1, r, n
