"""RFC 9457 problem+json: the one place that turns an exception into a problem document.

``problem_document(exc) -> (status, body)`` serves the FastAPI exception handlers and the job
manager alike, so that a domain error reads the same whether it is answered at once or recorded as a
failed job's ``error``:

    RequestValidationError   422 /problems/invalid-request    errors: [{field, reason}], with the spec's
                                                              cross-field problems (service.boundary)
    InvalidInputError        422 /problems/invalid-request    errors: [{field, reason}]
    InfeasibleDesignError    422 /problems/infeasible-design  suggestion
    ConvergenceError         500 /problems/sampling-failed    diagnostics
    GonogoError (other)      422 /problems/unprocessable
    RequestTooLarge          413 /problems/request-too-large  limit_bytes (service.middleware)
    ServiceUnavailable       503 its type:                    retry_after_seconds, sent as Retry-After too
                                 jobs: job-queue-full, worker-died, job-backend-unavailable (service.jobs);
                                 compute pool: busy (workers, queue_limit), computation-timeout
                                 (timeout_seconds), worker-lost, compute-unavailable (service.compute)
    ClientClosedRequest      499 (nginx's code; the client has gone and reads no answer)
    RegistryProblem          its status and type: Unauthorized 401 (with WWW-Authenticate: Bearer),
                             Forbidden 403, NotFound 404, Conflict 409, PreconditionFailed 412,
                             PreconditionRequired 428, UnsupportedMediaType 415 (the registry, its tokens
                             and roles, its uploads; any body not in JSON), MalformedJSON 400
                             /problems/malformed-json (line, column: service.middleware)
    HTTPException            its status, about:blank
    anything else            500 /problems/internal-error     (logged)
"""

from __future__ import annotations

import json
import logging
import re
import types
import typing
from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from designs.core.errors import ConvergenceError, FieldProblem, GonogoError, InfeasibleDesignError, InvalidInputError
from designs.core.validation import did_you_mean, json_kind, percent_hint
from designs.registry.protocol import NO_CONTROL, SLUG, control_problem
from service import boundary

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("gonogo")

_TITLES = {400: "Bad request", 404: "Not found", 405: "Method not allowed", 409: "Conflict", 413: "Too large"}


class RequestTooLarge(Exception):
    """A request body over ``GONOGO_MAX_BODY_BYTES``, refused before it is read (``service.middleware``)."""

    def __init__(self, limit_bytes: int):
        super().__init__(f"the request body exceeds the limit of {limit_bytes} bytes (GONOGO_MAX_BODY_BYTES)")
        self.limit_bytes = limit_bytes


class ServiceUnavailable(Exception):
    """The service cannot take or finish this work now (503); not the request's fault, so sending it
    again may succeed. ``retry_after`` (seconds), when known, is also the ``Retry-After`` header."""

    type_ = "/problems/service-unavailable"
    title = "Service unavailable"

    def __init__(self, detail: str, *, retry_after: int | None = None, **extra: Any):
        super().__init__(detail)
        self.retry_after = retry_after
        self.extra = extra


class JobQueueFull(ServiceUnavailable):
    """``GONOGO_MAX_QUEUED_JOBS`` jobs already wait for a runner in this server process (``service.jobs``)."""

    type_ = "/problems/job-queue-full"
    title = "Job queue full"


class WorkerDied(ServiceUnavailable):
    """A worker process died (killed, out of memory) while computing a job's chunk, again after the
    retry a pure, seeded computation gets (``service.jobs.backends``)."""

    type_ = "/problems/worker-died"
    title = "Worker died"


class JobBackendUnavailable(ServiceUnavailable):
    """The job backend cannot run chunks: the process pool cannot start or keeps breaking, or the Dask
    scheduler is unreachable (``service.jobs.backends``)."""

    type_ = "/problems/job-backend-unavailable"
    title = "Job backend unavailable"


class ComputeBusy(ServiceUnavailable):
    """Every compute worker is busy and the queue of waiting computations is full."""

    type_ = "/problems/busy"
    title = "Busy"

    def __init__(self, retry_after: int, workers: int, queue_limit: int):
        super().__init__(
            f"all {workers} compute workers are busy and {queue_limit} more computations are waiting "
            f"(GONOGO_COMPUTE_WORKERS, GONOGO_COMPUTE_QUEUE); send the request again in about {retry_after} s",
            retry_after=retry_after, workers=workers, queue_limit=queue_limit)


