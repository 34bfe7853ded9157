"""The committed OpenAPI document is the one the app serves, and its public surface is stable."""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

import export_openapi  # noqa: E402


def test_committed_openapi_matches_the_app():
    committed = (ROOT / "openapi" / "openapi.json").read_text(encoding="utf-8")
    assert committed == export_openapi.current_spec_text(), "run: .venv/bin/python scripts/export_openapi.py"


def test_operation_ids_are_stable_and_unique(client):
    spec = client.get("/openapi.json").json()
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    for expected in ("health", "version", "simon-designs", "simon-evaluate", "simon-inference"):
        assert expected in ids


def test_every_post_route_documents_problem_json(client):
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "post":
                content = op["responses"]["422"]["content"]
                assert "application/problem+json" in content, (path, method)
    assert json.dumps(spec)  # serialisable
