"""Schemathesis over the OpenAPI document finds nothing (issue 14): the calculators, jobs, /health and
/v1/version, with their examples and generated requests (valid and invalid), in process.

Unlike tests/service/test_fuzz.py (many examples, bodies repaired across fields to reach the engines),
this is the contract's check, bounded to a few examples per operation: every answer

* is no 5xx (an explicit 503 with Retry-After is admission control, not an error);
* has a status the document lists for the operation (``status_code_conformance``);
* comes in a content type the document lists for that status (``content_type_conformance``);
* has the headers the document says it has (``response_headers_conformance``);
* conforms to the documented schema of its status (``response_schema_conformance``);
* refuses what the schema refuses (``negative_data_rejection``: an invalid request is a 4xx; a boolean
  where a number is due included, since the request models are strict).

The registry routes need tokens and stored trials; tests/registry covers them. The app computes in
this process with the limits of ``SETTINGS`` (few simulated trials, small Simon searches), and the
analyses run on the quadrature engine: each PyMC model compiles for seconds, and MCMC has its own tests.
Derandomized with a fixed seed: a failure reproduces on every run.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from service.app import create_app
from service.compute import InProcessCompute, get_compute
from service.settings import Settings, get_settings
from tests.service.openapi_tools import without_prefix_items

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 15
"""Generated requests per operation and generation mode: about two minutes in all."""

_DATA_DIR = Path(tempfile.mkdtemp(prefix="gonogo-schemathesis-"))
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)

SETTINGS: dict[str, Any] = {
    "warm_up_models": False,
    "data_dir": _DATA_DIR,
    "database_url": f"sqlite:///{_DATA_DIR / 'gonogo.sqlite3'}",
    "max_mcmc_draws": 1000,
    "max_simulated_trials": 1000,
    "job_threshold_trials": 1000,
    "simon_nmax_limit": 60,
    "job_workers": 1,
    "job_decision_seconds": 2.0,
    "max_decision_seconds": 2.0,
    "sync_compute_seconds": 1.0,
    "max_compute_seconds": 5.0,
    "compute_workers": 1,
}
"""What no generated request may exceed: larger ones are refused (422) or become jobs (202), both documented."""


def _settings() -> Settings:
    return get_settings().model_copy(update={k: v for k, v in SETTINGS.items() if k in Settings.model_fields})


app = create_app()
app.dependency_overrides[get_settings] = _settings
app.dependency_overrides[get_compute] = InProcessCompute


CONFIG = schemathesis.Config.from_dict({
    "seed": 2026,
    "request-timeout": 300,  # a guard against a hang only
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
    "phases": {"stateful": {"enabled": False}},
})
schema = schemathesis.openapi.from_dict(without_prefix_items(app.openapi()), config=CONFIG).exclude(
    path_regex=r"^/v1/(trials|tokens|audit)")


def _quadrature(path: str, body: dict[str, Any]) -> None:
    """An analysis on the quadrature engine (closed form where the kind is), its MCMC settings small."""
    if path not in ("/v1/analyses/response", "/v1/analyses/pfs"):
        return
    model = body.get("model")
    if isinstance(model, dict) and model.get("kind") in ("hierarchical-weibull", "hierarchical-piecewise-exponential"):
        model["kind"], model["prior"] = "hierarchical-exponential", {}
    if body.get("engine") in (None, "mcmc"):
        body["engine"] = "quadrature"


def no_server_error_but_explicit_503(ctx, response, case) -> None:
    """No 5xx, except a problem+json 503 with Retry-After: the service saying it is busy."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    if response.status_code == 503 and "retry-after" in headers and "application/problem+json" in str(headers.get("content-type")):
        return None
    return not_a_server_error(ctx, response, case)


CHECKS = [no_server_error_but_explicit_503, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance, negative_data_rejection]


@schema.parametrize()
@hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_the_calculators_answer_as_documented(case):
    if isinstance(case.body, dict) and case.meta is not None \
            and case.meta.generation.mode == schemathesis.GenerationMode.POSITIVE:
        _quadrature(case.operation.path, case.body)
    case.call_and_validate(app=app, checks=CHECKS)