class ComputeTimeout(ServiceUnavailable):
    """A computation ran past ``GONOGO_REQUEST_TIMEOUT_S`` and was stopped."""

    type_ = "/problems/computation-timeout"
    title = "Computation took too long"

    def __init__(self, timeout_seconds: float):
        super().__init__(
            f"the computation ran longer than {timeout_seconds:g} s (GONOGO_REQUEST_TIMEOUT_S) and was stopped: "
            "ask for less (fewer MCMC draws, chains or strata, the quadrature engine, fewer simulated trials "
            "or a smaller nmax) or, for a design or calibration, send the header 'Prefer: respond-async' to "
            "run it as a job without this limit",
            timeout_seconds=timeout_seconds)


class WorkerLost(ServiceUnavailable):
    """The worker process running a computation ended before answering (killed, out of memory)."""

    type_ = "/problems/worker-lost"
    title = "Computation lost"

    def __init__(self, how: str):
        super().__init__(
            f"the worker process running this computation ended before it answered ({how}); it has been "
            "replaced. Send the request again; should it fail again, ask for less (fewer MCMC draws, chains "
            "or strata)", retry_after=1)


class ComputeUnavailable(ServiceUnavailable):
    """No compute worker can run the request (none can start, or the server is shutting down)."""

    type_ = "/problems/compute-unavailable"
    title = "Compute unavailable"


class ReportUnavailable(ServiceUnavailable):
    """This server cannot render the report in the format asked for (its PDF library or the system
    libraries it needs are missing); HTML still renders."""

    type_ = "/problems/report-unavailable"
    title = "Report format unavailable"


class RegistryProblem(Exception):
    """A request the registry refuses for what it asks of stored state or of the caller's rights, not
    for a bad field (that is ``InvalidInputError``, 422): the subclasses fix status, type and title;
    ``extra`` members join the document and ``headers`` the response."""

    status = 400
    type_ = "/problems/bad-request"
    title = "Bad request"

    def __init__(self, detail: str, *, headers: dict[str, str] | None = None, **extra: Any):
        super().__init__(detail)
        self.headers = dict(headers or {})
        self.extra = extra


class Unauthorized(RegistryProblem):
    """No token, or one that is malformed, unknown or revoked (RFC 6750: ``WWW-Authenticate: Bearer``)."""

    status, type_, title = 401, "/problems/unauthorized", "Unauthorized"

    def __init__(self, detail: str, *, error: str = "invalid_token"):
        super().__init__(detail, headers={"WWW-Authenticate": f'Bearer realm="gonogo", error="{error}"'
                                          if error else 'Bearer realm="gonogo"'})


class Forbidden(RegistryProblem):
    """A valid token whose role or trials do not cover the request (never saying whether a trial exists)."""

    status, type_, title = 403, "/problems/forbidden", "Forbidden"


class NotFound(RegistryProblem):
    status, type_, title = 404, "/problems/not-found", "Not found"


class Conflict(RegistryProblem):
    """The request collides with what is stored (a name taken, a look stored meanwhile): send it again
    after reading the current state."""

    status, type_, title = 409, "/problems/conflict", "Conflict"


class UnsupportedMediaType(RegistryProblem):
    """A body in a content type the route does not read (the detail says which it reads)."""

    status, type_, title = 415, "/problems/unsupported-media-type", "Unsupported media type"


class NotAcceptable(RegistryProblem):
    """The ``Accept`` header admits none of the media types a route answers in (RFC 9110 15.5.7)."""

    status, type_, title = 406, "/problems/not-acceptable", "Not acceptable"


class StoredContentAltered(RegistryProblem):
    """A stored protocol version, data cut or look no longer matches its SHA-256 or its audit event:
    it was altered outside gonogo, and is never served (``GET /v1/audit/verify`` lists every such)."""

    status, type_, title = 409, "/problems/stored-content-altered", "Stored content altered"


