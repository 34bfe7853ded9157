"""The report's tables as data: rows of formatted strings read from a report bundle, never recomputed.

Every function takes the bundle (``designs.reports`` contract: report, generated, trial, look,
protocol, cut, history, design) and returns a ``Table`` or a list of sentences; a renderer (HTML
today) only lays them out, so a new format is a new renderer over the same tables.

Numbers are formatted once, here: probabilities with 3 decimals (">0.999" and "<0.001" at the ends),
other quantities with 3 significant decimals, counts as integers, and "–" for what the look did not
record (never "nan"). A piece the bundle lacks (a look stored before a field existed, a protocol
without a PFS plan, no stored design) gives an empty table or a sentence saying so, never an error.

Open reports call only ``cover``, ``accrual_table``, ``data_quality`` (without any safety count: the open
view has none, since safety-evaluable counts with enrolment dates tell early DLTs), ``open_history``, ``hashes``,
``software`` and ``reproduce``, on the open subset of the bundle (``render.open_subset``), which holds
no efficacy field at all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from designs.registry.look import SAFETY_ACCRUAL_FIELDS
from designs.safety.analysis import look_text

MISSING = "–"
"""What a cell shows when the look did not record the value."""

MCMC_ENGINES = ("mcmc", "pymc", "nutpie")
SAFETY_COUNTS = SAFETY_ACCRUAL_FIELDS
"""The look's per-stratum safety data-quality counts."""
"""Engine names whose summaries carry Monte Carlo error."""


@dataclass(frozen=True)
class Table:
    """A caption, column headings and rows of formatted cells; ``notes`` print under it."""

    caption: str
    columns: tuple[str, ...]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------------
# Formatting


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def prob(value: Any) -> str:
    """A probability: 3 decimals; ">0.999" / "<0.001" near the ends (exactly 0 or 1 stay "0" / "1")."""
    if not _finite(value):
        return MISSING
    if value == 1:
        return "1"
    if value == 0:
        return "0"
    if value > 0.999:
        return ">0.999"
    if value < 0.001:
        return "<0.001"
    return f"{value:.3f}"


def num(value: Any, decimals: int = 3) -> str:
    """A real number with ``decimals`` decimals; "–" when missing or not finite."""
    return f"{value:.{decimals}f}" if _finite(value) else MISSING


def count(value: Any) -> str:
    return str(int(value)) if _finite(value) else MISSING


def interval(bounds: Any, formatter=num) -> str:
    """A two-sided interval "[lo, hi]"; "–" when missing."""
    if not isinstance(bounds, Sequence) or len(bounds) != 2 or not all(_finite(b) for b in bounds):
        return MISSING
    return f"[{formatter(bounds[0])}, {formatter(bounds[1])}]"


def text(value: Any) -> str:
    """Any stored value as the protocol states it ("–" when missing)."""
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):  # a parameter as the protocol states it: 0.15, 4
        return f"{value:g}" if math.isfinite(value) else MISSING
    return str(value)


def flatten(value: Any, prefix: str = "") -> list[list[str]]:
    """Rows ``[path, value]`` of a nested JSON value (model priors, sampler settings), in key order."""
    if isinstance(value, Mapping):
        rows: list[list[str]] = []
        for key in sorted(value, key=str):
            rows.extend(flatten(value[key], f"{prefix}.{key}" if prefix else str(key)))
        return rows
    if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value):
        rows = []
        for i, item in enumerate(value):
            rows.extend(flatten(item, f"{prefix}[{i}]"))
        return rows
    if isinstance(value, list):
        return [[prefix, ", ".join(text(v) for v in value) or MISSING]]
    if isinstance(value, float) and math.isfinite(value):
        return [[prefix, f"{value:.6g}"]]
    return [[prefix, text(value)]]


# --------------------------------------------------------------------------------------------------
# Reading the bundle


def _get(value: Any, *path: Any, default: Any = None) -> Any:
    for key in path:
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and -len(value) <= key < len(value):
            value = value[key]
        else:
            return default
    return value


def look_result(bundle: Mapping[str, Any]) -> Mapping[str, Any]:
    return _get(bundle, "look", "result", default={}) or {}


