"""The one checker of request values: probabilities, counts, names, finite numbers, limits.

Every spec's validating constructor (``designs.response.spec``, ``designs.survival.spec``) checks its
fields with a ``Checker``, which collects a ``FieldProblem`` per bad field and raises them all at once
(``InvalidInputError``), so that a caller learns every mistake from one attempt. The limits shared by
the analyses (``MAX_STRATA``, ``MAX_COUNT``, ``MAX_NAME_LENGTH``) are defined here and nowhere else;
the HTTP schemas read them from here.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

import numpy as np

from designs.core.errors import FieldProblem, InvalidInputError

MAX_STRATA = 12
MAX_COUNT = 100_000
"""Largest number of patients (or responders) in a stratum."""
MAX_NAME_LENGTH = 100
MAX_SEED = 2**32 - 1
MAX_ERROR_RATE = 0.5
"""Largest type I or type II error rate a design may be asked for (Simon's alpha and beta, a calibration target)."""

T = TypeVar("T")


def is_integer(value: Any) -> bool:
    return isinstance(value, int | np.integer) and not isinstance(value, bool | np.bool_)


def is_number(value: Any) -> bool:
    """A finite real number (booleans are not numbers here)."""
    return isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool | np.bool_) and math.isfinite(value)


@dataclass(frozen=True)
class Bounds:
    """An interval of allowed values: ``gt``/``ge`` below, ``lt``/``le`` above (None: unbounded)."""

    gt: float | None = None
    ge: float | None = None
    lt: float | None = None
    le: float | None = None

    def contains(self, value: float) -> bool:
        return (
            (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
            and (self.lt is None or value < self.lt)
            and (self.le is None or value <= self.le)
        )

    def text(self) -> str:
        low = f"({self.gt:g}" if self.gt is not None else f"[{self.ge:g}" if self.ge is not None else "(−∞"
        high = f"{self.lt:g})" if self.lt is not None else f"{self.le:g}]" if self.le is not None else "∞)"
        return f"{low}, {high}"

    def as_field_kwargs(self) -> dict[str, float]:
        """The bounds as pydantic ``Field`` keyword arguments (for the HTTP schemas)."""
        return {k: v for k, v in vars(self).items() if v is not None}


OPEN_PROBABILITY = Bounds(gt=0.0, lt=1.0)
CLOSED_PROBABILITY = Bounds(ge=0.0, le=1.0)
RESPONSE_RATE = Bounds(ge=0.001, le=0.999)
"""A null or target response rate (p0, p1) of a phase II trial: 0.001 ≤ p ≤ 0.999 is plenty, and
keeps every engine's logit, Beta and binomial functions away from the subnormal numbers where they
overflow (p0 = 1e-308 in scipy's incomplete beta) or return NaN."""

# Normal priors on a logit or log-hazard scale (the hierarchical response and PFS models). Beyond
# these a prior has no meaning (logit ±20 is p = 2e-9; an sd of 10 already spreads p over (0, 1))
# and the quadrature grid, whose step resolves the narrowest sd and whose range spans the widest,
# would grow without bound: at the extremes it stays below ~50 000 θ nodes (~1 s for 12 strata).
PRIOR_LOCATION = Bounds(ge=-20.0, le=20.0)
"""Mean of a normal prior on a logit or log-hazard scale."""
PRIOR_SD = Bounds(ge=0.01, le=10.0)
"""Sd of a normal prior on a logit or log-hazard scale (μ, the non-exchangeable part); 0.01 pins it."""
PRIOR_TAU_SCALE = Bounds(ge=1e-4, le=10.0)
"""Scale of the half-normal prior on τ (the τ grid follows it down at no cost; 1e-4 is complete pooling)."""


MAX_EXACT_INTEGER = 2**53
"""Beyond it a JSON number with a zero fraction may not be the integer its writer meant."""


def whole(value: Any) -> Any:
    """``value`` as an int where it is a float with a zero fraction (JSON's ``21.0``, JSON Schema's
    integer) within ``MAX_EXACT_INTEGER``; anything else unchanged."""
    if type(value) is float and value.is_integer() and abs(value) <= MAX_EXACT_INTEGER:
        return int(value)
    return value


def json_kind(value: Any) -> str:
    """A value as a JSON reader names it: "the string '0.05'", "the boolean false", "the number 7.5",
    "null", "an array", "an object"."""
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, int | float):
        return f"the number {value!r}"
    if value is None:
        return "null"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return repr(value)


