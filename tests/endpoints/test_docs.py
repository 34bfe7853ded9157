"""docs/ENDPOINTS.md: its worked example is what the core and the route answer, and it documents every
setting with its defaults."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from designs.endpoints.derive import derive
from designs.endpoints.spec import DEFAULTS, FIELDS
from service.schemas.endpoints import EXAMPLE

DOC = (Path(__file__).resolve().parents[2] / "docs" / "ENDPOINTS.md").read_text(encoding="utf-8")


def block(name: str):
    match = re.search(rf"<!-- example: {name} -->\s*```json\n(.*?)```", DOC, re.S)
    assert match, f"no '{name}' example in docs/ENDPOINTS.md"
    return json.loads(match.group(1))


def assert_contains(actual, documented, where="answer"):
    """Every documented key has the documented value (lists element by element, of the same length)."""
    if isinstance(documented, dict):
        for key, value in documented.items():
            assert key in actual, f"{where}/{key} missing"
            assert_contains(actual[key], value, f"{where}/{key}")
    elif isinstance(documented, list):
        assert len(actual) == len(documented), where
        for i, (a, d) in enumerate(zip(actual, documented)):
            assert_contains(a, d, f"{where}/{i}")
    elif isinstance(documented, float):
        assert actual == pytest.approx(documented, rel=1e-15), where
    else:
        assert actual == documented, where


def test_the_worked_example_is_the_routes_openapi_example():
    assert block("request") == EXAMPLE


def test_the_worked_example_answers_as_documented():
    assert_contains(derive(block("request")), block("answer"))


def test_the_documented_answer_is_checked_against_the_route_too(client):
    response = client.post("/v1/endpoints/response", json=block("request"))
    assert response.status_code == 200, response.text
    assert_contains(response.json(), block("answer"))


def test_every_setting_is_documented_with_its_defaults():
    table = {row.split("|")[1].strip(" `"): row for row in DOC.splitlines() if row.startswith("| `")}
    for name in FIELDS:
        assert name in table, name
        for criterion, defaults in DEFAULTS.items():
            value = defaults.get(name)
            if isinstance(value, int) and not isinstance(value, bool):
                assert str(value) in table[name], (name, criterion)
