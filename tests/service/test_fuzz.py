"""Fuzz test over the OpenAPI document: every operation, in process, with schemathesis.

Each operation gets generated requests, valid and invalid (``mode: all``), and every answer must be:

* no 5xx, except an explicit 503 with ``Retry-After`` (admission control: the service is busy);
* a body that conforms to the documented schema of its status (``response_schema_conformance``:
  a NaN that became null where the schema says number fails here);
* every 4xx ``application/problem+json`` with ``type``, ``title``, ``status`` (its own status) and
  ``detail``, and a validation problem (``/problems/invalid-request``) lists its bad fields in ``errors``.

The app under test is its own ``create_app()`` with settings overridden by name (``FUZZ_SETTINGS``),
so that no fuzzed request can start a long computation: the fewest simulated trials, small Simon
searches, decision tables of at most 2 s, no model warm-up, and a job store in a temporary directory.
Requests beyond them are refused (422) at the boundary, which is itself what is being tested. What no
setting limits yet is bounded in the body (``_bounded``): MCMC draws, warm-up and chains; hierarchical
models on the quadrature engine (each (kind, number of strata) would compile a PyMC model of its own,
seconds each; ``GONOGO_FUZZ_MCMC=1`` keeps MCMC for a run by hand). The cost of a hierarchical
analysis (its predictive probability: minutes for many strata of many planned patients) is the cost
model's to bound: analyses estimated above 1 s become jobs, above 5 s are refused.
Valid bodies are repaired across fields (``_plausible``: p1 > p0, responders ≤ n ≤ n_planned, Simon's
orderings, ...) so that they reach the engines with their extreme values rather than stop at the
boundary's cross-field checks.

Examples follow the Hypothesis profile of ``tests/conftest.py``: derandomized (a failure reproduces on
every run) unless ``HYPOTHESIS_PROFILE=explore``. ``GONOGO_FUZZ_EXAMPLES`` sets the examples per
operation (default 30) for a long run by hand, e.g. ``GONOGO_FUZZ_EXAMPLES=2000 pytest
tests/service/test_fuzz.py -n 2``; ``GONOGO_FUZZ_TALLY=file`` appends each answer's operation,
generation mode and status to ``file``.
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

from designs.response import spec as response_spec
from designs.survival import models as survival_models
from service.app import create_app
from service.settings import Settings, get_settings
from tests.service.openapi_tools import without_prefix_items

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("GONOGO_FUZZ_EXAMPLES", "30"))
TALLY = os.environ.get("GONOGO_FUZZ_TALLY")
FUZZ_MCMC = bool(os.environ.get("GONOGO_FUZZ_MCMC"))

_DATA_DIR = Path(tempfile.mkdtemp(prefix="gonogo-fuzz-"))
atexit.register(shutil.rmtree, _DATA_DIR, ignore_errors=True)

# By name, and only the settings this service has: a setting added later (a compute pool's queue, a
# cost budget) is overridden here once it exists.
FUZZ_SETTINGS: dict[str, Any] = {
    "warm_up_models": False,
    "data_dir": _DATA_DIR,
    # The default draws (1000): lower, and every request that leaves `mcmc` out is refused.
    "max_mcmc_draws": 1000,
    "max_simulated_trials": 1000,
    "job_threshold_trials": 1000,
    "simon_nmax_limit": 60,
    "job_workers": 1,
    # Decision tables of more than 2 s are refused, and none becomes a job (202) by its cost alone.
    "job_decision_seconds": 2.0,
    "max_decision_seconds": 2.0,
    # Analyses estimated above 1 s become jobs, above 5 s (or 1 GB) are refused: the cost model's
    # boundary is fuzzed too, and no request computes for long.
    "sync_compute_seconds": 1.0,
    "max_compute_seconds": 5.0,
    "sync_compute_mb": 512,
    "max_compute_mb": 1024,
    "compute_workers": 1,
}


def _fuzz_settings() -> Settings:
    known = {name: value for name, value in FUZZ_SETTINGS.items() if name in Settings.model_fields}
    return get_settings().model_copy(update=known)


_LIMITS = _fuzz_settings()
app = create_app()
app.dependency_overrides[get_settings] = _fuzz_settings

REPEATABLE = bool(hypothesis.settings.default.derandomize)  # the profile tests/conftest.py loaded
CONFIG = schemathesis.Config.from_dict({
    "seed": 2026,
    # Only a guard against a hang: no assertion on time (the settings above keep requests short).
    "request-timeout": 600,
    "generation": {"mode": "all", "max-examples": MAX_EXAMPLES, "deterministic": REPEATABLE},
    "phases": {"stateful": {"enabled": False}},
})


schema = schemathesis.openapi.from_dict(without_prefix_items(app.openapi()), config=CONFIG)

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
    """No 5xx, except a problem+json 503 with Retry-After: the service saying it is busy (admission control)."""
    headers = {k.lower(): v for k, v in response.headers.items()}
    content_type = str(headers.get("content-type", ""))
    if response.status_code == 503 and "retry-after" in headers and "application/problem+json" in content_type:
        return None
    return not_a_server_error(ctx, response, case)


def _int(value: Any) -> bool:
    """An integer as the schema reads it (2.0 included)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and float(value).is_integer()


