"""The OpenAPI document is an exact contract (issue 14): every ``$ref`` resolves, every status a route
can answer is documented in problem+json, every request example validates against its schema and
succeeds when sent, and the cross-field rules the spec checks are stated in the schema's text.

The statuses each route answers are written out here (``ANSWERS``), from what the code does
(``service.middleware``, ``service.problems``, ``service.auth``, ``service/api/*.py``), independently of how
the app documents them, so that a route documenting less than it answers fails.
"""

from __future__ import annotations

import copy
import json
from typing import Any

import jsonschema_rs
import pytest

from service.app import create_app

PROBLEM_JSON = "application/problem+json"


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return create_app().openapi()


def _refs(node: Any, where: str = "#") -> list[tuple[str, str]]:
    """Every ``$ref`` of ``node``: (where it is, what it names)."""
    if isinstance(node, dict):
        found = [(where, node["$ref"])] if isinstance(node.get("$ref"), str) else []
        for key, value in node.items():
            found += _refs(value, f"{where}/{key}")
        return found
    if isinstance(node, list):
        return [ref for i, item in enumerate(node) for ref in _refs(item, f"{where}/{i}")]
    return []


def resolve(document: dict[str, Any], ref: str) -> Any:
    """The node a local JSON pointer (``#/components/schemas/Problem``) names (RFC 6901: ``~1`` is ``/``,
    ``~0`` is ``~``); KeyError when it names nothing."""
    assert ref.startswith("#/"), f"not a local reference: {ref}"
    node: Any = document
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[int(part)] if isinstance(node, list) else node[part]
    return node


# --------------------------------------------------------------------------------------------------
# 1. Every $ref resolves.


def test_every_ref_of_the_document_resolves(spec):
    refs = _refs(spec)
    assert len(refs) > 100  # the walk reaches the whole document
    unresolved = []
    for where, ref in refs:
        try:
            resolve(spec, ref)
        except (KeyError, IndexError, ValueError):
            unresolved.append(f"{where}: {ref}")
    assert not unresolved, unresolved


def test_the_problem_schema_and_its_field_error_are_components(spec):
    problem = spec["components"]["schemas"]["Problem"]
    items = problem["properties"]["errors"]["anyOf"][0]["items"]
    assert resolve(spec, items["$ref"])["properties"]["field"]["type"] == "string"


def test_resolve_refuses_a_pointer_to_nothing(spec):
    with pytest.raises(KeyError):
        resolve(spec, "#/components/schemas/NoSuchSchema")
    assert resolve({"a/b": {"~c": 1}}, "#/a~1b/~0c") == 1


# --------------------------------------------------------------------------------------------------
# 2. Every status a route answers is documented, errors in problem+json.

JSON_BODY = {400, 413, 415, 422}  # malformed JSON, too large, not JSON, invalid (service.middleware, problems)
COMPUTED = {503}  # the compute pool or a job queue (service.compute, service.jobs)
CALCULATOR = {401}  # GONOGO_AUTH_CALCULATORS=true (service.auth.calculators_guard)
REGISTRY = {401, 403}  # every registry route needs a token of a role (service.auth)

