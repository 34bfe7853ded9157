"""An interim look: the protocol's analyses run on one data cut, recorded whole, reproducible.

    run_look(protocol document, cut document, look_number, seed, context) -> the look document
      accrual per stratum → response analysis (``analyse_response``: n = evaluable patients, Simon status
      from enrolment order) → PFS analysis (``analyse_pfs``: the protocol's n_planned, strata without
      PFS data reported, not analysed) → decisions per stratum → warnings, notes, provenance.

Response: a patient is evaluable when "responder" or "non-responder"; "not-evaluable" is left out of
n, or counted as a non-responder when the protocol says ``not_evaluable: "non-responder"``; null is
pending. Simon's stage 1 is the first n1 patients by enrolment date, then id in natural order ("P9"
before "P10"), pending ones included (not-evaluable ones left out unless they count as
non-responders): while one of them is pending, stage 1 is ongoing; 0/7 in stage 1 then 3 responders
later is "stopped_stage1", where cumulative counts would have assumed stage 1 passed. When patients
enrolled on one day straddle the n1 boundary, the Simon text and the notes say stage-1 membership is
ambiguous. A stratum with more evaluable patients than planned is analysed with n_planned raised to
them (a note says so): the analyses need n ≤ n_planned.

The protocol's look schedule: each response stratum records where its n stands against its planned
``looks`` (``schedule``: planned_looks, reached, next). Before the first planned look there is no
go/no-go: the stratum's decision is "continue" ("before the first planned look"), the analysis's own
decision kept beside it (``analysis_decision``); between planned looks the decision stands, with a
note that the look is off the planned schedule.

A cut holding patients of strata the protocol version does not declare (an amendment renamed or
removed one after the cut was stored) is refused (``InvalidInputError`` on ``data_cut``): dropping
them would silently analyse fewer patients than were recorded. Data of an endpoint the version no
longer plans for a declared stratum is noted, not analysed.

The seed is the look's (``look_seed``: from the protocol's seed, the trial id and the look number),
so rerunning a look gives the same numbers; ``compare`` lists every JSON path where a rerun differs,
the software versions of both runs apart, and the keys only the rerun has (``additions``: what newer
software records besides, such as the posterior densities) apart from the differences. ``open_view``
is the sponsor's: accrual and data-quality counts only (no responders, events, posteriors or
decisions per stratum; nothing of safety: not even how many patients are evaluable for it, which with
the enrolment dates would tell early dose-limiting toxicities).

Safety (the protocol's ``safety`` section): each monitored stratum's safety-evaluable patients and
dose-limiting toxicities (``toxicity`` in the cut; a patient without it is not evaluable for safety,
counted under ``accrual`` as ``safety_unrecorded``) are analysed by ``designs.safety.analysis.analyse_safety``
with the protocol's calibrated rule as it was calibrated (per stratum, or pooled over the monitored
strata when ``scope`` is "pooled"; in pooled scope the strata's rows are descriptive and the rule is the
pooled row's): the group's safety-evaluable patients in enrolment order (as Simon's), every planned
safety look n_j ≤ n applied to the first n_j of them (``toxicities_at_looks``), the group stopped when
any look so far crossed. The same first patients make every later look repeat a crossing (a stop stays
a stop) and keep the calibrated P(stop | p0) whatever n the DMC meets at. A look whose first n_j
patients may still change (patients enrolled before its n_j-th evaluable one have no toxicity status
yet) carries a ``safety-look-provisional`` caveat; a group none of whose patients has a status (an ADaM
cut: ADAE is not mapped), ``safety-unrecorded``. The calibrated constant and P(stop | p0) of
``designs.safety.boundaries.safety_boundaries`` are recorded beside the stop counts, and, per stratum
with k > 1 strata, P(some stratum stops | all at p0) = 1 − (1 − P(stop | p0))^k (strata independent).
The safety analysis's caveats join the look's ``warnings``. Each monitored stratum's entry of ``decisions`` gains ``safety``: the safety
decision, the efficacy decisions, whether the safety decision overrides them and why. A crossed
boundary is "stop for safety" whatever the efficacy decisions say (go, continue; a no-go stops too),
both stated; a pooled crossing stops every monitored stratum. A look without safety monitoring has
``safety: null``; toxicity data it does not analyse is noted.

Module-level functions with JSON-ready arguments: ``run_look`` runs in the compute pool.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from typing import Any

from designs.boundaries import next_look, observed_counts, response_design
from designs.core.errors import InvalidInputError
from designs.core.provenance import canonical_json, input_hash, software_versions
from designs.core.validation import MAX_SEED, Checker
from designs.registry.protocol import ProtocolSpec
from designs.response.analysis import analyse_response
from designs.response.simon_status import simon_status_in_order
from designs.response.spec import ResponseAnalysisSpec
from designs.core.caveats import caveat
from designs.safety.analysis import POOLED, SafetyAnalysisSpec, analyse_safety, look_text
from designs.safety.boundaries import prob_any_stops, safety_boundaries
from designs.survival.analysis import analyse_pfs
from designs.survival.spec import PFSAnalysisSpec

CONTEXT_FIELDS = ("trial", "protocol_version", "data_cut", "amendments_since_previous_look", "actor", "at")
"""What a look records but does not compute: ``data_cut`` is {number, sha256, cutoff_date}; ``actor``
and ``at`` (who ran it, when, UTC ISO) go to the look's ``run``, which ``compare`` does not diff."""
SAFETY_ACCRUAL_FIELDS = ("safety_evaluable", "safety_not_evaluable", "safety_unrecorded")
"""Per-stratum counts of patients evaluable for toxicity, recorded as not evaluable, and without a
toxicity status (not evaluable for safety yet): closed, the DMC's. Not open: a patient becomes
safety-evaluable at the end of the DLT window or at a DLT, so with the enrolment dates the sponsor knows,
these counts give early DLTs away."""
OPEN_ACCRUAL_FIELDS = ("enrolled", "response_evaluable", "not_evaluable", "pending", "pfs_patients")
"""Per-stratum counts the sponsor's open view shows: accrual and data quality, nothing of efficacy and
nothing of safety (no toxicity count, nor the safety-evaluable counts that reveal them)."""


