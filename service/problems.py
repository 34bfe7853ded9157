"""RFC 9457 problem+json responses: every 4xx names each bad field and why."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from designs.core.errors import ConvergenceError, GonogoError, InfeasibleDesignError, InvalidInputError

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("gonogo")


def problem(status: int, title: str, detail: str, *, type_: str = "about:blank", **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body = {"type": type_, "title": title, "status": status, "detail": detail, **extra}
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    # ("body", "strata", 1, "responders") -> "strata/1/responders"; drop pydantic's type tags.
    parts = [str(p) for p in loc if p != "body"]
    return "/".join(parts) if parts else "body"


def _reason(err: dict[str, Any]) -> str:
    msg = err.get("msg", "invalid value")
    if err.get("type") == "extra_forbidden":
        return "unknown field (not part of this request's schema)"
    if err.get("type") == "finite_number":
        return "must be a finite number (NaN and infinity are not accepted)"
    if err.get("type") == "json_invalid":
        return f"the body is not valid JSON: {err.get('ctx', {}).get('error', msg)}"
    return msg


async def validation_problem(request: Request, exc: RequestValidationError) -> JSONResponse:
    errors = [{"field": _field_path(e.get("loc", ())), "reason": _reason(e)} for e in exc.errors()]
    detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors)
    return problem(422, "Invalid request", detail, type_="/problems/invalid-request", errors=errors)


async def invalid_input_problem(request: Request, exc: InvalidInputError) -> JSONResponse:
    errors = [{"field": p.field, "reason": p.reason} for p in exc.problems]
    return problem(422, "Invalid request", str(exc), type_="/problems/invalid-request", errors=errors)


async def infeasible_problem(request: Request, exc: InfeasibleDesignError) -> JSONResponse:
    extra = {"suggestion": exc.suggestion} if exc.suggestion else {}
    return problem(422, "No feasible design", str(exc), type_="/problems/infeasible-design", **extra)


async def convergence_problem(request: Request, exc: ConvergenceError) -> JSONResponse:
    return problem(
        500, "Sampling failed", str(exc), type_="/problems/sampling-failed", diagnostics=exc.diagnostics
    )


async def gonogo_problem(request: Request, exc: GonogoError) -> JSONResponse:
    return problem(422, "Request cannot be processed", str(exc), type_="/problems/unprocessable")


async def http_problem(request: Request, exc: StarletteHTTPException) -> JSONResponse:
    return problem(exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail))


async def unexpected_problem(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    return problem(500, "Internal error", "an unexpected error occurred; it has been logged")


_TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 409: "Conflict", 413: "Too large"}


def install(app: FastAPI) -> None:
    """Register the problem+json handlers on ``app``."""
    app.add_exception_handler(RequestValidationError, validation_problem)
    app.add_exception_handler(InvalidInputError, invalid_input_problem)
    app.add_exception_handler(InfeasibleDesignError, infeasible_problem)
    app.add_exception_handler(ConvergenceError, convergence_problem)
    app.add_exception_handler(GonogoError, gonogo_problem)
    app.add_exception_handler(StarletteHTTPException, http_problem)
    app.add_exception_handler(Exception, unexpected_problem)


# Documented error response for every route's OpenAPI entry.
PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Invalid request: problem+json naming each bad field and why",
        "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
    },
}
