"""The OpenAPI document is an exact contract (issue 14): every ``$ref`` resolves, every status a route
can answer is documented in problem+json, every request example validates against its schema and
succeeds when sent, and the cross-field rules the spec checks are stated in the schema's text.

The statuses each route answers are written out here (``ANSWERS``), from what the code does
(``service.middleware``, ``service.problems``, ``service.auth``, ``service/api/*.py``), independently of how
the app documents them, so that a route documenting less than it answers fails.
"""

from __future__ import annotations

import copy
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
    "qualification": {200, 202, *REGISTRY, *COMPUTED, 422, 500},
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


# --------------------------------------------------------------------------------------------------
# 3. Every request example validates against its schema and succeeds when sent.


def _schema_of(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = resolve(spec, node["$ref"])
    return node


def compose(spec: dict[str, Any], node: dict[str, Any], *, own: bool = True) -> Any:
    """The body a reader (Swagger UI, schemathesis) composes from a schema's field-level examples: a
    property's own ``examples`` first, else its parts composed; every required property, and each optional
    one that composes to something. ``own=False``: not the schema's own ``examples`` (to compose its
    fields even where it has a whole example). ``None`` when a required part has no example."""
    if own and node.get("examples"):
        return node["examples"][0]
    if "$ref" in node:
        return compose(spec, _schema_of(spec, node), own=False)
    for branch in node.get("anyOf", ()):
        if branch.get("type") != "null" and (found := compose(spec, branch)) is not None:
            return found
    if node.get("type") == "array" and isinstance(node.get("items"), dict):
        item = compose(spec, node["items"])
        return None if item is None else [item]
    if node.get("type") == "object" and "properties" in node:
        body = {}
        for name, part in node["properties"].items():
            found = compose(spec, part)
            if found is None and name in node.get("required", ()):
                return None
            if found not in (None, {}):
                body[name] = found
        return body
    return None


def request_examples(spec: dict[str, Any]) -> list[tuple[str, str, str, str, Any]]:
    """Every JSON request-body example of the document: (operationId, method, path, where, example), from the
    media type (``example``, ``examples``), the body schema's ``examples``, and its fields' composed."""
    found = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            media = op.get("requestBody", {}).get("content", {}).get("application/json")
            if media is None:
                continue
            operation = op["operationId"]
            if "example" in media:
                found.append((operation, method, path, "media type example", media["example"]))
            for name, example in media.get("examples", {}).items():
                found.append((operation, method, path, f"media type example {name}", example["value"]))
            schema = _schema_of(spec, media["schema"])
            for i, example in enumerate(schema.get("examples", [])):
                found.append((operation, method, path, f"schema example {i}", example))
            composed = compose(spec, schema, own=False)
            if composed is not None:
                found.append((operation, method, path, "composed from field examples", composed))
    return found


def _validator(spec: dict[str, Any], schema: dict[str, Any]):
    return jsonschema_rs.Draft202012Validator({**schema, "components": spec["components"]})


DOCUMENT = create_app().openapi()
EXAMPLES = request_examples(DOCUMENT)
CALCULATOR_EXAMPLES = [e for e in EXAMPLES if not e[2].startswith(("/v1/trials", "/v1/tokens"))]
REGISTRY_EXAMPLES = [e for e in EXAMPLES if e[2].startswith(("/v1/trials", "/v1/tokens"))]


def test_every_operation_with_a_json_body_has_a_whole_example(spec):
    with_body = {op["operationId"] for item in spec["paths"].values() for op in item.values()
                 if "application/json" in op.get("requestBody", {}).get("content", {})}
    whole = {operation for operation, _, _, where, _ in EXAMPLES if where.startswith(("schema", "media"))}
    assert with_body - whole == set()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: f"{e[0]}: {e[3]}")
def test_every_request_example_validates_against_its_schema(spec, example):
    operation, method, path, where, body = example
    schema = spec["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
    errors = [f"{'/'.join(map(str, e.instance_path))}: {e.message}" for e in _validator(spec, schema).iter_errors(body)]
    assert not errors, (operation, where, errors)


def test_the_composer_and_the_validator_find_a_bad_example(spec):
    """The checks above can fail: a field without an example leaves nothing to compose, a stratum
    name the scenarios do not use is composed as written, and a bad value is refused."""
    schema = {"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "integer", "examples": [1]},
                                                                       "b": {"type": "integer"}}}
    assert compose(spec, schema) is None
    assert compose(spec, {**schema, "required": ["a"]}) == {"a": 1}
    oc = spec["components"]["schemas"]["OperatingCharacteristicsRequest"]
    assert _validator(spec, oc).is_valid(oc["examples"][0])
    assert not _validator(spec, oc).is_valid({**oc["examples"][0], "p0": 1.5})


