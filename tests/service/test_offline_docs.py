"""The interactive API docs work on a closed network (issue 14).

In a real browser: a real server (uvicorn, started as `gonogo serve` starts it) on 127.0.0.1, and
headless Chromium that can reach nothing else (tests/browser.py). /docs (Swagger UI) loads with every
request going to the server itself and none failing, lists every operation of the OpenAPI, and "Try it
out" → Execute on POST /v1/simon/designs shows a 200 and Simon's designs; /redoc loads the same way
and lists every operation. A control loads FastAPI's stock docs page (scripts from a CDN) in the same
browser and sees its outside requests caught and no operation appear, so that the tests above can fail.

In process (no browser): the pages name only the server's own assets, under the server's root path;
the assets are served; the OAuth2 redirect page stays; none of it is in the OpenAPI schema.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import pytest
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.testclient import TestClient

from service import docs_ui
from tests.browser import Browser, requires_chromium
from tests.live_server import live_server

ROOT = Path(__file__).resolve().parent.parent.parent
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "options", "head", "trace"}
# Simon (1989), p0 = 0.1, p1 = 0.3 (alpha 0.05, power 0.8): optimal 1/10, 5/29; minimax 1/15, 5/25.
SIMON_REQUEST = {"p0": 0.1, "p1": 0.3}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The base URL of a real gonogo server on a free loopback port, started as `gonogo serve` does."""
    with live_server(tmp_path_factory.mktemp("gonogo-data")) as (base, _):
        yield base


@pytest.fixture(scope="module")
def spec(server):
    return httpx.get(f"{server}/openapi.json", timeout=30).json()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    chromium = Browser(tmp_path_factory.mktemp("chromium-profile"))
    yield chromium
    chromium.close()


@pytest.fixture
def page(browser):
    tab = browser.open(width=1280, height=2000)
    yield tab
    tab.close()


def operations(spec: dict) -> list[tuple[str, str]]:
    """(METHOD, path) of every operation of the OpenAPI, once per tag (the docs list an operation under each)."""
    return sorted((method.upper(), path) for path, item in spec["paths"].items() for method, op in item.items()
                  if method in HTTP_METHODS for _ in (op.get("tags") or [None]))


def assert_only_the_server(page, server: str) -> None:
    """Once the page is quiet, every request it made went to the server, and every one got a response
    below 400."""
    page.wait_until_quiet()
    assert page.requests, "the page made no request at all"
    # data: and blob: URLs are the page's own (inline icons, ReDoc's search worker): nothing is fetched.
    outside = [url for url in page.requests if not url.startswith((server + "/", "data:", f"blob:{server}/"))]
    assert outside == [], f"requests to other hosts: {outside}"
    assert page.failed == [], f"failed requests: {page.failed}"
    errors = [(url, status) for url, status in page.responses if status >= 400]
    assert errors == [], f"error responses: {errors}"


SWAGGER_OPERATIONS = """[...document.querySelectorAll('.opblock')].map(b => [
    b.querySelector('.opblock-summary-method').textContent.trim(),
    b.querySelector('.opblock-summary-path').getAttribute('data-path')])"""


@requires_chromium
def test_swagger_ui_loads_from_the_server_alone_and_lists_every_operation(page, server, spec):
    page.navigate(f"{server}/docs")
    expected = operations(spec)
    page.wait_until(f"document.querySelectorAll('.opblock').length >= {len(expected)}")
    shown = sorted(tuple(op) for op in page.evaluate(SWAGGER_OPERATIONS))
    assert shown == expected
    assert page.evaluate("document.querySelector('.info .title').textContent").startswith("gonogo")
    # The script, the style sheet and the schema: from the server.
    assert {f"{server}/docs-assets/swagger-ui-bundle.js", f"{server}/docs-assets/swagger-ui.css",
            f"{server}/openapi.json"} <= set(page.requests)
    assert_only_the_server(page, server)


@requires_chromium
def test_swagger_ui_try_it_out_executes_a_simon_search_on_the_server(page, server):
    """Try it out → Execute on POST /v1/simon/designs: the response panel shows 200 and Simon's designs."""
    page.navigate(f"{server}/docs")
    block = "#operations-simon-simon-designs"
    body = f"{block} textarea.body-param__text"
    page.wait_until(f"!!document.querySelector('{block}')")
    page.evaluate(f"document.querySelector('{block} .opblock-summary-control').click()")
    page.wait_until(f"!!document.querySelector('{block} .try-out__btn')")
    page.evaluate(f"document.querySelector('{block} .try-out__btn').click()")
    page.wait_until(f"!!document.querySelector('{body}')")
    # Replace the example body as a user would: select it all, type over it.
    page.evaluate(f"(t => (t.focus(), t.select(), true))(document.querySelector('{body}'))")
    page.insert_text(json.dumps(SIMON_REQUEST))
    assert json.loads(page.evaluate(f"document.querySelector('{body}').value")) == SIMON_REQUEST
    page.evaluate(f"document.querySelector('{block} .execute').click()")
    status = page.wait_until(
        f"document.querySelector('{block} .live-responses-table .response .response-col_status')?.textContent.trim()",
        timeout=120)
    assert status == "200"
    shown = json.loads(page.evaluate(
        f"document.querySelector('{block} .live-responses-table .response .response-col_description pre').textContent"))
    assert (shown["optimal"]["r1"], shown["optimal"]["n1"], shown["optimal"]["r"], shown["optimal"]["n"]) == (1, 10, 5, 29)
    assert (shown["minimax"]["r1"], shown["minimax"]["n1"], shown["minimax"]["r"], shown["minimax"]["n"]) == (1, 15, 5, 25)
    assert f"{server}/v1/simon/designs" in page.requests
    assert_only_the_server(page, server)


