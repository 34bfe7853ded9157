"""Operating characteristics of go/no-go rules in multi-stratum, multi-look phase II designs.

A design enrols each stratum to cumulative sample sizes ``looks`` (the last is the final analysis).
Analyses are simultaneous: analysis k looks at every stratum still enrolling at its k-th look (a
stratum with fewer looks is finished and keeps its data). At every look an active stratum is told to
continue, stop for futility, stop early with a go (its enrolment ends), or, at its final look,
go / no-go. Decisions are deterministic functions of the data available at the
analysis — analysis index ``k``, each stratum's look index (strata that stopped keep their data)
and the responder counts — so they are computed once per distinct outcome tuple and kept in
``DecisionTables``. Two ways to turn tables into operating characteristics share them:

* **exact** (RBesT's ``oc1S`` idea, extended to several looks and strata): carry the probability of
  every reachable state forward look by look,

      P_{k+1}(look, y') = Σ_y P_k(look, y) · 1[decision(k, look, y) = continue] · Π_j Bin(y'_j − y_j; Δn_j, p_j),

  summing the mass that stops. For a model whose decisions in stratum j depend on stratum j's data
  only (independent Beta–binomial, Simon), strata are enumerated one at a time and
  P(any go) = 1 − Π_j (1 − P(go_j)). For a model that couples strata (pooled, hierarchical, EXNEX)
  the state is the joint outcome tuple: exact while Σ over reachable looks of Π_j (n_j + 1) stays
  under ``EXACT_CELL_LIMIT``.
* **simulation**: responders per look come from the inverse binomial CDF of uniforms, drawn in
  blocks of ``RNG_BLOCK_TRIALS`` trials, block b from ``SeedSequence(seed, spawn_key=(b,))``. A
  result is a sum of integer counts over blocks, so it does not depend on how blocks are grouped in
  chunks or spread over workers; the same uniforms serve every scenario and every threshold
  (common random numbers: simulated OCs are monotone where the exact ones are).

Decision codes per stratum: ``CONTINUE``, ``FUTILITY`` (stop, no go), ``EARLY_GO`` (stop, go),
``FINAL_GO``, ``FINAL_NO_GO``; ``INACTIVE`` for a stratum that is not analysed at this look.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

import numpy as np
from scipy import stats

from designs.core.decisions import CONTINUE, EARLY_GO, ENDINGS, FINAL_GO, FINAL_NO_GO, FUTILITY, INACTIVE
from designs.core.errors import FieldProblem, InvalidInputError

MAX_LOOK_SIZE = 500
RNG_BLOCK_TRIALS = 1_000
BLOCKS_PER_PASS = 50
# Posterior grids over every outcome tuple of an n tuple are kept while at most this many cells
# (= 4 · predictive.MAX_ENUMERATION, the largest final table of HierarchicalPredictive).
GRID_CELL_LIMIT = 200_000
DEFAULT_CHUNK_TRIALS = 20_000
# Largest number of outcome cells (summed over reachable looks) held as dense decision tables.
DENSE_CELL_LIMIT = 400_000
EXACT_CELL_LIMIT = DENSE_CELL_LIMIT


# --------------------------------------------------------------------------------------------------
# Plain data


@dataclass(frozen=True)
class StratumPlan:
    """A stratum and its analysis schedule: cumulative evaluable patients at each look."""

    name: str
    looks: tuple[int, ...]

    @property
    def final_n(self) -> int:
        return self.looks[-1]


@dataclass(frozen=True)
class Scenario:
    """True response rates, one per stratum."""

    name: str
    rates: Mapping[str, float]


@dataclass(frozen=True)
class SimonRule:
    """Simon's two-stage rule applied in every stratum: stop after n1 when y ≤ r1; go when y > r at n."""

    r1: int
    r: int

    separable = True


@dataclass(frozen=True)
class Design:
    """Strata with their looks, the null/target rates and a decision rule.

    ``rule`` is a ``SimonRule`` or any object accepted by ``decider_for`` (the Bayesian rules of
    ``designs.response.decisions`` with a model spec from ``designs.response.spec``).
    """

    p0: float
    p1: float
    strata: tuple[StratumPlan, ...]
    rule: Any
    model: Any = None
    fixed_tau: float | None = None  # hierarchical / EXNEX: τ fixed (0: complete pooling) instead of its prior

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.strata)

    @property
    def n_analyses(self) -> int:
        return max(len(s.looks) for s in self.strata)

    def substratum(self, index: int) -> Design:
        """The one-stratum design of stratum ``index`` (for models that do not couple strata)."""
        return replace(self, strata=(self.strata[index],))


def validate_design(design: Design) -> None:
    """Raise ``InvalidInputError`` naming every bad field of the design."""
    problems: list[FieldProblem] = []
    if not design.strata:
        problems.append(FieldProblem("strata", "at least one stratum is required"))
    seen: set[str] = set()
    for i, stratum in enumerate(design.strata):
        if stratum.name in seen:
            problems.append(FieldProblem(f"strata/{i}/name", f"duplicate stratum name {stratum.name!r}"))
        seen.add(stratum.name)
        looks = stratum.looks
        if not looks:
            problems.append(FieldProblem(f"strata/{i}/looks", "at least one look (the final analysis) is required"))
            continue
        if any(n < 1 for n in looks):
            problems.append(FieldProblem(f"strata/{i}/looks", "every look needs at least 1 evaluable patient"))
        if any(b <= a for a, b in itertools.pairwise(looks)):
            problems.append(FieldProblem(f"strata/{i}/looks", f"looks must be strictly increasing, got {list(looks)}"))
        if max(looks) > MAX_LOOK_SIZE:
            problems.append(FieldProblem(f"strata/{i}/looks", f"looks above {MAX_LOOK_SIZE} patients are not supported"))
    if isinstance(design.rule, SimonRule):
        for i, stratum in enumerate(design.strata):
            if len(stratum.looks) != 2:
                problems.append(FieldProblem(f"strata/{i}/looks", "a Simon rule needs exactly two looks (n1, n)"))
    if problems:
        raise InvalidInputError(problems)


