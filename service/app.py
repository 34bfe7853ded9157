"""The ASGI application: ``service.app:app``."""

from __future__ import annotations

import importlib
import sys
from contextlib import asynccontextmanager

from fastapi import FastAPI

import designs
from service import problems
from service.schemas.common import Problem
from service.settings import get_settings

# One router per resource; a module listed here must define ``router``.
ROUTER_MODULES = (
    "service.api.health",
    "service.api.simon",
    "service.api.response",
    "service.api.pfs",
    "service.api.oc",
    "service.api.jobs",
)

DESCRIPTION = """
Design and monitor Bayesian adaptive phase II trials: exact Simon two-stage designs, hierarchical
Bayesian analyses of interim response and progression-free survival across strata, and operating
characteristics of Bayesian go/no-go rules beside Simon. Every 4xx is `application/problem+json`
naming each bad field; every result carries its provenance.
"""


@asynccontextmanager
async def lifespan(app: FastAPI):
    settings = get_settings()
    app.state.models = {"state": "not compiled at start-up (GONOGO_WARM_UP_MODELS=false)"}
    if settings.warm_up_models:
        # Compile the PyMC models in the background: /health answers at once, and a request that needs
        # a model before its compilation finishes waits for it (the model cache is locked per model).
        import threading

        from designs.engines.pymc import warm_up

        def compile_models() -> None:
            try:
                seconds = warm_up(cache_dir=settings.data_dir / "compiled-models")
            except Exception as exc:  # noqa: BLE001 - reported on /health; requests compile on demand
                app.state.models = {"state": "failed", "detail": repr(exc)}
            else:
                app.state.models = {"state": "ready", "compile_seconds": {k: round(v, 2) for k, v in seconds.items()}}

        app.state.models = {"state": "compiling"}
        threading.Thread(target=compile_models, name="gonogo-warm-up", daemon=True).start()
    yield
    from service import jobs

    manager = jobs.set_job_manager(None)
    if manager is not None:
        manager.close()


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
    for name in ROUTER_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            continue  # resource not built yet
        app.include_router(module.router)
    # The Problem schema is referenced by every route's 422 response.
    app.openapi_schema = None
    _original = app.openapi

    def openapi():
        if app.openapi_schema is None:
            schema = _original()
            schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = Problem.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
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
