"""RECIST 1.1 response of one visit (Eisenhauer et al. 2009, Eur J Cancer 45:228–247, §4.3 and Tables 1–2).

Target lesions (sum of diameters, nodes by short axis), in this order:

* CR: every target gone (sum 0, or ``target_cr``: every non-nodal target gone and every node < 10 mm,
  as the reader states, so the sum may be above 0). Nodes < 10 mm short axis are normal (EORTC RECIST
  FAQ, "abnormal lymph node"): while ``target_cr`` is true, nodes growing below 10 mm are still CR;
* PD: once a CR has been documented (an earlier visit's overall response CR), any sum above 0 without
  ``target_cr`` — reappearance of disease is PD (EORTC RECIST FAQ, "Does a new lesion always result in
  PD?"); otherwise the sum is at least 20 % above the nadir (the smallest sum so far, baseline included)
  AND at least 5 mm above it;
* PR: the sum is at least 30 % below the baseline sum;
* SD otherwise; NE when the sum was not measured.

Overall (Table 1, target lesions at baseline): a new lesion, target PD or non-target PD → PD; target NE →
NE; target CR with non-target CR (or none at baseline) → CR; target CR with non-target non-CR/non-PD or
NE → PR; target PR → PR; SD → SD. Non-target disease only (Table 2): a new lesion or non-target PD → PD;
non-target CR → CR; non-CR/non-PD → NON-CR/NON-PD; not assessed → NE. After a documented CR, non-target
lesions no longer CR (non-CR/non-PD) are PD too (reappearance of disease).
"""

from __future__ import annotations

import datetime as dt
import functools
from decimal import Decimal

from designs.endpoints.assessments import Assessment
from designs.endpoints.readings import (Measured, VisitReading, as_size, measure, measured, minus, percent, percent_of,
                                        reading, signed_size, size_text, times)
from designs.endpoints.spec import RECIST_PD_ABSOLUTE_MM, RECIST_PD_INCREASE, RECIST_PR_DECREASE


_PR_FACTOR = 1 - RECIST_PR_DECREASE
"""A PR sum is at most 0.7 × the baseline sum (exact)."""


def reappeared(cr_on: dt.date | None) -> str:
    """Why a reappearance is PD (``cr_on``: the date of the documented CR)."""
    return f"after the complete response on {cr_on}, reappearance of disease is PD"


def target_response(sizes: Measured | None, target_cr: bool | None,
                    cr_on: dt.date | None = None) -> tuple[str, str]:
    """The target lesions' response and why (sizes exact; the reference is the nadir; ``cr_on``: the date of
    a documented CR, after which any sum above 0 without ``target_cr`` is PD)."""
    if sizes is None:
        return "NE", "target lesions not measured"
    total = sizes.value
    if target_cr:
        return "CR", f"every target lesion gone (sum {size_text(total, 'mm')}{', nodes < 10 mm' if total else ''})"
    if cr_on is not None and total > 0:
        return "PD", f"sum {size_text(total, 'mm')} {reappeared(cr_on)}"
    return _by_size(sizes)


def _by_size(sizes: Measured, mm: str | None = None) -> tuple[str, str]:
    """PD, PR or SD by the sum against the nadir and the baseline, and why (each change in words once: the
    nadir's is the baseline's while the nadir is the baseline; ``mm``: the sum's text, when known)."""
    total, nadir, baseline, from_baseline = sizes.value, sizes.reference, sizes.baseline, sizes.from_baseline
    mm, nadir_mm = mm or _mm(total), _mm(nadir)
    above = minus(total, nadir)
    rises = above >= times(RECIST_PD_INCREASE, nadir)
    shown = sizes.shown_from_reference  # None: the change is n/a or beyond floats, as ``percent`` writes it
    from_nadir = percent(sizes.from_reference) if shown is None else percent_of(shown)
    if rises and above >= RECIST_PD_ABSOLUTE_MM:
        return "PD", (f"sum {mm} is {size_text(above, 'mm')} ({from_nadir}) above the nadir "
                      f"{nadir_mm} (PD: ≥ 20 % and ≥ 5 mm)")
    partial = total <= times(_PR_FACTOR, baseline)
    if from_baseline is sizes.from_reference:
        change = f"{from_nadir} from baseline {_mm(baseline)}"
    else:
        shown = sizes.shown_from_baseline
        change = f"{percent(from_baseline) if shown is None else percent_of(shown)} from baseline {_mm(baseline)}"
    if not (partial or rises):  # the common case, in one string
        return "SD", (f"sum {mm}: {change}, {signed_size(above, 'mm')} ({from_nadir}) from the nadir "
                      f"{nadir_mm} (neither PR ≤ −30 % nor PD ≥ +20 % and ≥ 5 mm)")
    if partial:
        return "PR", (f"sum {mm} is {change} (PR: ≤ −30 %); {signed_size(above, 'mm')} "
                      f"({from_nadir}) from the nadir {nadir_mm}")
    rise = from_nadir if nadir else "up from 0"  # rises: above the nadir, by under 5 mm
    return "SD", (f"sum {mm}: {change}; {rise} but only {signed_size(above, 'mm')} above the nadir "
                  f"{nadir_mm}: not PD (PD needs ≥ +20 % and ≥ 5 mm)")


