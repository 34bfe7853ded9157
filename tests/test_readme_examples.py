"""Every curl example in the README answers as documented (in process, same JSON bodies), and every
route has an example: in the README, or for the registry's routes (which need a token) in
docs/REGISTRY.md, whose session tests/registry/test_registry_docs.py runs (GET /v1/qualification: in
docs/QUALIFICATION.md, tests/qualification)."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")
REGISTRY = (ROOT / "docs" / "REGISTRY.md").read_text(encoding="utf-8")
# The admin's GET /v1/qualification (a token needed, like the registry's routes) is shown there.
QUALIFICATION = (ROOT / "docs" / "QUALIFICATION.md").read_text(encoding="utf-8")


def curl_examples() -> list[tuple[str, str, dict | None]]:
    text = README.replace("\\\n", " ")
    pattern = re.compile(r"curl -s (?:-X (\w+) )?localhost:8000(\S+)(?: -H '[^']*')?(?:\s+-d '(.*?)')?\n", re.S)
    examples = []
    for method, path, body in pattern.findall(text):
        examples.append((method or ("POST" if body else "GET"), path, json.loads(body) if body else None))
    return examples


def documented_paths() -> set[str]:
    """The paths (without query) of the curl examples of the README and docs/REGISTRY.md."""
    registry = {m.split("?")[0] for m in re.findall(r"localhost:8000(/[^\s\"']*)", REGISTRY + QUALIFICATION)}
    return {path.split("?")[0] for _, path, _ in curl_examples()} | registry


def test_readme_has_an_example_for_every_route(client):
    spec = client.get("/openapi.json").json()
    documented = documented_paths()
    for path in spec["paths"]:
        template = re.compile("^" + re.sub(r"\\{[^/]+?\\}", "[^/]+", re.escape(path)) + "$")
        assert any(template.match(p) for p in documented), f"neither README nor docs/REGISTRY.md has a curl example for {path}"


def test_readme_examples_answer(client):
    job_ids = []
    for method, path, body in curl_examples():
        if "JOB_ID" in path:
            continue
        response = client.request(method, path, json=body)
        assert response.status_code in (200, 202), (path, response.text)
        if response.status_code == 202:
            job_ids.append(response.json()["id"])
    for job_id in job_ids:
        assert client.get(f"/v1/jobs/{job_id}").status_code == 200
        client.delete(f"/v1/jobs/{job_id}")
