"""The synchronous computations of the routes that are not a core function already, as module-level
functions a compute worker can import (the routes pass ``analyse_response``, ``design_evaluation`` ...
directly). Each returns the route's result as it is answered."""

from __future__ import annotations

from typing import Any

from designs import oc, simon
from service.problems import ReportUnavailable


def simon_designs(p0: float, p1: float, alpha: float, beta: float, nmax: int) -> dict[str, Any]:
    """Optimal, minimax and admissible Simon designs."""
    return simon.search_designs(p0, p1, alpha, beta, nmax=nmax).as_dict()


def operating_characteristics(plan: Any, finish: Any) -> dict[str, Any]:
    """An operating-characteristics plan run here, one chunk after another, in its documented shape."""
    return finish(oc.run(plan))


def calibration(plan: Any, finish: Any) -> dict[str, Any]:
    """A calibration plan run here, in its documented shape."""
    return finish(plan.reduce([(i, plan.run_chunk(i)) for i in plan.chunks]))


def registry_look(protocol: dict[str, Any], cut: dict[str, Any], look_number: int, seed: int,
                  context: dict[str, Any]) -> dict[str, Any]:
    """A trial's look (``designs.registry.look.run_look``) with positional arguments, as the pool passes them."""
    from designs.registry.look import run_look

    return run_look(protocol, cut, look_number=look_number, seed=seed, context=context)


def boundary_table(design: Any, conditional: Any, simon: Any, request: dict[str, Any]) -> dict[str, Any]:
    """``designs.boundaries.boundary_table`` with positional arguments, as the pool passes them."""
    from designs.boundaries import boundary_table as table

    return table(design, conditional=conditional, simon=simon, request=request)


def registry_look_with_design(protocol: dict[str, Any], cut: dict[str, Any], look_number: int, seed: int,
                              context: dict[str, Any], design: bool) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """A look and, when ``design`` (none is stored for its protocol version yet), the version's design
    summary (``designs.registry.design.design_summary``: OC and boundaries), in one task so that the
    repository stores both in one transaction."""
    from designs.registry.design import design_summary

    result = registry_look(protocol, cut, look_number, seed, context)
    summary = design_summary(protocol, trial_id=context["trial"], version=context["protocol_version"]) if design else None
    return result, summary


REPORT_MEDIA_TYPES = {"html": "text/html; charset=utf-8", "pdf": "application/pdf"}


def render_report(bundle: dict[str, Any], fmt: str) -> bytes:
    """The report of a look (``service.registry.repository.report_bundle``) as HTML or PDF bytes
    (``designs.reports.render``); ``ReportUnavailable`` (503) when PDF rendering is unavailable here."""
    from designs.reports import render

    if fmt == "html":
        return render.render_html(bundle).encode("utf-8")
    try:
        return render.render_pdf(bundle)
    except render.PdfUnavailableError as exc:
        raise ReportUnavailable(f"PDF reports cannot be rendered on this server ({exc}); ask for text/html") from None



def safety_boundaries(design: Any, rates: Any, request: dict[str, Any]) -> dict[str, Any]:
    """``designs.safety.safety_boundaries`` with positional arguments, as the pool passes them."""
    from designs.safety import safety_boundaries as boundaries

    return boundaries(design, rates=rates, request=request)


def pfs_design(plan: Any, finish: Any) -> dict[str, Any]:
    """A PFS design plan (operating characteristics or calibration) run here, in its documented shape."""
    from designs.pfsdesign.operating import run

    return finish(run(plan))
