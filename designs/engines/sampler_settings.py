"""The NUTS settings of one analysis and their limits, apart from the PyMC engine (it needs no PyMC).

The request specs (``designs.response.spec``, ``designs.survival.spec``) hold a ``SamplerSettings``;
keeping it here lets them, and the HTTP schemas, import it without loading PyMC, while the engine
(``designs.engines.pymc``) imports the specs.

Two sets of bounds: ``SamplerSettings`` accepts what the engine can run (the start-up warm-up samples
10 draws after 10 warm-up), a request may ask for no fewer than ``MIN_REQUEST_DRAWS`` of each (fewer
give no usable diagnostics); the upper limits are the same.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from designs.core.errors import FieldProblem, InvalidInputError
from designs.core.validation import Bounds, is_integer

MAX_DRAWS = 100_000
MAX_CHAINS = 8
MAX_RERUNS = 3
MIN_DRAWS = 10
"""The fewest draws (and warm-up draws) the engine runs: the start-up warm-up's."""
MIN_REQUEST_DRAWS = 100
"""The fewest draws (and warm-up draws) a request may ask for: the warm-up's 10 are internal only."""
TARGET_ACCEPT = Bounds(ge=0.95, lt=1.0)
"""Small steps for hierarchical funnels."""
RERUN_TARGET_ACCEPT = 0.99


@dataclass(frozen=True)
class SamplerSettings:
    """NUTS settings of one analysis (per chain: ``tune`` warm-up and ``draws`` kept draws).

    The defaults (4 chains × 1000 draws after 500 warm-up; nutpie adapts quickly) give a bulk ESS
    of about 2500 on the response rates of a two-stratum model and ≥ 700 on τ, in about 0.15 s on
    two idle cores.
    ``cores`` None runs min(chains, CPUs available) chains in parallel; it does not change the draws.
    """

    draws: int = 1000
    tune: int = 500
    chains: int = 4
    target_accept: float = 0.95
    max_reruns: int = 1
    cores: int | None = None

    def __post_init__(self) -> None:
        problems: list[FieldProblem] = []

        def check_int(name: str, value: Any, low: int, high: int) -> None:
            if not is_integer(value) or not low <= value <= high:
                problems.append(FieldProblem(f"mcmc/{name}", f"must be an integer in [{low}, {high}]"))

        check_int("draws", self.draws, MIN_DRAWS, MAX_DRAWS)
        check_int("tune", self.tune, MIN_DRAWS, MAX_DRAWS)
        check_int("chains", self.chains, 1, MAX_CHAINS)
        check_int("max_reruns", self.max_reruns, 0, MAX_RERUNS)
        if self.cores is not None:
            check_int("cores", self.cores, 1, MAX_CHAINS)
        ta = self.target_accept
        if isinstance(ta, bool) or not isinstance(ta, int | float) or not TARGET_ACCEPT.contains(ta):
            problems.append(
                FieldProblem("mcmc/target_accept", f"must lie in {TARGET_ACCEPT.text()} (small steps for hierarchical funnels)")
            )
        if problems:
            raise InvalidInputError(problems)

    def for_rerun(self) -> SamplerSettings:
        """The settings of a rerun: draws and tune doubled (capped), target_accept raised to ≥ 0.99.

        Divergences in these models come from the funnel between τ and z (non-centred, in the tail of
        τ when the data pin every θ_j down); smaller steps remove most of them.
        """
        return SamplerSettings(
            draws=min(2 * self.draws, MAX_DRAWS),
            tune=min(2 * self.tune, MAX_DRAWS),
            chains=self.chains,
            target_accept=max(self.target_accept, RERUN_TARGET_ACCEPT),
            max_reruns=self.max_reruns,
            cores=self.cores,
        )

    @property
    def cores_used(self) -> int:
        """``cores``, or min(chains, CPUs available to this process), never more than ``chains``."""
        if self.cores is not None:
            return min(self.cores, self.chains)
        available = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
        return max(1, min(self.chains, available))
