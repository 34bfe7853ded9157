"""docs/CLIENTS.md answers as it says: its Python example runs against the service in process (httpx's
client replaced by the test client), and its SAS requests (bodies and routes) answer as described.
The R example runs against a real server in test_r_client.py."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent.parent
DOC = (ROOT / "docs" / "CLIENTS.md").read_text(encoding="utf-8")


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"^```{language}\n(.*?)^```", DOC, re.S | re.M)


class _Borrowed:
    """The session's test client, as the example's httpx.Client: closing it leaves it open."""

    def __init__(self, client):
        self._client = client

    def __getattr__(self, name):
        return getattr(self._client, name)

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass


def test_python_example_designs_analyses_reports_errors_and_polls_a_job(client, in_process_compute,
                                                                        in_process_jobs, monkeypatch, capsys):
    (code,) = code_blocks("python")
    assert 'httpx.Client(base_url="http://127.0.0.1:8000"' in code
    made = []
    monkeypatch.setattr(httpx, "Client", lambda **kwargs: made.append(kwargs) or _Borrowed(client))
    namespace: dict = {"__name__": "clients_doc_example"}
    exec(compile(code, "docs/CLIENTS.md (python)", "exec"), namespace)
    assert made == [{"base_url": "http://127.0.0.1:8000", "timeout": 300}]
    printed = capsys.readouterr().out
    assert "optimal: stop if ≤ 0/9 respond, promising if > 2/17" in printed
    assert "422 Invalid request: p1: must be ≤ 0.999 (got 1.5); alpha:" in printed
    assert re.search(r"^202 [0-9a-f]{32} (queued|running|succeeded)$", printed, re.M), printed
    assert [s["name"] for s in namespace["from_job"]["strata"]] == ["NF1-associated", "sporadic"]


def test_python_example_turns_a_failed_job_into_its_problem(client, monkeypatch):
    """The example's result() raises a failed job's problem document as GonogoProblem."""
    (code,) = code_blocks("python")
    helpers = code.split("# Simon (1989)")[0]
    monkeypatch.setattr(httpx, "Client", lambda **kwargs: _Borrowed(client))
    namespace: dict = {"__name__": "clients_doc_example"}
    exec(compile(helpers, "docs/CLIENTS.md (python helpers)", "exec"), namespace)
    problem = {"type": "/problems/worker-died", "title": "Worker died", "status": 503, "detail": "a worker died"}
    accepted = httpx.Response(202, headers={"location": "/v1/jobs/x"}, json={"id": "x", "state": "queued"})
    namespace["call"] = lambda method, path, **kw: httpx.Response(
        200, json={"id": "x", "state": "failed", "error": problem})
    try:
        namespace["result"](accepted)
    except namespace["GonogoProblem"] as raised:
        assert raised.status == 503 and raised.problem == problem
    else:
        raise AssertionError("a failed job was returned as a result")


def test_sas_example_requests_answer_as_the_doc_says(client):
    sas = "\n".join(code_blocks("sas"))
    bodies = [json.loads(body) for body in re.findall(r"put '(\{.*?\})';", sas)]
    urls = re.findall(r'proc http url="http://127\.0\.0\.1:8000(/\S+)" method="POST"', sas)
    assert len(bodies) == len(urls) == 2
    design = client.post(urls[0], json=bodies[0])
    assert design.status_code == 200
    optimal = design.json()["optimal"]
    assert (optimal["r1"], optimal["n1"], optimal["r"], optimal["n"]) == (0, 9, 2, 17)
    assert "/* r1 0, n1 9, r 2, n 17 */" in sas
    refused = client.post(urls[1], json=bodies[1])
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    errors = {e["field"]: e["reason"] for e in refused.json()["errors"]}
    assert errors == {"p1": "must be ≤ 0.999 (got 1.5)",
                      "alpha": "must be ≤ 0.5 (got 0.7)"}
    for field, reason in errors.items():
        assert f"`{field}: {reason}`" in DOC
