"""The ASGI application: ``service.app:app``."""

from __future__ import annotations

import sys
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI
from starlette.concurrency import run_in_threadpool

import designs
from designs.core.memory import set_cache_budget
from designs.engines import pymc
from service import boundary, compute, docs_ui, problems
from service.api import (
    audit, boundaries, endpoints, health, jobs, oc, pfs, pfs_design, qualification, response, safety, safety_analysis, simon,
    tokens, trials,
)
from service.auth import calculators_guard
from service.jobs import JobManager
from service.middleware import BodyLimitMiddleware, HeadMiddleware, JSONBodyMiddleware, TrailingSlashMiddleware
from service.schemas.common import component_schemas, problem_schemas
from service.settings import Settings, get_settings
from service.store.engine import create_schema, database_url, make_engine

# One router per resource. The stateless calculators answer without a token unless
# GONOGO_AUTH_CALCULATORS=true; the registry's routers check tokens and roles themselves (service.auth);
# /health is always open.
CALCULATORS = (simon.router, response.router, pfs.router, endpoints.router, oc.router, boundaries.router, safety.router,
               safety_analysis.router, pfs_design.router, jobs.router)
REGISTRY = (trials.router, audit.router, tokens.router, qualification.router)
ROUTERS = (health.router, *CALCULATORS, *REGISTRY)

DESCRIPTION = """
Design and monitor Bayesian adaptive phase II trials: exact Simon two-stage designs, hierarchical
Bayesian analyses of interim response and progression-free survival across strata, and operating
characteristics of Bayesian go/no-go rules beside Simon. Every 4xx is `application/problem+json`
naming each bad field; every result carries its provenance.
"""


def settings_of(app: FastAPI) -> Settings:
    """The settings routes see, overrides included, so that tests can drive start-up and middleware too."""
    return app.dependency_overrides.get(get_settings, get_settings)()


def document_responses(op: dict, *, calculator: bool) -> None:
    """Add to an OpenAPI operation the error answers every route of its kind may give (``service.problems``):
    400, 413 and 415 where it reads a body, 422 everywhere (a body, a parameter, or a query parameter the
    route does not read), 500 everywhere
    (sampling-failed where it samples by MCMC), 401 on the calculators (when GONOGO_AUTH_CALCULATORS is on),
    409 where the registry reads stored content or writes. A route's own description of a status stays,
    but its 422 is the Problem schema's."""
    responses = op.setdefault("responses", {})
    body = op.get("requestBody", {}).get("content", {})
    documented: dict = {}
    if body:
        documented |= problems.TOO_LARGE_RESPONSES | problems.NOT_JSON_RESPONSES
        if any(kind == "application/json" or kind.endswith("+json") for kind in body):
            documented |= problems.MALFORMED_JSON_RESPONSES
    documented |= problems.PROBLEM_RESPONSES  # a query parameter the route does not read is one (service.boundary)
    sampling = op.get("operationId") in problems.SAMPLING_OPERATIONS
    documented |= problems.SAMPLING_RESPONSES if sampling else problems.INTERNAL_ERROR_RESPONSES
    if calculator:
        documented |= problems.CALCULATOR_AUTH_RESPONSES
    for status, answer in documented.items():
        if status == 422 or str(status) not in responses:
            responses[str(status)] = answer
    operation = op.get("operationId")
    if operation in problems.WRITE_OPERATIONS and "409" not in responses:
        responses["409"] = problems.problem_response(problems.WRITE_CONFLICT[:1].upper() + problems.WRITE_CONFLICT[1:])
    if operation in problems.STORED_CONTENT_OPERATIONS:
        said = responses.get("409", {}).get("description")
        text = problems.STORED_CONTENT_ALTERED
        responses["409"] = problems.problem_response(f"{said}; or {text}" if said else text[:1].upper() + text[1:])


def example_body(op: dict, components: dict) -> None:
    """The request body's example where the interactive docs take it ("Try it out"): the media type's
    ``example``, the first of its schema's ``examples`` (each a whole, working request: a test sends them)."""
    for media in op.get("requestBody", {}).get("content", {}).values():
        ref = media.get("schema", {}).get("$ref", "")
        examples = components.get(ref.rsplit("/", 1)[-1], {}).get("examples") if ref else None
        if examples and "example" not in media and "examples" not in media:
            media["example"] = examples[0]


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Open the database (migrated to the current schema), the job manager (a bad ``GONOGO_DATA_DIR``
    fails here, not at the first job) and the compute pool, whose workers start now and warm up
    (compile or load the PyMC models) when ``GONOGO_WARM_UP_MODELS`` is on, else at the first
    computation; close them at shutdown (running jobs become interrupted)."""
    settings = settings_of(app)
    set_cache_budget(settings.cache_mb * 2**20)  # every cache of arrays in this process, together
    # The database is brought to the current schema before anything reads it.
    app.state.database = make_engine(database_url(settings))
    await run_in_threadpool(create_schema, app.state.database)
    app.state.job_manager = JobManager.from_settings(settings, engine=app.state.database)
    # Compiled models persist in the data directory, whoever compiles them (the compute workers do).
    pymc.set_cache_dir(settings.data_dir / "compiled-models")
    app.state.compute = compute.acquire(*compute.pool_args(settings))
    if settings.warm_up_models:
        app.state.compute.start()
    try:
        yield
    finally:
        # Joining workers and threads takes seconds: not on the event loop.
        await run_in_threadpool(compute.release, app.state.compute)
        await run_in_threadpool(app.state.job_manager.close)
        app.state.database.dispose()


def create_app() -> FastAPI:
    # Jobs run on threads of the server; a shorter GIL switch interval (default 5 ms) lets the event
    # loop answer /health and accept requests promptly while they work.
    sys.setswitchinterval(0.001)
    app = FastAPI(
        title="gonogo",
        version=designs.__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        # FastAPI's own /docs and /redoc load their scripts from a CDN: blank on a closed network.
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(boundary.known_query_parameters)],
    )
    docs_ui.install(app)  # the same pages from files installed with the package
    problems.install(app)
    app.add_middleware(JSONBodyMiddleware)
    app.add_middleware(BodyLimitMiddleware, max_bytes=lambda scope: settings_of(scope["app"]).max_body_bytes)
    app.add_middleware(TrailingSlashMiddleware)
    app.add_middleware(HeadMiddleware)
    app.include_router(health.router)
    for router in CALCULATORS:
        app.include_router(router, dependencies=[Depends(calculators_guard)])
    for router in REGISTRY:
        app.include_router(router)
    # The document says every answer a route may give (service.problems, the documented answers):
    # FastAPI's own 422 schema gives way to the Problem schema, which every error answer refers to.
    app.openapi_schema = None
    _original = app.openapi
    calculator_paths = {route.path for router in CALCULATORS for route in router.routes}

    def openapi():
        if app.openapi_schema is None:
            schema = _original()
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(problem_schemas())
            components.update(component_schemas(*trials.REQUEST_BODIES))
            # FastAPI's default 422 answer (HTTPValidationError) is never sent: the Problem schema is.
            for name in ("HTTPValidationError", "ValidationError"):
                components.pop(name, None)
            for path, item in schema.get("paths", {}).items():
                for op in item.values():
                    document_responses(op, calculator=path in calculator_paths)
                    example_body(op, components)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi
    return app


app = create_app()
