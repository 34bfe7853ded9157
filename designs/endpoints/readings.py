"""What the criteria share: a visit's reading, exact sizes, percentages in words.

Sizes are compared as the numbers written (``Fraction(repr(x))``): 70 mm is exactly 30 % below 100 mm and
120 mm exactly 20 % above it, which binary floating point (100 * 1.2 = 120.00000000000001) would not decide.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction


@dataclass(frozen=True)
class VisitReading:
    """One visit as a criterion reads it: the overall response, its parts, and why."""

    response: str
    target: str | None = None
    non_target: str | None = None
    new_lesions: bool = False
    measure: float | None = None
    reference: float | None = None
    change_from_baseline: float | None = None
    change_from_reference: float | None = None
    reason: str = ""


def exact(value: float) -> Fraction:
    """The number as written: ``Fraction(repr(x))`` (70.1 is 701/10, not the binary float nearest it)."""
    return Fraction(value) if isinstance(value, int) else Fraction(repr(float(value)))


def as_float(value: Fraction | None) -> float | None:
    """A fraction as a float, None when it is None or too large for one."""
    if value is None:
        return None
    try:
        return float(value)
    except OverflowError:
        return None


def change(value: Fraction, reference: Fraction) -> Fraction | None:
    """(value − reference) / reference, None when the reference is 0."""
    return None if reference == 0 else (value - reference) / reference


def percent(fraction: Fraction | None) -> str:
    """A signed change in words: "−30 %", "+19.9 %" ("n/a" against a reference of 0)."""
    if fraction is None:
        return "n/a"
    number = as_float(fraction * 100)
    if number is None:
        return "+∞ %"
    text = f"{abs(round(number, 2)):g}"
    return f"{'−' if number < 0 else '+'}{text} %"


def size_text(value: float | Fraction | None, unit: str) -> str:
    """A size as written, with its unit ("68 mm", "270.5 ml")."""
    number = as_float(value) if isinstance(value, Fraction) else value
    text = repr(number)
    return f"{text[:-2] if text.endswith('.0') else text} {unit}"
