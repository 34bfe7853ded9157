"""Simulated operating characteristics from seeded, reproducible blocks of trials.

Responders per look come from the inverse binomial CDF of uniforms, drawn in blocks of
``RNG_BLOCK_TRIALS`` trials, block b from ``SeedSequence(seed, spawn_key=(b,))``. A result is a sum of
integer counts over blocks, so it does not depend on how blocks are grouped in chunks or spread over
workers; the same uniforms serve every scenario and every threshold (common random numbers:
simulated OCs are monotone where the exact ones are).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from designs.core.decisions import CONTINUE, EARLY_GO, ENDINGS, FINAL_GO
from designs.oc.design import OCDesign
from designs.oc.tables import DecisionTables
from designs.oc.tally import Tally

MAX_TRIALS_PER_SCENARIO = 1_000_000
"""Most simulated trials one scenario may ask for (a service may allow fewer: GONOGO_MAX_SIMULATED_TRIALS)."""
RNG_BLOCK_TRIALS = 1_000
BLOCKS_PER_PASS = 50
DEFAULT_CHUNK_TRIALS = 20_000


def block_uniforms(seed: int, block: int, n_strata: int, n_analyses: int) -> np.ndarray:
    """The uniforms of RNG block ``block``: shape (RNG_BLOCK_TRIALS, J, K), from (seed, block) only."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))
    return rng.random((RNG_BLOCK_TRIALS, n_strata, n_analyses))


def _increment_cdfs(design: OCDesign, rates: Sequence[float]) -> list[list[np.ndarray]]:
    """CDF of each look's responder increment Bin(n_k − n_{k−1}, p_j), per stratum and look."""
    cdfs = []
    for stratum, rate in zip(design.strata, rates, strict=True):
        sizes = np.diff(stratum.looks, prepend=0)
        per_look = []
        for size in sizes:
            cdf = stats.binom.cdf(np.arange(size + 1), size, rate)
            cdf[-1] = 1.0  # so that every uniform in [0, 1) maps inside the support
            per_look.append(cdf)
        cdfs.append(per_look)
    return cdfs


def _responder_paths(cdfs: list[list[np.ndarray]], uniforms: np.ndarray) -> np.ndarray:
    """Cumulative responders (m, J, K) at each look by the inverse CDF of each look's increment."""
    paths = np.zeros(uniforms.shape, dtype=np.int64)
    for j, per_look in enumerate(cdfs):
        for k, cdf in enumerate(per_look):
            paths[:, j, k] = np.searchsorted(cdf, uniforms[:, j, k], side="right")
        paths[:, j, : len(per_look)] = np.cumsum(paths[:, j, : len(per_look)], axis=1)
    return paths


def _simulate_separable(tables: DecisionTables, paths: np.ndarray) -> Tally:
    """``simulate_paths`` for rules whose strata do not interact: each stratum on its own."""
    design = tables.design
    m = paths.shape[0]
    tally = Tally.empty(design, trials=m, dtype=np.int64)
    went = np.zeros(m, dtype=bool)
    for j, stratum in enumerate(design.strata):
        enrolling = np.arange(m)
        for analysis in range(len(stratum.looks)):
            codes = tables.substratum(j).grid(analysis, (analysis,))[paths[enrolling, j, analysis], 0]
            tally.ends[j, analysis] += np.bincount(codes, minlength=len(ENDINGS) + 1)[1:]
            went[enrolling[(codes == EARLY_GO) | (codes == FINAL_GO)]] = True
            enrolling = enrolling[codes == CONTINUE]
    tally.any_go = int(went.sum())
    return tally


def simulate_paths(tables: DecisionTables, paths: np.ndarray) -> Tally:
    """Run the decision rule along responder paths (m, J, K) and count how each stratum ended."""
    if tables.separable:
        return _simulate_separable(tables, paths)
    design = tables.design
    m, n_strata, _ = paths.shape
    tally = Tally.empty(design, trials=m, dtype=np.int64)
    look = np.zeros((m, n_strata), dtype=np.int64)  # the look whose data each stratum holds
    went = np.zeros(m, dtype=bool)
    for analysis in range(design.n_analyses):
        analysed = look == analysis
        live = np.flatnonzero(analysed.any(axis=1))
        if live.size == 0:
            break
        radix = analysis + 1
        pattern = (look[live] * radix ** np.arange(n_strata)).sum(axis=1)
        for value in np.unique(pattern):
            rows = live[pattern == value]
            look_index = tuple(int(v) for v in look[rows[0]])
            y = paths[rows[:, None], np.arange(n_strata)[None, :], look[rows]]
            codes = tables.codes(analysis, look_index, y)
            for j in (j for j in range(n_strata) if look_index[j] == analysis):
                counts = np.bincount(codes[:, j], minlength=len(ENDINGS) + 1)
                tally.ends[j, analysis] += counts[1:]
                look[rows[codes[:, j] == CONTINUE], j] += 1
            went[rows] |= ((codes == EARLY_GO) | (codes == FINAL_GO)).any(axis=1)
    tally.any_go = int(went.sum())
    return tally


def simulate_blocks(
    tables: DecisionTables, rates: Sequence[float], seed: int, first_block: int, n_trials: int
) -> Tally:
    """Simulated trials ``first_block·B … first_block·B + n_trials − 1`` (B = RNG_BLOCK_TRIALS)."""
    design = tables.design
    tally = Tally.empty(design, dtype=np.int64)
    cdfs = _increment_cdfs(design, rates)
    # Uniforms come block by block (so that any grouping of blocks gives the same numbers); the
    # decisions run on up to BLOCKS_PER_PASS blocks at once.
    n_blocks = -(-n_trials // RNG_BLOCK_TRIALS)
    for start in range(0, n_blocks, BLOCKS_PER_PASS):
        blocks = range(first_block + start, first_block + min(start + BLOCKS_PER_PASS, n_blocks))
        uniforms = np.concatenate([block_uniforms(seed, b, len(design.strata), design.n_analyses) for b in blocks])
        uniforms = uniforms[: n_trials - start * RNG_BLOCK_TRIALS]
        tally = tally + simulate_paths(tables, _responder_paths(cdfs, uniforms))
    return tally


@dataclass(frozen=True)
class Chunk:
    """A unit of work: ``n_trials`` simulated trials of one scenario from RNG block ``first_block``."""

    scenario: int
    first_block: int
    n_trials: int


def plan_chunks(n_scenarios: int, n_trials: int, chunk_trials: int = DEFAULT_CHUNK_TRIALS) -> list[Chunk]:
    """Whole RNG blocks grouped in chunks; any grouping gives the same numbers."""
    per_chunk = max(1, chunk_trials // RNG_BLOCK_TRIALS)
    n_blocks = -(-n_trials // RNG_BLOCK_TRIALS)
    chunks = []
    for s in range(n_scenarios):
        for first in range(0, n_blocks, per_chunk):
            last = min(first + per_chunk, n_blocks)
            size = min(last * RNG_BLOCK_TRIALS, n_trials) - first * RNG_BLOCK_TRIALS
            chunks.append(Chunk(s, first, size))
    return chunks

