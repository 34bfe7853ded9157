"""Plain-text tables of an operating-characteristics or calibration result, for ``gonogo simulate``.

The table is for reading; the JSON (`gonogo simulate --json`) stays the record: it has every digit,
the n distribution and the provenance. Numbers here are rounded (probabilities to 4 decimals, sample
sizes to 2); nothing is recomputed but what the result implies exactly: P(no-go) = 1 - P(go) (every
stratum ends with go or no-go), and at the last look the go and no-go of the final analysis,
P(final go) = P(go) - P(early go) and P(final no-go) = P(reach the final analysis) - P(final go).
Monte Carlo standard errors are shown in parentheses where the result has them (simulation); exact
results have none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _p(value: float) -> str:
    return f"{value:.4f}"


def _n(value: float) -> str:
    return f"{value:.2f}"


def _g(value: Any) -> str:
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _with_se(text: str, se: float | None, fmt=_p) -> str:
    """``0.0275 (0.0037)``, or the value alone when there is no Monte Carlo error."""
    return text if se is None else f"{text} ({fmt(se)})"


def _table(columns: Sequence[str], rows: Sequence[Sequence[str]], indent: str = "  ", left: int = 1) -> list[str]:
    """Columns as in ``gonogo simon``: the first ``left`` (names) left-aligned, the numbers right-aligned."""
    widths = [max(len(column), *(len(row[i]) for row in rows)) if rows else len(column)
              for i, column in enumerate(columns)]

    def line(cells: Sequence[str]) -> str:
        cells = [cell.ljust(width) if i < left else cell.rjust(width)
                 for i, (cell, width) in enumerate(zip(cells, widths, strict=True))]
        return (indent + "  ".join(cells)).rstrip()

    return [line(columns), line(["-" * width for width in widths]), *(line(row) for row in rows)]


# --------------------------------------------------------------------------------------------------
# Header


def rule_lines(decision: Mapping[str, Any]) -> list[str]:
    """The decision rule in words, each threshold with its request field."""
    lines = [f"go at the final analysis when P(p > p0 | data) > {_g(decision['final_threshold'])}, else no-go"
             " (final_threshold)"]
    futility = decision.get("futility_ppos")
    if futility:
        lines.append(f"interim no-go when the predictive probability of success < {_g(futility)} (futility_ppos)")
    else:
        lines.append("futility_ppos: off")
    efficacy = decision.get("efficacy_ppos")
    if efficacy is not None and efficacy < 1:
        lines.append(f"interim go when the predictive probability of success > {_g(efficacy)} (efficacy_ppos)")
    else:
        lines.append("efficacy_ppos: off")
    above = decision.get("futility_prob_above_p0")
    if above is not None:
        lines.append(f"interim no-go when P(p > p0 | data) < {_g(above)} (futility_prob_above_p0)")
    return lines


def model_line(provenance: Mapping[str, Any]) -> str:
    """``hierarchical (mu_mean -1.7346, mu_sd 2.6159, tau_scale 1); engine quadrature`` from the provenance."""
    model = provenance.get("model") or {}
    prior = model.get("prior") or {}
    text = str(model.get("kind", "?"))
    if prior:
        text += " (prior " + ", ".join(f"{key} {_g(value)}" for key, value in prior.items()) + ")"
    if provenance.get("engine"):
        text += f"; engine {provenance['engine']}"
    return text


def header_lines(title: str, result: Mapping[str, Any], request: Mapping[str, Any],
                 decision: Mapping[str, Any]) -> list[str]:
    """What was run: method, simulated trials and seed, model, rule, p0 and p1, the input's SHA-256."""
    provenance = result.get("provenance") or {}
    if result["method"] == "simulation":
        method = (f"simulation, {result['n_trials']:,} trials per scenario, seed {result['seed']}"
                  " (Monte Carlo standard errors in parentheses)")
    else:
        method = "exact enumeration of every outcome (no Monte Carlo error)"
    strata = ", ".join(f"{s['name']} looks at {'/'.join(str(n) for n in s['looks'])}" for s in request["strata"])
    lines = [title, "", f"Method:  {method}", f"Model:   {model_line(provenance)}"]
    rule = rule_lines(decision)
    lines.append(f"Rule:    {rule[0]}")
    lines.extend(f"         {line}" for line in rule[1:])
    lines.append(f"Rates:   p0 {_g(request['p0'])}, p1 {_g(request['p1'])}")
    lines.append(f"Strata:  {strata}")
    if request.get("simon"):
        s = request["simon"]
        lines.append(f"Simon:   r1/n1 {s['r1']}/{s['n1']}, r/n {s['r']}/{s['n']} beside (exact)")
    if provenance.get("input_sha256"):
        lines.append(f"Input:   SHA-256 {provenance['input_sha256']}")
    return lines


# --------------------------------------------------------------------------------------------------
# Operating characteristics


