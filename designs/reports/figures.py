"""The report's figures, each one inline SVG element drawn from a report bundle.

Every figure renders what the bundle stores and estimates nothing: enrolment dates are counted, the
stored Kaplan–Meier steps and binned densities are drawn, the stored boundary decisions are coloured.
A figure whose data the bundle lacks (an open report, a look stored before densities were recorded, no
design block, no PFS plan) is None. The functions under "plotted series" return the data a figure
draws, so that tests check what is drawn apart from the SVG it is drawn in.
"""

from __future__ import annotations

import datetime
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib import dates as mdates
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.ticker import MaxNLocator

from designs.reports.plotting import (
    DECISION_COLOURS,
    FULL_WIDTH,
    PANEL_WIDTH,
    REFERENCE_COLOUR,
    CM,
    axes_in,
    figure_prefix,
    render_svg,
    stratum_colour,
)

TAU_LABELS = {
    "response": "τ: SD of the strata's log-odds of response",
    "pfs": "τ: SD of the strata's log hazards",
}


# -- where things are in a bundle ---------------------------------------------------------------------


def _result(bundle: Mapping[str, Any]) -> Mapping[str, Any]:
    return bundle["look"]["result"]


def _named(strata: Sequence[Mapping[str, Any]] | None, name: str) -> Mapping[str, Any] | None:
    return _named_by(strata, "name", name)


def _named_by(rows: Sequence[Mapping[str, Any]] | None, key: str, name: str) -> Mapping[str, Any] | None:
    return next((row for row in rows or () if row.get(key) == name), None)


def _stratum_names(bundle: Mapping[str, Any]) -> list[str]:
    return [s["name"] for s in bundle["trial"]["strata"]]


def _colour(bundle: Mapping[str, Any], stratum: str) -> str:
    names = _stratum_names(bundle)
    return stratum_colour(names.index(stratum) if stratum in names else len(names))