def _num(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _plausible(path: str, body: dict[str, Any]) -> None:
    """Repair what crosses fields in a body valid for the schema (p1 > p0, responders ≤ n ≤ n_planned,
    unique names, prior fields of the kind, Simon's orderings, PFS strata), so that it reaches the
    engines with its extreme values instead of stopping at the boundary's cross-field checks."""
    for low, high in (("p0", "p1"), ("benchmark_landmark_pfs", "target_landmark_pfs")):
        if _num(body.get(low)) and _num(body.get(high)) and body[high] < body[low]:
            body[low], body[high] = body[high], body[low]
    model = body.get("model")
    if isinstance(model, dict) and isinstance(model.get("prior"), dict):
        fields = {**response_spec.PRIOR_FIELDS, **survival_models.PRIOR_FIELDS}.get(model.get("kind", "hierarchical"), ())
        model["prior"] = {k: v for k, v in model["prior"].items() if k in fields}
    strata = body.get("strata")
    names: list[str] = []
    if isinstance(strata, list):
        for i, stratum in enumerate(strata):
            name = stratum if isinstance(stratum, str) else stratum.get("name") if isinstance(stratum, dict) else None
            if isinstance(name, str) and name in names:
                name = f"{name[:90]}~{i}"
                strata[i] = name if isinstance(stratum, str) else {**stratum, "name": name}
            names.append(name)
            stratum = strata[i]
            if isinstance(stratum, dict) and all(_int(stratum.get(k)) for k in ("n", "responders", "n_planned")):
                stratum["responders"] = min(stratum["responders"], stratum["n"])
                stratum["n_planned"] = max(stratum["n_planned"], stratum["n"])
            if isinstance(stratum, dict) and isinstance(stratum.get("looks"), list) and all(map(_int, stratum["looks"])):
                stratum["looks"] = sorted(set(stratum["looks"]))
    # The request's defaults may exceed the fuzz test's lower limits: ask for no more than they allow.
    if path.startswith("/v1/designs/"):
        body.setdefault("n_trials", _LIMITS.max_simulated_trials)
    if path == "/v1/simon/designs":
        body.setdefault("nmax", _LIMITS.simon_nmax_limit)
    if isinstance(body.get("scenarios"), list) and names:
        for scenario in body["scenarios"]:
            if isinstance(scenario, dict) and isinstance(scenario.get("rates"), dict):
                rates = list(scenario["rates"].values()) or [0.5]
                scenario["rates"] = {name: rates[i % len(rates)] for i, name in enumerate(names)}
    patients = body.get("patients")
    if isinstance(patients, list) and all(isinstance(p, dict) for p in patients):
        listed = [n for n in names if isinstance(n, str)] or [p.get("stratum") for p in patients[:1]]
        for i, patient in enumerate(patients):
            patient["id"] = i
            patient["stratum"] = listed[i % len(listed)]
        for i, stratum in enumerate(strata if isinstance(strata, list) else []):
            if isinstance(stratum, dict) and _int(stratum.get("n_planned")):
                stratum["n_planned"] = max(stratum["n_planned"], sum(p["stratum"] == stratum["name"] for p in patients))
    design = body.get("simon") if isinstance(body.get("simon"), dict) else body
    if all(_int(design.get(k)) for k in ("r1", "n1", "n")):
        r1, n1, n = sorted((design["r1"], design["n1"], design["n"]))
        if "r" in design and _int(design["r"]) and r1 < n1 < n:
            design.update(r1=r1, n1=n1, n=n, r=min(max(design["r"], r1), n - 1))
        elif "responders" in design and _int(design["responders"]) and r1 < n1 <= n:
            responders = min(design["responders"], n)
            responders = min(responders, r1) if n == n1 else max(responders, r1 + 1)
            design.update(r1=r1, n1=n1, n=n, responders=responders)


def _bounded(path: str, body: dict[str, Any]) -> None:
    """MCMC settings capped at what the fuzz test can afford to sample (no setting limits warm-up draws
    or chains), and, unless ``GONOGO_FUZZ_MCMC`` is set, hierarchical models on the quadrature engine:
    each (kind, number of strata) compiles a model of its own, seconds each. The MCMC engines have
    their own (slow) tests against quadrature. The endpoint derivation computes no model: its bodies
    stay as generated."""
    if path.startswith("/v1/endpoints/"):
        return
    mcmc = body.get("mcmc")
    if isinstance(mcmc, dict):
        for name, cap in (("draws", 100), ("tune", 100), ("chains", 2)):
            if _int(mcmc.get(name)) and cap < mcmc[name] <= _LIMITS.max_mcmc_draws:
                mcmc[name] = cap
    if FUZZ_MCMC or "patients" not in body and "strata" not in body:
        return
    model = body.get("model") if isinstance(body.get("model"), dict) else {}
    if "patients" in body and model.get("kind") in ("hierarchical-weibull", "hierarchical-piecewise-exponential"):
        model["kind"] = "hierarchical-exponential"
        model["prior"] = {}
    if "looks" not in str(body.get("strata")):
        body["engine"] = "quadrature"


@schema.parametrize()
@hypothesis.settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=REPEATABLE,
                     suppress_health_check=list(hypothesis.HealthCheck))
def test_every_operation_answers_documented_responses_and_problem_json(case):
    if isinstance(case.body, dict):
        if case.meta is not None and case.meta.generation.mode == schemathesis.GenerationMode.POSITIVE:
            _plausible(case.operation.path, case.body)
        _bounded(case.operation.path, case.body)
    response = case.call_and_validate(
        app=app,
        checks=[no_server_error_but_explicit_503, response_schema_conformance, problem_json_on_every_4xx],
    )
    if TALLY:  # how many answers of each status an operation got, for a long run by hand
        with open(TALLY, "a") as out:
            mode = case.meta.generation.mode.value if case.meta is not None else "explicit"
            out.write(f"{case.operation.label}\t{mode}\t{response.status_code}\n")
