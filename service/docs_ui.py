"""The interactive API docs, Swagger UI at ``/docs`` and ReDoc at ``/redoc``, served from files
installed with the package, so that they work on a closed network (how data-monitoring committees run
gonogo): no request leaves the server.

FastAPI's own docs pages load Swagger UI, ReDoc, Google Fonts and a favicon from outside hosts; on a
closed network they are blank. The assets here are the static directory of the ``fastapi-offline``
package (MIT; Swagger UI 5 bundle and CSS, ReDoc 2 standalone bundle, FastAPI's favicon), mounted
under ``/docs-assets/`` and put into FastAPI's own page templates (``get_swagger_ui_html``;
``get_redoc_html`` without Google Fonts, and ReDoc's bundle without its one outside image). Swagger
UI's OAuth2 redirect page stays at ``/docs/oauth2-redirect``. None of these routes is in the OpenAPI
schema.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.staticfiles import StaticFiles
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

DOCS_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs-assets"
# fastapi-offline ships the assets as package data beside its module (not as a zip: a real directory).
ASSETS_DIR = Path(str(files("fastapi_offline") / "static"))
SWAGGER_JS = "swagger-ui-bundle.js"
SWAGGER_CSS = "swagger-ui.css"
REDOC_JS = "redoc.standalone.js"
FAVICON = "favicon.png"
ASSETS = (SWAGGER_JS, SWAGGER_CSS, REDOC_JS, FAVICON)

# ReDoc 2's side menu shows Redocly's logo from Redocly's CDN whatever its options (an <img> with this
# fixed address): on a closed network, a request leaving the server. Its bundle is served with the
# address replaced by an empty inline image, and is otherwise the file installed.
REDOC_OUTSIDE_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"
EMPTY_IMAGE = b"data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='1' height='1'/%3E"

# Swagger UI would otherwise be free to ask an online validator about the schema (it does not in the
# base layout FastAPI uses; saying so keeps it that way whatever the layout).
OFFLINE_SWAGGER_PARAMETERS = {"validatorUrl": None}


def install(app: FastAPI, docs_url: str = DOCS_URL, redoc_url: str = REDOC_URL, assets_url: str = ASSETS_URL) -> None:
    """Register the offline docs on ``app``, which must have been made with ``docs_url=None`` and
    ``redoc_url=None`` (FastAPI's pages, which load from a CDN, would otherwise answer first)."""
    if app.docs_url is not None or app.redoc_url is not None:
        raise ValueError("create the app with docs_url=None and redoc_url=None: its own docs pages load from a CDN")
    missing = [name for name in ASSETS if not (ASSETS_DIR / name).is_file()]
    if missing:
        raise RuntimeError(f"fastapi-offline's docs assets are missing from {ASSETS_DIR}: {', '.join(missing)}")
    if app.openapi_url is None:
        return
    openapi_url = app.openapi_url
    oauth2_redirect_url = app.swagger_ui_oauth2_redirect_url
    redoc_js = (ASSETS_DIR / REDOC_JS).read_bytes().replace(REDOC_OUTSIDE_LOGO, EMPTY_IMAGE)

    async def redoc_bundle(request: Request) -> Response:
        return Response(redoc_js, media_type="text/javascript; charset=utf-8")

    # Before the mount of the directory, so that this route answers for the bundle.
    app.add_route(f"{assets_url}/{REDOC_JS}", redoc_bundle, include_in_schema=False)
    app.mount(assets_url, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    def root(request: Request) -> str:
        """The prefix the server is mounted under (``--root-path``), as FastAPI's own pages use it."""
        return request.scope.get("root_path", "").rstrip("/")

    async def swagger_ui_html(request: Request) -> HTMLResponse:
        prefix = root(request)
        return get_swagger_ui_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{prefix}{assets_url}/{SWAGGER_JS}",
            swagger_css_url=f"{prefix}{assets_url}/{SWAGGER_CSS}",
            swagger_favicon_url=f"{prefix}{assets_url}/{FAVICON}",
            oauth2_redirect_url=prefix + oauth2_redirect_url if oauth2_redirect_url else None,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters={**OFFLINE_SWAGGER_PARAMETERS, **(app.swagger_ui_parameters or {})},
        )

    async def swagger_ui_redirect(request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc_html(request: Request) -> HTMLResponse:
        prefix = root(request)
        return get_redoc_html(
            openapi_url=prefix + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{prefix}{assets_url}/{REDOC_JS}",
            redoc_favicon_url=f"{prefix}{assets_url}/{FAVICON}",
            with_google_fonts=False,
        )

    if docs_url:
        app.add_route(docs_url, swagger_ui_html, include_in_schema=False)
        if oauth2_redirect_url:
            app.add_route(oauth2_redirect_url, swagger_ui_redirect, include_in_schema=False)
    if redoc_url:
        app.add_route(redoc_url, redoc_html, include_in_schema=False)