@functools.lru_cache(maxsize=4096)
def _mm(size: Decimal) -> str:
    """``size_text(size, "mm")`` of a sum that recurs (a visit's sum, a patient's baseline and nadir: the same
    decimal objects, whose hashes are kept, so that a look-up is cheaper than the text)."""
    return size_text(size, "mm")


@functools.lru_cache(maxsize=8192, typed=True)
def _sized(value: float, baseline: Decimal, nadir: Decimal) -> tuple[str, str, Measured]:
    """``_by_size`` of a measured sum, with its sizes, cached by the sum as given and the baseline and nadir (a
    request repeats its sums against the same baseline and nadir; a float and two cached decimals hash fast)."""
    text = repr(value)  # the sum as written: its decimal's text (``size_text``) unless in exponent form
    sizes = measure(value, baseline, nadir)  # uncached: this cache keeps it
    return (*_by_size(sizes, None if "e" in text else f"{text[:-2] if text.endswith('.0') else text} mm"), sizes)


def overall_with_targets(target: str, non_target: str | None, new_lesions: bool) -> str:
    """Eisenhauer 2009 Table 1 (``non_target`` None: no non-target lesions at baseline)."""
    if new_lesions or target == "PD" or non_target == "PD":
        return "PD"
    if target == "NE":
        return "NE"
    if target == "CR":
        return "CR" if non_target in ("CR", None) else "PR"
    return target


def overall_non_target_only(non_target: str, new_lesions: bool) -> str:
    """Eisenhauer 2009 Table 2: non-target disease only."""
    if new_lesions or non_target == "PD":
        return "PD"
    return {"CR": "CR", "non-CR/non-PD": "NON-CR/NON-PD"}.get(non_target, "NE")


@functools.lru_cache(maxsize=16)
def _others(non_target: str | None, new_lesions: bool) -> str:
    """The non-target lesions and new lesions in words ("non-target NE; no new lesions")."""
    return (f"non-target {non_target}" if non_target else "no non-target lesions") + "; " + (
        "new lesion(s)" if new_lesions else "no new lesions")


def read_visit(visit: Assessment, baseline: Decimal | None, baseline_non_target: bool,
               nadir: Decimal | None, cr_on: dt.date | None = None) -> VisitReading:
    """The RECIST 1.1 reading of ``visit`` against the ``baseline`` sum; ``nadir`` is the smallest sum so far,
    baseline included (both None: non-target disease only); ``cr_on`` the date of a documented CR, if any."""
    non_target = visit.non_target if visit.non_target is not None else ("NE" if baseline_non_target else None)
    others = _others(non_target, visit.new_lesions)
    if cr_on is not None and non_target == "non-CR/non-PD":
        others = others.replace(f"non-target {non_target}", f"non-target {non_target} {reappeared(cr_on)}", 1)
        non_target = "PD"
    if nadir is None:
        response = overall_non_target_only(non_target or "NE", visit.new_lesions)
        return VisitReading(response, None, non_target, visit.new_lesions,
                            reason=f"{others} → {response} (RECIST 1.1 Table 2, non-target disease only)")
    value, new_lesions = visit.target_sum_mm, visit.new_lesions
    if value is not None and not visit.target_cr and cr_on is None:
        return read_sum(value, non_target, new_lesions, baseline, nadir)[0]  # type: ignore[arg-type]
    sizes = None if value is None else measured(value, baseline, nadir)  # type: ignore[arg-type]
    if sizes is not None and not visit.target_cr and not sizes.value:
        target, why, _ = _sized(value, baseline, nadir)  # type: ignore[arg-type]  # target_response's common case
    else:
        target, why = target_response(sizes, visit.target_cr, cr_on)
    response = overall_with_targets(target, non_target, new_lesions)
    return reading(response, target, non_target, new_lesions, value, sizes, nadir,
                   f"target {target}: {why}; {others} → {response} (RECIST 1.1 Table 1)")


def read_sum(value: float, non_target: str | None, new_lesions: bool, baseline: Decimal,
             nadir: Decimal) -> tuple[VisitReading, Decimal]:
    """``read_visit`` of the common visit, in one call: a sum measured, no ``target_cr``, no CR documented before
    (``non_target`` as ``read_visit`` reads it: NE when not assessed but present at baseline); with the exact sum,
    for the nadir."""
    target, why, sizes = _sized(value, baseline, nadir)
    response = "PD" if new_lesions or target == "PD" or non_target == "PD" else target  # overall_with_targets
    return VisitReading(response, target, non_target, new_lesions, value, as_size(nadir), sizes.shown_from_baseline,
                        sizes.shown_from_reference,
                        f"target {target}: {why}; {_others(non_target, new_lesions)} → {response} (RECIST 1.1 Table 1)"
                        ), sizes.value
