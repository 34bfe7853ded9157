"""ASGI middleware of the request boundary: no request body larger than ``GONOGO_MAX_BODY_BYTES``, and
request bodies in JSON (``JSONBodyMiddleware``: 415 otherwise, saying what to send).

A pure ASGI middleware (not Starlette's ``BaseHTTPMiddleware``, which would buffer): a declared
``Content-Length`` over the limit is answered 413 before the application runs and before a byte of
the body is read; a body without one (chunked) is counted as it arrives and refused as soon as it
passes the limit, so that no more than the limit (plus the chunk that crossed it) is ever held.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.problems import PROBLEM_JSON, RequestTooLarge, UnsupportedMediaType, problem_document


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
    status, body = problem_document(RequestTooLarge(limit))
    await JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)(scope, receive, send)


class JSONBodyMiddleware:
    """415 ``/problems/unsupported-media-type`` for a request body in another content type than JSON
    (``application/json`` or ``…+json``, such as a merge patch), saying what to send: without it, CSV or
    form data, or JSON sent without its content type, reached the schema as a string and was refused as
    "Input should be a valid dictionary". A request without a body passes; routes that read other types themselves
    (``MULTIPART_PATHS``: a data cut's ADaM files) pass."""

    METHODS = frozenset({"POST", "PUT", "PATCH"})
    MULTIPART_PATHS = re.compile(r"^/v1/trials/[^/]+/data-cuts/?$")

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in self.METHODS and not self.MULTIPART_PATHS.match(scope["path"]):
            headers = Headers(scope=scope)
            kind = headers.get("content-type", "").split(";")[0].strip().lower()
            has_body = headers.get("content-length") not in (None, "0") or "transfer-encoding" in headers
            if has_body and kind != "application/json" and not kind.endswith("+json"):
                status, body = problem_document(UnsupportedMediaType(
                    f"send the request body as JSON with the header content-type: application/json (got "
                    f"{kind or 'no content type'}); "
                    "with curl: -H 'content-type: application/json' -d '{…}'"))
                await JSONResponse(body, status_code=status, media_type=PROBLEM_JSON)(scope, receive, send)
                return
        await self.app(scope, receive, send)