def look_seed(protocol_seed: int | None, trial_id: str, look_number: int) -> int:
    """The seed of a look, fixed by the protocol's seed (None: none set), the trial and the look number."""
    digest = hashlib.sha256(canonical_json([protocol_seed, trial_id, look_number]).encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") % (MAX_SEED + 1)


_DIGITS = re.compile(r"([0-9]+)")
MAX_LISTED = 10
"""Patient ids listed in a sentence (ties, orphans) before "and k more"."""


def natural_key(pid: str) -> tuple:
    """A patient id's natural order: runs of ASCII digits compare as numbers ("P9" before "P10");
    the id itself breaks the remaining ties ("P09" and "P9"), so the order is total."""
    parts = tuple((0, int(t), t) if t.isdigit() else (1, t) for t in _DIGITS.split(pid) if t)
    return (parts, pid)


def _enrolment_key(patient: Mapping[str, Any]) -> tuple:
    return (patient["enrolled_on"], natural_key(patient["id"]))


def _listed(ids: list[str]) -> str:
    shown = ", ".join(repr(i) for i in ids[:MAX_LISTED])
    return shown + (f" and {len(ids) - MAX_LISTED} more" if len(ids) > MAX_LISTED else "")


def _evaluable(patients: list[Mapping[str, Any]], not_evaluable: str) -> list[Mapping[str, Any]]:
    """A stratum's evaluable patients: responders and non-responders, and not-evaluable ones when the
    protocol counts them as non-responders."""
    counted = {"responder", "non-responder"} | ({"not-evaluable"} if not_evaluable == "non-responder" else set())
    return [p for p in patients if p["response"] in counted]


def _simon_order(patients: list[Mapping[str, Any]], not_evaluable: str, n1: int) -> tuple[list[str | None], str | None]:
    """The outcomes Simon counts, in enrolment order (pending ones as None; not-evaluable ones left out,
    or as non-responders when the protocol says so), and a sentence when a same-day tie crosses the
    n1 boundary (None otherwise)."""
    ordered = sorted((p for p in patients if p["response"] != "not-evaluable" or not_evaluable == "non-responder"),
                     key=_enrolment_key)
    outcomes = [None if p["response"] is None else "responder" if p["response"] == "responder" else "non-responder"
                for p in ordered]
    tie = None
    if len(ordered) > n1 and ordered[n1 - 1]["enrolled_on"] == ordered[n1]["enrolled_on"]:
        day = ordered[n1]["enrolled_on"]
        same_day = [i for i, p in enumerate(ordered) if p["enrolled_on"] == day]
        inside = [ordered[i] for i in same_day if i < n1]
        outside = [ordered[i] for i in same_day if i >= n1]
        differ = len({outcomes[i] for i in same_day}) > 1
        tie = (f"Stage-1 membership is ambiguous: {len(inside) + len(outside)} patients enrolled on {day} straddle "
               f"the n1 = {n1} boundary; by id order {_listed([p['id'] for p in inside])} are in stage 1 and "
               f"{_listed([p['id'] for p in outside])} are not"
               + ("; another order of these patients could change stage 1's count." if differ
                  else "; their responses so far are alike, so stage 1's count does not depend on the order yet."))
    return outcomes, tie


def _schedule(looks: tuple[int, ...], n: int) -> dict[str, Any]:
    """Where n evaluable patients stand against the planned looks (cumulative evaluable patients)."""
    reached = [k for k in looks if k <= n]
    later = [k for k in looks if k > n]
    return {"planned_looks": list(looks), "n": n, "reached": reached[-1] if reached else None,
            "next": later[0] if later else None, "on_schedule": n in looks}


def _orphans(protocol: ProtocolSpec, cut_document: Mapping[str, Any]) -> None:
    """Refuse a cut with patients of strata the protocol version does not declare."""
    declared = protocol.stratum_names
    orphans: dict[str, list[str]] = {}
    for patient in cut_document["patients"]:
        if patient["stratum"] not in declared:
            orphans.setdefault(patient["stratum"], []).append(patient["id"])
    if orphans:
        check = Checker()
        listed = "; ".join(f"stratum {name!r}: {_listed(ids)}" for name, ids in orphans.items())
        count = sum(len(ids) for ids in orphans.values())
        check.add("data_cut", f"{count} patients of the cut belong to strata this protocol version does not "
                  f"declare ({listed}); declared strata: {', '.join(declared)}. Analysing without them would drop "
                  "them silently: amend the protocol to declare their strata, or store a cut that corrects them")
        check.raise_if_any()


def _accrual(protocol: ProtocolSpec, by_stratum: dict[str, list[Mapping[str, Any]]]) -> dict[str, dict[str, int]]:
    out = {}
    for name in protocol.stratum_names:
        patients = by_stratum.get(name, [])
        responses = [p["response"] for p in patients]
        pfs = [p["pfs"] for p in patients if p["pfs"] is not None]
        out[name] = {
            "enrolled": len(patients),
            "response_evaluable": sum(r in ("responder", "non-responder") for r in responses),
            "not_evaluable": responses.count("not-evaluable"),
            "pending": responses.count(None),
            "pfs_patients": len(pfs),
            "pfs_events": sum(bool(p["event"]) for p in pfs),
            **_safety_counts(patients),
        }
    return out


def _safety_counts(patients: list[Mapping[str, Any]]) -> dict[str, int]:
    statuses = [p.get("toxicity") for p in patients]
    return {"safety_evaluable": sum(t is not None and t["evaluable"] for t in statuses),
            "safety_not_evaluable": sum(t is not None and not t["evaluable"] for t in statuses),
            "safety_unrecorded": statuses.count(None)}


def _safety_group(patients: list[Mapping[str, Any]], looks: tuple[int, ...]) -> dict[str, Any]:
    """A monitored group's (a stratum's, or the pooled strata's) safety data as the calibrated rule reads
    it: the safety-evaluable patients in enrolment order (``_enrolment_key``, as Simon's), n, x, and per
    planned look n_j ≤ n the DLTs among the first n_j (``toxicities_at_looks``) and how many patients
    without a toxicity status were enrolled before the n_j-th (``pending_before``: once recorded, they
    may count among the first n_j)."""
    evaluable = sorted((p for p in patients if (p.get("toxicity") or {}).get("evaluable")), key=_enrolment_key)
    pending = [_enrolment_key(p) for p in patients if p.get("toxicity") is None]
    dlt = [bool(p["toxicity"]["dose_limiting"]) for p in evaluable]
    passed = [k for k in looks if k <= len(evaluable)]
    return {"evaluable": len(evaluable), "toxicities": sum(dlt), "toxicities_at_looks": [sum(dlt[:k]) for k in passed],
            "pending_before": [sum(key < _enrolment_key(evaluable[k - 1]) for key in pending) for k in passed],
            "unrecorded": len(pending), "enrolled": len(patients),
            "from_adam": any("source" in p for p in patients)}


def _safety_caveats(name: str, group: Mapping[str, Any], looks: tuple[int, ...]) -> list[dict[str, Any]]:
    """A group's provisional looks (``safety-look-provisional``) and, when none of its patients has a
    toxicity status, that the rule cannot act (``safety-unrecorded``; ADaM cuts carry none)."""
    stratum = None if name == POOLED else name
    out = []
    for j, pending in enumerate(group["pending_before"]):
        if pending:
            out.append(caveat("safety-look-provisional", f"'{name}': safety look {j + 1} (n = {looks[j]}) is provisional: "
                              f"{pending} patient{'s' if pending > 1 else ''} enrolled before its evaluable patient number "
                              f"{looks[j]} {'have' if pending > 1 else 'has'} no toxicity status yet; once recorded "
                              f"{'they' if pending > 1 else 'it'} may count among its first {looks[j]}", stratum))
    if group["enrolled"] and group["unrecorded"] == group["enrolled"]:
        adam = (" This cut comes from ADaM, which carries no toxicity (ADAE is not mapped): give toxicity statuses "
                "in a JSON cut.") if group["from_adam"] else ""
        out.append(caveat("safety-unrecorded", f"'{name}': none of its {group['enrolled']} patients has a toxicity "
                          f"status: the safety rule cannot act on them.{adam}", stratum))
    return out


def _safety(protocol: ProtocolSpec, by_stratum: Mapping[str, list[Mapping[str, Any]]],
            notes: list[str]) -> dict[str, Any] | None:
    """The safety analysis of the monitored strata (``analyse_safety``, with the protocol's rule applied
    at every planned look so far to the first n_j evaluable patients by enrolment), the calibrated
    constant and P(stop | p0) beside its stop counts (and, per stratum with several strata, P(some
    stratum stops | all at p0)); None without safety monitoring (and a note when the cut holds toxicity
    statuses nobody analyses)."""
    plan = protocol.safety
    unmonitored = [name for name in protocol.stratum_names if plan is None or name not in plan.strata]
    for name in unmonitored:
        recorded = sum(p.get("toxicity") is not None for p in by_stratum.get(name, []))
        if recorded:
            why = "declares no safety monitoring" if plan is None else "does not monitor the stratum for safety"
            notes.append(f"{name}: {recorded} patients' toxicity statuses are not analysed: this protocol version {why}")
    if plan is None:
        return None
    design = plan.design
    prior = {"a": design.prior_a, "b": design.prior_b}
    groups = {name: _safety_group(by_stratum.get(name, []), design.looks) for name in plan.strata}
    strata = [{"name": name, "evaluable": g["evaluable"], "toxicities": g["toxicities"],
               "toxicities_at_looks": g["toxicities_at_looks"]} for name, g in groups.items()]
    request: dict[str, Any] = {
        "p0": design.p0, "prior": prior, "strata": strata, "pooled": plan.scope == "pooled",
        "design": {"looks": list(design.looks), "alpha": design.alpha, "method": design.method, "prior": prior}}
    if plan.scope == "pooled":  # the pooled group decides: its caveats, not the strata's
        groups = {POOLED: _safety_group([p for name in plan.strata for p in by_stratum.get(name, [])], design.looks)}
        request["pooled_toxicities_at_looks"] = groups[POOLED]["toxicities_at_looks"]
    result = analyse_safety(SafetyAnalysisSpec.from_mapping(request))
    calibrated = safety_boundaries(design, rates=[design.p0])
    prob_stop = calibrated["calibration"]["prob_stop_null"]
    result["design"].update(constant=calibrated["calibration"]["constant"], prob_stop_null=prob_stop)
    if plan.scope == "per-stratum" and len(plan.strata) > 1:
        result["design"]["prob_any_stratum_stops_null"] = prob_any_stops(prob_stop, len(plan.strata))
    result["warnings"] += calibrated["warnings"]
    result["warnings"] += [w for name, group in groups.items() for w in _safety_caveats(name, group, design.looks)]
    if plan.scope == "pooled":  # the rule watches the pooled counts: the strata's rows describe, they do not decide
        for row in result["strata"]:
            row.update(looks_applied=None, first_crossing=None, next_look=None, boundary=None, crossed=None,
                       decision=None)
    return {"scope": plan.scope, "monitored": list(plan.strata), **result}


def _safety_reason(row: Mapping[str, Any], safety: Mapping[str, Any]) -> str:
    """Why the safety decision of ``row`` (a stratum's, or the pooled one) is what it is: each planned
    look applied so far, on its first n_j evaluable patients, and the next one."""
    where = f"pooled over {', '.join(safety['monitored'])}: " if safety["scope"] == "pooled" else ""
    counts = f"{where}{row['toxicities']} of {row['evaluable']} evaluable patients had a dose-limiting toxicity"
    following = row["next_look"]
    upcoming = "" if following is None else f"n = {following['n']}" + (
        "" if following["stop_at"] is None else f", stop at ≥ {following['stop_at']}")

    if not row["looks_applied"]:
        return f"{counts}; before the first safety look ({upcoming})"
    text = "; ".join([counts, *(f"safety {look_text(look)}" for look in row["looks_applied"])])
    if row["evaluable"] not in safety["design"]["looks"]:
        text += "; n = " + str(row["evaluable"]) + " is not a planned safety look" + (
            f" (next: {upcoming})" if upcoming else " (after the last)")
    elif upcoming:
        text += f"; next safety look: {upcoming}"
    return text


def _safety_decision(entry: Mapping[str, Any], safety: Mapping[str, Any], notes: list[str]) -> dict[str, Any]:
    """A stratum's safety decision beside its efficacy decisions: a crossed boundary overrides go and
    continue with "stop for safety" (a no-go stops anyway), both stated."""
    name = entry["stratum"]
    efficacy = {endpoint: (entry.get(endpoint) or {}).get("decision") for endpoint in ("response", "pfs")}
    if name not in safety["monitored"]:
        return {"decision": None, "scope": None, "crossed": None, "overrides_efficacy": False, "efficacy": efficacy,
                "reason": f"not monitored for safety (monitored: {', '.join(safety['monitored'])})"}
    row = safety["pooled"] if safety["scope"] == "pooled" else next(r for r in safety["strata"] if r["name"] == name)
    reason = _safety_reason(row, safety)
    def said(decisions: Mapping[str, str]) -> str:
        return ", ".join(f"{'PFS' if k == 'pfs' else k} {v!r}" for k, v in decisions.items())

    stated = said({k: v for k, v in efficacy.items() if v is not None})
    overridden = {k: v for k, v in efficacy.items() if v in ("go", "continue")}
    stopping = {k: v for k, v in efficacy.items() if v == "no-go"}
    if row["crossed"]:
        reason += f": stop for safety (boundary crossed at safety look {row['first_crossing']['look']}"
        if stopping:
            reason += f"; {said(stopping)} {'stop' if len(stopping) > 1 else 'stops'} the stratum too"
        reason += ")"
        if overridden:
            reason += f", overriding the efficacy decision{'s' if len(overridden) > 1 else ''} {said(overridden)}"
        if safety["scope"] == "pooled":
            reason += "; a pooled crossing stops every monitored stratum"
        notes.append(f"{name}: {reason}")
    else:
        reason += ": continue" + (f"; the efficacy decisions stand ({stated})" if stated else "")
    return {"decision": row["decision"], "scope": safety["scope"], "crossed": row["crossed"],
            "overrides_efficacy": bool(row["crossed"] and overridden), "efficacy": efficacy, "reason": reason}


def _response(protocol: ProtocolSpec, plan_doc: Mapping[str, Any], by_stratum, seed: int,
              notes: list[str]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The response analysis of the cut, and each stratum's Simon status from enrolment order."""
    plan = protocol.response
    rows, order = [], {}
    for stratum in plan.strata:
        evaluable = _evaluable(by_stratum.get(stratum.name, []), plan.not_evaluable)
        responders = sum(p["response"] == "responder" for p in evaluable)
        planned = stratum.n_planned
        if len(evaluable) > planned:
            notes.append(f"{stratum.name}: {len(evaluable)} evaluable patients exceed the response plan's "
                         f"n_planned = {planned}: analysed with n_planned = {len(evaluable)}")
            planned = len(evaluable)
        rows.append({"name": stratum.name, "n": len(evaluable), "responders": responders, "n_planned": planned})
        if plan.simon is not None:
            order[stratum.name] = _simon_order(by_stratum.get(stratum.name, []), plan.not_evaluable, plan.simon.n1)
    request = {
        "p0": plan_doc["p0"], "p1": plan_doc["p1"], "strata": rows, "model": plan_doc["model"],
        "decision": plan_doc["decision"], "simon": plan_doc["simon"], "mcmc": plan_doc["mcmc"], "seed": seed,
    }
    if not plan.model.closed_form:
        request["engine"] = plan_doc["engine"]
    result = analyse_response(ResponseAnalysisSpec.from_mapping(request))
    result["boundaries_next"] = _boundaries_next(plan, result, notes)
    simon = {}
    looks = {s.name: s.looks for s in plan.strata}
    for entry in result["strata"]:
        entry["schedule"] = _schedule(looks[entry["name"]], entry["n"])
        if plan.simon is not None:
            outcomes, tie = order[entry["name"]]
            entry["simon"] = simon_status_in_order(plan.simon, outcomes, boundary_tie=tie)
            simon[entry["name"]] = entry["simon"]
            if tie:
                notes.append(f"{entry['name']}: {tie}")
    return result, simon


def _boundaries_next(plan: Any, result: Mapping[str, Any], notes: list[str]) -> list[dict[str, Any]] | None:
    """What each stratum needs at its next planned look, given every stratum's data now
    (``designs.boundaries.next_look``); None, with a note saying why, when the rule's tables are too
    large to compute with a look."""
    design, _ = response_design(plan)
    try:
        return next_look(design, observed_counts(result))
    except InvalidInputError as exc:
        notes.append(f"the boundaries of the next look were not computed: {exc}")
        return None


def _response_decision(row: Mapping[str, Any], simon: Mapping[str, Any] | None, notes: list[str]) -> dict[str, Any]:
    """A stratum's response decision under the protocol's look schedule: no go/no-go before the first
    planned look (the analysis's own decision kept as ``analysis_decision``); off the schedule, the
    decision stands with a note saying so."""
    schedule = row["schedule"]
    looks = ", ".join(str(k) for k in schedule["planned_looks"])
    where = f"n = {row['n']}; planned looks {looks}"
    entry: dict[str, Any] = {"decision": row["decision"], "simon": simon["status"] if simon else None,
                             "schedule": schedule}
    if schedule["reached"] is None:
        entry.update(decision="continue", reason="before the first planned look", analysis_decision=row["decision"])
        notes.append(f"{row['name']}: before the first planned look ({where}): no go/no-go; the analysis alone "
                     f"would say {row['decision']!r}")
    elif not schedule["on_schedule"]:
        entry["note"] = f"off the planned schedule ({where})"
        notes.append(f"{row['name']}: the response decision is taken off the planned schedule ({where})")
    return entry


def _pfs(protocol: ProtocolSpec, plan_doc: Mapping[str, Any], by_stratum, seed: int,
         notes: list[str]) -> dict[str, Any] | None:
    """The PFS analysis of the strata with PFS data (with the protocol's n_planned); None without any."""
    patients, strata = [], []
    for stratum in protocol.pfs.strata:
        rows = [p for p in by_stratum.get(stratum.name, []) if p["pfs"] is not None]
        if not rows:
            notes.append(f"{stratum.name}: no PFS data yet; not analysed")
            continue
        planned = stratum.n_planned
        if len(rows) > planned:
            notes.append(f"{stratum.name}: {len(rows)} patients with PFS data exceed the PFS plan's n_planned = "
                         f"{planned}: analysed with n_planned = {len(rows)}")
            planned = len(rows)
        strata.append({"name": stratum.name, "n_planned": planned})
        patients.extend({"id": p["id"], "stratum": stratum.name, "time_months": p["pfs"]["time_months"],
                         "event": p["pfs"]["event"]} for p in rows)
    if not patients:
        return None
    request = {
        "patients": patients, "strata": strata, "landmark_months": plan_doc["landmark_months"],
        "benchmark_landmark_pfs": plan_doc["benchmark_landmark_pfs"],
        "target_landmark_pfs": plan_doc["target_landmark_pfs"], "model": plan_doc["model"],
        "decision": plan_doc["decision"], "engine": plan_doc["engine"], "mcmc": plan_doc["mcmc"], "seed": seed,
    }
    return analyse_pfs(PFSAnalysisSpec.from_mapping(request))


def _unplanned(protocol: ProtocolSpec, by_stratum: Mapping[str, list[Mapping[str, Any]]]) -> list[str]:
    """Notes on data the protocol version does not analyse: responses or PFS recorded for a declared
    stratum whose endpoint plan (no longer) covers it."""
    response_strata = {s.name for s in protocol.response.strata} if protocol.response else set()
    pfs_strata = {s.name for s in protocol.pfs.strata} if protocol.pfs else set()
    notes = []
    for name in protocol.stratum_names:
        patients = by_stratum.get(name, [])
        responses = [p["id"] for p in patients if p["response"] is not None]
        if responses and name not in response_strata:
            notes.append(f"{name}: {len(responses)} patients' responses are not analysed: this protocol version "
                         "has no response plan for the stratum")
        pfs = [p["id"] for p in patients if p["pfs"] is not None]
        if pfs and name not in pfs_strata:
            notes.append(f"{name}: {len(pfs)} patients' PFS data are not analysed: this protocol version has no "
                         "PFS plan for the stratum")
    return notes


def run_look(protocol_document: dict, cut_document: dict, *, look_number: int, seed: int,
             context: dict) -> dict:
    """The look document of ``protocol_document`` (a stored, normalised protocol version) on
    ``cut_document`` (a stored canonical cut), with ``seed`` (``look_seed``) and ``context``
    (``CONTEXT_FIELDS``). Same inputs, same numbers."""
    protocol = ProtocolSpec.from_mapping(protocol_document)
    _orphans(protocol, cut_document)
    by_stratum: dict[str, list[Mapping[str, Any]]] = {}
    for patient in cut_document["patients"]:
        by_stratum.setdefault(patient["stratum"], []).append(patient)
    notes: list[str] = _unplanned(protocol, by_stratum)
    response, simon = (None, {})
    if protocol.response is not None:
        response, simon = _response(protocol, protocol.document["response"], by_stratum, seed, notes)
    pfs = None
    if protocol.pfs is not None:
        pfs = _pfs(protocol, protocol.document["pfs"], by_stratum, seed, notes)
    response_rows = {row["name"]: row for row in response["strata"]} if response else {}
    pfs_rows = {row["name"]: row for row in pfs["strata"]} if pfs else {}
    pfs_planned = {s.name for s in protocol.pfs.strata} if protocol.pfs else set()
    decisions = []
    for name in protocol.stratum_names:
        entry: dict[str, Any] = {"stratum": name, "response": None, "pfs": None}
        if name in response_rows:
            entry["response"] = _response_decision(response_rows[name], simon.get(name), notes)
        if name in pfs_rows:
            entry["pfs"] = {"decision": pfs_rows[name]["decision"]}
        elif name in pfs_planned:
            entry["pfs"] = {"decision": None, "reason": "no PFS data yet"}
        decisions.append(entry)
    safety = _safety(protocol, by_stratum, notes)
    if safety is not None:
        for entry in decisions:
            entry["safety"] = _safety_decision(entry, safety, notes)
    warnings = [*(response["warnings"] if response else []), *(pfs["warnings"] if pfs else []),
                *(safety["warnings"] if safety else [])]
    return {
        "trial": context.get("trial", protocol.id),
        "look": look_number,
        "protocol_version": context.get("protocol_version"),
        "data_cut": context.get("data_cut"),
        "amendments_since_previous_look": list(context.get("amendments_since_previous_look") or []),
        "accrual": _accrual(protocol, by_stratum),
        "response": response,
        "pfs": pfs,
        "safety": safety,
        "decisions": decisions,
        "warnings": warnings,
        "notes": notes,
        "run": {"actor": context.get("actor"), "at": context.get("at")},
        "provenance": {
            "software": software_versions(),
            "seed": seed,
            "protocol_sha256": input_hash(protocol_document),
            "data_cut_sha256": input_hash(cut_document),
        },
    }


def open_view(look: Mapping[str, Any]) -> dict[str, Any]:
    """The sponsor's open report of a look: which look, on which cut and protocol version, and accrual
    and data-quality counts per stratum; nothing of efficacy (no responders, events, posteriors,
    decisions or warnings, which name strata and their data)."""
    return {
        "trial": look["trial"],
        "look": look["look"],
        "protocol_version": look["protocol_version"],
        "data_cut": look["data_cut"],
        "amendments_since_previous_look": look["amendments_since_previous_look"],
        "accrual": {name: {k: counts[k] for k in OPEN_ACCRUAL_FIELDS if k in counts}  # a look stored before a count existed
                    for name, counts in look["accrual"].items()},
        "run": look.get("run"),
    }


_SOFTWARE = re.compile(r"(^|/)provenance/software(/|$)")
"""Software versions of a run, at any depth: reported apart, not as differences."""
_TIMING = re.compile(r"(^|/)attempts/\d+/seconds$")
"""A sampler attempt's wall time (``designs.engines.pymc.policy``): measured, never reproducible."""


ADDED_FIELDS = re.compile(
    r"^(response/strata/\d+/(posterior_density|independent_posterior)|response/(tau_density|boundaries_next)"
    r"|pfs/strata/\d+/posterior/landmark_pfs/density|pfs/between_stratum_spread/density"
    r"|safety|decisions/\d+/safety|accrual/.+/(" + "|".join(SAFETY_ACCRUAL_FIELDS) + ")"
    # Results that say what they are (issue 14): every interval's level, τ's scale, the names of the
    # sampler's parameters.
    r"|.*/ci_level|response/tau/(scale|description)|pfs/between_stratum_spread/scale|.*/diagnostics/(.+/)?parameters)$"
)
"""What later versions of gonogo record in a look besides what earlier ones did: a rerun holding them
where the stored look does not is an addition, not a difference (safety monitoring: the ``safety``
section, each decision's ``safety`` and the accrual's safety counts, but only when the look's protocol
version monitors no safety: see ``_SAFETY_FIELDS``). Any other key only the rerun has (a stratum, a
warning, a decision) is a difference; a warning of a code in ``ADDED_CAVEATS`` is an addition."""
_SAFETY_FIELDS = re.compile(r"^(safety|decisions/\d+/safety|accrual/.+/(" + "|".join(SAFETY_ACCRUAL_FIELDS) + "))$")
"""The safety paths of ``ADDED_FIELDS``. A look stored before safety monitoring existed was run on a
version without a ``safety`` section (it was an unknown field), so its rerun has ``safety: null``; when
the rerun's ``safety`` is not null the version monitors safety, and a stored look lacking these paths
has lost them: differences, never additions."""


ADDED_CAVEATS = frozenset({"simon-design-misfit", "decision-near-threshold"})
"""Caveat codes later versions of gonogo give besides those earlier ones did (issue 14): in a rerun's
``warnings`` where the stored look has none of that code, an addition, not a difference."""


def _added_caveats(stored: list[Any], rerun: list[Any]) -> list[str] | None:
    """The codes of the warnings a rerun adds to the stored ones, when that is all that differs
    (the stored warnings, in order, and only ``ADDED_CAVEATS`` besides), else None."""
    stored_codes = {w.get("code") for w in stored if isinstance(w, Mapping)}
    kept = [w for w in rerun if not (isinstance(w, Mapping) and w.get("code") in ADDED_CAVEATS - stored_codes)]
    if kept != stored or len(kept) == len(rerun):
        return None
    return [w["code"] for w in rerun if w not in kept]


def _differences(stored: Any, rerun: Any, path: str, out: list[dict[str, Any]], additions: list[str],
                 monitored: bool = False) -> None:
    if (path == "warnings" or path.endswith("/warnings")) and isinstance(stored, list) and isinstance(rerun, list) \
            and (codes := _added_caveats(stored, rerun)) is not None:
        additions.extend(f"{path}/{code}" for code in codes)
        return
    if isinstance(stored, Mapping) and isinstance(rerun, Mapping):
        for key in sorted(set(stored) | set(rerun), key=str):
            where = f"{path}/{key}" if path else str(key)
            if key not in stored and ADDED_FIELDS.match(where) and not (monitored and _SAFETY_FIELDS.match(where)):
                additions.append(where)
            elif key not in stored:
                out.append({"path": where, "stored": "<absent>", "rerun": rerun[key]})
            elif key not in rerun:
                out.append({"path": where, "stored": stored[key], "rerun": "<absent>"})
            else:
                _differences(stored[key], rerun[key], where, out, additions, monitored)
    elif isinstance(stored, list) and isinstance(rerun, list) and len(stored) == len(rerun):
        for i, (a, b) in enumerate(zip(stored, rerun)):
            _differences(a, b, f"{path}/{i}", out, additions, monitored)
    elif stored != rerun or isinstance(stored, bool) != isinstance(rerun, bool):
        out.append({"path": path, "stored": stored, "rerun": rerun})


def compare(stored: Mapping[str, Any], rerun: Mapping[str, Any]) -> dict[str, Any]:
    """Whether a rerun reproduces a stored look: every JSON path where they differ (bitwise: numbers
    compare exactly), with the software versions of both runs reported apart (``software``, whether or
    not they differ), the MCMC attempts' wall times apart (``timings``: measured, never the same), and
    the run's who and when (``run``) not compared, as ``not_compared`` says.

    The fields later software records besides (``ADDED_FIELDS``: the posterior densities, the next
    look's boundaries), where the rerun has them and the stored look does not, are listed under
    ``additions`` (JSON paths), not as differences: every number the stored look holds can still be
    reproduced. The safety fields count as additions only when the rerun's ``safety`` is null (the
    protocol version monitors no safety): on a monitored version a stored look without them lost them.
    Any other key that only one of the two has is a difference."""
    # As stored: through JSON (a tuple is a list there), so that only values can differ.
    stored, rerun = json.loads(canonical_json(stored)), json.loads(canonical_json(rerun))
    found: list[dict[str, Any]] = []
    additions: list[str] = []
    _differences({k: v for k, v in stored.items() if k != "run"}, {k: v for k, v in rerun.items() if k != "run"},
                 "", found, additions, rerun.get("safety") is not None)
    differences = [d for d in found if not _SOFTWARE.search(d["path"]) and not _TIMING.search(d["path"])]
    return {
        "identical": not differences,
        "differences": differences,
        "additions": additions,
        "timings": [d for d in found if _TIMING.search(d["path"])],
        "software": {"stored": stored.get("provenance", {}).get("software"),
                     "rerun": rerun.get("provenance", {}).get("software")},
        "not_compared": ["run (who ran the look and when)", "provenance/software (reported under software)",
                         "MCMC attempts' wall seconds (reported under timings)"],
    }
