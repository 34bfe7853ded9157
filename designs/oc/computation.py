"""The whole computation as a plan: decision tables + chunks + a reduction.

An ``OCPlan`` follows the computation protocol of ``service.jobs`` (``prepare``, ``run_chunk``,
``reduce``): it runs in this process (``run``), in a process pool or on Dask, with the same numbers.
``exact`` plans have one chunk per scenario (``designs.oc.exact``); ``simulation`` plans group whole
RNG blocks in chunks (``designs.oc.simulate``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from designs.core.errors import InvalidInputError
from designs.oc.design import (
    OCDesign,
    Scenario,
    SimonStoppingRule,
    default_scenarios,
    validate_design,
    validate_scenarios,
)
from designs.oc.exact import EXACT_CELL_LIMIT, exact_available, exact_tally
from designs.oc.model_tables import GRID_CELL_LIMIT
from designs.oc.provenance import design_request, design_settings, oc_provenance
from designs.oc.simulate import DEFAULT_CHUNK_TRIALS, Chunk, plan_chunks, simulate_blocks
from designs.oc.summary import borrowing_report, simon_column, summarise_scenario
from designs.oc.tables import DecisionTables, dense_cell_count, grid_shape, reachable_look_indices
from designs.oc.tally import Tally
from designs.response.simon_status import simon_fit


@dataclass
class OCPlan:
    """Everything needed to compute a request's operating characteristics, split into chunks."""

    design: OCDesign
    scenarios: list[Scenario]
    method: str  # "exact" or "simulation"
    n_trials: int
    seed: int
    simon: Mapping[str, int] | None = None
    chunks: list[Chunk] = field(default_factory=list)
    tables: DecisionTables | None = None
    null_index: int | None = None  # index in ``scenarios`` of the global null (appended if missing)
    requested: int = 0  # scenarios[:requested] are the ones asked for
    request: Mapping[str, Any] = field(default_factory=dict)  # as received: hashed for provenance

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


def decision_seconds(design: OCDesign, tables: DecisionTables, trials: int) -> float:
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
        for look_index in reachable_look_indices(design, analysis):
            cells = math.prod(grid_shape(design, look_index))
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


def choose_method(design: OCDesign, method: str, tables: DecisionTables) -> str:
    """``auto``: exact when the rule's decisions are cheap to enumerate (Beta–binomial, Simon)."""
    if method == "auto":
        closed_form = getattr(tables.decider, "closed_form", isinstance(design.rule, SimonStoppingRule))
        return "exact" if closed_form and exact_available(design, tables) else "simulation"
    if method == "exact" and not exact_available(design, tables):
        raise InvalidInputError(
            "method",
            f"exact enumeration of {len(design.strata)} coupled strata needs {dense_cell_count(design):,} joint "
            f"outcome tuples (limit {EXACT_CELL_LIMIT:,}); use 'simulation'",
        )
    return method


def plan(
    design: OCDesign,
    scenarios: Sequence[Scenario] | None = None,
    *,
    method: str = "auto",
    n_trials: int = 10_000,
    seed: int = 0,
    simon: Mapping[str, int] | None = None,
    chunk_trials: int = DEFAULT_CHUNK_TRIALS,
    tables: DecisionTables | None = None,
    request: Mapping[str, Any] | None = None,
) -> OCPlan:
    """Validate and split a request; decision tables are built lazily (``prepare``).

    ``request``: the request as received, hashed for the result's provenance (default: these
    arguments, ``designs.oc.provenance.design_request``).
    """
    if request is None:
        request = design_request(design, scenarios, method=method, n_trials=n_trials, seed=seed, simon=simon)
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
    result = OCPlan(
        design, scenarios, chosen, n_trials, seed, simon, tables=tables, null_index=null_index, requested=requested,
        request=request,
    )
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
            oc_plan.tables.substratum(j).precompute()
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
    """Sum the chunks' tallies per scenario and summarise: the canonical result, with its provenance."""
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
    if oc_plan.simon is not None:
        warnings.extend(simon_fit(oc_plan.simon, design.p0, design.p1))
    return {
        "method": oc_plan.method,
        "n_trials": oc_plan.n_trials if simulated else None,
        "seed": oc_plan.seed if simulated else None,
        "scenarios": requested,
        "borrowing": report,
        "settings": design_settings(
            design, method=oc_plan.method, n_trials=oc_plan.n_trials, seed=oc_plan.seed, simon=oc_plan.simon
        ),
        "warnings": warnings,
        "provenance": oc_provenance(oc_plan.request, design, oc_plan.method, oc_plan.seed),
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
    design: OCDesign,
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
