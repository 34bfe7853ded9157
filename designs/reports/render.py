"""The report of a look as one self-contained HTML document, and as PDF from the same HTML.

``render_html(bundle)`` lays out the tables of ``designs.reports.tables`` and the inline SVG figures of
``designs.reports.figures`` with Jinja2 templates (autoescaped, strict about undefined names): inline
CSS only, no script, no link, nothing fetched from outside the file. ``bundle["report"]`` chooses the
closed report (DMC and trial statistician: the nine sections of issue 12) or the open report (sponsor:
cover, accrual, data quality, history of looks, appendix; nothing by stratum that reveals efficacy).
An open report is rendered from ``open_subset(bundle)`` only, so that it cannot show an efficacy field
even when handed a closed bundle.

``html_to_pdf(html)`` prints the HTML with WeasyPrint (no browser): A4 pages, a section per page,
the confidentiality line on top and the trial, look and page number at the foot of every page.
"""

from __future__ import annotations

import base64
import functools
import re
from collections.abc import Callable, Mapping
from typing import Any

import jinja2
from markupsafe import Markup

from designs.core.errors import GonogoError
from designs.core.provenance import input_hash
from designs.registry.look import open_view
from designs.reports import tables

from designs.reports import figures

CLOSED_BANNER = "CLOSED REPORT: DMC and trial statistician only"
OPEN_BANNER = "OPEN REPORT"
CLOSED_SECTIONS = ("cover", "recommendation", "accrual", "response", "pfs", "spread", "operating-characteristics",
                   "history", "appendix")
"""The closed report's sections; a look with a safety analysis has a "safety" section after "pfs"."""
OPEN_SECTIONS = ("cover", "accrual", "data-quality", "history", "appendix")
DECISIONS = ("go", "no-go", "continue", "stop for safety")
"""Cells holding a decision are set in its colour."""
PANGO_FIX = "install Pango: apt-get install libpango-1.0-0 libpangoft2-1.0-0"


class PdfUnavailableError(GonogoError):
    """PDF output needs WeasyPrint's system libraries (Pango), which this installation lacks."""

    def __init__(self, cause: str):
        self.fix = PANGO_FIX
        super().__init__(f"PDF reports are unavailable: WeasyPrint cannot load its system libraries ({cause}); {PANGO_FIX}")


