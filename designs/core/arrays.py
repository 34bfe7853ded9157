"""Arrays shared between threads and callers (cached tables, validated data) are made read-only."""

from __future__ import annotations

import numpy as np


def read_only(array: np.ndarray) -> np.ndarray:
    """``array``, made read-only in place: a cached or shared array must not be changed by one caller."""
    array.setflags(write=False)
    return array