def strata_names(bundle: Mapping[str, Any]) -> list[str]:
    """The trial's strata in protocol order (from the trial, else the look's accrual)."""
    names = [s["name"] for s in _get(bundle, "trial", "strata", default=[]) or [] if "name" in s]
    return names or list(_get(bundle, "look", "result", "accrual", default={}) or {})


def _by_name(rows: Any) -> dict[str, Mapping[str, Any]]:
    return {r["name"]: r for r in rows or [] if isinstance(r, Mapping) and "name" in r}


def response_strata(bundle: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return _by_name(_get(look_result(bundle), "response", "strata"))


def pfs_strata(bundle: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    return _by_name(_get(look_result(bundle), "pfs", "strata"))


def _protocol(bundle: Mapping[str, Any]) -> Mapping[str, Any]:
    return _get(bundle, "protocol", "protocol", default={}) or {}


def _planned(bundle: Mapping[str, Any], endpoint: str) -> dict[str, Any]:
    return {s["name"]: s.get("n_planned") for s in _get(_protocol(bundle), endpoint, "strata", default=[]) or []}


# --------------------------------------------------------------------------------------------------
# Cover, accrual, data quality, history: the open report's tables (read no efficacy field)


def _safety_plan_text(plan: Any) -> str:
    if not isinstance(plan, Mapping):
        return "none declared"
    looks = ", ".join(str(n) for n in plan.get("looks") or [])
    over = ", ".join(plan.get("strata") or [])
    scope = f"pooled over {over}" if plan.get("scope") == "pooled" else f"each of {over}"
    return f"looks at {looks} safety-evaluable patients, {scope}"


def cover(bundle: Mapping[str, Any]) -> Table:
    """Trial, look, data cut (and the cut it corrects, with the reason: the closed report only, as the open
    bundle drops both), protocol version, the safety monitoring plan (when, and over which strata: no result),
    amendments since the previous look, who ran it and when."""
    trial, look, cut, protocol, generated = (bundle.get(k) or {} for k in ("trial", "look", "cut", "protocol", "generated"))
    result = look_result(bundle)
    run = result.get("run") or {}
    amendments = result.get("amendments_since_previous_look") or []
    amended = "; ".join(
        f"version {a.get('version', MISSING)}" + (f" ({a['reason']})" if a.get("reason") else "") for a in amendments
    ) or "none"
    rows = [
        ["Trial", f"{text(trial.get('title'))} ({text(trial.get('id'))})"],
        ["Strata", ", ".join(strata_names(bundle)) or MISSING],
        ["Look", text(look.get("look"))],
        ["Data cut", f"{text(cut.get('number'))} (cut-off {text(cut.get('cutoff_date'))}, {text(cut.get('n_patients'))} patients)"
         + (f"; a correction of cut {text(cut['supersedes'])}: {text(cut.get('reason'))}" if cut.get("supersedes") else "")],
        ["Protocol version", text(protocol.get("version"))],
        ["Safety monitoring", _safety_plan_text(_protocol(bundle).get("safety"))],
        ["Amendments since the previous look", amended],
        ["Look run by", f"{text(run.get('actor') or look.get('created_by'))} at {text(run.get('at') or look.get('created_at'))}"],
        ["Report generated by", f"{text(generated.get('by'))} at {text(generated.get('at'))}"],
    ]
    return Table("The look", ("", ""), rows)


def accrual_table(bundle: Mapping[str, Any]) -> Table:
    """Per stratum: enrolled, response-evaluable, not evaluable, pending, PFS patients, against the plan
    (no PFS events: they are efficacy data, and the open report shows this table)."""
    accrual = _get(look_result(bundle), "accrual", default={}) or {}
    planned_response, planned_pfs = _planned(bundle, "response"), _planned(bundle, "pfs")
    columns = ["Stratum", "Enrolled", "Response evaluable", "Not evaluable", "Pending", "Planned (response)",
               "PFS patients", "Planned (PFS)"]
    rows = []
    for name in strata_names(bundle):
        counts = accrual.get(name) or {}
        rows.append([name, count(counts.get("enrolled")), count(counts.get("response_evaluable")),
                     count(counts.get("not_evaluable")), count(counts.get("pending")),
                     count(planned_response.get(name)), count(counts.get("pfs_patients")),
                     count(planned_pfs.get(name)) if planned_pfs else "no PFS plan"])
    notes = [] if accrual else ["This look recorded no accrual counts."]
    return Table("Accrual against the plan", tuple(columns), rows, notes)


def data_quality(bundle: Mapping[str, Any]) -> Table:
    """Not evaluable and pending patients per stratum (and, with safety monitoring, the patients evaluable
    for safety, recorded as not evaluable, and without a toxicity status), and the patients the data cut
    excluded, by reason."""
    accrual = _get(look_result(bundle), "accrual", default={}) or {}
    # Safety counts where the protocol monitors safety and the look recorded them (not before they existed);
    # never in the open report, whose accrual (``look.open_view``) has none.
    safety = bool(_protocol(bundle).get("safety")) and any("safety_unrecorded" in (c or {}) for c in accrual.values())
    fields = ("not_evaluable", "pending") + (SAFETY_COUNTS if safety else ())
    columns = ("Stratum", "Not evaluable", "Pending") + (("Safety evaluable", "Not evaluable for safety",
                                                          "No toxicity status") if safety else ())
    rows = [[name, *(count((accrual.get(name) or {}).get(k)) for k in fields)] for name in strata_names(bundle)]
    cut = bundle.get("cut") or {}
    if "excluded" in cut:  # the closed report: who was left out and why
        reasons: dict[str, list[str]] = {}
        for entry in cut.get("excluded") or []:
            reasons.setdefault(text(entry.get("reason")), []).append(text(entry.get("id")))
        notes = [f"Excluded from the data cut ({len(ids)}): {reason}: {', '.join(ids)}"
                 for reason, ids in sorted(reasons.items())] or ["The data cut excluded no patient."]
    elif isinstance(cut.get("excluded_count"), int):  # the open report: how many only
        left_out = cut["excluded_count"]
        notes = ["The data cut excluded no patient." if left_out == 0 else
                 f"The data cut excluded {left_out} patient{'' if left_out == 1 else 's'} of the datasets "
                 "(who and why: in the closed report)."]
    else:
        notes = ["The data cut's exclusions are not recorded in this report."]
    if safety:
        notes.append("A patient without a toxicity status is not evaluable for safety (yet): the safety analysis "
                     "counts evaluable patients only.")
    return Table("Data quality", columns, rows, notes)


def open_history(bundle: Mapping[str, Any]) -> Table:
    """Earlier looks: when, on which cut and protocol version, how many enrolled; no decision."""
    rows = []
    for entry in bundle.get("history") or []:
        result = entry.get("result") or {}
        cut = result.get("data_cut") or {}
        enrolled = sum(int(c.get("enrolled", 0)) for c in (result.get("accrual") or {}).values())
        rows.append([text(entry.get("look")), text(cut.get("number")), text(cut.get("cutoff_date")),
                     text(result.get("protocol_version")), str(enrolled), text(entry.get("created_at"))])
    notes = [] if rows else ["This is the trial's first look."]
    return Table("Earlier looks", ("Look", "Data cut", "Cut-off", "Protocol version", "Enrolled", "Run at"), rows, notes)


def hashes(bundle: Mapping[str, Any]) -> Table:
    """SHA-256 of the protocol version, the data cut and the stored look."""
    rows = [["Protocol version " + text(_get(bundle, "protocol", "version")), text(_get(bundle, "protocol", "sha256"))],
            ["Data cut " + text(_get(bundle, "cut", "number")), text(_get(bundle, "cut", "sha256"))],
            ["Look " + text(_get(bundle, "look", "look")) + (" (its open view)" if bundle.get("report") == "open" else ""),
             text(_get(bundle, "look", "sha256"))]]
    return Table("SHA-256 of the inputs and of the stored result", ("Document", "SHA-256"), rows)


def software(bundle: Mapping[str, Any]) -> Table:
    """Software versions: of the look's run and of the report's generation."""
    run = _get(look_result(bundle), "provenance", "software", default={}) or {}
    now = _get(bundle, "generated", "software", default={}) or {}
    if not run:  # an open view of the look keeps no provenance
        return Table("Software versions", ("Package", "Report generated with"), [[name, text(now[name])] for name in sorted(now)])
    rows = [[name, text(run.get(name)), text(now.get(name))] for name in sorted(set(run) | set(now))]
    return Table("Software versions", ("Package", "Look run with", "Report generated with"), rows)


def reproduce(bundle: Mapping[str, Any]) -> list[str]:
    """How to rerun the look and compare it with the stored one: the route and a curl line."""
    trial, number = text(_get(bundle, "trial", "id")), text(_get(bundle, "look", "look"))
    route = f"POST /v1/trials/{trial}/looks/{number}/reproduce"
    curl = (f'curl -X POST -H "Authorization: Bearer $GONOGO_TOKEN" '
            f'"$GONOGO_URL/v1/trials/{trial}/looks/{number}/reproduce"')
    return [route, curl]


# --------------------------------------------------------------------------------------------------
# The closed report's efficacy tables


def recommendation(bundle: Mapping[str, Any]) -> Table:
    """Per stratum: the Bayesian response decision and its criterion, Simon's status, the PFS decision.

    A safety column appears only when the look records a ``safety`` section: each stratum's safety
    decision ("stop for safety" overrides the efficacy decisions beside it; the notes say why)."""
    result = look_result(bundle)
    response, pfs = response_strata(bundle), pfs_strata(bundle)
    decisions = {d.get("stratum"): d for d in result.get("decisions") or []}
    safety = result.get("safety")
    columns = ["Stratum", "Response decision", "Criterion", "Simon", "PFS decision", "PFS criterion"]
    if safety is not None:
        columns.append("Safety")
    rows = []
    for name in strata_names(bundle):
        r, p, d = response.get(name) or {}, pfs.get(name) or {}, decisions.get(name) or {}
        simon = r.get("simon") or {}
        row = [
            name,
            text(r.get("decision", _get(d, "response", "decision"))),
            text(_get(r, "decision_criterion", "text")),
            text(simon.get("text")) if simon.get("text") else text(_get(d, "response", "simon")),
            text(p.get("decision", _get(d, "pfs", "decision"))) if (p or d.get("pfs")) else "no PFS analysis",
            text(_get(p, "decision_criterion", "text")),
        ]
        if safety is not None:
            row.append(_safety_cell(d.get("safety")))
        rows.append(row)
    notes = [note for note in result.get("notes") or [] if isinstance(note, str)]
    return Table("Recommendation per stratum", tuple(columns), rows, notes)


def _safety_cell(decision: Any) -> str:
    """A stratum's safety decision as the recommendation table shows it."""
    if not isinstance(decision, Mapping):
        return MISSING
    if decision.get("decision") is None:
        return "not monitored"
    return text(decision["decision"])


def _looks_cell(row: Mapping[str, Any]) -> str:
    """The planned safety looks applied so far, each on its first n_j evaluable patients: DLTs against the
    stop count. A look stored before the rule was applied this way shows its one boundary as it was."""
    applied = row.get("looks_applied")
    if applied is None:  # stored before review 13a: one boundary compared with every toxicity so far
        boundary = row.get("boundary")
        if not isinstance(boundary, Mapping):
            return "none yet"
        return (f"all DLTs so far against look {text(boundary.get('look'))} (n = {text(boundary.get('n'))}): "
                + ("no count stops" if boundary.get("stop_at") is None else f"stop at ≥ {text(boundary['stop_at'])}"))
    if not applied:
        return "before the first look"
    return "; ".join(look_text(look) for look in applied)


def safety_table(bundle: Mapping[str, Any]) -> Table:
    """Per monitored stratum (and pooled): evaluable patients, dose-limiting toxicities, the posterior of
    the toxicity rate (mean, 95% CrI, P(p_tox > p0)), every planned safety look applied so far on its first
    n_j evaluable patients, and the safety decision; the rule as calibrated in the notes."""
    safety = look_result(bundle).get("safety")
    if not isinstance(safety, Mapping):
        return Table("Safety", (), [], ["This look has no safety analysis (the protocol version monitors none)."])
    p0 = text(safety.get("p0"))
    columns = ("Stratum", "Evaluable", "DLTs", "Posterior mean", "95% CrI", f"P(p_tox > {p0})", "Safety looks applied",
               "Safety decision")
    pooled = safety.get("scope") == "pooled"
    rows = []
    for s in [*(safety.get("strata") or []), *([safety["pooled"]] if isinstance(safety.get("pooled"), Mapping) else [])]:
        decides = not pooled or s.get("name") == "pooled"
        rows.append([text(s.get("name")), count(s.get("evaluable")), count(s.get("toxicities")), num(s.get("posterior_mean")),
                     interval(s.get("ci95")), prob(s.get("prob_above_p0")),
                     _looks_cell(s) if decides else "(pooled)",
                     text(s.get("decision")) if decides else "(pooled)"])
    design = safety.get("design") or {}
    prior = design.get("prior") or {}
    stops = "; ".join(f"n = {text(n)}: {'≥ ' + text(b) if b is not None else 'never'}"
                      for n, b in zip(design.get("looks") or [], design.get("stop_counts") or []))
    constant = design.get("constant") or {}
    notes = [
        f"Scope: {text(safety.get('scope'))} ({', '.join(text(m) for m in safety.get('monitored') or [])}); "
        + ("the boundary watches the strata's patients together, and a crossing stops every monitored stratum."
           if pooled else "each stratum's patients against the boundaries."),
        f"Rule: {text(design.get('method'))}, p0 = {p0}, alpha = {text(design.get('alpha'))}, prior "
        f"Beta({text(prior.get('a'))}, {text(prior.get('b'))}); stop at planned look n when the dose-limiting "
        f"toxicities among the first n evaluable patients (by enrolment) reach: {stops or MISSING}; every planned look "
        "reached so far is applied to its own first n patients, so a look that crossed stays crossed at every later "
        f"look; constant {text(constant.get('name'))} = {num(constant.get('value'), 4)}, "
        f"P(stop | p0) = {prob(design.get('prob_stop_null'))}"
        + (f" per stratum, P(some stratum stops | all at p0) = {prob(design['prob_any_stratum_stops_null'])} "
           "(strata independent)" if design.get("prob_any_stratum_stops_null") is not None else "") + ".",
        f"Posterior: Beta prior updated by the counts; {text(safety.get('interval'))}.",
    ]
    return Table("Safety: dose-limiting toxicities", columns, rows, notes)


def safety_operating_characteristics(bundle: Mapping[str, Any]) -> Table | None:
    """The stored design's safety rule: exact P(stop) and expected evaluable patients per true toxicity
    rate (``design.safety``), when stored."""
    safety = _get(bundle, "design", "safety")
    if not isinstance(safety, Mapping):
        return None
    rows = [[num(oc.get("rate")), prob(oc.get("prob_stop")), ", ".join(prob(p) for p in oc.get("prob_stop_by_look") or []),
             num(oc.get("expected_n"), 1)] for oc in safety.get("operating_characteristics") or []]
    scope = "per monitored stratum" if safety.get("scope") == "per-stratum" else "of the monitored strata pooled"
    notes = [f"Exact ({scope}); looks at n = {', '.join(text(look.get('n')) for look in safety.get('looks') or [])}."]
    family = safety.get("family_wise")
    if isinstance(family, Mapping):
        notes.append(f"With {text(family.get('strata'))} monitored strata, each at p0: P(some stratum stops) = "
                     f"{prob(family.get('prob_any_stratum_stops_null'))} (strata independent); alpha is per stratum.")
    return Table("Operating characteristics of the safety rule", ("True toxicity rate", "P(stop)", "P(stop) by look",
                                                                 "E[evaluable n]"), rows, notes)


def response_table(bundle: Mapping[str, Any]) -> Table:
    """n, responders, posterior mean, 95% CrI, P(p > p0), P(p > p1), PPoS (and MCSE under MCMC)."""
    response = look_result(bundle).get("response") or {}
    p0, p1 = response.get("p0"), response.get("p1")
    mcmc = str(response.get("engine", "")).lower() in MCMC_ENGINES
    columns = ["Stratum", "n", "Responders", "Posterior mean", "95% CrI", f"P(p > {text(p0)})",
               f"P(p > {text(p1)})", "PPoS"]
    if mcmc:
        columns.append("MCSE (mean, P>p0, P>p1, PPoS)")
    rows = []
    strata = response_strata(bundle)
    for name in strata_names(bundle):
        s = strata.get(name)
        if s is None:
            continue
        row = [name, count(s.get("n")), count(s.get("responders")), num(s.get("posterior_mean")), interval(s.get("ci95")),
               prob(s.get("prob_above_p0")), prob(s.get("prob_above_p1")),
               # At the final analysis the "predictive" probability is the decision's own indicator: not shown.
               "– (final)" if _final(s) else prob(s.get("predictive_probability_of_success"))]
        if mcmc:
            mc = s.get("monte_carlo_se") or {}
            row.append(", ".join(num(mc.get(k), 4) for k in ("posterior_mean", "prob_above_p0", "prob_above_p1",
                                                               "predictive_probability_of_success")))
        rows.append(row)
    notes = [] if rows else ["This look has no response analysis."]
    if rows:
        notes.append(f"Model {text(_get(response, 'model', 'kind'))}, engine {text(response.get('engine'))}; "
                     f"{text(_get(response, 'diagnostics', 'interval'))}.")
    return Table("Response", tuple(columns), rows, notes)


def _final(stratum: Mapping[str, Any]) -> bool:
    n, planned = stratum.get("n"), stratum.get("n_planned")
    return isinstance(n, int) and isinstance(planned, int) and n >= planned


def what_it_takes(bundle: Mapping[str, Any]) -> list[str]:
    """The sentences of ``response.boundaries_next`` ("NF1 needs 2 more responders ..."), when recorded,
    and, for a model that borrows, how they differ from the design's boundary table."""
    response = _get(look_result(bundle), "response") or {}
    rows = response.get("boundaries_next")
    if rows is None:
        return ["What it takes at the next look: not recorded by this look."]
    lines = [text(row.get("text")) for row in rows if isinstance(row, Mapping)]
    if len(lines) > 1 and _get(response, "model", "kind") in ("pooled", "hierarchical", "exnex"):
        lines.append("These hold given every other stratum's data now (the model borrows between strata); the "
                     "design's boundary table and the bars of the boundary charts assume the other strata's counts "
                     "expected under p0, so at the same look they can differ by a responder or two.")
    return lines


def pfs_table(bundle: Mapping[str, Any]) -> Table:
    """n, events, person-months, KM S(L) with CI, posterior S(L), P(S(L) > benchmark / target), median, decision."""
    pfs = look_result(bundle).get("pfs")
    if not pfs:
        return Table("Progression-free survival", (), [], ["This look has no PFS analysis (the protocol plans none, "
                                                              "or the look was stored without it)."])
    landmark = text(pfs.get("landmark_months"))
    benchmark, target = _get(pfs, "benchmark", "landmark_pfs"), _get(pfs, "target", "landmark_pfs")
    columns = ("Stratum", "n", "Events", "Person-months", f"KM S({landmark}) [95% CI]", f"Posterior S({landmark}) mean",
               "95% CrI", f"P(S > {text(benchmark)})", f"P(S > {text(target)})", "Median PFS (months) [95% CrI]", "Decision")
    rows = []
    strata = pfs_strata(bundle)
    for name in strata_names(bundle):
        s = strata.get(name)
        if s is None:
            continue
        km = _get(s, "kaplan_meier", "landmark", default={}) or {}
        km_cell = f"{num(km.get('survival'))} {interval(km.get('ci95'))}" if km.get("estimable", True) else "not estimable"
        landmark_post = _get(s, "posterior", "landmark_pfs", default={}) or {}
        median = _get(s, "posterior", "median_pfs", default={}) or {}
        rows.append([name, count(s.get("n")), count(s.get("events")), num(s.get("person_months"), 1), km_cell,
                     num(landmark_post.get("mean")), interval(landmark_post.get("ci95")),
                     prob(s.get("prob_landmark_above_benchmark")), prob(s.get("prob_landmark_above_target")),
                     f"{num(median.get('median'), 2)} {interval(median.get('ci95'), lambda v: num(v, 2))}",
                     text(s.get("decision"))])
    notes = [f"Landmark {landmark} months; benchmark S = {text(benchmark)}, target S = {text(target)}; "
             f"model {text(_get(pfs, 'provenance', 'model', 'kind'))}, engine {text(_get(pfs, 'provenance', 'engine'))}."]
    return Table("Progression-free survival", columns, rows, notes)


def spread(bundle: Mapping[str, Any]) -> Table:
    """Posterior summaries of the between-stratum spread τ, and EXNEX membership where used."""
    result = look_result(bundle)
    rows = []
    tau = _get(result, "response", "tau")
    if isinstance(tau, Mapping):
        rows.append(["Response: τ (sd of logit response rates)", num(tau.get("mean")), num(tau.get("median")),
                     interval(tau.get("ci95"))])
    between = _get(result, "pfs", "between_stratum_spread")
    if isinstance(between, Mapping):
        rows.append([f"PFS: τ ({text(between.get('description'))})", num(between.get("mean")), num(between.get("median")),
                     interval(between.get("ci95"))])
    notes = [] if rows else ["The models of this look do not share information between strata (no τ)."]
    membership = _get(result, "response", "prob_exchangeable")
    if isinstance(membership, Mapping):
        notes.append("EXNEX: posterior probability that each stratum is exchangeable with the others: " +
                     "; ".join(f"{name} {prob(p)}" for name, p in membership.items()) + ".")
    return Table("Between-stratum spread τ", ("Parameter", "Mean", "Median", "95% CrI"), rows, notes)


def _scenario(oc: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    return next((s for s in oc.get("scenarios") or [] if s.get("name") == name), None)


def operating_characteristics(bundle: Mapping[str, Any]) -> list[Table]:
    """From the stored design: type I error and power per stratum, then every scenario's P(go), P(early stop), E[n]."""
    design = bundle.get("design")
    oc = _get(design, "operating_characteristics")
    if not isinstance(oc, Mapping):
        return []
    null, alternative = _scenario(oc, "global null"), _scenario(oc, "global alternative")
    null_rows, alt_rows = _by_name(_get(null, "strata")), _by_name(_get(alternative, "strata"))
    summary = [[name, prob(_get(null_rows, name, "prob_go")), prob(_get(alt_rows, name, "prob_go")),
                num(_get(null_rows, name, "expected_n"), 1), num(_get(alt_rows, name, "expected_n"), 1)]
               for name in strata_names(bundle)]
    method = text(oc.get("method"))
    if oc.get("method") == "simulation":
        method += f" ({text(oc.get('n_trials'))} simulated trials, seed {text(oc.get('seed'))})"
    notes = [f"Protocol version {text(design.get('protocol_version'))}, computed at {text(design.get('computed_at'))}; "
             f"method: {method}" + (f" ({text(design['method_note'])})." if design.get("method_note") else ".")]
    tables = [Table("Type I error and power", ("Stratum", "Type I error (global null)", "Power (global alternative)",
                                                "E[n] (null)", "E[n] (alternative)"), summary, notes)]
    rows = []
    for scenario in oc.get("scenarios") or []:
        rates = scenario.get("rates") or {}
        for s in scenario.get("strata") or []:
            rows.append([text(scenario.get("name")), text(s.get("name")), num(rates.get(s.get("name"))), prob(s.get("prob_go")),
                         prob(s.get("prob_early_stop")), num(s.get("expected_n"), 1),
                         prob(_get(s, "simon", "prob_reject_null"))])
    tables.append(Table("Every scenario", ("Scenario", "Stratum", "True rate", "P(go)", "P(early stop)", "E[n]",
                                           "Simon P(reject H0)"), rows,
                        [text(w.get("message", w)) if isinstance(w, Mapping) else text(w) for w in oc.get("warnings") or []]))
    return tables


def boundaries(bundle: Mapping[str, Any]) -> Table | None:
    """The design's decision boundaries per stratum and look (``design.boundaries``), when stored."""
    table = _get(bundle, "design", "boundaries")
    if not isinstance(table, Mapping):
        return None
    rows = []
    for stratum in table.get("strata") or []:
        for look in stratum.get("looks") or []:
            cont = look.get("continue")
            given = look.get("conditional_on")
            note = "; ".join(filter(None, [
                text(look.get("note")) if look.get("note") else "",
                ("if " + " and ".join(f"{k} has {v} responder{'' if v == 1 else 's'}" for k, v in given.items()))
                if isinstance(given, Mapping) else "",
                "" if look.get("monotone", True) else "not monotone in the count",
            ]))
            rows.append([text(stratum.get("name")), text(look.get("look")), count(look.get("n")),
                         f"≤ {look['no_go_max']}" if look.get("no_go_max") is not None else "never",
                         f"{cont[0]}–{cont[1]}" if isinstance(cont, Sequence) and len(cont) == 2 else MISSING,
                         f"≥ {look['go_min']}" if look.get("go_min") is not None else "never", note or ""])
    return Table("Decision boundaries of the design (responders)", ("Stratum", "Look", "n", "No-go", "Continue", "Go", "Note"),
                 rows, [f"Method: {text(table.get('method'))}."]
                 + ([f"Coupled strata: each row holds if the other strata have the counts in its note (default: "
                     f"{text(table['conditioning']['default'])}); the report's figures use the same rows."]
                    if isinstance(table.get("conditioning"), Mapping) and table["conditioning"].get("default") else []))


def history(bundle: Mapping[str, Any]) -> Table:
    """The decisions of every earlier look, per stratum (response / PFS, and safety where monitored)."""
    names = strata_names(bundle)
    rows = []
    for entry in bundle.get("history") or []:
        result = entry.get("result") or {}
        cut = result.get("data_cut") or {}
        decisions = {d.get("stratum"): d for d in result.get("decisions") or []}
        cells = []
        for name in names:
            d = decisions.get(name) or {}
            cell = f"{text(_get(d, 'response', 'decision'))} / {text(_get(d, 'pfs', 'decision'))}" if d else MISSING
            if _get(d, "safety", "decision"):
                cell += f" / safety: {text(d['safety']['decision'])}"
            cells.append(cell)
        rows.append([text(entry.get("look")), text(cut.get("number")), text(cut.get("cutoff_date")), *cells])
    notes = (["Each cell: response decision / PFS decision (/ safety decision, when the look monitored safety)."]
             if rows else ["This is the trial's first look."])
    return Table("Decisions of earlier looks", ("Look", "Data cut", "Cut-off", *names), rows, notes)


def models(bundle: Mapping[str, Any]) -> Table:
    """Model and priors as applied, decision rules, engines, sampler settings and seeds of the look
    (diagnostics the engine does not report, such as R-hat under quadrature, left out)."""
    result = look_result(bundle)
    rows = [["look seed", text(_get(bundle, "look", "seed", default=_get(result, "provenance", "seed")))]]
    response = result.get("response") or {}
    if response:
        rows += [["response." + k, v] for k, v in flatten({"engine": response.get("engine"), "model": response.get("model"),
                                                           "decision_rule": response.get("decision_rule"), "p0": response.get("p0"),
                                                           "p1": response.get("p1")})]
        rows += [["response.provenance." + k, v] for k, v in flatten(
            {k: v for k, v in (response.get("provenance") or {}).items() if k not in ("software", "model")})]
        rows += [["response.diagnostics." + k, v] for k, v in flatten(
            {k: v for k, v in (response.get("diagnostics") or {}).items() if k != "grid"}) if v != MISSING]
    pfs = result.get("pfs") or {}
    if pfs:
        rows += [["pfs.decision_rule." + k, v] for k, v in flatten(_get(_protocol(bundle), "pfs", "decision", default={}))]
        rows += [["pfs.provenance." + k, v] for k, v in flatten(
            {k: v for k, v in (pfs.get("provenance") or {}).items() if k != "software"})]
        rows += [["pfs.diagnostics." + k, v] for k, v in flatten(
            {k: v for k, v in (pfs.get("diagnostics") or {}).items() if k != "grid"}) if v != MISSING]
    return Table("Models, priors, decision rules and engines as applied", ("Setting", "Value"), rows)


def warnings_and_notes(bundle: Mapping[str, Any]) -> list[str]:
    """Every warning and note of the look (the look's own, and the response, PFS and safety analyses')."""
    result = look_result(bundle)
    out = []
    for where in (result, result.get("response") or {}, result.get("pfs") or {}, result.get("safety") or {}):
        for w in where.get("warnings") or []:
            if isinstance(w, Mapping):
                stratum = f" [{w['stratum']}]" if w.get("stratum") else ""
                out.append(f"{text(w.get('code'))}{stratum}: {text(w.get('message'))}")
            else:
                out.append(text(w))
    out += [text(n) for n in result.get("notes") or []]
    return list(dict.fromkeys(out)) or ["No warnings or notes."]