@functools.cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("designs.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    environment.globals["decisions"] = DECISIONS
    return environment


# --------------------------------------------------------------------------------------------------
# The open subset


def _open_result(look: Mapping[str, Any]) -> dict[str, Any]:
    """A look's open view and the SHA-256 of that view (never the closed result's: a sponsor could confirm
    a guessed result with it)."""
    result = open_view(look["result"]) if look.get("result") else {}
    return {"result": result, "sha256": input_hash(result)}


def _safety_plan(document: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the open report may know of the safety monitoring plan: that there is one, when it looks and
    over which strata (the plan, as the protocol is; no boundary, no count)."""
    safety = document.get("safety")
    if not isinstance(safety, Mapping):
        return None
    return {k: safety.get(k) for k in ("looks", "scope", "strata")}


def open_subset(bundle: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a bundle an open report may show: identities, dates, hashes, accrual and
    data-quality counts (none of safety: ``look.open_view`` drops them), enrolment dates, planned
    sizes and looks (the safety plan's looks, scope and strata); no response, PFS, safety analysis,
    decision, warning, note, design or patient outcome (nor toxicity status). Works on closed bundles and on open ones (already reduced)."""
    trial, look, protocol, cut = (bundle.get(k) or {} for k in ("trial", "look", "protocol", "cut"))
    document = protocol.get("protocol") or {}

    def planned(endpoint: str) -> dict[str, Any] | None:
        part = document.get(endpoint)
        if not isinstance(part, Mapping):
            return None
        return {"strata": [{k: s[k] for k in ("name", "n_planned", "looks") if k in s} for s in part.get("strata") or []]}

    return {
        "report": "open",
        "generated": bundle.get("generated") or {},
        "trial": {"id": trial.get("id"), "title": trial.get("title"),
                  "strata": [{"name": s.get("name"), "description": s.get("description")} for s in trial.get("strata") or []]},
        "look": {**{k: look.get(k) for k in ("look", "created_at", "created_by")}, **_open_result(look)},
        "protocol": {**{k: protocol.get(k) for k in ("version", "sha256", "created_at", "created_by", "after_look")},
                     "protocol": {k: v for k, v in (("response", planned("response")), ("pfs", planned("pfs")),
                                                    ("safety", _safety_plan(document))) if v}},
        "cut": {**{k: cut.get(k) for k in ("number", "sha256", "cutoff_date", "n_patients", "created_at", "created_by")},
                "accrual": {name: {"enrolled": counts.get("enrolled")} for name, counts in (cut.get("accrual") or {}).items()},
                "excluded_count": cut.get("excluded_count", len(cut.get("excluded") or [])),
                "patients": [{k: p.get(k) for k in ("id", "stratum", "enrolled_on")} for p in cut.get("patients") or []]},
        "history": [{"look": h.get("look"), "created_at": h.get("created_at"), **_open_result(h)}
                    for h in bundle.get("history") or []],
        "design": None,
    }


# --------------------------------------------------------------------------------------------------
# Figures


def _figure(name: str, bundle: Mapping[str, Any], *args: Any, missing: str) -> Markup:
    """The inline SVG of ``figures.<name>(bundle, *args)``; a sentence when the bundle has no data for it."""
    function: Callable[..., str | None] = getattr(figures, name)
    svg = function(bundle, *args)
    if svg is None:
        return Markup('<p class="missing">{}</p>').format(missing)
    return Markup(svg)


def _stratum_figures(bundle: Mapping[str, Any], names: list[str]) -> list[dict[str, Any]]:
    return [{
        "name": name,
        "posterior": _figure("posterior_density_svg", bundle, name,
                             missing=f"{name}: posterior density not recorded by this look."),
        "boundary": _figure("boundary_chart_svg", bundle, name, missing=f"{name}: no boundary chart (no design stored)."),
        "kaplan_meier": _figure("kaplan_meier_svg", bundle, name, missing=f"{name}: no Kaplan–Meier curve in this look."),
        "landmark": _figure("landmark_posterior_svg", bundle, name,
                            missing=f"{name}: landmark PFS posterior not recorded by this look."),
    } for name in names]


# --------------------------------------------------------------------------------------------------
# Rendering


def _footer(bundle: Mapping[str, Any]) -> str:
    trial = bundle.get("trial") or {}
    return f"{tables.text(trial.get('id'))} · look {tables.text((bundle.get('look') or {}).get('look'))}"


def _closed_context(bundle: Mapping[str, Any]) -> dict[str, Any]:
    names = tables.strata_names(bundle)
    result = tables.look_result(bundle)
    return {
        "banner": CLOSED_BANNER,
        "sections": CLOSED_SECTIONS,
        "cover": tables.cover(bundle),
        "recommendation": tables.recommendation(bundle),
        "accrual": tables.accrual_table(bundle),
        "accrual_figure": _figure("accrual_svg", bundle, missing="No accrual recorded by this data cut."),
        "response": tables.response_table(bundle),
        "what_it_takes": tables.what_it_takes(bundle),
        "has_pfs": bool(result.get("pfs")),
        "has_safety": isinstance(result.get("safety"), Mapping),
        "safety": tables.safety_table(bundle),
        "safety_oc": tables.safety_operating_characteristics(bundle),
        "safety_figures": [_figure("safety_boundary_svg", bundle, unit, missing=f"{unit}: no safety boundary chart.")
                           for unit in figures.safety_units(bundle)],
        "pfs": tables.pfs_table(bundle),
        "strata": _stratum_figures(bundle, names),
        "spread": tables.spread(bundle),
        "tau_response": _figure("tau_svg", bundle, "response", missing="No response τ in this look."),
        "tau_pfs": _figure("tau_svg", bundle, "pfs", missing="No PFS τ in this look."),
        "oc": tables.operating_characteristics(bundle),
        "boundaries": tables.boundaries(bundle),
        "protocol_version": tables.text((bundle.get("protocol") or {}).get("version")),
        "data_quality": tables.data_quality(bundle),
        "history": tables.history(bundle),
        "models": tables.models(bundle),
        "warnings": tables.warnings_and_notes(bundle),
    }


def _open_context(bundle: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "banner": OPEN_BANNER,
        "sections": OPEN_SECTIONS,
        "cover": tables.cover(bundle),
        "accrual": tables.accrual_table(bundle),
        "accrual_figure": _figure("accrual_svg", bundle, missing="No accrual recorded by this data cut."),
        "data_quality": tables.data_quality(bundle),
        "history": tables.open_history(bundle),
    }


def render_html(bundle: Mapping[str, Any]) -> str:
    """The whole report as one self-contained HTML document (closed or open by ``bundle["report"]``)."""
    closed = bundle.get("report") == "closed"
    if not closed:
        bundle = open_subset(bundle)
    context = _closed_context(bundle) if closed else _open_context(bundle)
    trial = bundle.get("trial") or {}
    template = _environment().get_template("closed.html.j2" if closed else "open.html.j2")
    return template.render(
        closed=closed,
        title=f"{tables.text(trial.get('title'))}: look {tables.text((bundle.get('look') or {}).get('look'))}",
        footer=_footer(bundle),
        hashes=tables.hashes(bundle),
        software=tables.software(bundle),
        reproduce=tables.reproduce(bundle),
        **context,
    )


_INLINE_SVG = re.compile(r"<svg\b.*?</svg>", re.DOTALL)
"""An inline SVG figure (matplotlib's: never nested)."""


def _svg_as_image(match: re.Match[str]) -> str:
    """An inline SVG as an image of itself: WeasyPrint then parses it as XML once, instead of as HTML
    elements to style and re-serialise (a third less CPU for a report with figures), and draws the same."""
    data = base64.b64encode(match.group(0).encode("utf-8")).decode("ascii")
    return f'<img class="svg" alt="" src="data:image/svg+xml;base64,{data}">'


def html_to_pdf(html: str) -> bytes:
    """PDF from report HTML, by WeasyPrint, fetching nothing; ``PdfUnavailableError`` (with the fix)
    when Pango is missing."""
    try:
        import weasyprint
        import weasyprint.urls
    except OSError as exc:  # WeasyPrint loads Pango with ctypes at import
        raise PdfUnavailableError(str(exc)) from exc
    # The report is self-contained: WeasyPrint may read data: URLs and nothing else (no network, no file).
    fetcher = weasyprint.urls.URLFetcher(allowed_protocols=("data",))
    return weasyprint.HTML(string=_INLINE_SVG.sub(_svg_as_image, html), url_fetcher=fetcher).write_pdf()


def render_pdf(bundle: Mapping[str, Any]) -> bytes:
    """The report as PDF, printed from ``render_html(bundle)``."""
    return html_to_pdf(render_html(bundle))
