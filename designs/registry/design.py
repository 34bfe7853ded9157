"""The design of a protocol version: its response plan as an operating-characteristics design, the
operating characteristics of that design and its decision-boundary table, computed once per protocol
version (when the first look on the version runs) and stored beside it.

    design_summary(protocol document, trial_id, version) -> the stored document | None (no response plan
                                                             and no safety monitoring)
      {"protocol_version", "protocol_sha256", "design": the OC request as applied,
       "operating_characteristics": designs.oc result, "boundaries": designs.boundaries table, "method_note",
       "safety": the calibrated toxicity rule with its exact OC | null}

Safety monitoring (the protocol's ``safety`` section): ``designs.safety.boundaries.safety_boundaries`` of
its rule (stop counts per look, the calibrated constant, P(stop | p0), exact operating characteristics
at p0, p0 + 0.05, …), with the scope and the monitored strata: per stratum, each monitored stratum is
one such trial and its figures are per stratum; with k > 1 monitored strata ``family_wise`` adds
P(some stratum stops | every stratum at p0) = 1 − (1 − P(stop | p0))^k (strata independent), and
``alpha`` stays a per-stratum bound; pooled, the monitored strata's patients together are one trial. Milliseconds. A version with
safety monitoring but no response plan (PFS only) has a summary with its safety part alone (``design``,
``operating_characteristics`` and ``boundaries`` null).

The design (``designs.boundaries.response_design``): the plan's p0 and p1, each response stratum with its planned looks, the
response model (priors as applied), the decision rule; Simon's rule, when the protocol has one, is
shown beside (its exact OC per scenario), not applied. Scenarios: ``designs.oc.default_scenarios``
(global null, global alternative, each stratum alone at p1).

Method, and why: exact enumeration whenever ``designs.oc.exact_available`` allows it (every
closed-form design, and coupled designs — hierarchical, EXNEX, pooled — while the joint outcome
grid stays small: the SARC031-like example, 2 strata × looks 7/14/21 hierarchical by quadrature,
takes under a second exact on one core). Exact figures have no Monte Carlo error, so a DMC reads the
design's type I error as it is. Otherwise seeded simulation of ``SIMULATED_TRIALS`` trials per
scenario, with Monte Carlo standard errors in the result; its seed is fixed by the protocol's seed,
the trial and the version (``design_seed``), so the same version always gives the same numbers.

Cost: a look waits for its version's design. Closed-form designs take milliseconds; coupled ones
(quadrature) grow like the product of the strata's outcome counts, exact or simulated alike (the
decision tables dominate: 2 strata × looks 40/80/120 hierarchical take about 30 s either way). When
``designs.oc.decision_seconds`` estimates more than ``BUDGET_SECONDS``, the summary is stored without
operating characteristics and boundaries, its ``method_note`` saying why and how to compute them
(as a job of the design routes).

Pure: no database, no HTTP (``service.compute.tasks`` runs it beside the look; the repository stores it).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from designs import oc
from designs.boundaries import boundary_table, response_design
from designs.core.provenance import canonical_json, input_hash
from designs.core.validation import MAX_SEED
from designs.oc.provenance import design_request
from designs.registry.protocol import ProtocolSpec
from designs.safety.boundaries import prob_any_stops, safety_boundaries

SIMULATED_TRIALS = 10_000
"""Simulated trials per scenario when exact enumeration is not available."""
BUDGET_SECONDS = 1.5
"""The most ``designs.oc.decision_seconds`` may estimate for the design's decision tables for them to be
computed with a look. The estimate runs low, 3 to 8 times, on one core, hierarchical, 2 strata: looks
7/14/21 (the SARC031 example) 0.15 s estimated, 0.8 s taken; 20/40/60 1.3 s, 3.6 s; 15/30/45 0.7 s,
3.4 s; 40/80/120 6.7 s, 31 s. So a look waits at most about 10 s for its version's design; above the
budget the summary says so instead."""


def design_seed(protocol_seed: int | None, trial_id: str, version: int) -> int:
    """The seed of a version's simulated OC, fixed by the protocol's seed, the trial and the version."""
    digest = hashlib.sha256(canonical_json(["design", protocol_seed, trial_id, version]).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % (MAX_SEED + 1)


def design_summary(protocol_document: Mapping[str, Any], *, trial_id: str, version: int) -> dict[str, Any] | None:
    """The stored design document of protocol version ``version`` of ``trial_id`` (see the module
    docstring); None when the version has neither a response plan nor safety monitoring. Same inputs,
    same document (but for the software versions in the safety part's provenance)."""
    protocol = ProtocolSpec.from_mapping(dict(protocol_document))
    safety = _safety(protocol)
    if protocol.response is None:
        if safety is None:
            return None
        return {"protocol_version": version, "protocol_sha256": input_hash(protocol_document), "design": None,
                "operating_characteristics": None, "boundaries": None, "safety": safety,
                "method_note": "no response plan: the version's design is its safety monitoring alone"}
    design, simon = response_design(protocol.response)
    tables = oc.DecisionTables(design)
    exact = oc.exact_available(design, tables)
    method = "exact" if exact else "simulation"
    seed = design_seed(protocol.seed, trial_id, version)
    request = design_request(design, None, method=method, n_trials=SIMULATED_TRIALS, seed=seed, simon=simon)
    summary = {"protocol_version": version, "protocol_sha256": input_hash(protocol_document), "design": request,
               "operating_characteristics": None, "boundaries": None, "safety": safety}
    scenarios = oc.default_scenarios(design.names, design.p0, design.p1)
    estimate = oc.decision_seconds(design, tables, SIMULATED_TRIALS * len(scenarios))
    if estimate > BUDGET_SECONDS:
        summary["method_note"] = (
            f"not computed with the look: the design's decision tables would take about {estimate:.0f} s or more "
            f"(the budget of a look is {BUDGET_SECONDS} s estimated); compute them with POST "
            "/v1/designs/operating-characteristics and POST /v1/designs/boundaries (the design block is the request)")
        return summary
    summary["operating_characteristics"] = oc.run(oc.plan(
        design, scenarios, method=method, n_trials=SIMULATED_TRIALS, seed=seed, simon=simon, tables=tables, request=request))
    summary["boundaries"] = boundary_table(design, simon=simon)
    if exact:
        summary["method_note"] = "exact enumeration of every outcome path: no Monte Carlo error"
    else:
        summary["method_note"] = (
            f"seeded simulation of {SIMULATED_TRIALS:,} trials per scenario (the joint outcome grid is too large to "
            "enumerate); Monte Carlo standard errors are given beside each probability")
    return summary


def _safety(protocol: ProtocolSpec) -> dict[str, Any] | None:
    """The protocol's toxicity rule calibrated, with its exact OC, its scope and monitored strata; None
    without safety monitoring."""
    if protocol.safety is None:
        return None
    safety = protocol.safety
    result = safety_boundaries(safety.design)
    family_wise = None
    if safety.scope == "per-stratum" and len(safety.strata) > 1:
        k = len(safety.strata)
        family_wise = {
            "strata": k,
            "prob_any_stratum_stops_null": prob_any_stops(result["calibration"]["prob_stop_null"], k),
            "note": f"P(at least one of the {k} monitored strata stops for safety | every stratum at p0) = "
                    f"1 − (1 − P(stop | p0))^{k}, the strata independent; alpha and the operating characteristics "
                    "are per stratum"}
    return {"scope": safety.scope, "monitored": list(safety.strata), "family_wise": family_wise, **result}
