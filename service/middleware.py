"""ASGI middleware of the request boundary: no request body larger than ``GONOGO_MAX_BODY_BYTES``;
request bodies in JSON (``JSONBodyMiddleware``: 415 otherwise, saying what to send), well formed (400
with the line and column of a syntax error) and without a key repeated in one object (422 naming each);
a path with a trailing slash served as the path without it (``TrailingSlashMiddleware``).

A pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which would buffer): a declared
``Content-Length`` over the limit is answered 413 before the application runs and before a byte of
the body is read; a body without one (chunked) is counted as it arrives and refused as soon as it
passes the limit, so that no more than the limit (plus the chunk that crossed it) is ever held.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from designs.core.errors import FieldProblem, InvalidInputError
from service.problems import PROBLEM_JSON, MalformedJSON, RequestTooLarge, UnsupportedMediaType, problem_document, route_path


class BodyLimitMiddleware:
    """413 ``/problems/request-too-large`` for a body over ``max_bytes(scope)`` bytes."""

    def __init__(self, app: ASGIApp, max_bytes: Callable[[Scope], int]):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_bytes(scope)
        declared = Headers(scope=scope).get("content-length")
        # A malformed Content-Length is the server's to refuse (uvicorn answers 400 before we see it).
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _refuse(limit, scope, receive, send)
            return

        received = 0
        too_large = False
        response_started = False

        async def receive_within_limit() -> Message:
            nonlocal received, too_large
            if too_large:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    too_large = True
                    raise RequestTooLarge(limit)
            return message

        async def send_unless_refused(message: Message) -> None:
            nonlocal response_started
            if too_large:
                return  # whatever the application made of the cut body: the 413 answers instead
            response_started = response_started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive_within_limit, send_unless_refused)
        except Exception:
            # Whatever the cut body raised on its way out (FastAPI turns a failed read into a 400,
            # dropped above): the 413 is the answer.
            if not too_large:
                raise
        if too_large and not response_started:
            await _refuse(limit, scope, receive, send)


async def _refuse(limit: int, scope: Scope, receive: Receive, send: Send) -> None:
    await _answer(RequestTooLarge(limit), scope, receive, send)


THREAD_ABOVE_BYTES = 256 * 1024


class JSONBodyMiddleware:
    """415 ``/problems/unsupported-media-type`` for a request body in another content type than JSON
    (``application/json`` or ``…+json``, such as a merge patch), saying what to send: without it, CSV or
    form data, or JSON sent without its content type, reached the schema as a string and was refused as
    "Input should be a valid dictionary". A request without a body passes; routes that read other types themselves
    (``MULTIPART_PATHS``: a data cut's ADaM files) pass. A JSON body, on any route, is read here to check
    its syntax and keys (``json_body_problem``)."""

    METHODS = frozenset({"POST", "PUT", "PATCH"})
    MULTIPART_PATHS = re.compile(r"^/v1/trials/[^/]+/data-cuts/?$")

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.METHODS:
            headers = Headers(scope=scope)
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            has_body = headers.get("content-length") not in (None, "0") or "transfer-encoding" in headers
            is_json = kind == "application/json" or kind.endswith("+json")
            if has_body and not is_json and not self.MULTIPART_PATHS.match(route_path(scope)):
                await _answer(UnsupportedMediaType(
                    f"send the request body as JSON with the header content-type: application/json (got "
                    f"{kind or 'no content type'}); "
                    "with curl: -H 'content-type: application/json' -d '{…}'"), scope, receive, send)
                return
            if has_body and is_json:
                # Read here (within BodyLimitMiddleware's limit, which wraps this one) to check its syntax
                # and keys, then handed on unchanged.
                messages, raw = await _read_body(receive)
                # Parsing megabytes takes tens of milliseconds: off the event loop, which answers /health.
                problem = (json_body_problem(raw) if len(raw) < THREAD_ABOVE_BYTES
                           else await run_in_threadpool(json_body_problem, raw))
                if problem is not None:
                    await _answer(problem, scope, receive, send)
                    return
                receive = _replay(messages, receive)
        await self.app(scope, receive, send)


async def _answer(exc: Exception, scope: Scope, receive: Receive, send: Send) -> None:
    status, body = problem_document(exc)
    await JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)(scope, receive, send)


async def _read_body(receive: Receive) -> tuple[list[Message], bytes]:
    messages: list[Message] = []
    while True:
        message = await receive()
        messages.append(message)
        if message["type"] != "http.request" or not message.get("more_body", False):
            break
    return messages, b"".join(m.get("body", b"") for m in messages if m["type"] == "http.request")


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


class _Object(dict):
    """A JSON object as parsed, remembering the keys it saw more than once."""

    repeated: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> _Object:
    obj = _Object(pairs)
    seen: set[str] = set()
    obj.repeated = []
    for key, _ in pairs:
        if key in seen and key not in obj.repeated:
            obj.repeated.append(key)
        seen.add(key)
    return obj


def _repeated_keys(value: Any, path: tuple[str, ...] = ()) -> list[FieldProblem]:
    found: list[FieldProblem] = []
    if isinstance(value, _Object):
        for key in value.repeated:
            found.append(FieldProblem("/".join((*path, key)) or "body",
                                      f"the key '{key}' appears more than once in this object: which value counts "
                                      "would be a guess, so send it once"))
        for key, item in value.items():
            found.extend(_repeated_keys(item, (*path, key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            found.extend(_repeated_keys(item, (*path, str(i))))
    return found


def json_body_problem(raw: bytes) -> Exception | None:
    """What is wrong with a JSON request body before its schema is read: not JSON (``MalformedJSON``,
    400, with line and column) or a key repeated within an object (``InvalidInputError``, 422, naming
    each such key where it is), or ``None``."""
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        return MalformedJSON(f"the body is not UTF-8 text (byte {exc.start + 1} cannot be decoded): send JSON in UTF-8")
    repeated = False

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        nonlocal repeated
        obj = dict(items)
        repeated = repeated or len(obj) != len(items)
        return obj

    try:
        json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        return MalformedJSON.at(exc)
    except RecursionError:
        return MalformedJSON(TOO_DEEP)
    except ValueError as exc:  # an integer of more digits than Python reads (sys.get_int_max_str_digits)
        return MalformedJSON(f"the body is not JSON this service can read: {exc}")
    if not repeated:
        return None
    # Rare: read it again, keeping where each repeated key is.
    try:
        return InvalidInputError(_repeated_keys(json.loads(text, object_pairs_hook=_pairs)))
    except RecursionError:
        return MalformedJSON(TOO_DEEP)


TOO_DEEP = "the body nests arrays or objects too deeply to be read"


class TrailingSlashMiddleware:
    """A path of the API ending in a slash (``/v1/simon/designs/``) is served as the path without it:
    the same resource, not a 404 or an empty redirect a client may not follow with its body. Only the
    API's paths (``/v1/…``, ``/health``): the docs' static files are a directory, whose own redirect adds
    the slash."""

    API = re.compile(r"^/(v1/.+|health)/+$")

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.API.match(route_path(scope)):
            path = scope["path"].rstrip("/")
            scope = {**scope, "path": path, "raw_path": path.encode()}
        await self.app(scope, receive, send)


class HeadMiddleware:
    """``HEAD`` on any path that answers ``GET``: the same status and headers, no body (RFC 9110 9.3.2;
    a load balancer's health check may send it). FastAPI's routes answer only the methods declared."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app({**scope, "method": "GET"}, receive, headers_only)
