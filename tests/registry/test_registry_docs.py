"""docs/REGISTRY.md says what the registry does: its curl session runs, in order, against an app on a
SQLite file and on a PostgreSQL schema, each request answered 2xx with the tokens it names; the
SARC031 example's figures in it are the ones the example computes."""

from __future__ import annotations

import json
import re
import shlex
from pathlib import Path

import pytest

from designs.registry import example
from service import auth

DOC = (Path(__file__).resolve().parents[2] / "docs" / "REGISTRY.md").read_text(encoding="utf-8")
TOKEN_OF = {"bob-statistician": "STAT", "dmc-chair": "DMC", "acme-sponsor": "SPONSOR"}


def curl_commands(text: str) -> list[dict]:
    """Each ``curl`` command of the document's shell blocks as {method, path, headers, body}."""
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        command = ""
        for line in block.splitlines():
            if not command and not line.startswith("curl "):
                continue
            command += line + "\n"
            try:
                words = shlex.split(command.replace("\\\n", " "))
            except ValueError:  # a quote still open: the body goes on
                continue
            if command.rstrip().endswith("\\"):
                continue
            commands.append(parse(words))
            command = ""
    return commands


def parse(words: list[str]) -> dict:
    method, headers, body, url = None, {}, None, None
    i = 1
    while i < len(words):
        word = words[i]
        if word == "-X":
            method, i = words[i + 1], i + 2
        elif word == "-H":
            name, value = words[i + 1].split(":", 1)
            headers[name.strip().lower()] = value.strip()
            i += 2
        elif word == "-d":
            body, i = json.loads(words[i + 1]), i + 2
        elif word.startswith("-"):
            i += 1
        else:
            url, i = word, i + 1
    return {"method": method or ("POST" if body is not None else "GET"), "path": url.removeprefix("localhost:8000"),
            "headers": headers, "body": body}


def test_the_document_has_the_session_it_describes():
    commands = curl_commands(DOC)
    assert len(commands) >= 25
    routes = {(c["method"], re.sub(r"/\d+", "/N", c["path"].split("?")[0])) for c in commands}
    for route in [("POST", "/v1/trials"), ("POST", "/v1/trials/sarc031/amendments"), ("POST", "/v1/trials/sarc031/data-cuts"),
                  ("GET", "/v1/trials/sarc031/data-cuts/N/diff"), ("POST", "/v1/trials/sarc031/looks/N/reproduce"),
                  ("GET", "/v1/audit/verify"), ("DELETE", "/v1/tokens/acme-sponsor")]:
        assert route in routes


@pytest.fixture
def app_client(served):
    return served[0]


def test_the_curl_session_runs_as_documented(app_client):
    _, admin = auth.create_token(app_client.app.state.database, name="alice-admin", role="admin", trials=[], actor="test")
    variables = {"ADMIN": admin}
    for command in curl_commands(DOC):
        headers = {name: re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], value)
                   for name, value in command["headers"].items() if name != "content-type"}
        if "if-match" in headers:  # $ETAG: the current version's, as the document says to take it
            assert "$ETAG" in command["headers"]["if-match"]
        response = app_client.request(command["method"], command["path"], json=command["body"], headers=headers)
        assert 200 <= response.status_code < 300, (command["method"], command["path"], response.text)
        answer = response.json()
        if command["path"] == "/v1/tokens" and command["method"] == "POST":
            variables[TOKEN_OF[answer["name"]]] = answer["token"]
        if command["path"] in ("/v1/trials", "/v1/trials/sarc031") and isinstance(answer, dict) and "etag" in answer:
            variables["ETAG"] = answer["etag"]
        if command["path"].endswith("/reproduce"):
            assert answer["identical"] is True
        if command["path"] == "/v1/audit/verify":
            assert answer["ok"] is True
        if command["path"] == "/v1/trials/sarc031/looks/1" and command["headers"]["authorization"].endswith("$SPONSOR"):
            assert answer.get("result") is None and answer.get("open"), answer  # the open view only


def test_the_example_figures_in_the_document_are_the_computed_ones():
    notes = "\n".join(example.notes())
    for figure in re.findall(r"\d+\.\d+%?|\d+%", notes):
        if figure in ("1.77", "3.7"):
            continue
        assert figure in DOC, figure
    for figure in ("0.064", "0.904", "0.52", "20.9%", "1.46 months", "NCT03433183"):
        assert figure in DOC and figure in notes