def validate_scenarios(design: Design, scenarios: Sequence[Scenario]) -> None:
    """Every scenario gives a rate in [0, 1] to every stratum and names no unknown stratum."""
    problems: list[FieldProblem] = []
    names = set(design.names)
    for i, scenario in enumerate(scenarios):
        for name, rate in scenario.rates.items():
            if name not in names:
                problems.append(FieldProblem(f"scenarios/{i}/rates/{name}", f"unknown stratum (strata are {sorted(names)})"))
            elif not (0.0 <= float(rate) <= 1.0) or math.isnan(float(rate)):
                problems.append(FieldProblem(f"scenarios/{i}/rates/{name}", "a response rate must lie in [0, 1]"))
        for name in design.names:
            if name not in scenario.rates:
                problems.append(FieldProblem(f"scenarios/{i}/rates", f"no rate for stratum {name!r}"))
    if problems:
        raise InvalidInputError(problems)


def default_scenarios(names: Sequence[str], p0: float, p1: float) -> list[Scenario]:
    """Global null, global alternative, and each stratum alone at p1 (the others at p0)."""
    scenarios = [
        Scenario("global null", {n: p0 for n in names}),
        Scenario("global alternative", {n: p1 for n in names}),
    ]
    if len(names) > 1:
        for active in names:
            scenarios.append(Scenario(f"only {active} active", {n: (p1 if n == active else p0) for n in names}))
    return scenarios


# --------------------------------------------------------------------------------------------------
# Decisions


class Decider(Protocol):
    """Decision codes for many outcome tuples at one analysis.

    ``decide(analysis, look_index, y)``: ``look_index[j]`` is the look whose data stratum j holds
    (stratum j is analysed now iff ``look_index[j] == analysis``), ``y`` is an (m, J) integer array
    of responders; returns an (m, J) int8 array of codes, ``INACTIVE`` for strata not analysed.
    ``separable``: stratum j's decisions depend on stratum j's data only.
    """

    separable: bool

    def decide(self, analysis: int, look_index: tuple[int, ...], y: np.ndarray) -> np.ndarray: ...


