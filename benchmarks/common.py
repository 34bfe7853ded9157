"""What the benchmark scripts share: a free loopback port for the server they start, and the
nearest-rank quantile of their latencies."""

from __future__ import annotations

import math
import socket


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def quantile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (the smallest value with at least ``q`` of them at or below
    it); NaN without values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