class PreconditionFailed(RegistryProblem):
    """``If-Match`` names a protocol version that is no longer the current one."""

    status, type_, title = 412, "/problems/precondition-failed", "Precondition failed"


class PreconditionRequired(RegistryProblem):
    """A change of a versioned resource sent without ``If-Match`` (RFC 6585)."""

    status, type_, title = 428, "/problems/precondition-required", "Precondition required"


class MalformedJSON(RegistryProblem):
    """A request body that is not JSON text: where the syntax breaks (line and column, 1-based), so
    that the sender can find it (400: the request cannot even be read; 422 is for values it refuses)."""

    status, type_, title = 400, "/problems/malformed-json", "Malformed JSON"

    @classmethod
    def at(cls, exc: json.JSONDecodeError) -> MalformedJSON:
        lines = exc.doc.splitlines()
        line = lines[exc.lineno - 1] if exc.lineno <= len(lines) else ""
        start = max(0, exc.colno - 30)
        excerpt = line[start:exc.colno + 10]
        return cls(f"the body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
                   + (f" (near: {excerpt!r})" if excerpt.strip() else ""),
                   line=exc.lineno, column=exc.colno)


class ClientClosedRequest(Exception):
    """The client went away before its answer was ready; its computation was stopped."""

    def __init__(self) -> None:
        super().__init__("the client closed the connection before the answer was ready; the computation was stopped")


def problem_body(status: int, title: str, detail: str, *, type_: str = "about:blank", **extra: Any) -> dict[str, Any]:
    """A problem document (RFC 9457 members first, then the extensions)."""
    return {"type": type_, "title": title, "status": status, "detail": detail, **extra}


def problem(status: int, title: str, detail: str, *, type_: str = "about:blank", **extra: Any) -> JSONResponse:
    """A problem+json response."""
    return JSONResponse(problem_body(status, title, detail, type_=type_, **extra), status_code=status,
                        media_type=PROBLEM_JSON)


_UNION_MEMBERS = re.compile(r"^(int|float|str|bool|none|list|dict|tuple)$|[\[\]()-]")
"""Parts of a pydantic location that name the member of a union a value was tried as
(``target_sum_mm/int``, ``target_sum_mm/float``), not a field: dropped, so that the field is named once."""


def _field_path(err: dict[str, Any]) -> str:
    # ("body", "strata", 1, "responders") -> "strata/1/responders"; a JSON syntax error is the body's.
    if err.get("type") == "json_invalid":
        return "body"
    # A key with an empty name ({"": 1}) names nothing: the location is the object holding it (see _reason).
    parts = [str(p) for p in err.get("loc", ()) if p not in ("body", "")
             and not (isinstance(p, str) and _UNION_MEMBERS.search(p))]
    return "/".join(parts) if parts else "body"


def _schema_problems(errors: Sequence[dict[str, Any]], model: Any) -> list[FieldProblem]:
    """The schema's errors, one problem per field: a field that each member of a union refused
    (a number or a string) is named once, saying every type it may have."""
    by_field: dict[str, list[dict[str, Any]]] = {}
    for err in errors:
        by_field.setdefault(_field_path(err), []).append(err)
    problems = []
    for field, errs in by_field.items():
        if len(errs) > 1 and all(e.get("type") in _TYPE_NAMES and "input" in e for e in errs):
            problems.append(FieldProblem(field, _type_reason([e["type"] for e in errs], errs[0]["input"])))
        else:
            reasons = list(dict.fromkeys(_reason(e, model) for e in errs))
            problems.append(FieldProblem(field, " or ".join(reasons)))
    return problems


def _fields_at(model: Any, loc: Sequence[Any]) -> list[str]:
    """The field names of the object at ``loc`` in a body of ``model`` (a pydantic model walked along
    the location: fields, list items, dict values), or [] where the walk loses its way."""
    annotation = model
    for part in loc:
        annotation = _unwrap(annotation)
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            field = annotation.model_fields.get(part) if isinstance(part, str) else None
            if field is None:
                return []
            annotation = field.annotation
        elif typing.get_origin(annotation) is list and isinstance(part, int):
            annotation = (typing.get_args(annotation) or (Any,))[0]
        elif typing.get_origin(annotation) is dict:
            annotation = (typing.get_args(annotation) or (Any, Any))[-1]
        else:
            return []
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return list(annotation.model_fields)
    return []