def _plan(bundle: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Each stratum's planned size and looks: the response plan's, else the PFS plan's size."""
    protocol = (bundle.get("protocol") or {}).get("protocol") or {}
    plan: dict[str, dict[str, Any]] = {}
    for endpoint in ("pfs", "response"):  # the response plan, which has looks, overrides
        for s in (protocol.get(endpoint) or {}).get("strata") or ():
            plan[s["name"]] = {"n_planned": s.get("n_planned"), "looks": list(s.get("looks") or ())}
    return plan


def _date(value: str) -> datetime.date:
    return datetime.date.fromisoformat(value[:10])


# -- plotted series -------------------------------------------------------------------------------------


def accrual_series(bundle: Mapping[str, Any]) -> dict[str, list[tuple[datetime.date, int]]]:
    """Per stratum (in the trial's order), each enrolment date of the cut's patients with the
    cumulative number enrolled by then."""
    series: dict[str, list[tuple[datetime.date, int]]] = {name: [] for name in _stratum_names(bundle)}
    by_stratum: dict[str, list[datetime.date]] = {}
    for patient in bundle["cut"]["patients"]:
        by_stratum.setdefault(patient["stratum"], []).append(_date(patient["enrolled_on"]))
    for name, enrolled in by_stratum.items():
        series[name] = [(day, k) for k, day in enumerate(sorted(enrolled), start=1)]
    return series


def observed_path(bundle: Mapping[str, Any], stratum: str) -> list[dict[str, Any]]:
    """The stratum's (n, responders) at every earlier look of the history and at this look, in order;
    looks without a response analysis of the stratum are left out. ``off_schedule`` flags a look whose
    n is not one of the stratum's planned looks (drawn hollow: the design's bars are not at its n)."""
    planned = set((_plan(bundle).get(stratum) or {}).get("looks") or ())
    path = []
    for look in [*(bundle.get("history") or ()), bundle["look"]]:
        entry = _named(((look.get("result") or {}).get("response") or {}).get("strata"), stratum)
        if entry is not None and entry.get("n") is not None and entry.get("responders") is not None:
            path.append({"look": look["look"], "n": entry["n"], "responders": entry["responders"],
                         "off_schedule": bool(planned) and entry["n"] not in planned})
    return path


def next_look_boundaries(bundle: Mapping[str, Any], stratum: str) -> list[dict[str, Any]]:
    """The boundaries at the stratum's next planned look given the data now (the look's
    ``boundaries_next`` row, conditional on the other strata's observed counts, the row the "What it
    takes" sentence is written from): ``[{"look", "n", "no_go_max", "go_min"}]``, empty when the look
    did not record it, the stratum has no look left, or neither boundary exists."""
    row = _named_by((_result(bundle).get("response") or {}).get("boundaries_next"), "stratum", stratum)
    if row is None or row.get("next_n") is None or (row.get("no_go_max") is None and row.get("go_min") is None):
        return []
    return [{"look": row.get("next_look"), "n": row["next_n"], "no_go_max": row.get("no_go_max"),
             "go_min": row.get("go_min")}]


def safety_units(bundle: Mapping[str, Any]) -> list[str]:
    """What the look's safety rule watches: each monitored stratum, or "pooled"; empty without safety."""
    safety = _result(bundle).get("safety")
    if not isinstance(safety, Mapping):
        return []
    return ["pooled"] if safety.get("scope") == "pooled" else [row["name"] for row in safety.get("strata") or ()]


def safety_path(bundle: Mapping[str, Any], unit: str) -> list[dict[str, Any]]:
    """``unit``'s (evaluable n, dose-limiting toxicities) at every earlier look that analysed safety and
    at this look, in order."""
    path = []
    for look in [*(bundle.get("history") or ()), bundle["look"]]:
        safety = (look.get("result") or {}).get("safety")
        if not isinstance(safety, Mapping):
            continue
        row = safety.get("pooled") if unit == "pooled" else _named(safety.get("strata"), unit)
        if isinstance(row, Mapping):
            path.append({"look": look["look"], "n": row["evaluable"], "toxicities": row["toxicities"]})
    return path


def decision_runs(decisions: Sequence[str]) -> list[tuple[str, int, int]]:
    """A look's decisions for y = 0..n as runs ``(decision, first y, last y)`` of equal decisions;
    a rule that is not monotone in y shows as more than one run of a decision."""
    runs: list[tuple[str, int, int]] = []
    for y, decision in enumerate(decisions):
        if runs and runs[-1][0] == decision:
            runs[-1] = (decision, runs[-1][1], y)
        else:
            runs.append((decision, y, y))
    return runs


def density_steps(density: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """A stored density's bin edges (``bins`` + 1 equal bins of [lower, upper]) and values."""
    values = np.asarray(density["density"], dtype=float)
    if values.size != density["bins"]:
        raise ValueError(f"a density of {density['bins']} bins holds {values.size} values")
    return np.linspace(density["lower"], density["upper"], values.size + 1), values


def kaplan_meier_steps(curve: Mapping[str, Sequence[float]]) -> dict[str, np.ndarray]:
    """The stored curve as right-continuous steps from S(0) = 1: ``times`` (0 first), ``survival``,
    ``lower`` and ``upper`` (the 95% band, 1 at 0), each value holding until the next time."""
    return {
        "times": np.concatenate([[0.0], curve["times"]]),
        "survival": np.concatenate([[1.0], curve["survival"]]),
        "lower": np.concatenate([[1.0], curve["ci95_lower"]]),
        "upper": np.concatenate([[1.0], curve["ci95_upper"]]),
    }


def numbers_at_risk(curve: Mapping[str, Sequence[float]], times: Sequence[float]) -> list[int]:
    """The number at risk (time ≥ t) at each t, read from the stored curve, not from the patients.

    The curve holds ``at_risk[i]``, the number with time ≥ ``times[i]``, at every distinct observed
    time. Nobody's time lies strictly between two of them, so at t the number at risk is ``at_risk``
    of the first curve time ≥ t, and after the last curve time it is that time's ``at_risk`` less its
    ``events`` and ``censored`` (everyone left: 0).
    """
    curve_times = np.asarray(curve["times"], dtype=float)
    last = len(curve_times) - 1
    after_last = curve["at_risk"][last] - curve["events"][last] - curve["censored"][last]
    out = []
    for t in times:
        i = int(np.searchsorted(curve_times, t, side="left"))
        out.append(int(curve["at_risk"][i]) if i <= last else int(after_last))
    return out


def _month_ticks(last_time: float) -> np.ndarray:
    """Regular times 0, step, 2·step, ... covering the follow-up, about five to seven of them."""
    step = next((s for s in (1, 2, 3, 4, 6, 12, 24) if last_time / s <= 6), 12 * int(np.ceil(last_time / 72)))
    return np.arange(0, step * (max(int(np.ceil(last_time / step)), 1) + 1), step, dtype=float)


# -- drawing helpers ------------------------------------------------------------------------------------


def _draw_density(ax: Axes, density: Mapping[str, Any], colour: str, label: str, ci95: Sequence[float] | None) -> None:
    """A binned density as a filled step outline, its 95% interval shaded more strongly."""
    edges, values = density_steps(density)
    ax.stairs(values, edges, fill=True, color=colour, alpha=0.18, linewidth=0)
    ax.stairs(values, edges, color=colour, linewidth=1.2, label=label)
    lo, hi = (max(ci95[0], edges[0]), min(ci95[1], edges[-1])) if ci95 and None not in ci95 else (0.0, 0.0)
    if lo < hi:  # an interval not recorded, or outside the drawn range, is not shaded
        inside = edges[(edges > lo) & (edges < hi)]
        xs = np.concatenate([[lo], inside, [hi]])
        bins = np.clip(np.searchsorted(edges, xs, side="right") - 1, 0, values.size - 1)
        ax.fill_between(xs, values[bins], step="post", color=colour, alpha=0.35, linewidth=0,
                        label="95% credible interval")
    ax.set_xlim(edges[0], edges[-1])
    ax.set_ylim(0, _HEADROOM * max(values.max(), 1e-12))
    ax.set_yticks([])  # a density's height is read against its neighbours, not a scale (and ticks cost time)


def _legend_away_from(ax: Axes, density: Mapping[str, Any]) -> None:
    """The legend in the upper corner away from the density's mode, under the reference lines' labels,
    in the headroom above the mode (placing it "best" would cost a search over every drawn artist)."""
    edges, values = density_steps(density)
    mode = edges[int(np.argmax(values))]
    right = mode < (edges[0] + edges[-1]) / 2
    ax.legend(loc="upper right" if right else "upper left", bbox_to_anchor=(1 if right else 0, _LINE_TOP),
              borderaxespad=0.3)


_HEADROOM = 2.3
"""The density panels' y-limit over the highest value: room above the curves for the legend and,
over it, the reference lines' labels."""
_LINE_TOP = 0.78
"""Axes fraction where a density panel's reference lines stop and their labels start, above the data."""


def _reference_lines(ax: Axes, references: Sequence[tuple[float, str, float, str]]) -> None:
    """Vertical references ``(x, label, alpha, linestyle)`` (p0 and p1, a benchmark and a target, a
    median) stopped short of the top of the axes and labelled horizontally above the data, so that no
    label runs through a curve: each label starts at its line, towards the middle of the panel, one
    row higher than the label of the line left of it, so that close lines' labels do not overlap."""
    ordered = sorted(references, key=lambda r: r[0])
    middle = sum(ax.get_xlim()) / 2
    for row, (x, label, alpha, linestyle) in enumerate(ordered):
        ax.axvline(x, ymax=_LINE_TOP, color=REFERENCE_COLOUR, linestyle=linestyle, linewidth=0.9, alpha=alpha)
        left = x <= middle
        ax.annotate(label, (x, _LINE_TOP), xycoords=("data", "axes fraction"), xytext=(-1 if left else 1, 2 + 10 * row),
                    textcoords="offset points", ha="left" if left else "right", va="bottom", fontsize=8,
                    color=REFERENCE_COLOUR, alpha=alpha, bbox=_LABEL_BACKGROUND)


_LABEL_BACKGROUND = {"facecolor": "white", "edgecolor": "none", "alpha": 0.7, "pad": 0.5}


def _line_label(ax: Axes, x: float, label: str, *, alpha: float = 1.0, at_top: bool = True) -> None:
    """A vertical line's label written along it, so that labels of close lines do not overlap."""
    ax.annotate(label, (x, 1 if at_top else 0), xycoords=("data", "axes fraction"), xytext=(-1, -2 if at_top else 2),
                textcoords="offset points", rotation=90, ha="right", va="top" if at_top else "bottom", fontsize=8,
                color=REFERENCE_COLOUR, alpha=alpha, bbox=_LABEL_BACKGROUND)


# -- the figures ----------------------------------------------------------------------------------------


def accrual_svg(bundle: Mapping[str, Any]) -> str:
    """Cumulative enrolment per stratum over calendar time against the plan: each stratum's planned
    size dashed, its planned looks as faint horizontals, the cut-off and earlier looks' cut-offs marked."""
    series = accrual_series(bundle)
    plan = _plan(bundle)
    cut = _result(bundle)["data_cut"]
    cutoff = _date(cut["cutoff_date"])
    earlier = [(look["look"], _date(look["result"]["data_cut"]["cutoff_date"])) for look in bundle.get("history") or ()
               if (look.get("result") or {}).get("data_cut")]

    def draw(figure: Figure) -> None:
        ax = axes_in(figure, left=1.4, bottom=0.9)
        first = min([points[0][0] for points in series.values() if points] + [d for _, d in earlier] + [cutoff])
        for name, points in series.items():
            colour = _colour(bundle, name)
            days = [first] + [d for d, _ in points] + [cutoff]
            counts = [0] + [k for _, k in points] + [points[-1][1] if points else 0]
            ax.step(mdates.date2num(days), counts, where="post", color=colour, label=f"{name} (enrolled {counts[-1]})")
            stratum_plan = plan.get(name) or {}
            if stratum_plan.get("n_planned"):
                ax.axhline(stratum_plan["n_planned"], color=colour, linestyle="--", linewidth=0.9,
                           label=f"{name}: planned {stratum_plan['n_planned']}")
            for n in stratum_plan.get("looks", ()):
                ax.axhline(n, color=colour, linestyle=":", linewidth=0.7, alpha=0.45)
        for number, day in earlier:
            ax.axvline(mdates.date2num(day), color=REFERENCE_COLOUR, linewidth=0.7, alpha=0.35)
            _line_label(ax, mdates.date2num(day), f"look {number}", alpha=0.7, at_top=False)
        ax.axvline(mdates.date2num(cutoff), color=REFERENCE_COLOUR, linewidth=1.1)
        _line_label(ax, mdates.date2num(cutoff), f"cut-off {cutoff.isoformat()}", at_top=False)
        start, end = mdates.date2num(first), mdates.date2num(cutoff)
        margin = 0.02 * max(end - start, 30)
        ax.set_xlim(start - margin, end + margin)
        highest = max([p.get("n_planned") or 0 for p in plan.values()] + [len(points) for points in series.values()])
        ax.set_ylim(0, 1.45 * max(highest, 1))
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
        ax.set_ylabel("patients enrolled")
        ax.set_title(f"Accrual by stratum: data cut {cut.get('number', '')}, cut-off {cutoff.isoformat()}", loc="left")
        ax.legend(loc="upper left", ncols=2)

    title = f"Cumulative enrolment by stratum up to the cut-off {cutoff.isoformat()}, against the planned sample sizes"
    return render_svg(draw, width=FULL_WIDTH, height=7 * CM, title=title, prefix=figure_prefix("accrual"))


def posterior_density_svg(bundle: Mapping[str, Any], stratum: str) -> str | None:
    """The stratum's posterior density of the response rate with its 95% interval, the no-borrowing
    posterior faintly dashed beside it, and p0 and p1 marked; None when the look holds no density."""
    response = _result(bundle).get("response") or {}
    entry = _named(response.get("strata"), stratum)
    if entry is None or not entry.get("posterior_density"):
        return None
    independent = (entry.get("independent_posterior") or {}).get("density")
    colour = _colour(bundle, stratum)

    def draw(figure: Figure) -> None:
        ax = axes_in(figure)
        _draw_density(ax, entry["posterior_density"], colour, "posterior (model)", entry.get("ci95"))
        if independent:
            edges, values = density_steps(independent)
            ax.stairs(values, edges, color=REFERENCE_COLOUR, linestyle="--", linewidth=0.9, alpha=0.6,
                      label="no borrowing")
            ax.set_ylim(0, max(ax.get_ylim()[1], _HEADROOM * values.max()))
        _reference_lines(ax, [(response["p0"], f"p0 = {response['p0']:g}", 1.0, "--"),
                              (response["p1"], f"p1 = {response['p1']:g}", 0.6, ":")])
        ax.set_xlabel("response rate p")
        ax.set_ylabel("posterior density")
        ax.set_title(f"{stratum}: {entry['responders']} of {entry['n']} responded", loc="left")
        _legend_away_from(ax, entry["posterior_density"])

    title = f"{stratum}: posterior density of the response rate, with the no-borrowing posterior, p0 and p1"
    return render_svg(draw, width=PANEL_WIDTH, height=6 * CM, title=title, prefix=figure_prefix("posterior", stratum))


def _conditioning(rows: Sequence[Mapping[str, Any]], stated: Sequence[str] | None = None) -> str | None:
    """For a coupled stratum, the other strata's counts each look's design boundaries assume, said as
    an assumption (never as observed data): the counts expected under p0 unless the design stated them
    (``stated``: the strata named in the table's ``conditioning.stated``; None when it does not say)."""
    others: dict[str, list[tuple[int, int]]] = {}
    for row in rows:
        for other, count in (row.get("conditional_on") or {}).items():
            others.setdefault(other, []).append((count, row["n"]))
    if not others:
        return None
    parts = []
    for other, counts in others.items():
        numbers = f"{', '.join(str(c) for c, _ in counts)} responders at n = {', '.join(str(n) for _, n in counts)}"
        if stated is None:  # a bundle that does not say where the counts come from
            parts.append(f"design boundaries if {other} has {numbers}")
        else:
            kind = "its stated count" if other in stated else "its expected count under p0"
            parts.append(f"design boundaries if {other} has {kind} ({numbers})")
    return "\n".join(textwrap.wrap("; ".join(parts), width=40))


def boundary_heading(stratum: str, rows: Sequence[Mapping[str, Any]], stated: Sequence[str] | None = None) -> str:
    """The boundary chart's heading: the stratum, what coupled design boundaries assume of the other
    strata, and the looks where the rule is not monotone in the count (said, not hidden)."""
    conditioning = _conditioning(rows, stated)
    not_monotone = [str(row["look"]) for row in rows if row.get("monotone") is False]
    return "\n".join([f"{stratum}: boundaries by look", *([conditioning] if conditioning else []),
                      *([f"not monotone at look {', '.join(not_monotone)}"] if not_monotone else [])])


_NEXT_LOOK_LABEL = "given the data now"


def boundary_chart_svg(bundle: Mapping[str, Any], stratum: str) -> str | None:
    """For each planned look of the design, the responder counts giving no-go, continue and go as
    coloured bars; beside the next look's bar, outlined, the boundaries given the data now (the look's
    ``boundaries_next``, which the "What it takes" sentence states); and the stratum's observed
    (n, responders) path, a look off the planned schedule hollow; None without the design's boundaries."""
    boundaries = (bundle.get("design") or {}).get("boundaries")
    entry = _named((boundaries or {}).get("strata"), stratum)
    if entry is None or not entry.get("looks"):
        return None
    rows = entry["looks"]
    stated = (boundaries.get("conditioning") or {}).get("stated") if boundaries.get("conditioning") else None
    path = observed_path(bundle, stratum)
    marks = next_look_boundaries(bundle, stratum)
    conditioning = _conditioning(rows, stated)
    heading = boundary_heading(stratum, rows, stated)
    planned = sorted(row["n"] for row in rows)
    width = 0.35 * max(min(np.diff(planned)) if len(planned) > 1 else 4, 1)
    narrow = width / 3
    right = max(planned + [p["n"] for p in path] + [m["n"] for m in marks])
    top = max(planned + [p["responders"] for p in path] + [m["n"] for m in marks])

    def draw(figure: Figure) -> None:
        ax = axes_in(figure, top=0.35 + 0.4 * heading.count("\n") + 0.4, bottom=2.4)
        ax.set_xlim(0, right + width * 2.2)  # first: labels are placed by where they fall on the page
        ax.set_ylim(-0.5, top + 0.5)
        taken: list[tuple[float, float, float, float]] = []
        for row in rows:
            for decision, first, last in decision_runs(row["decisions"]):
                ax.bar(row["n"], last - first + 1, bottom=first - 0.5, width=width, linewidth=0,
                       color=DECISION_COLOURS.get(decision, "#999999"))
            # Left of the bar: off-schedule looks come after a planned n, so the path runs to its right.
            taken += _boundary_labels(ax, row["n"] - width / 2, row.get("no_go_max"), row.get("go_min"), ha="right")
        for mark in marks:
            x = mark["n"] + width / 2 + narrow / 2 + 0.15
            if mark["no_go_max"] is not None:
                ax.bar(x, mark["no_go_max"] + 1, bottom=-0.5, width=narrow, fill=False, linewidth=1.1,
                       edgecolor=DECISION_COLOURS["no-go"], hatch="////")
            if mark["go_min"] is not None:
                ax.bar(x, mark["n"] - mark["go_min"] + 1, bottom=mark["go_min"] - 0.5, width=narrow, fill=False,
                       linewidth=1.1, edgecolor=DECISION_COLOURS["go"], hatch="////")
            taken += _boundary_labels(ax, x + narrow / 2, mark["no_go_max"], mark["go_min"], ha="left")
        if path:
            ax.plot([p["n"] for p in path], [p["responders"] for p in path], color="#000000", linewidth=1.2, zorder=3)
            for p in path:
                ax.plot([p["n"]], [p["responders"]], linestyle="none", marker="o", markersize=4.5, zorder=4,
                        markeredgecolor="#000000", markerfacecolor="white" if p["off_schedule"] else "#000000")
                label = f"look {p['look']}\nn = {p['n']}" if p["off_schedule"] else f"look {p['look']}"
                xy = (p["n"], p["responders"])
                offset, ha, va = next((c for c in _POINT_LABEL_PLACES
                                       if not any(_overlap(_label_box(ax, xy, label, *c, 7), box) for box in taken)),
                                      _POINT_LABEL_PLACES[0])
                taken.append(_label_box(ax, xy, label, offset, ha, va, 7))
                ax.annotate(label, xy, xytext=offset, textcoords="offset points", ha=ha, va=va, fontsize=7,
                            linespacing=1.0, zorder=5, bbox=_LABEL_BACKGROUND)
        handles = [Patch(color=DECISION_COLOURS[d], label=d) for d in ("go", "continue", "no-go")]
        if path:
            handles.append(Line2D([], [], color="#000000", marker="o", markersize=4.5, label="observed"))
        if any(p["off_schedule"] for p in path):
            handles.append(Line2D([], [], color="none", marker="o", markersize=4.5, markeredgecolor="#000000",
                                  markerfacecolor="white", label="observed off schedule"))
        if marks:
            handles.append(Patch(fill=False, edgecolor=REFERENCE_COLOUR, hatch="////", label=_NEXT_LOOK_LABEL))
        # Under the axes: no corner of the chart is clear of bars for six entries.
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(-0.2, -0.21), ncols=2, fontsize=7.5,
                  handlelength=1.4, columnspacing=1.0, borderaxespad=0)
        ax.set_xticks(planned)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("patients evaluable (n)")
        ax.set_ylabel("responders")
        ax.set_title(heading, loc="left")

    title = f"{stratum}: responder counts giving go, continue and no-go at each look, with the observed path"
    if conditioning:
        title += f" ({conditioning.replace(chr(10), ' ')})"
    if marks:
        title += (f"; at look {marks[0]['look']} (n = {marks[0]['n']}) {_NEXT_LOOK_LABEL}: "
                  f"no-go at ≤ {marks[0]['no_go_max']}, go at ≥ {marks[0]['go_min']}")
    prefix = figure_prefix("boundaries", stratum)
    return render_svg(draw, width=PANEL_WIDTH, height=9 * CM, title=title, prefix=prefix)


def _boundary_labels(ax: Axes, x: float, no_go_max: int | None, go_min: int | None, *,
                     ha: str) -> list[tuple[float, float, float, float]]:
    """"≤ no-go max" under the top edge of the no-go cells and "≥ go min" over the bottom edge of the go
    cells, beside a bar at ``x``, on a white background so that a line passing behind leaves them
    legible; returns the boxes they take (see :func:`_label_box`)."""
    offset = (-2 if ha == "right" else 2, 0)
    boxes = []
    for count, text, y, va in ((no_go_max, "≤ {}", (no_go_max or 0) + 0.5, "top"),
                               (go_min, "≥ {}", (go_min or 0) - 0.5, "bottom")):
        if count is not None:
            ax.annotate(text.format(count), (x, y), xytext=offset, textcoords="offset points", ha=ha, va=va,
                        fontsize=7.5, color=REFERENCE_COLOUR, zorder=5, bbox=_LABEL_BACKGROUND)
            boxes.append(_label_box(ax, (x, y), text.format(count), offset, ha, va, 7.5))
    return boxes


_POINT_LABEL_PLACES = (((0, 5), "center", "bottom"), ((5, -4), "left", "top"), ((-5, -4), "right", "top"),
                       ((0, -6), "center", "top"), ((0, 16), "center", "bottom"))
"""Where an observed point's label may go, in order of preference: (offset in points, ha, va)."""


def _label_box(ax: Axes, xy: tuple[float, float], text: str, offset: tuple[float, float], ha: str, va: str,
               fontsize: float) -> tuple[float, float, float, float]:
    """The box (x0, y0, x1, y1, in points on the figure: it is drawn at 72 dpi) a label at data point
    ``xy`` takes, estimated from its characters (measuring it would cost drawing the figure twice)."""
    x, y = ax.transData.transform(xy) + np.asarray(offset, dtype=float)
    lines = text.split("\n")
    width, height = max(map(len, lines)) * 0.62 * fontsize + 2, len(lines) * 1.2 * fontsize + 2
    x0 = x - {"left": 0, "center": width / 2, "right": width}[ha]
    y0 = y - {"bottom": 0, "center": height / 2, "top": height}[va]
    return (float(x0), float(y0), float(x0 + width), float(y0 + height))


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def kaplan_meier_svg(bundle: Mapping[str, Any], stratum: str) -> str | None:
    """The stratum's Kaplan–Meier curve from S(0) = 1 with its 95% band, censoring ticks, the numbers at
    risk under the axis, and the benchmark (and, fainter, the target) landmark rate; None without PFS."""
    pfs = _result(bundle).get("pfs") or {}
    entry = _named(pfs.get("strata"), stratum)
    curve = ((entry or {}).get("kaplan_meier") or {}).get("curve")
    if not curve or not curve.get("times"):
        return None
    steps = kaplan_meier_steps(curve)
    ticks = _month_ticks(steps["times"][-1])
    at_risk = numbers_at_risk(curve, ticks)
    colour = _colour(bundle, stratum)
    landmark = pfs.get("landmark_months")
    references = [(pfs.get("benchmark"), "benchmark", 1.0), (pfs.get("target"), "target", 0.45)]

    def draw(figure: Figure) -> None:
        ax = axes_in(figure, bottom=1.6, top=1.0)
        table = axes_in(figure, bottom=0.15, top=figure.get_figheight() / CM - 0.65, sharex=ax)
        ax.fill_between(steps["times"], steps["lower"], steps["upper"], step="post", color=colour, alpha=0.2,
                        linewidth=0)
        ax.step(steps["times"], steps["survival"], where="post", color=colour)
        censored = np.asarray(curve["censored"]) > 0
        if censored.any():
            ax.plot(np.asarray(curve["times"])[censored], np.asarray(curve["survival"])[censored], linestyle="none",
                    marker="|", markersize=6, color=colour)
        for reference, name, alpha in references:
            if reference and reference.get("landmark_pfs") is not None and landmark is not None:
                rate = reference["landmark_pfs"]
                ax.plot([0, landmark], [rate, rate], linestyle=":", color=REFERENCE_COLOUR, alpha=alpha, linewidth=1)
                ax.plot([landmark], [rate], marker="D", markersize=4, color=REFERENCE_COLOUR, alpha=alpha,
                        linestyle="none")
                # Above its line at the left edge, where the curve (from S(0) = 1) is not.
                ax.annotate(f"{name} {rate:g}", (0, rate), xytext=(2, 1), textcoords="offset points",
                            ha="left", va="bottom", fontsize=8, color=REFERENCE_COLOUR, alpha=alpha,
                            bbox=_LABEL_BACKGROUND, zorder=5)
        ax.set_ylim(0, 1.02)
        ax.set_ylabel("progression-free")
        ax.set_xlim(0, ticks[-1])
        ax.set_xticks(ticks)
        ax.set_xlabel("months since enrolment")
        # Labels on the marks, not a legend: no corner of a KM panel is reliably empty.
        ax.set_title(f"{stratum}: progression-free survival\nKaplan–Meier, 95% band, | censored", loc="left")
        for t, count in zip(ticks, at_risk):
            table.text(t, 0.5, str(count), ha="center", va="center", fontsize=8)
        table.set_ylim(0, 1)
        table.set_yticks([0.5], ["at risk"])
        table.tick_params(left=False, bottom=False, labelbottom=False)
        for spine in table.spines.values():
            spine.set_visible(False)

    title = f"{stratum}: Kaplan–Meier estimate of progression-free survival with its 95% band and numbers at risk"
    prefix = figure_prefix("kaplan-meier", stratum)
    return render_svg(draw, width=PANEL_WIDTH, height=7.5 * CM, title=title, prefix=prefix)


def landmark_posterior_svg(bundle: Mapping[str, Any], stratum: str) -> str | None:
    """The stratum's posterior density of the landmark PFS rate S(L), with the benchmark and, fainter,
    the target marked; None when the look holds no density."""
    pfs = _result(bundle).get("pfs") or {}
    entry = _named(pfs.get("strata"), stratum)
    landmark_pfs = (((entry or {}).get("posterior") or {}).get("landmark_pfs")) or {}
    if not landmark_pfs.get("density"):
        return None
    landmark = pfs.get("landmark_months")
    colour = _colour(bundle, stratum)

    def draw(figure: Figure) -> None:
        ax = axes_in(figure)
        _draw_density(ax, landmark_pfs["density"], colour, "posterior", landmark_pfs.get("ci95"))
        _reference_lines(ax, [(reference["landmark_pfs"], f"{name} {reference['landmark_pfs']:g}", alpha, linestyle)
                              for reference, name, alpha, linestyle in ((pfs.get("benchmark"), "benchmark", 1.0, "--"),
                                                                        (pfs.get("target"), "target", 0.6, ":"))
                              if reference and reference.get("landmark_pfs") is not None])
        ax.set_xlabel(f"progression-free at {landmark:g} months" if landmark is not None else "landmark PFS rate")
        ax.set_ylabel("posterior density")
        ax.set_title(f"{stratum}: landmark PFS rate", loc="left")
        _legend_away_from(ax, landmark_pfs["density"])

    title = f"{stratum}: posterior density of the landmark progression-free rate, with the benchmark and target"
    return render_svg(draw, width=PANEL_WIDTH, height=6 * CM, title=title, prefix=figure_prefix("landmark", stratum))


def tau_svg(bundle: Mapping[str, Any], endpoint: str) -> str | None:
    """The posterior density of the between-stratum spread τ of an endpoint ("response" or "pfs"), its
    median and 95% interval marked; None for models without τ or looks that did not record its density."""
    if endpoint not in TAU_LABELS:
        raise ValueError(f"endpoint must be 'response' or 'pfs', not {endpoint!r}")
    analysis = _result(bundle).get(endpoint) or {}
    if endpoint == "response":
        density, summary = analysis.get("tau_density"), analysis.get("tau") or {}
    else:
        summary = analysis.get("between_stratum_spread") or {}
        density = summary.get("density")
    if not density:
        return None

    def draw(figure: Figure) -> None:
        ax = axes_in(figure)
        _draw_density(ax, density, "#555555", "posterior", summary.get("ci95"))
        if summary.get("median") is not None:
            _reference_lines(ax, [(summary["median"], f"median {summary['median']:.2f}", 1.0, "-")])
        ax.set_xlabel(TAU_LABELS[endpoint])
        ax.set_ylabel("posterior density")
        ax.set_title(f"Between-stratum spread τ ({'response' if endpoint == 'response' else 'PFS'})", loc="left")
        _legend_away_from(ax, density)

    title = f"Posterior density of the between-stratum spread τ ({endpoint})"
    return render_svg(draw, width=PANEL_WIDTH, height=6 * CM, title=title, prefix=figure_prefix("tau", endpoint))


def safety_boundary_svg(bundle: Mapping[str, Any], unit: str) -> str | None:
    """The safety rule of the look's protocol version for ``unit`` (a monitored stratum, or "pooled"):
    at each safety look n, the dose-limiting toxicity counts that stop (≥ the stop count) and those that
    continue as coloured bars, and the observed (evaluable n, toxicities) path; None without safety."""
    safety = _result(bundle).get("safety")
    if not isinstance(safety, Mapping) or unit not in safety_units(bundle):
        return None
    design = safety.get("design") or {}
    looks, stops = list(design.get("looks") or ()), list(design.get("stop_counts") or ())
    path = safety_path(bundle, unit)
    right = max(looks + [p["n"] for p in path] + [1])
    width = 0.35 * max(min(np.diff(looks)) if len(looks) > 1 else 4, 1)
    heading = f"{unit}: safety boundaries" + (
        "\n" + "\n".join(textwrap.wrap(f"over {', '.join(safety.get('monitored') or ())}", width=45))
        if unit == "pooled" else "")

    def draw(figure: Figure) -> None:
        ax = axes_in(figure, bottom=2.2, top=0.35 + 0.4 * heading.count("\n") + 0.4)
        for n, b in zip(looks, stops, strict=True):
            stop = n + 1 if b is None else b
            ax.bar(n, stop, bottom=-0.5, width=width, linewidth=0, color=DECISION_COLOURS["continue"])
            if b is not None:
                ax.bar(n, n - b + 1, bottom=b - 0.5, width=width, linewidth=0, color=DECISION_COLOURS["no-go"])
                _boundary_labels(ax, n - width / 2, None, b, ha="right")
        if path:
            ax.plot([p["n"] for p in path], [p["toxicities"] for p in path], color="#000000", marker="o",
                    markersize=4.5, linewidth=1.2, zorder=4)
            for p in path:
                ax.annotate(f"look {p['look']}", (p["n"], p["toxicities"]), xytext=(0, 5), textcoords="offset points",
                            ha="center", va="bottom", fontsize=7, zorder=5, bbox=_LABEL_BACKGROUND)
        handles = [Patch(color=DECISION_COLOURS["no-go"], label="stop for safety"),
                   Patch(color=DECISION_COLOURS["continue"], label="continue")]
        if path:
            handles.append(Line2D([], [], color="#000000", marker="o", markersize=4.5, label="observed"))
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(-0.2, -0.25), ncols=3, fontsize=7.5,
                  handlelength=1.4, columnspacing=1.0, borderaxespad=0)
        ax.set_xlim(0, right + width * 2)
        ax.set_ylim(-0.5, max(looks + [p["toxicities"] for p in path] + [1]) + 0.5)
        ax.set_xticks(looks)
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("patients evaluable for toxicity (n)")
        ax.set_ylabel("dose-limiting toxicities")
        ax.set_title(heading, loc="left")

    stops_text = ", ".join(f"n = {n}: {'never' if b is None else f'≥ {b}'}" for n, b in zip(looks, stops, strict=True))
    title = f"{heading.replace(chr(10), ' ')}: stop for safety at {stops_text}, with the observed path"
    return render_svg(draw, width=PANEL_WIDTH, height=7 * CM, title=title, prefix=figure_prefix("safety", unit))