def scenario_lines(scenario: Mapping[str, Any], simulated: bool) -> list[str]:
    """A scenario: P(any go) and E(total n), a row per stratum, and a row per stratum and look."""
    rates = ", ".join(f"{name} {_g(rate)}" for name, rate in scenario["rates"].items())
    se_any = scenario["mcse"].get("prob_any_go") if simulated else None
    lines = [f"Scenario {scenario['name']!r}: true rates {rates}",
             f"  P(go in at least one stratum) {_with_se(_p(scenario['prob_any_go']), se_any)};"
             f" expected total n {_n(scenario['expected_total_n'])}", ""]
    with_simon = any(s.get("simon") for s in scenario["strata"])
    columns = ["stratum", "P(go)", "P(no-go)", "P(early go)", "P(early stop)", "E(n)"]
    if with_simon:
        columns += ["Simon P(go)", "Simon PET", "Simon E(n)"]
    rows = []
    for s in scenario["strata"]:
        mcse = s["mcse"] if simulated else {}
        row = [s["name"], _with_se(_p(s["prob_go"]), mcse.get("prob_go")), _p(1.0 - s["prob_go"]),
               _with_se(_p(s["prob_early_go"]), mcse.get("prob_early_go")), _p(s["prob_early_stop"]),
               _with_se(_n(s["expected_n"]), mcse.get("expected_n"), _n)]
        if with_simon:
            simon = s.get("simon")
            row += ([_p(simon["prob_reject_null"]), _p(simon["pet"]), _n(simon["expected_n"])] if simon else ["", "", ""])
        rows.append(row)
    lines += _table(columns, rows)
    lines.append("")
    rows = []
    for s in scenario["strata"]:
        stops = s["prob_stop_at_look"]
        se_stops = s["mcse"].get("prob_stop_at_look") if simulated else None
        final_go = s["prob_go"] - s["prob_early_go"]
        for k, stop in enumerate(stops):
            last = k == len(stops) - 1
            go = s["prob_early_go_at_look"][k] + (final_go if last else 0.0)
            no_go = stop - final_go if last else s["prob_futility_at_look"][k]
            rows.append([s["name"] if k == 0 else "", f"{k + 1}{' (final)' if last else ''}", str(s["n_distribution"][k]["n"]),
                         _with_se(_p(stop), se_stops[k] if se_stops else None), _p(go), _p(max(no_go, 0.0))])
    lines += _table(["stratum", "look", "n", "P(stop)", "P(go)", "P(no-go)"], rows)
    return lines


def format_operating_characteristics(result: Mapping[str, Any], request: Mapping[str, Any]) -> str:
    """The table ``gonogo simulate`` prints; ``request`` is the request as validated (defaults applied)."""
    lines = header_lines("Operating characteristics of a Bayesian go/no-go design", result, request, request["decision"])
    return "\n".join([*lines, *oc_lines(result), *warning_lines(result.get("warnings"))])


def oc_lines(result: Mapping[str, Any]) -> list[str]:
    """Every scenario, the borrowing report and the legend (no header, no warnings)."""
    simulated = result["method"] == "simulation"
    lines: list[str] = []
    for scenario in result["scenarios"]:
        lines.append("")
        lines += scenario_lines(scenario, simulated)
    if result.get("borrowing"):
        lines += ["", "Borrowing: P(go) of a stratum at p0 beside active strata, against the global null"]
        lines += _table(["scenario", "stratum", "P(go)", "global null", "inflation"],
                        [[b["scenario"], b["stratum"], _p(b["prob_go"]), _p(b["prob_go_global_null"]),
                          f"{b['inflation']:+.4f}"] for b in result["borrowing"]], left=2)
    return [*lines, "", *legend(simulated)]


def warning_lines(*groups: Sequence[Mapping[str, Any]] | None) -> list[str]:
    """``warning: ...`` for each warning, each message once."""
    seen: list[str] = []
    for group in groups:
        for warning in group or []:
            if warning["message"] not in seen:
                seen.append(warning["message"])
    return [f"warning: {message}" for message in seen]


def legend(simulated: bool) -> list[str]:
    text = [
        "P(go): go at an interim look or at the final analysis; P(no-go) = 1 - P(go). P(stop) at a look: enrolment",
        "ends there (at the final look: the trial reaches the final analysis), split into P(go) and P(no-go).",
    ]
    if simulated:
        text.append("(...): Monte Carlo standard error. Rounded: gonogo simulate --json gives every digit.")
    else:
        text.append("Rounded: gonogo simulate --json gives every digit.")
    return text


# --------------------------------------------------------------------------------------------------
# Calibration


def format_calibration(result: Mapping[str, Any], request: Mapping[str, Any]) -> str:
    """The candidates searched (the chosen one marked) and the operating characteristics of the chosen rule."""
    oc = result["operating_characteristics"]
    simulated = oc["method"] == "simulation"
    lines = header_lines("Calibration of a Bayesian go/no-go design", {**oc, "provenance": result["provenance"]},
                         request, result["decision"])
    lines += ["", f"Target:  per-stratum type I error (P(go) under the global null) <= {_g(result['target_type_i_error'])}",
              f"Chosen:  final_threshold {_g(result['final_threshold'])}, futility_ppos {_g(result['futility_ppos'])}"
              " (the rule above)", ""]
    rows = []
    for c in result["candidates"]:
        chosen = c["final_threshold"] == result["final_threshold"] and c["futility_ppos"] == result["futility_ppos"]
        se = c.get("mcse_max_type_i_error") if simulated else None
        rows.append(["*" if chosen else "", _g(c["final_threshold"]), _g(c["futility_ppos"]),
                     _with_se(_p(c["max_type_i_error"]), se), _p(c["mean_power"]), _n(c["expected_n_null"]),
                     "yes" if c["feasible"] else "no"])
    lines += _table(["", "final_threshold", "futility_ppos", "max type I", "mean power", "E(n) null", "feasible"], rows)
    lines += ["", "max type I: the largest per-stratum P(go) under the global null; mean power: the mean per-stratum",
              "P(go) under the global alternative; E(n) null: expected total n under the global null; * chosen."]
    lines += ["", "Operating characteristics of the chosen rule:"]
    lines += oc_lines(oc)
    lines += warning_lines(result.get("warnings"), oc.get("warnings"))
    return "\n".join(lines)