def _unwrap(annotation: Any) -> Any:
    """``Annotated[X, ...]`` → X; ``X | None`` → X (the first member that is not None)."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            members = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


_TYPE_NAMES = {"date_type": "a date YYYY-MM-DD", "float_type": "a number", "int_type": "a whole number", "bool_type": "true or false",
               "string_type": "a string", "list_type": "an array", "dict_type": "an object", "model_type": "an object",
               "model_attributes_type": "an object"}


def _type_reason(kinds: Sequence[str], value: Any) -> str:
    """What a value of the wrong type should be (any of ``kinds``), what it is, and the usual fix."""
    if kinds == ["int_type"] and isinstance(value, float):
        return f"must be a whole number (got {value!r})"
    wanted = list(dict.fromkeys(_TYPE_NAMES[k] for k in kinds))
    if "a number" in wanted and "a whole number" in wanted:
        wanted.remove("a whole number")
    reason = f"must be {' or '.join(wanted)}, not {json_kind(value)}"
    if isinstance(value, str) and {"float_type", "int_type"} & set(kinds):
        reason += " (write numbers without quotes)"
    elif isinstance(value, str) and "bool_type" in kinds:
        reason += " (write true or false without quotes)"
    return reason


def _reason(err: dict[str, Any], model: Any = None) -> str:
    """The reason of one schema error in words a client can act on: what was sent beside what is
    wanted, and a hint for the usual slips (a quoted number, a percentage for a proportion, a
    misspelt field name)."""
    msg = err.get("msg", "invalid value")
    kind = err.get("type")
    value = err.get("input")
    if kind == "extra_forbidden":
        if err.get("loc", ("",))[-1] == "":
            return "a field with an empty name (not part of this request's schema)"
        loc = [p for p in err.get("loc", ()) if p != "body"]
        known = _fields_at(model, loc[:-1]) if model is not None and loc else []
        hint = did_you_mean(str(loc[-1]), known) if loc else ""
        return "unknown field (not part of this request's schema)" + hint
    if kind == "finite_number":
        return "must be a finite number (NaN and infinity are not accepted)"
    if kind in ("value_error", "assertion_error") and "error" in err.get("ctx", {}):
        return str(err["ctx"]["error"])  # the validator's own words, without pydantic's "Value error, "
    if kind == "json_invalid":
        return f"the body is not valid JSON: {err.get('ctx', {}).get('error', msg)}"
    if kind in _TYPE_NAMES and "input" in err:
        return _type_reason([kind], value)
    if kind == "missing":
        return "required"
    if kind == "string_pattern_mismatch":
        pattern = err.get("ctx", {}).get("pattern")
        words = _PATTERN_WORDS.get(pattern, f"must match the pattern {pattern}")
        if pattern == NO_CONTROL and isinstance(value, str):
            return control_problem(value) or words
        hint = (f" — did you mean '{value.lower()}'?" if pattern == SLUG and isinstance(value, str)
                and re.fullmatch(SLUG, value.lower()) else "")
        return f"{words} (got {json_kind(value)}){hint}"
    if kind in ("int_parsing", "float_parsing", "bool_parsing") and err.get("loc", ("",))[0] in ("path", "query", "header"):
        wanted = {"int_parsing": "a whole number", "float_parsing": "a number", "bool_parsing": "true or false"}[kind]
        return f"must be {wanted} (got {json_kind(value)})"
    if kind == "literal_error" and "expected" in err.get("ctx", {}):
        expected = err["ctx"]["expected"]
        choices = re.findall(r"'([^']*)'", expected)
        return f"must be one of {expected} (got {json_kind(value)})" + (
            did_you_mean(value, choices) if isinstance(value, str) else "")
    if kind in ("too_short", "too_long") and "ctx" in err:
        ctx = err["ctx"]
        bound = ctx.get("min_length") if kind == "too_short" else ctx.get("max_length")
        return (f"must have {'at least' if kind == 'too_short' else 'at most'} {bound} item{'' if bound == 1 else 's'} "
                f"(got {ctx.get('actual_length')})")
    if kind in ("string_too_short", "string_too_long") and "ctx" in err:
        ctx = err["ctx"]
        return (f"must have at least {ctx.get('min_length')} characters" if kind == "string_too_short"
                else f"must have at most {ctx.get('max_length')} characters")
    if kind in _COMPARISONS and "input" in err:
        sign, key = _COMPARISONS[kind]
        bound = err.get("ctx", {}).get(key)
        reason = f"must be {sign} {bound} (got {value!r})"
        return reason + (percent_hint(value, bound) if key in ("lt", "le") else "")
    return msg


_PATTERN_WORDS = {
    SLUG: "must be a trial id: 1 to 64 lower-case letters, digits or inner hyphens (sarc031-example)",
    NO_CONTROL: "must not contain control characters",
    r"^\d{4}-\d{2}-\d{2}$": "must be a date YYYY-MM-DD",
}

_COMPARISONS = {"greater_than": (">", "gt"), "greater_than_equal": ("≥", "ge"), "less_than": ("<", "lt"),
                "less_than_equal": ("≤", "le")}


MAX_LISTED_PROBLEMS = 1000
"""Problems listed in one answer: a file of 200,000 bad rows gets the first thousand and a count of the
rest, not an answer larger than the file."""


def _invalid_request(errors: list[dict[str, str]], detail: str) -> tuple[int, dict[str, Any]]:
    if len(errors) > MAX_LISTED_PROBLEMS:
        more = len(errors) - MAX_LISTED_PROBLEMS
        errors = errors[:MAX_LISTED_PROBLEMS]
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in errors) + (
            f"; and {more} more problems not listed (the first {MAX_LISTED_PROBLEMS} are): fix these and send again")
    return 422, problem_body(422, "Invalid request", detail, type_="/problems/invalid-request", errors=errors)


def problem_document(exc: BaseException, also: Sequence[FieldProblem] = (), model: Any = None) -> tuple[int, dict[str, Any]]:
    """The HTTP status and problem document of ``exc`` (see the module docstring).

    ``also``: more problems with a request the schema refused (the spec's cross-field checks), listed
    after the schema's for the fields it did not name. ``model``: the body's schema, for the names a
    misspelt field may have meant.
    """
    if isinstance(exc, RequestValidationError):
        found = boundary.merge(_schema_problems(exc.errors(), model), also)
        errors = [{"field": p.field, "reason": p.reason} for p in found]
        return _invalid_request(errors, "; ".join(f"{e['field']}: {e['reason']}" for e in errors))
    if isinstance(exc, InvalidInputError):
        return _invalid_request([{"field": p.field, "reason": p.reason} for p in exc.problems], str(exc))
    if isinstance(exc, InfeasibleDesignError):
        extra = {"suggestion": exc.suggestion} if exc.suggestion else {}
        return 422, problem_body(422, "No feasible design", str(exc), type_="/problems/infeasible-design", **extra)
    if isinstance(exc, ConvergenceError):
        return 500, problem_body(500, "Sampling failed", str(exc), type_="/problems/sampling-failed",
                                 diagnostics=exc.diagnostics)
    if isinstance(exc, GonogoError):
        return 422, problem_body(422, "Request cannot be processed", str(exc), type_="/problems/unprocessable")
    if isinstance(exc, RequestTooLarge):
        return 413, problem_body(413, "Request too large", str(exc), type_="/problems/request-too-large",
                                 limit_bytes=exc.limit_bytes)
    if isinstance(exc, ServiceUnavailable):
        extra = {} if exc.retry_after is None else {"retry_after_seconds": exc.retry_after}
        return 503, problem_body(503, exc.title, str(exc), type_=exc.type_, **extra, **exc.extra)
    if isinstance(exc, RegistryProblem):
        return exc.status, problem_body(exc.status, exc.title, str(exc), type_=exc.type_, **exc.extra)
    if isinstance(exc, ClientClosedRequest):
        return 499, problem_body(499, "Client closed request", str(exc), type_="/problems/client-closed-request")
    if isinstance(exc, StarletteHTTPException):
        return exc.status_code, problem_body(exc.status_code, _TITLES.get(exc.status_code, "Error"), str(exc.detail))
    # Its words (paths, array shapes, SQL) stay in the log, which the route and the job manager write.
    return 500, problem_body(500, "Internal error", "an unexpected error occurred; it has been logged",
                             type_="/problems/internal-error")


async def _handle(request: Request, exc: Exception) -> JSONResponse:
    also = boundary.cross_field_problems(request, exc.body) if isinstance(exc, RequestValidationError) else ()
    status, body = problem_document(exc, also, model=_body_model(request))
    if status == 500:
        log.error("%s on %s %s", body["title"], request.method, request.url.path, exc_info=exc)
    headers = problem_headers(exc)
    if status == 405:
        # Starlette names the methods of the first route matching the path; a path several routes
        # serve (GET and DELETE /v1/jobs/{id}) takes them all.
        allowed = _allowed_methods(request.app.router.routes, route_path(request.scope))
        if allowed:
            headers["Allow"] = ", ".join(allowed)
            body["detail"] = f"{request.method} is not a method of {request.url.path}: use {', '.join(allowed)}"
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def route_path(scope: dict[str, Any]) -> str:
    """The path the routes see: the request's, without the server's root path (``--root-path``, which
    uvicorn keeps in ``path``)."""
    path, root = scope["path"], scope.get("root_path", "")
    return path[len(root):] or "/" if root and path.startswith(root) else path


def _allowed_methods(routes: Sequence[Any], path: str) -> list[str]:
    """Every method some route of ``routes`` (included routers' too) answers at ``path``; HEAD with GET
    (``service.middleware.HeadMiddleware``)."""
    methods: set[str] = set()

    def visit(items: Sequence[Any]) -> None:
        for route in items:
            inner = getattr(route, "original_router", None) or (route if hasattr(route, "routes") else None)
            if inner is not None and not hasattr(route, "path_regex"):
                visit(inner.routes)
            elif getattr(route, "methods", None) and route.path_regex.match(path):
                methods.update(route.methods)

    visit(routes)
    if "GET" in methods:
        methods.add("HEAD")
    return sorted(methods)


def _body_model(request: Request) -> Any:
    """The pydantic model of the matched route's JSON body, if it has one (a route that reads its body
    itself names it as ``gonogo_body_model`` on its endpoint)."""
    route = request.scope.get("route")
    body_field = getattr(route, "body_field", None)
    return (getattr(getattr(body_field, "field_info", None), "annotation", None)
            or getattr(getattr(route, "endpoint", None), "gonogo_body_model", None))


def problem_headers(exc: BaseException) -> dict[str, str]:
    """The headers of ``exc``'s problem response: ``Retry-After`` of a 503 that may succeed later,
    ``WWW-Authenticate`` of a 401, and those an HTTP exception carries (``Allow`` of a 405: RFC 9110
    requires it, and a client learns from it which methods the path takes)."""
    if isinstance(exc, StarletteHTTPException):
        return dict(exc.headers or {})
    if isinstance(exc, ServiceUnavailable) and exc.retry_after is not None:
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, RegistryProblem):
        return dict(exc.headers)
    return {}


def install(app: FastAPI) -> None:
    """Register ``problem_document`` as the handler of every exception."""
    for exc_class in (RequestValidationError, GonogoError, StarletteHTTPException, ServiceUnavailable, RegistryProblem,
                      ClientClosedRequest, Exception):
        app.add_exception_handler(exc_class, _handle)


# --------------------------------------------------------------------------------------------------
# The documented answers: what the OpenAPI document says each route may answer, in one place.
# ``service.app`` applies them to every operation (``documented_responses``); routes declare only
# their own (202, 404, ...). tests/service/test_openapi_contract.py holds the table of what each
# route really answers and checks the document against it.


def problem_response(description: str, **more: Any) -> dict[str, Any]:
    """A documented error answer: ``description``, in problem+json (the ``Problem`` schema)."""
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
            **more}


PROBLEM_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: problem_response(
        "Invalid request: problem+json naming each bad field and why (/problems/invalid-request, errors: "
        "[{field, reason}], the schema's and the cross-field rules' problems at once; a key repeated in a JSON "
        "object is one too), or a request that is valid but cannot be done (/problems/infeasible-design with a "
        "suggestion, /problems/unprocessable)"),
}
"""Every route that reads a body or parameters."""

MALFORMED_JSON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: problem_response("The body is not well-formed JSON: /problems/malformed-json, naming the line and column "
                          "of the first syntax error"),
}
"""Every route that reads a JSON body."""

TOO_LARGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    413: problem_response("The body is larger than GONOGO_MAX_BODY_BYTES: /problems/request-too-large, with "
                          "limit_bytes (refused before it is read)"),
}
"""Every route that reads a body (``service.middleware.BodyLimitMiddleware``)."""

NOT_JSON_RESPONSES: dict[int | str, dict[str, Any]] = {
    415: problem_response("The body is not sent as JSON: /problems/unsupported-media-type, saying to send "
                          "content-type: application/json"),
}
"""Every route that reads a JSON body (``service.middleware.JSONBodyMiddleware``)."""

INTERNAL_ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    500: problem_response("An unexpected error, logged by the server: /problems/internal-error (its details stay "
                          "in the log)"),
}
"""Every route."""

SAMPLING_RESPONSES: dict[int | str, dict[str, Any]] = {
    500: problem_response("The MCMC sampler did not converge (/problems/sampling-failed, with its diagnostics: "
                          "ask for more tuning draws, a higher target_accept or the quadrature engine), or an "
                          "unexpected error, logged by the server (/problems/internal-error)"),
}
"""Routes that may sample by MCMC, in place of ``INTERNAL_ERROR_RESPONSES`` (``SAMPLING_OPERATIONS``)."""

SAMPLING_OPERATIONS = frozenset({"analyses-response", "analyses-pfs", "looks-create", "looks-reproduce"})
"""The operations whose computation may sample by MCMC (``designs.engines.pymc``): a response or PFS
analysis, and a registry look of a protocol analysed by MCMC. The design routes compute exactly or by
quadrature."""

CALCULATOR_AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: problem_response("Only when the server sets GONOGO_AUTH_CALCULATORS=true: no token, or a malformed, "
                          "unknown or revoked one (/problems/unauthorized)",
                          headers={"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}),
}
"""The stateless calculators (``service.auth.calculators_guard``): any valid token of any role, when asked for."""

UNAVAILABLE_RESPONSES: dict[int | str, dict[str, Any]] = {
    503: problem_response(
        "Not computed now, not the request's fault: every compute worker busy and the queue full "
        "(/problems/busy), the computation past GONOGO_REQUEST_TIMEOUT_S (/problems/computation-timeout), its "
        "worker lost (/problems/worker-lost), no worker able to start or the server shutting down "
        "(/problems/compute-unavailable), where the request becomes a job, GONOGO_MAX_QUEUED_JOBS jobs already "
        "waiting (/problems/job-queue-full), or, for a report, its format not renderable on this server "
        "(/problems/report-unavailable). Send it again after Retry-After seconds",
        headers={"Retry-After": {"description": "Seconds after which sending the request again may succeed "
                                                "(absent when it would not)",
                                 "schema": {"type": "integer"}}}),
}
"""Every route whose computation runs in the compute pool (``service.compute``) or as a job (declared by the route)."""

STORED_CONTENT_ALTERED = ("a stored protocol version, data cut or look it reads no longer matches its SHA-256 "
                          "or its audit event: altered outside gonogo, never served (/problems/stored-content-altered; "
                          "GET /v1/audit/verify lists every such)")
"""The 409 of every registry route that reads stored content (``service.registry.repository._intact``)."""

STORED_CONTENT_OPERATIONS = frozenset({
    "trials-get", "trials-version", "trials-amend", "trials-version-design", "data-cuts-create", "data-cuts-list",
    "data-cuts-get", "data-cuts-diff", "looks-create", "looks-list", "looks-get", "looks-report", "looks-reproduce",
})
"""The registry operations that read stored protocol versions, data cuts or looks and check them."""

WRITE_CONFLICT = ("another request stored the same resource at the same time (/problems/conflict): read the "
                  "current state and send it again")
"""The 409 of every registry write (``service.registry.repository.write``)."""

WRITE_OPERATIONS = frozenset({
    "trials-create", "trials-amend", "data-cuts-create", "looks-create", "looks-reproduce", "tokens-create",
})
"""The registry operations that store through ``service.registry.repository.write``."""
