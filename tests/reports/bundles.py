"""Report bundles for the report tests: the SARC031-like example's real bundles of looks 1-3 and
variants of them: as a look stored before the densities, the next-look sentences and the design block
existed (``older``), with a synthetic design, MCMC, EXNEX, no PFS, safety monitoring (rerun with
synthetic toxicity statuses), hostile text.

The data files were made by ``gonogo example sarc031`` against a fresh server, then
``repository.report_bundle(engine, "sarc031-example", k, closed=True, actor="dmc-chair")`` with
``generated.at`` set to 2026-11-30T19:00:00+00:00."""

from __future__ import annotations

import copy
import functools
import json
from pathlib import Path
from typing import Any

from designs import boundaries, oc
from designs.response import spec as response_spec
from designs.response.decisions import DecisionRule

DATA = Path(__file__).resolve().parent / "data"


@functools.cache
def _stored(look: int) -> str:
    return (DATA / f"bundle_look{look}.json").read_text(encoding="utf-8")


def stored(look: int = 3) -> dict[str, Any]:
    """The example's closed bundle of look ``look`` (1, 2 or 3), as the repository made it."""
    return json.loads(_stored(look))


def _independent_design() -> tuple[oc.OCDesign, dict[str, int]]:
    """The example's response design under independent Beta priors (quick, and real), and its Simon design."""
    response = stored()["protocol"]["protocol"]["response"]
    model = response_spec.resolve("independent", {}, response["p0"])
    strata = tuple(oc.StratumPlan(s["name"], tuple(s["looks"])) for s in response["strata"])
    design = oc.OCDesign(response["p0"], response["p1"], strata, DecisionRule.from_mapping(response["decision"]), model)
    return design, {k: response["simon"][k] for k in ("r1", "n1", "r", "n")}


@functools.cache
def _operating_characteristics() -> str:
    """Exact OCs of the example's response design under independent Beta priors."""
    design, simon = _independent_design()
    return json.dumps(oc.operating_characteristics(design, simon=simon))


@functools.cache
def _boundary_table() -> str:
    design, simon = _independent_design()
    return json.dumps(boundaries.boundary_table(design, simon=simon))


def boundary_table() -> dict[str, Any]:
    """``designs.boundaries.boundary_table`` of that design: no-go ≤ 0, 2, 6 and go ≥ 5, 7, 7 at n = 7, 14, 21."""
    return json.loads(_boundary_table())


def older(bundle: dict[str, Any]) -> dict[str, Any]:
    """``bundle`` as a look stored before gonogo recorded posterior densities and next-look boundaries,
    on a protocol version without a stored design."""
    bundle = copy.deepcopy(bundle)
    result = bundle["look"]["result"]
    if result.get("response"):
        for key in ("tau_density", "boundaries_next"):
            result["response"].pop(key, None)
        for stratum in result["response"]["strata"]:
            stratum.pop("posterior_density", None)
            stratum.pop("independent_posterior", None)
    if result.get("pfs"):
        result["pfs"]["between_stratum_spread"].pop("density", None)
        for stratum in result["pfs"]["strata"]:
            stratum["posterior"]["landmark_pfs"].pop("density", None)
    bundle["design"] = None
    return bundle


def with_design(bundle: dict[str, Any]) -> dict[str, Any]:
    """``bundle`` with a stored design block: operating characteristics and boundaries of its protocol."""
    bundle = copy.deepcopy(bundle)
    bundle["design"] = {"protocol_version": bundle["protocol"]["version"], "sha256": "0" * 64,
                        "computed_at": "2026-11-30T18:00:00+00:00", "software": {"gonogo": "0.1.0"},
                        "operating_characteristics": json.loads(_operating_characteristics()),
                        "boundaries": boundary_table()}
    return bundle


def with_next_look(bundle: dict[str, Any]) -> dict[str, Any]:
    """``bundle`` with ``response.boundaries_next`` rows (contract section 1, ``next_look``)."""
    bundle = copy.deepcopy(bundle)
    bundle["look"]["result"]["response"]["boundaries_next"] = [
        {"stratum": "NF1-associated", "n": 14, "responders": 3, "next_look": 3, "next_n": 21, "no_go_max": 5, "go_min": 6,
         "avoid_no_go_needs": 3, "go_needs": 3,
         "text": "NF1-associated needs 3 more responders among the next 7 to avoid no-go at look 3 (n = 21)"},
    ]
    return bundle


