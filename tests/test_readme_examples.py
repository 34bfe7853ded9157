"""Every curl example in the README answers as documented (in process, same JSON bodies)."""

from __future__ import annotations

import json
import re
from pathlib import Path

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")


def curl_examples() -> list[tuple[str, str, dict | None]]:
    text = README.replace("\\\n", " ")
    pattern = re.compile(r"curl -s (?:-X (\w+) )?localhost:8000(\S+)(?: -H '[^']*')?(?:\s+-d '(.*?)')?\n", re.S)
    examples = []
    for method, path, body in pattern.findall(text):
        examples.append((method or ("POST" if body else "GET"), path, json.loads(body) if body else None))
    return examples


def test_readme_has_an_example_for_every_route(client):
    spec = client.get("/openapi.json").json()
    documented = {path for _, path, _ in curl_examples()}
    for path in spec["paths"]:
        concrete = path.replace("{job_id}", "JOB_ID").replace("{id}", "JOB_ID")
        assert concrete in documented, f"README lacks a curl example for {path}"


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
