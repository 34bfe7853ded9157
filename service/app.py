"""The ASGI application: ``service.app:app``."""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from contextlib import asynccontextmanager

from fastapi import FastAPI

import designs
from designs.engines import pymc
from service import problems
from service.api import health, jobs, oc, pfs, response, simon
from service.jobs import JobManager
from service.middleware import BodyLimitMiddleware
from service.schemas.common import problem_schemas
from service.settings import Settings, get_settings

# One router per resource.
ROUTERS = (health.router, simon.router, response.router, pfs.router, oc.router, jobs.router)

DESCRIPTION = """
Design and monitor Bayesian adaptive phase II trials: exact Simon two-stage designs, hierarchical
Bayesian analyses of interim response and progression-free survival across strata, and operating
characteristics of Bayesian go/no-go rules beside Simon. Every 4xx is `application/problem+json`
naming each bad field; every result carries its provenance.
"""


def settings_of(app: FastAPI) -> Settings:
    """The settings routes see, overrides included, so that tests can drive start-up and middleware too."""
    return app.dependency_overrides.get(get_settings, get_settings)()


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Open the job manager (a bad ``GONOGO_DATA_DIR`` fails here, not at the first job) and start
    compiling the PyMC models; close the manager at shutdown (its running jobs become interrupted)."""
    settings = settings_of(app)
    app.state.job_manager = JobManager.from_settings(settings)
    # Compiled models persist in the data directory, whether the warm-up or a request compiles them.
    pymc.set_cache_dir(settings.data_dir / "compiled-models")
    app.state.models = {"state": "not compiled at start-up (GONOGO_WARM_UP_MODELS=false)"}
    if settings.warm_up_models:
        app.state.models = {"state": "compiling"}
        threading.Thread(target=_compile_models, args=(app, pymc.warm_up), name="gonogo-warm-up", daemon=True).start()
    try:
        yield
    finally:
        app.state.job_manager.close()


def _compile_models(app: FastAPI, warm_up: Callable[[], dict[str, float]]) -> None:
    """Compile the PyMC models in the background: /health answers at once, and a request that needs
    a model before its compilation finishes waits for it (the model cache is locked per model)."""
    try:
        seconds = warm_up()
    except Exception as exc:  # noqa: BLE001 - reported on /health; requests compile on demand
        app.state.models = {"state": "failed", "detail": repr(exc)}
    else:
        app.state.models = {"state": "ready", "compile_seconds": {k: round(v, 2) for k, v in seconds.items()}}


def create_app() -> FastAPI:
    # Analyses run in worker threads; a shorter GIL switch interval (default 5 ms) lets the event
    # loop answer /health and accept requests promptly while they compute.
    sys.setswitchinterval(0.001)
    app = FastAPI(
        title="gonogo",
        version=designs.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    problems.install(app)
    app.add_middleware(BodyLimitMiddleware, max_bytes=lambda scope: settings_of(scope["app"]).max_body_bytes)
    for router in ROUTERS:
        app.include_router(router)
    # The Problem schema is referenced by every route's 422 response.
    app.openapi_schema = None
    _original = app.openapi

    def openapi():
        if app.openapi_schema is None:
            schema = _original()
            schema.setdefault("components", {}).setdefault("schemas", {}).update(problem_schemas())
            for item in schema.get("paths", {}).values():
                for op in item.values():
                    responses = op.get("responses", {})
                    if "422" in responses:
                        responses["422"] = {
                            "description": "Invalid request: problem+json naming each bad field and why",
                            "content": {problems.PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
                        }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
    return app


app = create_app()
