"""The boundary: a request turned into a core spec, every bad field reported at once.

The pydantic schema checks types and bounds (and documents them); the spec's validating constructor
(``ResponseAnalysisSpec.from_mapping`` ...) checks what crosses fields (p1 > p0, responders ≤ n ≤
n_planned, prior fields of the kind, ...); the Settings limits what this service allows. A user
learns every mistake from one attempt:

* ``within_limits`` builds the spec and reports the limits' problems with the spec's;
* when the schema has already failed, ``cross_field_problems`` adds the limits' and the spec's
  verdicts on the raw body (the route declares its spec with ``@builds``);
* a problem is listed once: not again at a location, or one containing a location, already named (``merge``);
* a query parameter the route does not read is refused, not ignored (``known_query_parameters``):
  ``?veiw=open`` must not answer the closed view.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from fastapi import Request

from designs.core.errors import FieldProblem, InvalidInputError
from designs.core.validation import did_you_mean, whole
from service import limits
from service.settings import get_settings

Spec = TypeVar("Spec")
_BUILDER = "gonogo_spec_builder"


def builds(builder: Callable[[Mapping[str, Any]], Any]) -> Callable[[Callable], Callable]:
    """Mark a route as turning its body into a spec with ``builder`` (its ``from_mapping``)."""

    def mark(endpoint: Callable) -> Callable:
        setattr(endpoint, _BUILDER, builder)
        return endpoint

    return mark


def _covered(field: str, known: str) -> bool:
    """A problem at ``field`` says nothing new beside one at ``known``: the same location, or one that
    contains it (``simon`` beside ``simon/n1``). One inside it is news (``strata/1/responders`` beside
    the number of ``strata``)."""
    return field == known or known.startswith(field + "/")


def merge(first: Sequence[FieldProblem], more: Sequence[FieldProblem]) -> list[FieldProblem]:
    """``first``, then each problem of ``more`` that those before it do not already cover."""
    merged = list(first)
    for problem in more:
        if not any(_covered(problem.field, known.field) for known in merged):
            merged.append(problem)
    return merged


def within_limits(limit_problems: Sequence[FieldProblem], build: Callable[..., Spec], *args: Any) -> Spec:
    """``build(*args)`` (a spec's ``from_mapping``, a design's ``prepare``), with the Settings limits'
    problems reported beside its own, at once."""
    try:
        built = build(*args)
    except InvalidInputError as exc:
        raise InvalidInputError(merge(limit_problems, exc.problems)) from None
    if limit_problems:
        raise InvalidInputError(list(limit_problems))
    return built


def _whole(value: Any) -> Any:
    """``value`` with every number written with a zero fraction (21.0) an int, as the schema reads an
    integer field: the spec's verdict on a body the schema refused must not blame 21.0 again."""
    if isinstance(value, float):
        return whole(value)
    if isinstance(value, Mapping):
        return {k: _whole(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_whole(v) for v in value]
    return value


def cross_field_problems(request: Request, body: Any) -> list[FieldProblem]:
    """The Settings limits' and the spec's problems with a body the schema refused."""
    if not isinstance(body, Mapping):
        return []
    app = request.app
    found = limits.of_request(app.dependency_overrides.get(get_settings, get_settings)(), body)
    builder = getattr(getattr(request.scope.get("route"), "endpoint", None), _BUILDER, None)
    if builder is not None:
        try:
            builder(_whole(body))
        except InvalidInputError as exc:
            found = merge(found, exc.problems)
        except Exception:  # noqa: BLE001 - the schema's verdict stands on a body the spec cannot even read
            pass
    return found


def _query_names(route: Any) -> list[str]:
    """The query parameters a route reads, its dependencies' included (found once per route: every
    request asks)."""
    known = getattr(route, "_gonogo_query_names", None)
    if known is not None:
        return known
    names: list[str] = []

    def visit(dependant: Any) -> None:
        names.extend(param.alias for param in dependant.query_params if param.alias not in names)
        for dependency in dependant.dependencies:
            visit(dependency)

    if getattr(route, "dependant", None) is not None:
        visit(route.dependant)
    route._gonogo_query_names = names
    return names


LENIENT_PATHS = frozenset({"/health"})
"""Paths whose callers may add a query parameter of their own (a load balancer's cache-buster,
``/health?_=1``): refusing it would take the service out of rotation."""


def known_query_parameters(request: Request) -> None:
    """Every query parameter of ``request`` is one its route reads, else 422 naming each other one
    (``query/veiw``), with the name it may have meant: a misspelt option silently ignored would answer
    something else than what was asked."""
    route = request.scope.get("route")
    if route is None or getattr(route, "path", None) in LENIENT_PATHS:
        return
    names = _query_names(route)
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in names]
    if unknown:
        takes = f"this route takes {', '.join(names)}" if names else "this route takes none"
        raise InvalidInputError([FieldProblem(f"query/{name}", f"not a query parameter of {request.url.path} ({takes})"
                                              + did_you_mean(name, names)) for name in unknown])
