"""The boundary: a request turned into a core spec, every bad field reported at once.

The pydantic schema checks types and bounds (and documents them); the spec's validating constructor
(``ResponseAnalysisSpec.from_mapping`` ...) checks what crosses fields (p1 > p0, responders ≤ n ≤
n_planned, prior fields of the kind, ...); the Settings limits what this service allows. A user
learns every mistake from one attempt:

* ``spec_from`` builds the spec and reports the limits' problems with the spec's;
* when the schema has already failed, ``cross_field_problems`` adds the spec's verdict on the raw
  body for the fields the schema did not name (the route declares its spec with ``@builds``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from fastapi import Request

from designs.core.errors import FieldProblem, InvalidInputError

Spec = TypeVar("Spec")
_BUILDER = "gonogo_spec_builder"


def builds(builder: Callable[[Mapping[str, Any]], Any]) -> Callable[[Callable], Callable]:
    """Mark a route as turning its body into a spec with ``builder`` (its ``from_mapping``)."""

    def mark(endpoint: Callable) -> Callable:
        setattr(endpoint, _BUILDER, builder)
        return endpoint

    return mark


def spec_from(builder: Callable[[Mapping[str, Any]], Spec], payload: Mapping[str, Any],
              limit_problems: Sequence[FieldProblem] = ()) -> Spec:
    """``builder(payload)``, with the Settings limits' problems reported beside the spec's, at once."""
    try:
        spec = builder(payload)
    except InvalidInputError as exc:
        raise InvalidInputError([*limit_problems, *exc.problems]) from None
    if limit_problems:
        raise InvalidInputError(list(limit_problems))
    return spec


def cross_field_problems(request: Request, body: Any) -> list[FieldProblem]:
    """The spec's problems with a body the schema refused (none when the route builds no spec)."""
    endpoint = getattr(request.scope.get("route"), "endpoint", None)
    builder = getattr(endpoint, _BUILDER, None)
    if builder is None or not isinstance(body, Mapping):
        return []
    try:
        builder(body)
    except InvalidInputError as exc:
        return exc.problems
    except Exception:  # noqa: BLE001 - the schema's verdict stands on a body the spec cannot even read
        return []
    return []
