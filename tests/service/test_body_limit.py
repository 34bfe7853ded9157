"""GONOGO_MAX_BODY_BYTES: a body over the limit is a 413 problem, refused before (or as soon as) it
passes the limit, never read in full; one at the limit is answered as usual."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from pydantic import ValidationError

from service.app import create_app
from service.settings import Settings, get_settings
from tests.conftest import assert_problem

LIMIT = 1_000_000
CHUNK = 65_536
ROUTE = "/v1/analyses/response"
BODY = {
    "p0": 0.15, "p1": 0.35, "model": {"kind": "independent"},
    "strata": [{"name": "NF1", "n": 10, "responders": 3, "n_planned": 21}],
}


def padded(size: int) -> bytes:
    """``BODY`` as JSON padded with spaces to exactly ``size`` bytes (still valid JSON)."""
    text = json.dumps(BODY).encode()
    return text + b" " * (size - len(text))


@pytest.fixture
def limited(overrides):
    overrides[get_settings] = lambda: Settings(max_body_bytes=LIMIT)


def _assert_too_large(response) -> None:
    problem = assert_problem(response, 413)
    assert problem["type"] == "/problems/request-too-large" and problem["limit_bytes"] == LIMIT
    assert "GONOGO_MAX_BODY_BYTES" in problem["detail"]


def test_body_at_the_limit_is_answered(client, limited):
    response = client.post(ROUTE, content=padded(LIMIT), headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text


def test_body_one_byte_over_the_declared_limit_is_413(client, limited):
    _assert_too_large(client.post(ROUTE, content=padded(LIMIT + 1), headers={"content-type": "application/json"}))


class CountingBody:
    """A request body of ``chunks`` chunks of ``CHUNK`` bytes that counts how many were read."""

    def __init__(self, chunks: int):
        self.chunks = chunks
        self.read = 0

    async def __aiter__(self):
        for _ in range(self.chunks):
            self.read += 1
            yield b" " * CHUNK


def _post_streamed(body: CountingBody, headers: dict[str, str] | None = None) -> httpx.Response:
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: Settings(max_body_bytes=LIMIT)

    async def post() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
            return await http.post(ROUTE, content=body, headers={"content-type": "application/json", **(headers or {})})

    return asyncio.run(post())


def test_declared_content_length_over_the_limit_is_refused_before_reading_a_byte():
    body = CountingBody(chunks=100)  # 6.5 MB declared
    _assert_too_large(_post_streamed(body, {"content-length": str(100 * CHUNK)}))
    assert body.read == 0


def test_chunked_body_is_cut_off_as_soon_as_it_passes_the_limit():
    """No Content-Length (Transfer-Encoding: chunked): read up to the chunk that crosses the limit, no further."""
    body = CountingBody(chunks=100)  # 6.5 MB
    _assert_too_large(_post_streamed(body))
    assert body.read == LIMIT // CHUNK + 1


def test_max_body_bytes_default_and_bounds(monkeypatch):
    monkeypatch.delenv("GONOGO_MAX_BODY_BYTES", raising=False)
    assert Settings().max_body_bytes == 5_000_000
    monkeypatch.setenv("GONOGO_MAX_BODY_BYTES", "100000")  # too small for a PFS request of 2000 patients
    with pytest.raises(ValidationError):
        Settings()