def described(value: Any) -> str:
    """A value as the core's checks quote it: a number as written (21.0), anything else by its JSON
    kind, with a hint where it is a quoted number ("the string '21' — write numbers without quotes")."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return repr(value)
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return json_kind(value)
        return f"{json_kind(value)} — write numbers without quotes"
    return json_kind(value)


def did_you_mean(name: str, choices: Sequence[str]) -> str:
    """A hint for a name that is not one of ``choices`` (" — did you mean 'NF1'? …"), or "" when
    none is close: a name that differs only in case first (names are case-sensitive), then a near
    miss (a typo such as 'respnders')."""
    same_but_case = [c for c in choices if isinstance(c, str) and c.lower() == str(name).lower()]
    if same_but_case:
        return f" — did you mean '{same_but_case[0]}'? (names are case-sensitive)"
    close = difflib.get_close_matches(str(name), [c for c in choices if isinstance(c, str)], n=1, cutoff=0.75)
    return f" — did you mean '{close[0]}'?" if close else ""


def percent_hint(value: Any, upper: float | None) -> str:
    """A hint for a number above a proportion's upper bound (≤ 1) that reads as a percentage
    ("p0": 15 for 0.15), or ""."""
    if upper is not None and upper <= 1 and is_number(value) and 2 <= value <= 100:
        return f" — rates and probabilities are proportions, not percentages: did you mean {value / 100:g}?"
    return ""


class Checker:
    """Collects the problems of one request; ``raise_if_any`` raises them together."""

    def __init__(self) -> None:
        self.problems: list[FieldProblem] = []

    def add(self, where: str, reason: str) -> None:
        self.problems.append(FieldProblem(where, reason))

    def raise_if_any(self) -> None:
        if self.problems:
            raise InvalidInputError(self.problems)

    def attempt(self, build: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
        """``build(...)``, or None with its problems collected when it raises InvalidInputError."""
        try:
            return build(*args, **kwargs)
        except InvalidInputError as error:
            self.problems.extend(error.problems)
            return None

    def unknown(self, where: str, given: Mapping[str, Any], allowed: Sequence[str], what: str) -> None:
        """Every key of ``given`` that is not in ``allowed`` (one with an empty name at ``given`` itself)."""
        for name in sorted(set(given) - set(allowed), key=str):
            if name == "":
                self.add(where.rstrip("/") or "body", f"a field with an empty name is not a field of {what} ({', '.join(allowed)})")
            else:
                self.add(f"{where}{name}", f"not a field of {what} ({', '.join(allowed)})" + did_you_mean(name, allowed))

    def number(self, where: str, value: Any, bounds: Bounds = Bounds()) -> float | None:
        """A finite number within ``bounds``."""
        if not is_number(value):
            self.add(where, f"must be a finite number (got {described(value)})")
            return None
        if not bounds.contains(value):
            upper = bounds.lt if bounds.lt is not None else bounds.le
            self.add(where, f"must lie in {bounds.text()} (got {value})" + percent_hint(value, upper))
            return None
        return float(value)

    def probability(self, where: str, value: Any) -> float | None:
        """A probability strictly between 0 and 1."""
        return self.number(where, value, OPEN_PROBABILITY)

    def response_rate(self, where: str, value: Any) -> float | None:
        """A null or target response rate within ``RESPONSE_RATE``."""
        return self.number(where, value, RESPONSE_RATE)

    def integer(self, where: str, value: Any, low: int, high: int) -> int | None:
        """An integer in [low, high]. A number written with a fraction (21.0) is refused here: the core
        keeps the values it is given (a protocol stores them), and an int is what every later use needs;
        the request schemas read 21.0 as 21 before the core sees it (``service.schemas.common``)."""
        if not is_integer(value) or not low <= value <= high:
            self.add(where, f"must be an integer in [{low}, {high}] (got {described(value)})")
            return None
        return int(value)

    def seed(self, value: Any) -> int | None:
        return None if value is None else self.integer("seed", value, 0, MAX_SEED)

    def count(self, where: str, value: Any, *, low: int = 0) -> int | None:
        return self.integer(where, value, low, MAX_COUNT)

    def counts(self, where: str, n: Any, responders: Any, n_planned: Any) -> tuple[int, int, int] | None:
        """0 ≤ responders ≤ n ≤ n_planned, with n_planned ≥ 1 (``where`` is the stratum's location)."""
        n = self.count(f"{where}/n", n)
        planned = self.count(f"{where}/n_planned", n_planned, low=1)
        y = self.count(f"{where}/responders", responders)
        consistent = True
        if n is not None and y is not None and y > n:
            self.add(f"{where}/responders", f"responders cannot exceed n (n = {n}, responders = {y})")
            consistent = False
        if n is not None and planned is not None and n > planned:
            self.add(f"{where}/n_planned", f"n_planned must be at least n (n = {n}, n_planned = {planned})")
            consistent = False
        return (n, y, planned) if consistent and None not in (n, y, planned) else None

    def name(self, where: str, value: Any) -> str | None:
        if not isinstance(value, str) or not 1 <= len(value) <= MAX_NAME_LENGTH:
            self.add(where, f"must be a string of 1 to {MAX_NAME_LENGTH} characters")
            return None
        return value

    def unique(self, where: str, names: Sequence[Any], field: str = "") -> None:
        """Each name once, and no two that differ only in case, spaces or punctuation ('Sporadic',
        'sporadic '): a repeat is located at its own index, ``{where}/{i}{field}``, quoting the first."""
        seen: dict[str, tuple[int, Any]] = {}
        for i, name in enumerate(names):
            if not isinstance(name, str | int):
                continue  # None or a bad value, reported where the name itself is checked
            key = "".join(ch for ch in str(name).casefold() if ch.isalnum())
            if key not in seen:
                seen[key] = (i, name)
                continue
            first_index, first = seen[key]
            first_at = f"{where}/{first_index}{field} '{first}'"
            if name == first:
                self.add(f"{where}/{i}{field}", f"repeats {first_at} (stratum names must be unique)")
            else:
                self.add(f"{where}/{i}{field}", f"'{name}' differs from {first_at} only in case, spaces or "
                         "punctuation (stratum names must be told apart by more)")

    def size(self, where: str, items: Any, low: int, high: int, what: str) -> bool:
        if not isinstance(items, Sequence) or isinstance(items, str) or not low <= len(items) <= high:
            got = len(items) if isinstance(items, Sequence) else type(items).__name__
            self.add(where, f"need between {low} and {high} {what} (got {got})")
            return False
        return True

    def choice(self, where: str, value: Any, choices: Sequence[Any]) -> Any:
        if value not in choices:
            self.add(where, f"must be one of {', '.join(map(str, choices))} (got {value!r})"
                     + (did_you_mean(value, [c for c in choices if isinstance(c, str)]) if isinstance(value, str) else ""))
            return None
        return value

    def build(self, where: str, cls: Callable[..., T], values: Any) -> T | None:
        """A dataclass ``cls`` from the mapping ``values`` (None: its defaults); unknown keys are problems."""
        values = self.mapping(where, values)
        names = [f.name for f in fields(cls)]
        before = len(self.problems)
        self.unknown(f"{where}/", values, names, where)
        return None if len(self.problems) > before else self.attempt(cls, **values)

    def within(self, prefix: str, build: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``build(checker, ...)`` on a checker of its own whose problems are moved here located under
        ``prefix`` (``model/prior/a`` → ``response/model/prior/a``): a part shared by several requests
        (an analysis, a protocol's endpoint) reads the same, wherever it sits."""
        inner = Checker()
        result = build(inner, *args, **kwargs)
        for problem in inner.problems:
            self.add(f"{prefix}/{problem.field}" if problem.field not in ("", "body") else prefix, problem.reason)
        return result

    def mapping(self, where: str, value: Any) -> Mapping[str, Any]:
        """``value`` as a mapping (None: empty); anything else is a problem."""
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.add(where, "must be an object")
            return {}
        return value


def bounded(default: float | None, bounds: Bounds, description: str, *, optional: bool = True, json_nullable: bool | None = None) -> Any:
    """A dataclass field that must lie in ``bounds`` (None allowed when ``optional``: it disables the rule).

    The HTTP schemas read ``bounds``, ``description`` and ``json_nullable`` (default: ``optional``)
    from the field's metadata, so that a rule is defined once, by its dataclass.
    """
    nullable = optional if json_nullable is None else json_nullable
    return field(default=default, metadata={"bounds": bounds, "description": description, "optional": optional, "json_nullable": nullable})


def check_bounded_fields(check: Checker, instance: Any, where: str) -> None:
    """Every ``bounded`` field of a dataclass instance against its bounds, located as ``{where}/{name}``."""
    for f in fields(instance):
        if "bounds" not in f.metadata:
            continue
        value = getattr(instance, f.name)
        if value is None:
            if not f.metadata["optional"]:
                check.add(f"{where}/{f.name}", "required")
            continue
        check.number(f"{where}/{f.name}", value, f.metadata["bounds"])
