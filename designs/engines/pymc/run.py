"""One NUTS run with nutpie: seeds, cores, and the draws read from nutpie's trace.

The settings of a run are :class:`~designs.engines.sampler_settings.SamplerSettings` (outside this
package: the request specs hold them without loading PyMC).

Determinism: each chain's random stream is derived from the seed and the chain index by nutpie, so
the same data and seed give bit-identical draws whatever the number of cores (checked by a test).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from designs.engines.sampler_settings import SamplerSettings


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
