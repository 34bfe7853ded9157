"""What a computation will cost, estimated from its spec before it runs: seconds and peak memory.

The analyses have an estimator next to them (``designs.response.cost``, ``designs.survival.cost``;
operating characteristics estimate their decision tables themselves, ``OCPlan.decision_seconds``) that reads the spec's drivers — MCMC draws × chains × strata (tune, reruns),
predictive futures × draws, quadrature grid nodes (from the prior scales, the strata and their
planned patients), patients, simulated trials — and returns a ``Cost``. The coefficients below were
measured on two cores (``benchmarks/cost_model.py`` prints estimate against measurement for a grid of
requests); an estimate aims to be within 2–3× of the time and never far below the memory.

``CHUNK_BYTES`` is the budget of one computation's large temporaries (arrays that would grow with
futures × draws are worked through in blocks); what caches keep is bounded in ``designs.core.memory``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

MB = 2**20

CHUNK_BYTES = 64 * MB
"""Budget of one computation's large temporary arrays (futures × draws and the like)."""
BASE_BYTES = 64 * MB
"""Memory any analysis takes beyond a warm worker's own (small arrays, Python objects, results)."""

# Measured coefficients (two cores; benchmarks/cost_model.py).
BASE_SECONDS = 0.02
"""Any analysis: validation, summaries, provenance."""
FFT_SECONDS_PER_POINT = 5e-9
"""One quadrature table: τ nodes × FFT length × log2(FFT length) points of transforms."""
CONTRACTION_SECONDS_PER_CELL = 4.5e-9
"""One (outcome tuple, grid cell, stratum) term of a quadrature contraction."""
NUTS_SECONDS_PER_DRAW = 30e-6
"""One NUTS draw (warm-up or kept) of one chain, per stratum-sized block of parameters, on one core."""
NUTS_SECONDS_BASE = 0.08
"""Starting nutpie: threads, swapping data into the compiled model, reading the trace."""
REWEIGHTING_SECONDS_PER_CELL = 4e-9
"""One (future, draw, stratum) term of the predictive reweighting, over its eleven passes."""
TRACE_BYTES_PER_VALUE = 8 * 6
"""One value of one kept or warm-up draw: nutpie's Arrow trace, its NumPy copy, the stacked chains,
the summaries' sorted copies and the reweighting's per-draw logs."""


@dataclass(frozen=True)
class Cost:
    """The estimated cost of one computation.

    ``seconds``: wall time on the machine the coefficients were measured on (two cores), without
    MCMC reruns; ``rerun_seconds``: what the reruns would add if every one ran (``max_reruns``,
    each doubling draws and tune). ``peak_bytes``: memory at the peak beyond a warm worker's own,
    the largest rerun included. ``drivers``: the spec fields the cost grows with, most telling first
    (what a client can change). ``parts``: the counts it was computed from (grid cells, futures,
    draws ...), for the calibration script and for messages.
    """

    seconds: float
    peak_bytes: int
    drivers: tuple[str, ...] = ()
    rerun_seconds: float = 0.0
    parts: dict[str, Any] = field(default_factory=dict)

    @property
    def peak_mb(self) -> float:
        return self.peak_bytes / MB

    def then(self, other: Cost) -> Cost:
        """This computation followed by ``other``: seconds add, the peak is the larger one, the parts
        are both's (this one's where both have one)."""
        return Cost(
            self.seconds + other.seconds,
            max(self.peak_bytes, other.peak_bytes),
            tuple(dict.fromkeys(self.drivers + other.drivers)),
            self.rerun_seconds + other.rerun_seconds,
            {**other.parts, **self.parts},  # the first computation's labels (engine) stay
        )


def fft_seconds(tables: int, tau_nodes: int, fft_length: int) -> float:
    """Seconds of ``tables`` quadrature tables (one transform per τ node each)."""
    return tables * tau_nodes * fft_length * math.log2(max(fft_length, 2)) * FFT_SECONDS_PER_POINT


def largest_within(cost_of: Callable[[float], Cost], fits: Callable[[Cost], bool], low: float, high: float,
                   *, integer: bool = True) -> float | None:
    """The largest value v in [low, high] with ``fits(cost_of(v))`` (cost grows with v), or None when
    not even ``low`` fits. Bisection: about 40 estimates for a real value, log2(high − low) for an integer."""
    if not fits(cost_of(low)):
        return None
    if fits(cost_of(high)):
        return high
    lo, hi = low, high
    for _ in range(60):
        if integer and hi - lo <= 1:
            break
        if not integer and hi - lo <= 1e-3 * max(abs(lo), 1e-9):
            break
        mid = (lo + hi) // 2 if integer else (lo + hi) / 2
        if fits(cost_of(mid)):
            lo = mid
        else:
            hi = mid
    return lo