@pytest.fixture(scope="module")
def calculators(tmp_path_factory):
    """A client of its own app, computing on threads of this process, on a database of its own."""
    from fastapi.testclient import TestClient

    from service.compute import InProcessCompute, get_compute
    from service.settings import get_settings

    directory = tmp_path_factory.mktemp("contract")
    settings = get_settings().model_copy(update={"data_dir": directory, "warm_up_models": False, "max_body_bytes": 1_000_000,
                                                 "database_url": f"sqlite:///{directory / 'gonogo.sqlite3'}"})
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_compute] = InProcessCompute
    with TestClient(app) as client:
        yield client


@pytest.mark.parametrize("example", CALCULATOR_EXAMPLES, ids=lambda e: f"{e[0]}: {e[3]}")
def test_every_calculator_example_succeeds_when_sent(calculators, example):
    """Answered at once (200), not a job: a documented example is small."""
    operation, method, path, where, body = example
    response = calculators.request(method.upper(), path, json=body)
    assert response.status_code == 200, (operation, where, response.text[:2000])


@pytest.mark.parametrize("source", ["schema", "composed"])
def test_the_registry_examples_succeed_in_order(tmp_path, source):
    """The registry's examples tell one story: a token for the DMC chair, the trial registered, a data cut
    uploaded, a look on it, the protocol amended, the chair's trials set; each answers 2xx. Told with the
    schemas' whole examples, and again (on a new database) with those composed from their fields where
    there are."""
    from fastapi.testclient import TestClient

    from service import auth
    from service.compute import InProcessCompute, get_compute
    from service.settings import get_settings

    settings = get_settings().model_copy(update={"data_dir": tmp_path, "warm_up_models": False,
                                                 "database_url": f"sqlite:///{tmp_path / 'gonogo.sqlite3'}"})
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    app.dependency_overrides[get_compute] = InProcessCompute
    examples = {operation: body for operation, _, _, where, body in REGISTRY_EXAMPLES if where.startswith("schema")}
    assert set(examples) == {"tokens-create", "tokens-assign", "trials-create", "trials-amend", "data-cuts-create",
                             "looks-create"}
    if source == "composed":
        examples |= {operation: body for operation, _, _, where, body in REGISTRY_EXAMPLES if where.startswith("composed")}
    trial = examples["trials-create"]["id"]
    with TestClient(app) as client:
        headers = {role: {"Authorization": "Bearer " + auth.create_token(
            app.state.database, name=f"contract-{role}", role=role, trials=[], actor="test")[1]}
            for role in ("admin", "statistician")}
        token = client.post("/v1/tokens", json=examples["tokens-create"], headers=headers["admin"])
        assert token.status_code == 201, token.text
        for path, operation in (("/v1/trials", "trials-create"), (f"/v1/trials/{trial}/data-cuts", "data-cuts-create"),
                                (f"/v1/trials/{trial}/looks", "looks-create")):
            response = client.post(path, json=examples[operation], headers=headers["statistician"])
            assert response.status_code == 201, (operation, examples[operation], response.text[:2000])
        etag = client.get(f"/v1/trials/{trial}", headers=headers["statistician"]).headers["ETag"]
        amended = client.post(f"/v1/trials/{trial}/amendments", json=examples["trials-amend"],
                              headers={**headers["statistician"], "If-Match": etag})
        assert amended.status_code == 201, amended.text[:2000]
        assigned = client.put(f"/v1/tokens/{token.json()['id']}/trials", json=examples["tokens-assign"],
                              headers=headers["admin"])
        assert assigned.status_code == 200, assigned.text[:2000]


# --------------------------------------------------------------------------------------------------
# 4. The cross-field rules the specs check are stated in the schema's text, and hold.


def _set(path: str, value: Any) -> Any:
    """A change of an example: ``path`` (``strata/0/responders``) set to ``value``."""

    def change(body: dict[str, Any]) -> dict[str, Any]:
        body = copy.deepcopy(body)
        *parents, last = path.split("/")
        node: Any = body
        for part in parents:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(last) if isinstance(node, list) else last] = value
        return body

    return change


