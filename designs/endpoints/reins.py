"""REiNS volumetric response of one visit (Dombi et al. 2013, Neurology 81(21 Suppl 1):S33–S40), as used
for plexiform neurofibromas (e.g. SARC031, selumetinib SPRINT):

* PD: a new lesion, non-target progression, or a volume at least 20 % above the reference (and above it)
  — the baseline volume by default, or the nadir (smallest volume so far, baseline included) when the
  protocol says ``progression_reference: nadir``;
* CR: volume 0;
* PR: volume at least 20 % below the baseline volume;
* SD otherwise; NE when the volume was not measured.
"""

from __future__ import annotations

from fractions import Fraction

from designs.endpoints.assessments import Assessment
from designs.endpoints.readings import VisitReading, as_float, change, exact, percent, size_text
from designs.endpoints.spec import REINS_CHANGE


def volume_response(volume: Fraction | None, baseline: Fraction, reference: Fraction, kind: str) -> tuple[str, str]:
    """The volume's response and why (``kind``: "baseline" or "nadir", what ``reference`` is)."""
    if volume is None:
        return "NE", "volume not measured"
    ml = size_text(volume, "ml")
    if volume > reference and volume - reference >= REINS_CHANGE * reference:
        return "PD", f"volume {ml} is {percent(change(volume, reference))} from the {kind} {size_text(reference, 'ml')} (PD: ≥ +20 %)"
    if volume == 0:
        return "CR", "volume 0 ml (every target lesion gone)"
    from_baseline = change(volume, baseline)
    if volume <= (1 - REINS_CHANGE) * baseline:
        return "PR", f"volume {ml} is {percent(from_baseline)} from baseline {size_text(baseline, 'ml')} (PR: ≤ −20 %)"
    return "SD", (f"volume {ml}: {percent(from_baseline)} from baseline, {percent(change(volume, reference))} from the "
                  f"{kind} {size_text(reference, 'ml')} (neither PR ≤ −20 % nor PD ≥ +20 %)")


def read_visit(visit: Assessment, baseline: Assessment, reference: Fraction, kind: str) -> VisitReading:
    """The REiNS reading of ``visit`` against ``reference`` (the baseline or nadir volume, ``kind``)."""
    base = exact(baseline.volume_ml)  # type: ignore[arg-type]
    volume = None if visit.volume_ml is None else exact(visit.volume_ml)
    target, why = volume_response(volume, base, reference, kind)
    if visit.new_lesions or visit.non_target == "PD":
        response = "PD"
    else:
        response = target
    others = [f"non-target {visit.non_target}" if visit.non_target else None, "new lesion(s)" if visit.new_lesions else None]
    extra = "".join(f"; {o}" for o in others if o)
    return VisitReading(
        response, target, visit.non_target, visit.new_lesions, visit.volume_ml, as_float(reference),
        None if volume is None else as_float(change(volume, base)),
        None if volume is None else as_float(change(volume, reference)),
        f"volume {target}: {why}{extra} → {response} (REiNS volumetric)",
    )