class SimonDecider:
    """Simon's rule per stratum: futility stop after n1 if y ≤ r1, go at n if y > r."""

    separable = True

    def __init__(self, design: Design):
        self.rule: SimonRule = design.rule

    def decide(self, analysis: int, look_index: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        codes = np.full(y.shape, INACTIVE, dtype=np.int8)
        for j, look in enumerate(look_index):
            if look != analysis:
                continue
            if analysis == 0:
                codes[:, j] = np.where(y[:, j] <= self.rule.r1, FUTILITY, CONTINUE)
            else:
                codes[:, j] = np.where(y[:, j] > self.rule.r, FINAL_GO, FINAL_NO_GO)
        return codes


def decider_for(design: Design) -> Decider:
    """The decider that applies ``design.rule`` with ``design.model``."""
    if isinstance(design.rule, SimonRule):
        return SimonDecider(design)
    return BayesianDecider(design)


def _reachable_look_indices(design: Design, analysis: int) -> list[tuple[int, ...]]:
    """Look-index tuples at ``analysis`` with at least one stratum analysed."""
    ranges = [range(min(analysis, len(s.looks) - 1) + 1) for s in design.strata]
    return [t for t in itertools.product(*ranges) if analysis in t]


def _grid_shape(design: Design, look_index: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(s.looks[i] + 1 for s, i in zip(design.strata, look_index, strict=True))


def dense_cell_count(design: Design) -> int:
    """Outcome tuples over every reachable (analysis, look index): the size of dense tables.

    At analysis k: Π_j A_j − Π_j B_j, A_j = Σ_{i ≤ min(k, K_j − 1)} (n_ji + 1) over look indices up to
    k, B_j the same sum without look k (tuples where no stratum is analysed).
    """
    total = 0
    for k in range(design.n_analyses):
        with_k = math.prod(sum(n + 1 for n in s.looks[: k + 1]) for s in design.strata)
        without_k = math.prod(sum(n + 1 for n in s.looks[: min(k, len(s.looks))]) for s in design.strata)
        total += with_k - without_k
    return total


class DecisionTables:
    """Decision codes keyed by (analysis, look index, outcome tuple), each computed once.

    Dense: for every reachable (analysis, look index) the codes of the whole outcome grid, computed
    in one vectorised call (2 strata with n ≤ 60 give ≤ 61² = 3,721 tuples per look). Sparse (too
    many strata for a grid): codes of the tuples met so far, computed for the unique new ones only.
    """

    def __init__(self, design: Design, decider: Decider | None = None, *, dense: bool | None = None):
        self.design = design
        self.decider = decider if decider is not None else decider_for(design)
        self.dense = dense_cell_count(design) <= DENSE_CELL_LIMIT if dense is None else dense
        self._grids: dict[tuple[int, tuple[int, ...]], np.ndarray] = {}
        self._sparse: dict[tuple[int, tuple[int, ...]], dict[bytes, np.ndarray]] = {}
        self._substrata: dict[int, DecisionTables] = {}

    @property
    def separable(self) -> bool:
        return bool(getattr(self.decider, "separable", False))

    def grid(self, analysis: int, look_index: tuple[int, ...]) -> np.ndarray:
        """Codes over the whole outcome grid: shape ``grid + (J,)``."""
        key = (analysis, tuple(look_index))
        table = self._grids.get(key)
        if table is None:
            shape = _grid_shape(self.design, key[1])
            y = np.indices(shape).reshape(len(shape), -1).T
            table = np.asarray(self.decider.decide(analysis, key[1], y), dtype=np.int8).reshape(shape + (len(shape),))
            table.setflags(write=False)
            self._grids[key] = table
        return table

    def precompute(self, progress: Callable[[float], None] | None = None) -> DecisionTables:
        """Fill every dense table now (before shipping the tables to workers)."""
        if not self.dense and self.separable:
            for j in range(len(self.design.strata)):
                _sub_tables(self, j).precompute()
        if self.dense:
            keys = [(k, t) for k in range(self.design.n_analyses) for t in _reachable_look_indices(self.design, k)]
            if hasattr(self.decider, "prefetch"):
                self.decider.prefetch(keys)
            for done, (k, t) in enumerate(keys, start=1):
                self.grid(k, t)
                if progress is not None:
                    progress(done / len(keys))
        return self

    def codes(self, analysis: int, look_index: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        """Codes for the rows of ``y`` (m, J)."""
        if self.dense:
            table = self.grid(analysis, look_index)
            return table[tuple(y.T)]
        if self.separable:
            # Stratum j's decisions depend on its own data only: one small table per stratum.
            codes = np.full(y.shape, INACTIVE, dtype=np.int8)
            for j, look in enumerate(look_index):
                if look == analysis:
                    codes[:, j] = _sub_tables(self, j).grid(analysis, (look,))[y[:, j], 0]
            return codes
        cache = self._sparse.setdefault((analysis, tuple(look_index)), {})
        unique, inverse = np.unique(y, axis=0, return_inverse=True)
        keys = [row.tobytes() for row in unique]
        missing = [i for i, key in enumerate(keys) if key not in cache]
        if missing:
            fresh = np.asarray(self.decider.decide(analysis, tuple(look_index), unique[missing]), dtype=np.int8)
            for i, row in zip(missing, fresh, strict=True):
                cache[keys[i]] = row
        return np.stack([cache[key] for key in keys])[inverse.reshape(-1)]


# --------------------------------------------------------------------------------------------------
# Tallies: what a run of trials (or the exact enumeration) leaves behind


@dataclass
class Tally:
    """How each stratum's enrolment ended, summed over trials (counts) or exact (probabilities).

    ``ends[j, k, e]``: weight of trials whose stratum j ended at its look k with ending ``ENDINGS[e]``.
    ``any_go``: weight of trials with a go in at least one stratum. ``trials``: the total weight.
    """

    ends: np.ndarray
    any_go: float
    trials: float

    def __add__(self, other: Tally) -> Tally:
        return Tally(self.ends + other.ends, self.any_go + other.any_go, self.trials + other.trials)


def _empty_tally(design: Design, dtype: type = np.float64) -> Tally:
    return Tally(np.zeros((len(design.strata), design.n_analyses, len(ENDINGS)), dtype=dtype), 0, 0)


# --------------------------------------------------------------------------------------------------
# Exact enumeration


def _transition(n_from: int, n_to: int, rate: float) -> np.ndarray:
    """T[y, y'] = P(y' responders at n_to | y at n_from) = Bin(y' − y; n_to − n_from, rate)."""
    increments = stats.binom.pmf(np.arange(n_to - n_from + 1), n_to - n_from, rate)
    table = np.zeros((n_from + 1, n_to + 1))
    for y in range(n_from + 1):
        table[y, y : y + n_to - n_from + 1] = increments
    return table


def _exact_joint(tables: DecisionTables, rates: Sequence[float]) -> Tally:
    design = tables.design
    n_strata = len(design.strata)
    tally = _empty_tally(design)
    tally.trials = 1.0
    start = tuple(0 for _ in design.strata)
    mass = np.ones(())
    for stratum, rate in zip(design.strata, rates, strict=True):
        mass = np.multiply.outer(mass, stats.binom.pmf(np.arange(stratum.looks[0] + 1), stratum.looks[0], rate))
    # state: (look index, any go so far) -> probability over the outcome grid
    states: dict[tuple[tuple[int, ...], bool], np.ndarray] = {(start, False): mass}
    for analysis in range(design.n_analyses):
        following: dict[tuple[tuple[int, ...], bool], np.ndarray] = {}
        for (look_index, went), mass in states.items():
            active = [j for j in range(n_strata) if look_index[j] == analysis]
            if not active:
                continue
            codes = tables.grid(analysis, look_index)
            go_now = np.zeros(mass.shape, dtype=bool)
            for j in active:
                code = codes[..., j]
                for e in range(len(ENDINGS)):
                    tally.ends[j, analysis, e] += float(mass[code == e + 1].sum())
                go_now |= (code == EARLY_GO) | (code == FINAL_GO)
            for continuing in itertools.product((False, True), repeat=len(active)):
                keep = np.ones(mass.shape, dtype=bool)
                for j, cont in zip(active, continuing, strict=True):
                    keep &= (codes[..., j] == CONTINUE) == cont
                part = np.where(keep, mass, 0.0)
                if not part.any():
                    continue
                for now_went, piece in ((True, np.where(go_now, part, 0.0)), (False, np.where(go_now, 0.0, part))):
                    flag = went or now_went
                    if not any(continuing):
                        if flag:
                            tally.any_go += float(piece.sum())
                        continue
                    if not piece.any():
                        continue
                    nxt = list(look_index)
                    for j, cont in zip(active, continuing, strict=True):
                        if cont:
                            looks = design.strata[j].looks
                            piece = np.moveaxis(
                                np.tensordot(piece, _transition(looks[analysis], looks[analysis + 1], rates[j]), axes=([j], [0])),
                                -1,
                                j,
                            )
                            nxt[j] = analysis + 1
                    key = (tuple(nxt), flag)
                    following[key] = following[key] + piece if key in following else piece
        states = following
    return tally


def exact_tally(design: Design, rates: Sequence[float], tables: DecisionTables | None = None) -> Tally:
    """Exact operating characteristics of ``design`` at true ``rates`` (one per stratum)."""
    tables = tables if tables is not None else DecisionTables(design)
    if tables.separable and len(design.strata) > 1:
        tally = _empty_tally(design)
        tally.trials = 1.0
        prob_no_go = 1.0
        for j in range(len(design.strata)):
            sub = _sub_tables(tables, j)
            part = _exact_joint(sub, [rates[j]])
            tally.ends[j, : part.ends.shape[1]] = part.ends[0]
            prob_no_go *= 1.0 - part.any_go
        tally.any_go = 1.0 - prob_no_go
        return tally
    if dense_cell_count(design) > EXACT_CELL_LIMIT:
        raise InvalidInputError(
            "method",
            f"exact enumeration needs {dense_cell_count(design):,} joint outcome tuples (limit {EXACT_CELL_LIMIT:,}); "
            "use method 'simulation'",
        )
    if not tables.dense:
        tables = DecisionTables(design, tables.decider, dense=True)
    return _exact_joint(tables, list(rates))


def _sub_tables(tables: DecisionTables, index: int) -> DecisionTables:
    """Dense tables of stratum ``index`` alone (separable rules)."""
    if index not in tables._substrata:
        design = tables.design.substratum(index)
        tables._substrata[index] = DecisionTables(design, decider_for(design), dense=True)
    return tables._substrata[index]


def exact_available(design: Design, tables: DecisionTables | None = None) -> bool:
    """Whether ``exact_tally`` can enumerate this design."""
    tables = tables if tables is not None else DecisionTables(design)
    if tables.separable:
        return all(dense_cell_count(design.substratum(j)) <= EXACT_CELL_LIMIT for j in range(len(design.strata)))
    return dense_cell_count(design) <= EXACT_CELL_LIMIT


# --------------------------------------------------------------------------------------------------
# Simulation


def block_uniforms(seed: int, block: int, n_strata: int, n_analyses: int) -> np.ndarray:
    """The uniforms of RNG block ``block``: shape (RNG_BLOCK_TRIALS, J, K), from (seed, block) only."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(block,))))
    return rng.random((RNG_BLOCK_TRIALS, n_strata, n_analyses))


def _increment_cdfs(design: Design, rates: Sequence[float]) -> list[list[np.ndarray]]:
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
    tally = _empty_tally(design, dtype=np.int64)
    tally.trials = m
    went = np.zeros(m, dtype=bool)
    for j, stratum in enumerate(design.strata):
        enrolling = np.arange(m)
        for analysis in range(len(stratum.looks)):
            codes = _sub_tables(tables, j).grid(analysis, (analysis,))[paths[enrolling, j, analysis], 0]
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
    tally = _empty_tally(design, dtype=np.int64)
    tally.trials = m
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
    tally = _empty_tally(design, dtype=np.int64)
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


# --------------------------------------------------------------------------------------------------
# Summaries


def summarise_stratum(stratum: StratumPlan, ends: np.ndarray, trials: float, simulated: bool) -> dict[str, Any]:
    """One stratum's row: P(go), P(enrolment ends at each look), E[N], the N distribution, MCSEs."""
    k = len(stratum.looks)
    weights = ends[:k].astype(float) / trials
    prob_end = weights.sum(axis=1)
    prob_go = float(weights[:, 1].sum() + weights[:, 2].sum())
    looks = np.asarray(stratum.looks, dtype=float)
    expected_n = float((prob_end * looks).sum())
    row: dict[str, Any] = {
        "name": stratum.name,
        "prob_go": prob_go,
        "prob_early_go": float(weights[:, 1].sum()),
        "prob_stop_at_look": [float(p) for p in prob_end],
        "prob_futility_at_look": [float(p) for p in weights[:, 0]],
        "prob_early_go_at_look": [float(p) for p in weights[:, 1]],
        "prob_early_stop": float(prob_end[:-1].sum()),
        "expected_n": expected_n,
        "n_distribution": [{"n": int(n), "prob": float(p)} for n, p in zip(stratum.looks, prob_end, strict=True)],
    }
    if simulated:
        def se(p: float | np.ndarray) -> Any:
            return np.sqrt(np.clip(p * (1 - p), 0, None) / trials)

        var_n = max(float((prob_end * looks**2).sum()) - expected_n**2, 0.0)
        row["mcse"] = {
            "prob_go": float(se(prob_go)),
            "prob_early_go": float(se(row["prob_early_go"])),
            "prob_stop_at_look": [float(v) for v in se(prob_end)],
            "expected_n": math.sqrt(var_n / trials),
        }
    else:
        row["mcse"] = {"prob_go": 0.0, "prob_early_go": 0.0, "prob_stop_at_look": [0.0] * k, "expected_n": 0.0}
    return row


def summarise_scenario(design: Design, scenario: Scenario, tally: Tally, simulated: bool) -> dict[str, Any]:
    """One scenario's row: family-wise P(any go), E[total N] and each stratum's row."""
    prob_any_go = float(tally.any_go) / float(tally.trials)
    strata = [
        summarise_stratum(stratum, tally.ends[j], float(tally.trials), simulated) for j, stratum in enumerate(design.strata)
    ]
    return {
        "name": scenario.name,
        "rates": {name: float(scenario.rates[name]) for name in design.names},
        "prob_any_go": prob_any_go,
        "mcse": {"prob_any_go": math.sqrt(prob_any_go * (1 - prob_any_go) / tally.trials) if simulated else 0.0},
        "expected_total_n": float(sum(s["expected_n"] for s in strata)),
        "strata": strata,
    }


def borrowing_report(design: Design, rows: list[dict[str, Any]], null_row: dict[str, Any]) -> tuple[list[dict], list[str]]:
    """Go probability of each null stratum (true rate ≤ p0) against its value under the global null.

    Under a model that borrows, a null stratum beside an active one says "go" more often than under
    the global null: its per-stratum type I error is inflated. Users must see this.
    """
    reference = {s["name"]: s["prob_go"] for s in null_row["strata"]}
    report, warnings = [], []
    for row in rows:
        for stratum in row["strata"]:
            rate = row["rates"][stratum["name"]]
            if rate > design.p0 + 1e-12 or all(r <= design.p0 + 1e-12 for r in row["rates"].values()):
                continue
            inflation = stratum["prob_go"] - reference[stratum["name"]]
            stratum["prob_go_global_null"] = reference[stratum["name"]]
            stratum["type_i_inflation"] = inflation
            entry = {
                "scenario": row["name"],
                "stratum": stratum["name"],
                "prob_go": stratum["prob_go"],
                "prob_go_global_null": reference[stratum["name"]],
                "inflation": inflation,
            }
            report.append(entry)
            threshold = 3 * math.hypot(stratum["mcse"]["prob_go"], _mcse_of(null_row, stratum["name"]))
            if inflation > max(threshold, 0.005):
                warnings.append(
                    f"scenario {row['name']!r}: stratum {stratum['name']!r} is inactive (rate {rate:g} ≤ p0) but says go "
                    f"with probability {stratum['prob_go']:.3f} against {reference[stratum['name']]:.3f} under the global "
                    f"null: borrowing from active strata inflates its type I error by {inflation:.3f}"
                )
    return report, warnings


def _mcse_of(row: dict[str, Any], name: str) -> float:
    return next(s["mcse"]["prob_go"] for s in row["strata"] if s["name"] == name)


def simon_column(simon: Mapping[str, int] | None, rate: float, evaluate: Callable | None = None) -> dict[str, float] | None:
    """Exact OC of a Simon design at ``rate`` (from ``designs.simon.evaluate_design``)."""
    if simon is None:
        return None
    if evaluate is None:
        from designs.simon import evaluate_design as evaluate
    (row,) = evaluate(simon["r1"], simon["n1"], simon["r"], simon["n"], [float(rate)])
    return {"prob_reject_null": float(row["prob_reject_null"]), "pet": float(row["pet"]), "expected_n": float(row["expected_n"])}


# --------------------------------------------------------------------------------------------------
# The whole computation as a plan: tables + chunks + a reduction (runs in-process, in a pool or on Dask)


@dataclass
class OCPlan:
    """Everything needed to compute a request's operating characteristics, split into chunks."""

    design: Design
    scenarios: list[Scenario]
    method: str  # "exact" or "simulation"
    n_trials: int
    seed: int
    simon: Mapping[str, int] | None = None
    chunks: list[Chunk] = field(default_factory=list)
    tables: DecisionTables | None = None
    null_index: int | None = None  # index in ``scenarios`` of the global null (appended if missing)
    requested: int = 0  # scenarios[:requested] are the ones asked for

    def rates(self, scenario: int) -> list[float]:
        return [float(self.scenarios[scenario].rates[name]) for name in self.design.names]

    @property
    def simulated_trials(self) -> int:
        """Simulated trials the request asks for (0 when exact): what decides sync or job."""
        return self.n_trials * len(self.scenarios) if self.method == "simulation" else 0

    @property
    def decision_seconds(self) -> float:
        """See ``decision_seconds``: a rough estimate of the time the decision tables take."""
        assert self.tables is not None
        return decision_seconds(self.design, self.tables, self.n_trials * len(self.scenarios))

    # The computation protocol of ``service.jobs``.
    def prepare(self) -> OCPlan:
        return prepare(self)

    def run_chunk(self, chunk: Chunk) -> Tally:
        return run_chunk(self, chunk)

    def reduce(self, pairs: Iterable[tuple[Chunk, Tally]]) -> dict[str, Any]:
        return reduce(self, pairs)


# Rough costs on one shared core, for the estimate below (quadrature models only).
QUADRATURE_SECONDS_PER_TUPLE = 1e-4
LOOKUP_SECONDS = 1e-7


def decision_seconds(design: Design, tables: DecisionTables, trials: int) -> float:
    """Rough time to build the decision tables: quadrature posteriors plus PPoS enumeration.

    Zero for closed-form and Simon rules (milliseconds). For hierarchical / EXNEX models this is
    what makes a request slow — it grows like Π_j (n_j + 1) × Π_active (future outcomes) — and what
    ``service`` uses, with the number of simulated trials, to answer now or start a job.
    """
    decider = tables.decider
    if getattr(decider, "closed_form", True):
        return 0.0
    grids: set[tuple[int, ...]] = set()
    tuples = pairs = 0
    for analysis in range(design.n_analyses):
        for look_index in _reachable_look_indices(design, analysis):
            cells = math.prod(_grid_shape(design, look_index))
            rows = cells if tables.dense else min(cells, trials)
            futures = 1
            for stratum, i in zip(design.strata, look_index, strict=True):
                if i == analysis and analysis < len(stratum.looks) - 1:
                    futures *= stratum.final_n - stratum.looks[i] + 1
            pairs += rows * futures
            n_now = tuple(s.looks[i] for s, i in zip(design.strata, look_index, strict=True))
            for n in decider.grids_needed(analysis, look_index):
                cells_n = math.prod(v + 1 for v in n)
                if cells_n <= GRID_CELL_LIMIT:
                    grids.add(n)
                else:
                    tuples += min(rows * (1 if n == n_now else futures), cells_n)
    tuples += sum(math.prod(v + 1 for v in n) for n in grids)
    return tuples * QUADRATURE_SECONDS_PER_TUPLE + pairs * LOOKUP_SECONDS


def choose_method(design: Design, method: str, tables: DecisionTables) -> str:
    """``auto``: exact when the rule's decisions are cheap to enumerate (Beta–binomial, Simon)."""
    if method == "auto":
        closed_form = getattr(tables.decider, "closed_form", isinstance(design.rule, SimonRule))
        return "exact" if closed_form and exact_available(design, tables) else "simulation"
    if method == "exact" and not exact_available(design, tables):
        raise InvalidInputError(
            "method",
            f"exact enumeration of {len(design.strata)} coupled strata needs {dense_cell_count(design):,} joint "
            f"outcome tuples (limit {EXACT_CELL_LIMIT:,}); use 'simulation'",
        )
    return method


def plan(
    design: Design,
    scenarios: Sequence[Scenario] | None = None,
    *,
    method: str = "auto",
    n_trials: int = 10_000,
    seed: int = 0,
    simon: Mapping[str, int] | None = None,
    chunk_trials: int = DEFAULT_CHUNK_TRIALS,
    tables: DecisionTables | None = None,
) -> OCPlan:
    """Validate and split a request; decision tables are built lazily (``prepare``)."""
    validate_design(design)
    scenarios = list(scenarios) if scenarios else default_scenarios(design.names, design.p0, design.p1)
    validate_scenarios(design, scenarios)
    if n_trials < 1:
        raise InvalidInputError("n_trials", "at least one simulated trial is required")
    tables = tables if tables is not None else DecisionTables(design)
    chosen = choose_method(design, method, tables)
    requested = len(scenarios)
    null_index = next(
        (i for i, s in enumerate(scenarios) if all(abs(float(s.rates[n]) - design.p0) < 1e-12 for n in design.names)),
        None,
    )
    if null_index is None:
        scenarios.append(Scenario("global null", {n: design.p0 for n in design.names}))
        null_index = len(scenarios) - 1
    result = OCPlan(design, scenarios, chosen, n_trials, seed, simon, tables=tables, null_index=null_index, requested=requested)
    if chosen == "simulation":
        result.chunks = plan_chunks(len(scenarios), n_trials, chunk_trials)
    else:
        result.chunks = [Chunk(s, 0, 0) for s in range(len(scenarios))]
    return result


def prepare(oc_plan: OCPlan, progress: Callable[[float], None] | None = None) -> OCPlan:
    """Build the dense decision tables once (they are then shipped with each chunk)."""
    assert oc_plan.tables is not None
    if oc_plan.method == "exact" and oc_plan.tables.separable and len(oc_plan.design.strata) > 1:
        for j in range(len(oc_plan.design.strata)):
            _sub_tables(oc_plan.tables, j).precompute()
    else:
        oc_plan.tables.precompute(progress)
    return oc_plan


def run_chunk(oc_plan: OCPlan, chunk: Chunk) -> Tally:
    """The tally of one chunk (pure: same plan and chunk → same tally, in any process)."""
    assert oc_plan.tables is not None
    rates = oc_plan.rates(chunk.scenario)
    if oc_plan.method == "exact":
        return exact_tally(oc_plan.design, rates, oc_plan.tables)
    return simulate_blocks(oc_plan.tables, rates, oc_plan.seed, chunk.first_block, chunk.n_trials)


def reduce(oc_plan: OCPlan, tallies: Iterable[tuple[Chunk, Tally]]) -> dict[str, Any]:
    """Sum the chunks' tallies per scenario and summarise: the canonical result."""
    design = oc_plan.design
    simulated = oc_plan.method == "simulation"
    totals: dict[int, Tally] = {}
    for chunk, tally in tallies:
        totals[chunk.scenario] = totals[chunk.scenario] + tally if chunk.scenario in totals else tally
    rows = []
    for s, scenario in enumerate(oc_plan.scenarios):
        row = summarise_scenario(design, scenario, totals[s], simulated)
        for j, stratum in enumerate(row["strata"]):
            stratum["simon"] = simon_column(oc_plan.simon, scenario.rates[design.strata[j].name])
        rows.append(row)
    null_row = rows[oc_plan.null_index]
    requested = rows[: oc_plan.requested]
    report, warnings = borrowing_report(design, requested, null_row)
    return {
        "method": oc_plan.method,
        "n_trials": oc_plan.n_trials if simulated else None,
        "seed": oc_plan.seed if simulated else None,
        "scenarios": requested,
        "borrowing": report,
        "warnings": warnings,
    }


def run(oc_plan: OCPlan, progress: Callable[[float], None] | None = None) -> dict[str, Any]:
    """Run every chunk in this process (``service.jobs`` runs them in a pool or on Dask)."""
    prepare(oc_plan)
    done = []
    for i, chunk in enumerate(oc_plan.chunks, start=1):
        done.append((chunk, run_chunk(oc_plan, chunk)))
        if progress is not None:
            progress(i / len(oc_plan.chunks))
    return reduce(oc_plan, done)


def operating_characteristics(
    design: Design,
    scenarios: Sequence[Scenario] | None = None,
    *,
    method: str = "auto",
    n_trials: int = 10_000,
    seed: int = 0,
    simon: Mapping[str, int] | None = None,
    progress: Callable[[float], None] | None = None,
) -> dict[str, Any]:
    """Operating characteristics of ``design`` in each scenario (exact or simulated), in this process."""
    return run(plan(design, scenarios, method=method, n_trials=n_trials, seed=seed, simon=simon), progress)




# --------------------------------------------------------------------------------------------------
# Bayesian go/no-go rules: the response analysis's posteriors, predictive probabilities and rule
# (designs.engines.closed_form, designs.engines.quadrature, designs.response.predictive, designs.response.decisions), applied to
# whole grids of outcome tuples at once.


def _beta(model: Any) -> tuple[float, float]:
    return float(model.prior.a), float(model.prior.b)


class _ModelTables:
    """Posterior P(p_j > p0 | y) and predictive probabilities of success for one model and schedule.

    Independent / pooled: closed forms (``beta_binomial``). Hierarchical / EXNEX: one quadrature
    engine for the design (its likelihood tables cached per (n, y)); ``predictive.HierarchicalPredictive``
    per final n tuple, whose table of the final outcomes also serves the final decisions. Every grid
    is computed once per process and shared by the decision rules of all calibration candidates.
    """

    def __init__(self, model: Any, p0: float, looks: tuple[tuple[int, ...], ...], fixed_tau: float | None = None):
        self.model, self.p0, self.looks, self.fixed_tau = model, p0, looks, fixed_tau
        self.kind = model.kind
        self._threshold = 0.95  # the success threshold of the first predictive tables (any works)
        self._prob_above: dict[tuple[int, ...], np.ndarray] = {}
        self._predictive: dict[tuple[int, ...], Any] = {}
        self._engine = None

    # --- P(p_j > p0 | y) --------------------------------------------------------------------------

    def prob_above(self, n: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        """(m, J) posterior P(p_j > p0) of the rows of ``y`` at sizes ``n``: from the grid of every
        outcome tuple at ``n`` (computed once) while it is small, else for these rows only."""
        if n in self._prob_above or math.prod(v + 1 for v in n) <= GRID_CELL_LIMIT:
            self.prefetch([n])
            return self._prob_above[n][tuple(y.T)]
        if self.kind in ("independent", "pooled"):
            return self._beta_prob_above(np.asarray(n), y)
        unique, inverse = np.unique(y, axis=0, return_inverse=True)
        return self._quadrature_prob_above(n, unique)[inverse.reshape(-1)]

    def prefetch(self, n_tuples: Iterable[tuple[int, ...]]) -> None:
        """Grids of P(p_j > p0) for these n tuples (quadrature: the final-outcome tables of
        ``predictive.HierarchicalPredictive``, which the predictive probabilities then reuse)."""
        for n in sorted({tuple(n) for n in n_tuples} - set(self._prob_above)):
            if self.kind in ("independent", "pooled"):
                y = np.indices(tuple(v + 1 for v in n)).reshape(len(n), -1).T
                self._prob_above[n] = self._beta_prob_above(np.asarray(n), y).reshape(tuple(v + 1 for v in n) + (len(n),))
            else:
                self.hierarchical_predictive(n, self._threshold)

    def _beta_prob_above(self, n: np.ndarray, y: np.ndarray) -> np.ndarray:
        from designs.engines import closed_form as beta_binomial

        a, b = _beta(self.model)
        if self.kind == "independent":
            return beta_binomial.prob_above(self.p0, *beta_binomial.posterior_parameters(a, b, y, n[None, :]))
        # One rate: only the total matters (computed once per distinct total).
        totals, inverse = np.unique(y.sum(axis=1), return_inverse=True)
        shared = beta_binomial.prob_above(self.p0, *beta_binomial.posterior_parameters(a, b, totals, n.sum()))
        return np.repeat(shared[inverse.reshape(-1), None], len(n), axis=1)

    def _quadrature_prob_above(self, n: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        from designs.engines.quadrature import BinomialLikelihood

        likelihoods = [[BinomialLikelihood(k, nj) for k in range(nj + 1)] for nj in n]
        return self.engine().batch(likelihoods, y, thresholds=[self.p0], means=False).prob_above[:, :, 0]

    def engine(self):
        if self._engine is None:
            from designs.engines.quadrature import BinomialLikelihood, NormalHierarchy, QuadratureEngine

            hierarchy = NormalHierarchy.from_prior(self.model.prior, fixed_tau=self.fixed_tau)
            candidates = [[BinomialLikelihood(k, n) for n in looks for k in range(n + 1)] for looks in self.looks]
            self._engine = QuadratureEngine.for_likelihoods(hierarchy, candidates)
        return self._engine

    # --- predictive probability of success --------------------------------------------------------

    def predictive(self, y: np.ndarray, n: tuple[int, ...], n_final: tuple[int, ...], threshold: float) -> np.ndarray:
        """(m, J) PPoS when every stratum enrols to ``n_final`` (stopped strata: n_final = n)."""
        from designs.engines import closed_form as beta_binomial

        if self.kind in ("independent", "pooled"):
            a, b = _beta(self.model)
            if self.kind == "independent":
                return beta_binomial.predictive_probability_of_success(
                    a, b, y, np.asarray(n)[None, :], np.asarray(n_final)[None, :], self.p0, threshold
                )
            # predictive.predictive_probability_pooled on totals, vectorised over the distinct totals.
            totals, inverse = np.unique(y.sum(axis=1), return_inverse=True)
            shared = beta_binomial.predictive_probability_of_success(a, b, totals, sum(n), sum(n_final), self.p0, threshold)
            return np.repeat(shared[inverse.reshape(-1), None], len(n), axis=1)
        return self.hierarchical_predictive(n_final, threshold).probability(y, n)[0]

    def hierarchical_predictive(self, n_final: tuple[int, ...], threshold: float):
        """``predictive.HierarchicalPredictive`` for ``n_final``; its final table is computed once and
        reused for every threshold (only the success indicator changes)."""
        import copy

        from designs.response.predictive import HierarchicalPredictive

        base = self._predictive.get(n_final)
        if base is None:
            base = HierarchicalPredictive(self.engine(), n_final, self.p0, self._threshold)
            self._predictive[n_final] = base
            self._prob_above.setdefault(n_final, base.prob_above_p0)
        if base.final_threshold == threshold:
            return base
        # Seam: HierarchicalPredictive has no "same table, other threshold" constructor.
        other = copy.copy(base)
        other.final_threshold = threshold
        other.success = base.prob_above_p0 > threshold
        return other

    def __getstate__(self) -> dict[str, Any]:
        # Workers rebuild the engine and tables they need rather than receive them.
        return {**self.__dict__, "_prob_above": {}, "_predictive": {}, "_engine": None}


# One set of tables per model and schedule per process: calibration candidates share them.
_MODEL_CACHE: OrderedDict[tuple, _ModelTables] = OrderedDict()
_MODEL_CACHE_SIZE = 8


def model_tables(design: Design) -> _ModelTables:
    key = (design.model, design.p0, tuple(s.looks for s in design.strata), design.fixed_tau)
    tables = _MODEL_CACHE.get(key)
    if tables is None:
        tables = _ModelTables(design.model, design.p0, key[2], design.fixed_tau)
        _MODEL_CACHE[key] = tables
        while len(_MODEL_CACHE) > _MODEL_CACHE_SIZE:
            _MODEL_CACHE.popitem(last=False)
    else:
        _MODEL_CACHE.move_to_end(key)
    return tables


class BayesianDecider:
    """Go / no-go / continue of ``designs.response.decisions.decide`` for many outcome tuples at one analysis.

    At an interim, the predictive probability of success of an analysed stratum assumes that every
    stratum still enrolling reaches its final size and that strata that stopped keep their data:
    for borrowing models the joint future of all enrolling strata is enumerated
    (``predictive.HierarchicalPredictive``; Lee & Liu 2008 extended through the marginal likelihood).
    """

    def __init__(self, design: Design):
        from designs.response.decisions import DecisionRule

        self.design = design
        self.rule = design.rule if isinstance(design.rule, DecisionRule) else DecisionRule(**dataclasses.asdict(design.rule))
        self.kind = getattr(design.model, "kind", None)
        if self.kind is None:
            raise InvalidInputError("model", "a Bayesian rule needs a response model")
        self.separable = self.kind == "independent"
        self.closed_form = self.kind in ("independent", "pooled")
        self.looks = tuple(s.looks for s in design.strata)
        self.tables = model_tables(design)
        if not self.closed_form:
            self._check_predictive_tables()

    def _check_predictive_tables(self) -> None:
        from designs.response.predictive import MAX_ENUMERATION

        limit = 4 * MAX_ENUMERATION  # HierarchicalPredictive's largest table of final outcomes
        # The largest table is at the first interim, every stratum still enrolling: Π_j (N_j + 1).
        cells = math.prod(s.final_n + 1 for s in self.design.strata)
        if any(len(s.looks) > 1 for s in self.design.strata) and cells > limit:
            raise InvalidInputError(
                "strata",
                f"predictive probabilities at interim looks would tabulate {cells:,} joint final outcomes "
                f"(limit {limit:,}): use fewer coupled strata or smaller looks, or no interim looks",
            )

    def _shape(self, analysis: int, look_index: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...], list[int]]:
        """(n now, n final with stopped strata frozen, interim-analysed strata)."""
        n_now = tuple(looks[i] for looks, i in zip(self.looks, look_index, strict=True))
        n_final = tuple(looks[-1] if i == analysis else looks[i] for looks, i in zip(self.looks, look_index, strict=True))
        interim = [j for j, i in enumerate(look_index) if i == analysis and analysis < len(self.looks[j]) - 1]
        return n_now, n_final, interim

    def decide(self, analysis: int, look_index: tuple[int, ...], y: np.ndarray) -> np.ndarray:
        from designs.response.decisions import decide

        n_now, n_final, interim = self._shape(analysis, look_index)
        active = [j for j, i in enumerate(look_index) if i == analysis]
        final = [j for j in active if j not in interim]
        codes = np.full(y.shape, INACTIVE, dtype=np.int8)
        if not active:
            return codes
        if final or self.rule.futility_prob_above_p0 is not None:
            prob_above = self.tables.prob_above(n_now, y)
        else:
            prob_above = np.ones(y.shape)  # not read by an interim rule without futility_prob_above_p0
        ppos = np.zeros(y.shape)
        if interim:
            ppos = self.tables.predictive(y, n_now, n_final, self.rule.final_threshold)
        for j in active:
            codes[:, j], _ = decide(self.rule, n_now[j], self.looks[j][-1], prob_above[:, j], ppos[:, j])
        return codes

    def predictive_probability_of_success(
        self, analysis: int, look_index: tuple[int, ...], y: np.ndarray, strata: Sequence[int]
    ) -> np.ndarray:
        """PPoS (m, len(strata)) at this analysis (every stratum still enrolling reaches its final size)."""
        n_now, n_final, _ = self._shape(analysis, look_index)
        return self.tables.predictive(y, n_now, n_final, self.rule.final_threshold)[:, list(strata)]

    def grids_needed(self, analysis: int, look_index: tuple[int, ...]) -> list[tuple[int, ...]]:
        """The n tuples whose posterior grids ``decide(analysis, look_index, ·)`` reads."""
        n_now, n_final, interim = self._shape(analysis, look_index)
        active = [j for j, i in enumerate(look_index) if i == analysis]
        needed = [n_now] if len(interim) < len(active) or self.rule.futility_prob_above_p0 is not None else []
        if interim:
            needed.append(n_final)
        return needed

    def prefetch(self, keys: Iterable[tuple[int, tuple[int, ...]]]) -> None:
        """Posterior (and, for borrowing models, predictive) tables of every n tuple these keys need."""
        needed = [n for k, t in keys for n in self.grids_needed(k, t)]
        self.tables.prefetch([n for n in needed if math.prod(v + 1 for v in n) <= GRID_CELL_LIMIT])
