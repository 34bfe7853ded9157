"""One NUTS run with nutpie: the sampler settings, seeds, cores, and the draws read from nutpie's trace.

Determinism: each chain's random stream is derived from the seed and the chain index by nutpie, so
the same data and seed give bit-identical draws whatever the number of cores (checked by a test).
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from designs.core.errors import FieldProblem, InvalidInputError

MAX_DRAWS = 100_000
MAX_CHAINS = 8
RERUN_TARGET_ACCEPT = 0.99


def _is_int(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


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
            if not _is_int(value) or not low <= value <= high:
                problems.append(FieldProblem(f"mcmc/{name}", f"must be an integer in [{low}, {high}]"))

        check_int("draws", self.draws, 10, MAX_DRAWS)
        check_int("tune", self.tune, 10, MAX_DRAWS)
        check_int("chains", self.chains, 1, MAX_CHAINS)
        check_int("max_reruns", self.max_reruns, 0, 3)
        if self.cores is not None:
            check_int("cores", self.cores, 1, MAX_CHAINS)
        ta = self.target_accept
        if isinstance(ta, bool) or not isinstance(ta, int | float) or not 0.95 <= ta < 1.0:
            problems.append(
                FieldProblem("mcmc/target_accept", "must lie in [0.95, 1) (small steps for hierarchical funnels)")
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


def derived_seed(seed: int, *path: int) -> int:
    """A 64-bit seed derived from the request seed and a path (purpose, attempt) by SeedSequence."""
    return int(np.random.SeedSequence(seed, spawn_key=path).generate_state(1, np.uint64)[0])


def _column_to_numpy(column) -> np.ndarray:
    # pyarrow comes with nutpie and is only needed once a trace exists.
    import pyarrow as pa

    array = pa.array(column)
    if pa.types.is_list(array.type) or pa.types.is_large_list(array.type):
        array = array.flatten()
    return array.to_numpy(zero_copy_only=False)


@dataclass
class Trace:
    """Post-warm-up draws by chain of one run, with its sampler statistics."""

    draws: dict[str, np.ndarray]  # name -> (chain, draw, *shape)
    divergences: int
    max_treedepth_hits: int
    seconds: float


def run_nutpie(compiled, settings: SamplerSettings, seed: int) -> Trace:
    """Sample with nutpie and return post-warm-up draws by chain (raw Arrow trace, no xarray)."""
    # nutpie loads its Rust extension and numba: only a process that samples pays for it.
    import nutpie

    start = time.perf_counter()
    raw = nutpie.sample(
        compiled,
        draws=settings.draws,
        tune=settings.tune,
        chains=settings.chains,
        cores=settings.cores_used,
        seed=seed,
        target_accept=settings.target_accept,
        save_warmup=False,
        progress_bar=False,
        return_raw_trace=True,
    )
    draw_batches, stat_batches = raw.get_arrow_trace()
    if len(draw_batches) != settings.chains:
        raise RuntimeError(f"nutpie returned {len(draw_batches)} of {settings.chains} chains")
    per_chain: dict[str, list[np.ndarray]] = {}
    divergences = treedepth = 0
    for draw_batch, stat_batch in zip(draw_batches, stat_batches, strict=True):
        kept = ~_column_to_numpy(stat_batch.column("tuning")).astype(bool)
        if kept.sum() != settings.draws:
            raise RuntimeError(f"a chain returned {kept.sum()} of {settings.draws} draws")
        divergences += int(_column_to_numpy(stat_batch.column("diverging"))[kept].sum())
        treedepth += int(_column_to_numpy(stat_batch.column("maxdepth_reached"))[kept].sum())
        for name in draw_batch.column_names:
            column = draw_batch.column(name)
            shape_text = (column.field.metadata or {}).get(b"shape", b"")
            shape = tuple(int(s) for s in shape_text.decode().split(",")) if shape_text else ()
            values = _column_to_numpy(column).reshape((draw_batch.num_rows, *shape))[kept]
            per_chain.setdefault(name, []).append(values)
    draws = {name: np.stack(chains).astype(float) for name, chains in per_chain.items()}
    for name, values in draws.items():
        if not np.all(np.isfinite(values)):
            raise RuntimeError(f"non-finite draws of {name}")
    return Trace(draws, divergences, treedepth, time.perf_counter() - start)
