"""What the criteria share: a visit's reading, exact sizes, percentages in words.

Sizes are compared as the numbers written: ``Decimal(repr(x))`` in a context wide enough for every
bounded size (400 digits) that traps any rounding, so that 70 mm is exactly 30 % below 100 mm and 120 mm
exactly 20 % above it, which binary floating point (100 * 1.2 = 120.00000000000001) would not decide.
(Decimal rather than ``fractions.Fraction``: the same exactness for numbers written in decimal, computed
in C, which keeps 200 patients × 12 visits within the 50 ms goal.) Changes shown (``change_from_baseline``)
are rounded to 17 digits: they are for reading; the thresholds are decided exactly.

The conversions of a value as given (``exact``, ``as_size``, ``measured``) are pure and cached
(``functools.lru_cache``, ``typed``: 70 and 70.0 are kept apart), since a request repeats its sizes,
baselines and nadirs from visit to visit; ``decimal_of`` and ``measure`` are the same uncached, for a caller
that caches what it makes of them (RECIST's wording of a sum), where a second cache would only be missed
by new data. The words of a fresh decimal (``percent``, ``size_text``,
``signed_size``, ``as_float``) are not: hashing a new decimal costs about as much as writing it.
"""

from __future__ import annotations

import functools
import math
from decimal import Context, Decimal, Inexact
from typing import NamedTuple

from designs.adam.readers import normal_value

EXACT = Context(prec=400, traps=[Inexact])
"""Every sum, difference and product of sizes in [0, 1e6] (at most 17 significant digits, exponents down
to −324) is exact in 400 digits; a rounding would raise, not decide."""
_SHOWN = Context(prec=17)


class VisitReading(NamedTuple):
    """One visit as a criterion reads it: the overall response, its parts, and why. (Immutable like a
    frozen dataclass; a ``NamedTuple`` because a request builds one per visit, thousands, and a named tuple
    is built in a third of a frozen dataclass's time.)"""

    response: str
    target: str | None = None
    non_target: str | None = None
    new_lesions: bool = False
    measure: float | None = None
    reference: float | None = None
    change_from_baseline: float | None = None
    change_from_reference: float | None = None
    reason: str = ""


class Measured(NamedTuple):
    """A visit's size against the baseline and the reference (nadir or baseline), exact, with the changes
    (exact to 17 digits, and as results show them: ``as_float``)."""

    value: Decimal
    baseline: Decimal
    reference: Decimal
    from_baseline: Decimal | None
    from_reference: Decimal | None
    shown_from_baseline: float | None
    shown_from_reference: float | None

    @classmethod
    def of(cls, value: float | None, baseline: Decimal, reference: Decimal) -> Measured | None:
        """None when the visit was not measured."""
        return None if value is None else measured(value, baseline, reference)


def measure(value: float, baseline: Decimal, reference: Decimal) -> Measured:
    """``Measured.of`` a measured visit, not cached: for a caller that caches what it makes of it
    (``designs.endpoints.recist``'s wording of a sum), where a second cache would only cost a look-up that
    new data miss."""
    size = decimal_of(value)  # not cached: ``measured`` keeps it, and a visit's new sum would only miss
    from_baseline = change(size, baseline)
    shown = as_float(from_baseline)
    if reference is baseline:
        return Measured(size, baseline, reference, from_baseline, from_baseline, shown, shown)
    from_reference = change(size, reference)
    return Measured(size, baseline, reference, from_baseline, from_reference, shown, as_float(from_reference))


measured = functools.lru_cache(maxsize=8192, typed=True)(measure)
"""``measure``, cached (the same size against the same baseline and nadir recurs)."""


def reading(response: str, target: str, non_target: str | None, new_lesions: bool, measure: float | None,
            sizes: Measured | None, reference: Decimal, reason: str) -> VisitReading:
    """The reading of a measured visit (the criteria's common shape)."""
    if sizes is None:
        return VisitReading(response, target, non_target, new_lesions, measure, as_size(reference), None, None,
                            reason)
    return VisitReading(response, target, non_target, new_lesions, measure, as_size(reference),
                        sizes.shown_from_baseline, sizes.shown_from_reference, reason)


_CACHE = 8192


def decimal_of(value: float) -> Decimal:
    """The number as written: ``Decimal(repr(x))`` (70.1 is 701/10, not the binary float nearest it)."""
    return Decimal(value) if isinstance(value, int) else Decimal(repr(float(value)))


exact = functools.lru_cache(maxsize=_CACHE, typed=True)(decimal_of)
"""``decimal_of``, cached (a request repeats its sizes, baselines and nadirs)."""


minus = EXACT.subtract
"""a − b, exact (a bound method of ``EXACT``: no Python call in between)."""
times = EXACT.multiply
"""a × b, exact."""
_divide = _SHOWN.divide
_isfinite = math.isfinite


def as_float(value: Decimal | None) -> float | None:
    """A decimal as a float, None when it is None or beyond floats."""
    if value is None:
        return None
    number = float(value)
    return number if _isfinite(number) else None


@functools.lru_cache(maxsize=_CACHE, typed=True)
def as_size(value: Decimal) -> float | int | None:
    """A size as results write it, the normalised way (``designs.adam.readers.normal_value``: an int when
    integral), so that a visit's ``reference`` 70 reads as its ``measure`` 70 does."""
    number = as_float(value)
    return None if number is None else normal_value(number)


def change(value: Decimal, reference: Decimal) -> Decimal | None:
    """(value − reference) / reference to 17 digits, None when the reference is 0."""
    return _divide(minus(value, reference), reference) if reference else None


def percent(fraction: Decimal | None) -> str:
    """A signed change in words: "−30 %", "+19.9 %" ("n/a" against a reference of 0)."""
    return "n/a" if fraction is None else percent_of(float(fraction))


def percent_of(number: float) -> str:
    """``percent`` of a change already a float (as ``Measured`` shows it when finite)."""
    if not _isfinite(number):
        return "+∞ %"
    shown = abs(number * 100)
    if shown < 1e4:  # "%.2f" rounds as round(·, 2) does, and has at most the 6 digits of ":g": the same text
        text = ("%.2f" % shown).rstrip("0").rstrip(".")
    else:
        text = f"{abs(round(number * 100, 2)):g}"
    return f"{'−' if number < 0 else '+'}{text} %"


def size_text(value: float | Decimal | None, unit: str) -> str:
    """A size as written, with its unit ("68 mm", "270.5 ml"): a decimal without its trailing zeros, as
    ``format(value.normalize(), "f")`` writes it (an exact decimal's digits, stripped of zeros after the point)."""
    if isinstance(value, Decimal):
        text = format(value, "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
    else:
        text = repr(value)
        text = text[:-2] if text.endswith(".0") else text
    return f"{text} {unit}"


def signed_size(value: Decimal, unit: str) -> str:
    """A change of size with its sign ("+16 mm", "−5 mm")."""
    return f"{'−' if value < 0 else '+'}{size_text(abs(value), unit)}"