CROSS_FIELD_RULES = [
    # (request schema, words of its description, operation, a change of its example breaking the rule, field named)
    ("ResponseAnalysisRequest", "p1 > p0", "/v1/analyses/response", _set("p1", 0.1), "p1"),
    ("ResponseAnalysisRequest", "responders ≤ n ≤ n_planned", "/v1/analyses/response", _set("strata/0/responders", 13),
     "strata/0/responders"),
    ("ResponseAnalysisRequest", "responders ≤ n ≤ n_planned", "/v1/analyses/response", _set("strata/1/n", 22),
     "strata/1/n_planned"),
    ("ResponseAnalysisRequest", "stratum names unique", "/v1/analyses/response", _set("strata/1/name", "NF1-associated"),
     "strata"),
    ("OperatingCharacteristicsRequest", "p1 > p0", "/v1/designs/operating-characteristics", _set("p0", 0.4), "p1"),
    ("OperatingCharacteristicsRequest", "looks strictly increasing", "/v1/designs/operating-characteristics",
     _set("strata/0/looks", [21, 10]), "strata/0/looks"),
    ("OperatingCharacteristicsRequest", "every scenario rates every stratum", "/v1/designs/operating-characteristics",
     _set("scenarios/0/rates", {"NF1-associated": 0.15}), "scenarios/0"),
    ("CalibrationRequest", "every scenario rates every stratum and no other", "/v1/designs/calibrate",
     _set("scenarios/0/rates/NF1", 0.15), "scenarios/0"),
    ("BoundariesRequest", "conditional names only strata of the design", "/v1/designs/boundaries",
     _set("conditional", {"NF1": [2, 4]}), "conditional/NF1"),
    ("BoundariesRequest", "one count per look of that stratum", "/v1/designs/boundaries",
     _set("conditional", {"sporadic": [2]}), "conditional/sporadic"),
    ("PFSAnalysisRequest", "target_landmark_pfs > benchmark_landmark_pfs", "/v1/analyses/pfs",
     _set("target_landmark_pfs", 0.1), "target_landmark_pfs"),
    ("PFSAnalysisRequest", "patient ids unique", "/v1/analyses/pfs", _set("patients/1/id", "P-001"), "patients/1/id"),
    ("PFSAnalysisRequest", "n_planned at least its patients", "/v1/analyses/pfs", _set("strata/0/n_planned", 2),
     "strata/0/n_planned"),
    ("PFSOperatingCharacteristicsRequest", "by evaluable patients ending at its n_planned",
     "/v1/designs/pfs-operating-characteristics", _set("strata/0/looks/patients", [10, 20]), "strata/0/looks/patients/1"),
    ("PFSOperatingCharacteristicsRequest", "max_follow_up_months at least the landmark",
     "/v1/designs/pfs-operating-characteristics", _set("max_follow_up_months", 2), "max_follow_up_months"),
    ("PFSOperatingCharacteristicsRequest", "a law for every stratum", "/v1/designs/pfs-operating-characteristics",
     _set("scenarios/0/laws", {"NF1-associated": {"kind": "exponential", "landmark_pfs": 0.15}}), "scenarios/0/laws/sporadic"),
    ("PFSCalibrationRequest", "one named 'benchmark'", "/v1/designs/pfs-calibrate", _set("scenarios/0/name", "null"),
     "scenarios"),
    ("PFSCalibrationRequest", "thresholds increasing", "/v1/designs/pfs-calibrate", _set("thresholds", [0.9, 0.85]),
     "thresholds/1"),
    ("SafetyAnalysisRequest", "toxicities ≤ evaluable", "/v1/analyses/safety", _set("strata/0/toxicities", 13),
     "strata/0/toxicities"),
    ("SafetyAnalysisRequest", "one count per planned look n_j ≤ evaluable", "/v1/analyses/safety",
     _set("strata/0/toxicities_at_looks", [1, 2]), "strata/0/toxicities_at_looks"),
    ("SafetyBoundariesRequest", "looks strictly increasing", "/v1/designs/safety-boundaries", _set("looks", [20, 10]),
     "looks"),
    ("InferenceRequest", "r1 < n1 ≤ n", "/v1/simon/inference", _set("n", 8), "n"),
    ("InferenceRequest", "one that went on", "/v1/simon/inference", _set("responders", 0), "responders"),
    ("EvaluateRequest", "r1 < n1 < n", "/v1/simon/evaluate", _set("n", 9), "n"),
    ("DesignSearchRequest", "p1 must exceed p0", "/v1/simon/designs", _set("p1", 0.05), "p1"),
]


@pytest.mark.parametrize("rule", CROSS_FIELD_RULES, ids=lambda r: f"{r[0]}: {r[1]} ({r[4]})")
def test_a_cross_field_rule_is_stated_in_the_schema_and_holds(spec, calculators, rule):
    name, words, path, change, field = rule
    schema = spec["components"]["schemas"][name]
    assert words in " ".join(schema["description"].split()), (name, schema["description"])
    response = calculators.post(path, json=change(schema["examples"][0]))
    assert response.status_code == 422, response.text[:2000]
    named = [e["field"] for e in response.json().get("errors", [])]
    assert any(n == field or n.startswith(field + "/") for n in named), (field, response.json())