ANSWERS: dict[str, set[int]] = {
    "health": {200, 500},
    "version": {200, 500},
    "simon-designs": {200, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "simon-evaluate": {200, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "simon-inference": {200, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "analyses-response": {200, 202, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "analyses-pfs": {200, 202, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "analyses-safety": {200, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "endpoints-response": {200, *JSON_BODY, *CALCULATOR, 500},
    "designs-operating-characteristics": {200, 202, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "designs-calibrate": {200, 202, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "designs-boundaries": {200, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "designs-safety-boundaries": {200, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "designs-pfs-operating-characteristics": {200, 202, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "designs-pfs-calibrate": {200, 202, *JSON_BODY, *COMPUTED, *CALCULATOR, 500},
    "jobs-get": {200, 404, 410, *CALCULATOR, 500},
    "jobs-cancel": {200, 202, 404, 409, 410, *CALCULATOR, 500},
    "audit-verify": {200, *REGISTRY, 500},
    "tokens-create": {201, *JSON_BODY, *REGISTRY, 409, 500},
    "tokens-list": {200, *REGISTRY, 500},
    "tokens-revoke": {200, *REGISTRY, 404, 422, 500},
    "tokens-assign": {200, *JSON_BODY, *REGISTRY, 404, 409, 500},
    "trials-create": {201, *JSON_BODY, *REGISTRY, 409, 500},
    "trials-list": {200, *REGISTRY, 500},
    "trials-get": {200, *REGISTRY, 404, 409, 422, 500},
    "trials-version": {200, *REGISTRY, 404, 409, 422, 500},
    "trials-amend": {201, *JSON_BODY, *REGISTRY, 404, 409, 412, 428, 500},
    "trials-version-design": {200, *REGISTRY, 404, 409, 422, 500},
    "trials-audit": {200, *REGISTRY, 404, 422, 500},
    "data-cuts-create": {201, *JSON_BODY, *REGISTRY, 404, 409, 500},
    "data-cuts-list": {200, *REGISTRY, 404, 409, 422, 500},
    "data-cuts-get": {200, *REGISTRY, 404, 409, 422, 500},
    "data-cuts-diff": {200, *REGISTRY, 404, 409, 422, 500},
    "looks-create": {201, *JSON_BODY, *REGISTRY, *COMPUTED, 404, 409, 500},
    "looks-list": {200, *REGISTRY, 404, 409, 422, 500},
    "looks-get": {200, *REGISTRY, 404, 409, 422, 500},
    "looks-report": {200, 304, *REGISTRY, *COMPUTED, 404, 406, 409, 422, 500},
    "looks-reproduce": {200, *REGISTRY, *COMPUTED, 404, 409, 422, 500},
}
"""What each operation answers (its operationId): its successes, and the errors its code can raise."""

SAMPLING = {"analyses-response", "analyses-pfs", "looks-create", "looks-reproduce"}
"""Operations whose computation may sample by MCMC: their 500 names /problems/sampling-failed."""


def _operations(spec: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {op["operationId"]: op for item in spec["paths"].values() for op in item.values()}


def test_the_table_of_answers_names_every_operation(spec):
    assert set(_operations(spec)) == set(ANSWERS)


@pytest.mark.parametrize("operation", sorted(ANSWERS))
def test_every_status_an_operation_answers_is_documented(spec, operation):
    documented = {int(status) for status in _operations(spec)[operation]["responses"]}
    missing = ANSWERS[operation] - documented
    assert not missing, f"{operation} answers {sorted(missing)} undocumented"


@pytest.mark.parametrize("operation", sorted(ANSWERS))
def test_every_documented_error_is_problem_json_with_the_problem_schema(spec, operation):
    for status, answer in _operations(spec)[operation]["responses"].items():
        if int(status) >= 400:
            assert answer["description"], (operation, status)
            content = answer.get("content", {})
            assert list(content) == [PROBLEM_JSON], (operation, status, list(content))
            assert content[PROBLEM_JSON]["schema"] == {"$ref": "#/components/schemas/Problem"}, (operation, status)


@pytest.mark.parametrize("operation", sorted(ANSWERS))
def test_a_500_names_sampling_failed_exactly_where_mcmc_runs(spec, operation):
    description = _operations(spec)[operation]["responses"]["500"]["description"]
    assert "/problems/internal-error" in description
    assert ("/problems/sampling-failed" in description) == (operation in SAMPLING), description


def test_the_documented_answers_say_what_the_problems_are(spec):
    """The malformed-JSON, too-large and not-JSON answers name their problem types; 401 its header;
    503 its Retry-After."""
    op = spec["paths"]["/v1/analyses/response"]["post"]["responses"]
    assert "/problems/malformed-json" in op["400"]["description"]
    assert "line and column" in op["400"]["description"]
    assert "/problems/request-too-large" in op["413"]["description"]
    assert "/problems/unsupported-media-type" in op["415"]["description"]
    assert "GONOGO_AUTH_CALCULATORS" in op["401"]["description"]
    assert "WWW-Authenticate" in op["401"]["headers"]
    assert "Retry-After" in op["503"]["headers"]
    trials = spec["paths"]["/v1/trials/{trial_id}/looks"]["get"]["responses"]
    assert "/problems/stored-content-altered" in trials["409"]["description"]


def test_fastapis_unused_validation_error_schemas_are_gone(spec):
    schemas = spec["components"]["schemas"]
    assert "HTTPValidationError" not in schemas and "ValidationError" not in schemas