def mcmc(bundle: dict[str, Any]) -> dict[str, Any]:
    """``bundle`` as if the response model had been fitted by MCMC (Monte Carlo errors recorded)."""
    bundle = copy.deepcopy(bundle)
    response = bundle["look"]["result"]["response"]
    response["engine"] = "pymc"
    for s in response["strata"]:
        s["monte_carlo_se"] = {"posterior_mean": 0.00123, "prob_above_p0": 0.0021, "prob_above_p1": 0.0034,
                               "predictive_probability_of_success": 0.0045}
    return bundle


def exnex(bundle: dict[str, Any]) -> dict[str, Any]:
    bundle = copy.deepcopy(bundle)
    response = bundle["look"]["result"]["response"]
    response["model"]["kind"] = "exnex"
    response["prob_exchangeable"] = {"NF1-associated": 0.8123, "sporadic": 0.6456}
    return bundle


def without_pfs(bundle: dict[str, Any]) -> dict[str, Any]:
    """``bundle`` of a protocol without a PFS plan."""
    bundle = copy.deepcopy(bundle)
    bundle["look"]["result"]["pfs"] = None
    bundle["protocol"]["protocol"]["pfs"] = None
    for d in bundle["look"]["result"]["decisions"]:
        d.pop("pfs", None)
    return bundle


SAFETY = {"p0": 0.25, "looks": [5, 10, 15, 20], "alpha": 0.1, "method": "bayesian"}


def _toxicity(patient: dict[str, Any], index: int) -> dict[str, bool]:
    """Synthetic statuses: sporadic's first 9 patients had a DLT (crossing 7 of 15), NF1's every seventh."""
    dlt = index < 9 if patient["stratum"] == "sporadic" else index % 7 == 0
    return {"evaluable": True, "dose_limiting": dlt}


@functools.cache
def _safety_look(bundle_json: str, safety_json: str) -> str:
    """The bundle's look rerun (``run_look``) on its protocol with ``safety`` and its cut with toxicity."""
    from designs.registry.look import run_look
    from designs.registry.protocol import ProtocolSpec

    bundle = json.loads(bundle_json)
    protocol = ProtocolSpec.from_mapping({**bundle["protocol"]["protocol"], "safety": json.loads(safety_json)})
    counters: dict[str, int] = {}
    patients = []
    for p in bundle["cut"]["patients"]:
        index = counters[p["stratum"]] = counters.get(p["stratum"], -1) + 1
        patients.append({**p, "toxicity": _toxicity(p, index)})
    result = bundle["look"]["result"]
    context = {k: result.get(k) for k in ("trial", "protocol_version", "data_cut", "amendments_since_previous_look")}
    look = run_look(protocol.document, {"cutoff_date": bundle["cut"]["cutoff_date"], "patients": patients},
                    look_number=result["look"], seed=bundle["look"]["seed"], context=context)
    return json.dumps({"protocol": protocol.document, "patients": patients, "look": look})


def with_safety(bundle: dict[str, Any], **safety: Any) -> dict[str, Any]:
    """``bundle`` as if its protocol monitored safety (``SAFETY`` updated by ``safety``; per stratum by
    default) and its cut carried toxicity statuses: the look's safety section, safety decisions, counts
    and notes as ``run_look`` records them, and (with a design) the stored design's safety rule."""
    from designs.registry.design import design_summary

    bundle = copy.deepcopy(bundle)
    plan = {**SAFETY, **safety}
    rerun = json.loads(_safety_look(json.dumps(bundle, sort_keys=True), json.dumps(plan, sort_keys=True)))
    bundle["protocol"]["protocol"] = rerun["protocol"]
    bundle["cut"]["patients"] = rerun["patients"]
    result = bundle["look"]["result"]
    result["safety"] = rerun["look"]["safety"]
    result["accrual"] = rerun["look"]["accrual"]
    result["notes"] = rerun["look"]["notes"]
    for entry, again in zip(result["decisions"], rerun["look"]["decisions"], strict=True):
        entry["safety"] = again["safety"]
    if bundle.get("design"):
        document = {**rerun["protocol"], "response": None}
        bundle["design"]["safety"] = design_summary(document, trial_id="t", version=1)["safety"]
    return bundle


def hostile_title(bundle: dict[str, Any]) -> dict[str, Any]:
    """``bundle`` whose trial title and a stratum's criterion carry markup."""
    bundle = copy.deepcopy(bundle)
    bundle["trial"]["title"] = '<script>alert("x")</script> & <b>bold</b>'
    bundle["look"]["result"]["response"]["strata"][0]["decision_criterion"]["text"] = "<img src=x onerror=alert(1)>"
    return bundle