@requires_chromium
def test_redoc_loads_from_the_server_alone_and_lists_every_operation(page, server, spec):
    page.navigate(f"{server}/redoc")
    expected = sorted(op["operationId"] for item in spec["paths"].values() for method, op in item.items()
                      if method in HTTP_METHODS)
    page.wait_until(f"document.querySelectorAll('[data-section-id^=\"operation/\"]').length >= {len(expected)}")
    shown = page.evaluate("[...document.querySelectorAll('[data-section-id^=\"operation/\"]')]"
                          ".map(e => e.getAttribute('data-section-id').slice('operation/'.length))")
    assert sorted(shown) == expected
    assert page.evaluate("document.querySelector('h1').textContent").startswith("gonogo")
    assert {f"{server}/docs-assets/redoc.standalone.js", f"{server}/openapi.json"} <= set(page.requests)
    assert_only_the_server(page, server)
    # ReDoc's side menu would show Redocly's logo from its CDN: the served bundle shows an inline image.
    assert page.evaluate("document.querySelector('img[alt=\"redocly logo\"]')?.src.startsWith('data:')") is True


@requires_chromium
def test_the_harness_catches_fastapis_stock_docs_page_asking_a_cdn(page, server, tmp_path):
    """Control: FastAPI's own /docs page (Swagger UI from a CDN) in the same browser makes outside
    requests, which fail and are seen, and shows no operation (so the tests above can fail)."""
    stock = tmp_path / "stock-docs.html"
    stock.write_bytes(get_swagger_ui_html(openapi_url=f"{server}/openapi.json", title="stock").body)
    page.navigate(stock.as_uri())
    outside = [url for url in page.requests if url.startswith("https://")]
    assert any(url.startswith("https://cdn.jsdelivr.net/") for url in outside), page.requests
    assert {f["url"] for f in page.failed} >= set(outside), page.failed
    assert page.evaluate("document.querySelectorAll('.opblock').length") == 0
    with pytest.raises(AssertionError, match="requests to other hosts"):
        assert_only_the_server(page, server)


# In process: what the pages name and what the server serves.

@pytest.fixture(scope="module")
def mounted():
    """A client of the app as served under a root path (a reverse proxy's prefix); no lifespan needed."""
    from service.app import app

    client = TestClient(app, root_path="/gonogo")  # not entered: the pages need no lifespan (no database, no pool)
    yield client
    client.close()


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_name_only_the_servers_own_assets_under_its_root_path(mounted, path):
    page = mounted.get(path)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    named = re.findall(r"""(?:src|href|spec-url)="([^"]*)"|url: '([^']*)'""", page.text)
    named = sorted(a or b for a, b in named)
    assert named and all(url.startswith("/gonogo/") for url in named), named
    assert "/gonogo/openapi.json" in named
    assert "http://" not in page.text and "https://" not in page.text and "fonts.googleapis" not in page.text
    for url in named:
        if url.startswith("/gonogo/docs-assets/"):
            assert mounted.get(url).status_code == 200, url


def test_docs_assets_are_served_and_the_redoc_bundle_asks_no_outside_host(client):
    for name in docs_ui.ASSETS:
        answer = client.get(f"/docs-assets/{name}")
        assert answer.status_code == 200, name
        assert len(answer.content) > 1000, name
    assert client.get("/docs-assets/swagger-ui-bundle.js").headers["content-type"].startswith("text/javascript")
    redoc = client.get("/docs-assets/redoc.standalone.js")
    assert redoc.headers["content-type"].startswith("text/javascript")
    assert docs_ui.REDOC_OUTSIDE_LOGO not in redoc.content and docs_ui.EMPTY_IMAGE in redoc.content
    # Otherwise the installed file, byte for byte.
    installed = (docs_ui.ASSETS_DIR / docs_ui.REDOC_JS).read_bytes()
    assert redoc.content == installed.replace(docs_ui.REDOC_OUTSIDE_LOGO, docs_ui.EMPTY_IMAGE) != installed
    assert client.get("/docs-assets/nothing.js").status_code == 404


def test_swagger_oauth2_redirect_page_stays_and_no_docs_route_is_in_the_openapi(client):
    redirect = client.get("/docs/oauth2-redirect")
    assert redirect.status_code == 200 and "oauth2" in redirect.text
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith(("/docs", "/redoc"))]


def test_docs_ui_refuses_an_app_that_keeps_fastapis_cdn_pages():
    from fastapi import FastAPI

    with pytest.raises(ValueError, match="docs_url=None and redoc_url=None"):
        docs_ui.install(FastAPI())