STATED_RULES = {
    **{name: "Across fields" for name in (
        "ResponseAnalysisRequest", "PFSAnalysisRequest", "SafetyAnalysisRequest", "EndpointsRequest",
        "OperatingCharacteristicsRequest", "CalibrationRequest", "BoundariesRequest", "PFSOperatingCharacteristicsRequest",
        "PFSCalibrationRequest", "SafetyBoundariesRequest", "InferenceRequest", "ProtocolRequest", "DataCutRequest")},
    "EvaluateRequest": "r1 < n1 < n, r1 ≤ r < n",
    "SimonDesignFields": "r1 < n1 < n and r1 ≤ r < n",
    "DesignSearchRequest": "p1 must exceed p0",
    "StratumData": "responders ≤ n ≤ n_planned",
    "StratumLooks": "strictly increasing",
    "StratumToxicities": "toxicities ≤ evaluable",
    "ScenarioSpec": "every stratum of the design, and of no other",
    "LawScenario": "for every stratum of the design, and for no other",
    "DesignStratum": "the last look is n_planned",
    "AmendmentRequest": "checked as a new one is",
    "LookRequest": "not superseded",
    "TokenRequest": "unique name",
    "TrialAssignment": "not both",
}
"""Each request schema whose spec checks across its fields, and the words its description states them in."""


@pytest.mark.parametrize("name", sorted(STATED_RULES))
def test_every_request_schema_with_cross_field_rules_states_them(spec, name):
    """A client reading only the schema learns what it must send."""
    description = " ".join(spec["components"]["schemas"][name].get("description", "").split())
    assert STATED_RULES[name] in description, (name, description)


# --------------------------------------------------------------------------------------------------
# 2 (live). What the routes answer to bad bodies is documented.

BODY_OPERATIONS = [(op["operationId"], method, path) for path, item in DOCUMENT["paths"].items()
                   for method, op in item.items() if "requestBody" in op]
TOO_LARGE = b'{"pad": "' + b"x" * 1_100_000 + b'"}'


@pytest.mark.parametrize("operation, method, path", BODY_OPERATIONS, ids=[o[0] for o in BODY_OPERATIONS])
@pytest.mark.parametrize("probe, content, content_type", [
    ("not JSON", b"p0,p1\n0.15,0.35\n", "text/csv"),
    ("malformed JSON", b'{"p0": 0.15,', "application/json"),
    ("empty object", b"{}", "application/json"),
    ("too large", TOO_LARGE, "application/json"),
])
def test_a_bad_body_gets_a_documented_problem(spec, calculators, operation, method, path, probe, content, content_type):
    """Sent without a token: the registry's routes answer 401 or the body's problem, whichever comes first;
    every answer is one the document lists for the operation, in problem+json, and one the table expects."""
    url = path.replace("{trial_id}", "sarc031").replace("{token_id}", "dmc-chair").replace("{number}", "1")
    response = calculators.request(method.upper(), url, content=content, headers={"content-type": content_type})
    documented = {int(status) for status in spec["paths"][path][method]["responses"]}
    assert response.status_code in documented, (probe, response.status_code, sorted(documented), response.text[:500])
    assert response.status_code in ANSWERS[operation], (probe, response.status_code)
    assert response.status_code >= 400 and response.headers["content-type"].startswith(PROBLEM_JSON), response.text[:500]
    if probe == "too large":
        assert response.status_code == 413
    if probe == "not JSON":  # the data cut reads multipart too, after the token
        assert response.status_code == 415 or (operation == "data-cuts-create" and response.status_code == 401)


def test_a_calculator_behind_tokens_answers_its_documented_401(spec, tmp_path):
    """GONOGO_AUTH_CALCULATORS=true: a calculator without a token answers 401 with WWW-Authenticate, as documented."""
    from fastapi.testclient import TestClient

    from service.settings import get_settings

    settings = get_settings().model_copy(update={"data_dir": tmp_path, "warm_up_models": False, "auth_calculators": True,
                                                 "database_url": f"sqlite:///{tmp_path / 'gonogo.sqlite3'}"})
    app = create_app()
    app.dependency_overrides[get_settings] = lambda: settings
    body = spec["components"]["schemas"]["EvaluateRequest"]["examples"][0]
    with TestClient(app) as client:
        response = client.post("/v1/simon/evaluate", json=body)
    documented = spec["paths"]["/v1/simon/evaluate"]["post"]["responses"]["401"]
    assert response.status_code == 401 and response.headers["content-type"].startswith(PROBLEM_JSON), response.text
    assert all(name in response.headers for name in documented["headers"])  # case-insensitive
