"""Fuzz test over the OpenAPI document: every operation, in process, with schemathesis.

Each operation gets generated requests, valid and invalid (``mode: all``), and every answer must be:

* no 5xx, except an explicit 503 with ``Retry-After`` (admission control: the service is busy);
* a body that conforms to the documented schema of its status (``response_schema_conformance``:
  a NaN that became null where the schema says number fails here);
* every 4xx ``application/problem+json`` with ``type``, ``title``, ``status`` (its own status) and
  ``detail``, and a validation problem (``/problems/invalid-request``) lists its bad fields in ``errors``.

The app under test is its own ``create_app()`` with settings overridden by name (``FUZZ_SETTINGS``),
so that no fuzzed request can start a long computation: the fewest MCMC draws a request may ask for,
the fewest simulated trials, small Simon searches, no model warm-up, and a job store in a temporary
directory. Requests the engines would spend minutes on are then refused (422) at the boundary, which
is itself what is being tested; requests that sample (MCMC) have their warm-up and chains capped
(``_bounded``) because a setting does not limit them, and each (kind, strata) compiles its own model.

Examples are derandomized (fixed seed per operation): a failure reproduces on every run.
``GONOGO_FUZZ_EXAMPLES`` raises the number of examples per operation for a long run by hand, e.g.
``GONOGO_FUZZ_EXAMPLES=2000 pytest tests/service/test_fuzz.py -p no:randomly -x``.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import hypothesis
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from service.app import create_app
from service.settings import Settings, get_settings

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("GONOGO_FUZZ_EXAMPLES", "40"))

_DATA_DIR = Path(tempfile.mkdtemp(prefix="gonogo-fuzz-"))
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)

# By name, and only the settings this service has: a setting added later (a compute pool's queue, a
# cost budget) is overridden here once it exists.
FUZZ_SETTINGS: dict[str, Any] = {
    "warm_up_models": False,
    "data_dir": _DATA_DIR,
    "max_mcmc_draws": 100,
    "max_simulated_trials": 1000,
    "job_threshold_trials": 1000,
    "simon_nmax_limit": 60,
    "job_workers": 1,
}


def _fuzz_settings() -> Settings:
    known = {name: value for name, value in FUZZ_SETTINGS.items() if name in Settings.model_fields}
    return get_settings().model_copy(update=known)


app = create_app()
app.dependency_overrides[get_settings] = _fuzz_settings

CONFIG = schemathesis.Config.from_dict({
    "seed": 2026,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": True},
    "phases": {"stateful": {"enabled": False}},
})


def _without_prefix_items(node: Any) -> Any:
    """The document with each tuple (``prefixItems``, OpenAPI 3.1) as an array of its one item type.

    schemathesis rewrites ``prefixItems`` into the draft-4 ``items: [...]`` before validating a
    response against draft 2020-12, which then refuses the schema itself (schemathesis issue 3842).
    Every tuple here repeats one type (``ci95``: two numbers), so ``items`` says the same."""
    if isinstance(node, list):
        return [_without_prefix_items(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _without_prefix_items(value) for key, value in node.items()}
    prefix = node.pop("prefixItems", None)
    if prefix is not None:
        assert all(item == prefix[0] for item in prefix), prefix
        node["items"] = prefix[0]
    return node


schema = schemathesis.openapi.from_dict(_without_prefix_items(app.openapi()), config=CONFIG)

PROBLEM_MEMBERS = ("type", "title", "status", "detail")


def problem_json_on_every_4xx(ctx, response, case) -> None:
    """Every 4xx is RFC 9457 problem+json with its members; a validation problem lists its fields."""
    if not 400 <= response.status_code < 500:
        return None
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/problem+json"), f"{response.status_code} as {content_type!r}"
    body = response.json()
    missing = [m for m in PROBLEM_MEMBERS if m not in body]
    assert not missing, f"problem document without {missing}: {body}"
    assert body["status"] == response.status_code, body
    if body["type"] == "/problems/invalid-request":
        errors = body.get("errors")
        assert errors and all(e.get("field") and e.get("reason") for e in errors), body
    return None


def no_server_error_but_explicit_503(ctx, response, case) -> None:
    """No 5xx, except a 503 with Retry-After: the service saying it is busy, as documented."""
    if response.status_code == 503 and "retry-after" in {k.lower() for k in response.headers}:
        return None
    return not_a_server_error(ctx, response, case)


def _bounded(case) -> None:
    """MCMC settings of a generated body capped at what the fuzz test can afford to sample."""
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("mcmc"), dict):
        mcmc = body["mcmc"]
        for name, cap in (("tune", 100), ("chains", 2)):
            if isinstance(mcmc.get(name), int) and not isinstance(mcmc.get(name), bool) and mcmc[name] > cap:
                mcmc[name] = cap


@schema.parametrize()
@hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_answers_documented_responses_and_problem_json(case):
    _bounded(case)
    case.call_and_validate(
        app=app,
        checks=[no_server_error_but_explicit_503, response_schema_conformance, problem_json_on_every_4xx],
    )
