"""Operating characteristics of go/no-go rules in multi-stratum, multi-look phase II designs.

A design (``OCDesign``) enrols each stratum to cumulative sample sizes ``looks``; at every look an
active stratum continues, stops for futility, stops early with a go, or, at its final look, goes or
not. Decisions are computed once per distinct outcome tuple and kept in ``DecisionTables``; two ways
turn them into operating characteristics: exact enumeration and seeded simulation.

One concept per module:

* ``design``: strata, scenarios, Simon's rule, the ``OCDesign`` and its validation;
* ``deciders``: the decision codes of Simon's rule and of the Bayesian rules;
* ``model_tables``: posterior and predictive probabilities over whole outcome grids;
* ``tables``: decision tables; ``tally``: how trials ended;
* ``exact``: exact enumeration; ``simulate``: RNG blocks, responder paths, chunks;
* ``summary``: per-scenario rows, the borrowing report, the Simon column;
* ``computation``: ``OCPlan`` (the computation protocol of ``service.jobs``) and ``operating_characteristics``;
* ``calibration``: the final threshold (and futility cut-off) against a type I error target.
"""

from designs.oc.computation import (
    OCPlan,
    choose_method,
    decision_seconds,
    operating_characteristics,
    plan,
    run,
)
from designs.oc.deciders import BayesianDecider, Decider, SimonDecider, decider_for
from designs.oc.design import (
    OCDesign,
    Scenario,
    SimonStoppingRule,
    StratumPlan,
    default_scenarios,
    validate_design,
    validate_scenarios,
)
from designs.oc.exact import exact_available, exact_tally
from designs.oc.simulate import Chunk, block_uniforms, plan_chunks, simulate_blocks, simulate_paths
from designs.oc.summary import borrowing_report, summarise_scenario, summarise_stratum
from designs.oc.tables import DecisionTables, dense_cell_count
from designs.oc.tally import Tally

__all__ = [
    "BayesianDecider",
    "Chunk",
    "Decider",
    "DecisionTables",
    "OCDesign",
    "OCPlan",
    "Scenario",
    "SimonDecider",
    "SimonStoppingRule",
    "StratumPlan",
    "Tally",
    "block_uniforms",
    "borrowing_report",
    "choose_method",
    "decider_for",
    "decision_seconds",
    "default_scenarios",
    "dense_cell_count",
    "exact_available",
    "exact_tally",
    "operating_characteristics",
    "plan",
    "plan_chunks",
    "run",
    "simulate_blocks",
    "simulate_paths",
    "summarise_scenario",
    "summarise_stratum",
    "validate_design",
    "validate_scenarios",
]
