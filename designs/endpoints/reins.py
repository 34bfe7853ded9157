"""REiNS volumetric response of one visit (Dombi et al. 2013, Neurology 81(21 Suppl 1):S33–S40), as used
for plexiform neurofibromas (e.g. SARC031, selumetinib SPRINT):

* PD: a new lesion, non-target progression, or a volume at least 20 % above the reference (and above it)
  — the baseline volume by default, or the nadir (smallest volume so far, baseline included) when the
  protocol says ``progression_reference: nadir``;
* CR: volume 0; after a documented CR (an earlier visit's response CR), any volume above 0 is PD
  (reappearance of disease, as RECIST 1.1);
* PR: volume at least 20 % below the baseline volume;
* SD otherwise; NE when the volume was not measured.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from designs.endpoints.assessments import Assessment
from designs.endpoints.readings import Measured, VisitReading, minus, percent, reading, size_text, times
from designs.endpoints.recist import reappeared
from designs.endpoints.spec import REINS_CHANGE


def volume_response(sizes: Measured | None, kind: str, cr_on: dt.date | None = None) -> tuple[str, str]:
    """The volume's response and why (``kind``: "baseline" or "nadir", what the reference is; ``cr_on``: the
    date of a documented CR, after which any volume above 0 is PD)."""
    if sizes is None:
        return "NE", "volume not measured"
    volume, reference, baseline = sizes.value, sizes.reference, sizes.baseline
    ml = size_text(volume, "ml")
    if cr_on is not None and volume > 0:
        return "PD", f"volume {ml} {reappeared(cr_on)}"
    if volume > reference and minus(volume, reference) >= times(REINS_CHANGE, reference):
        return "PD", (f"volume {ml} is {percent(sizes.from_reference)} from the {kind} "
                      f"{size_text(reference, 'ml')} (PD: ≥ +20 %)")
    if volume == 0:
        return "CR", "volume 0 ml (every target lesion gone)"
    from_baseline = f"{percent(sizes.from_baseline)} from baseline {size_text(baseline, 'ml')}"
    if kind == "nadir":  # the baseline's change said once when the reference is the baseline
        from_baseline += f", {percent(sizes.from_reference)} from the nadir {size_text(reference, 'ml')}"
    if volume <= times(1 - REINS_CHANGE, baseline):
        return "PR", f"volume {ml} is {from_baseline} (PR: ≤ −20 % from baseline)"
    return "SD", f"volume {ml}: {from_baseline} (neither PR ≤ −20 % nor PD ≥ +20 %)"


def read_visit(visit: Assessment, baseline: Decimal, reference: Decimal, kind: str,
               cr_on: dt.date | None = None) -> VisitReading:
    """The REiNS reading of ``visit`` against the ``baseline`` volume and ``reference`` (the baseline or
    nadir volume, ``kind``); ``cr_on`` the date of a documented CR, if any."""
    sizes = Measured.of(visit.volume_ml, baseline, reference)
    target, why = volume_response(sizes, kind, cr_on)
    response = "PD" if visit.new_lesions or visit.non_target == "PD" else target
    others = [f"non-target {visit.non_target}" if visit.non_target else None,
              "new lesion(s)" if visit.new_lesions else None]
    extra = "".join(f"; {o}" for o in others if o)
    return reading(response, target, visit.non_target, visit.new_lesions, visit.volume_ml, sizes, reference,
                   f"volume {target}: {why}{extra} → {response} (REiNS volumetric)")
