"""``gonogo example sarc031`` end to end against an in-process app on a SQLite file and on a PostgreSQL
schema: a trial, three cuts, three looks printed with Simon's column, the last look reproduced."""

from __future__ import annotations

import argparse
import re

import pytest

from designs.registry.example import protocol

from service.cli import build_parser
from service.cli import example as cli

SERVER = "http://127.0.0.1:8000"




def test_the_example_prints_three_looks_with_simons_status_beside_the_bayesian_decision(served):
    client, settings = served
    lines: list[str] = []
    token, trial = cli.local_token(SERVER, None, settings=settings, out=lines.append)
    assert trial == "sarc031-example"
    assert re.fullmatch(r"gng_[0-9a-f]{8}_\S+", token) and any(token in line for line in lines)  # shown once
    result = cli.run_example(client, token, seed=2026, trial_id=trial, out=lines.append)
    text = "\n".join(lines)
    lines = text.splitlines()

    assert [look["look"] for look in result["looks"]] == [1, 2, 3]
    assert [cut["number"] for cut in result["cuts"]] == [1, 2, 3]
    headers = [i for i, line in enumerate(lines) if line.startswith("Look ")]
    assert len(headers) == 3, text
    for start in headers:
        columns = lines[start + 1]
        assert "Simon" in columns and "CBR decision" in columns and "P(CBR>0.15)" in columns and "PFS decision" in columns
        rows = {line.split()[0]: line.split() for line in lines[start + 3:start + 5]}
        assert set(rows) == {"NF1-associated", "sporadic"}, text
        for cells in rows.values():
            assert len(cells) == 10 and "-" not in (cells[4], cells[5], cells[6]), text  # P, decision, Simon filled
    for look, cut in zip(result["looks"], result["cuts"], strict=True):
        assert look["result"]["data_cut"]["sha256"] == cut["sha256"]  # each look saw its own cut
    final = {line.split()[0]: line.split() for line in lines[headers[-1] + 3:headers[-1] + 5]}
    assert {cells[5] for cells in final.values()} <= {"go", "no-go"}, text  # all 21 evaluable: a final decision
    assert result["reproduced"]["identical"] is True
    assert "identical" in lines[-2]
    assert "NCT03433183" in text and "20.9%" in text  # where the numbers come from


def test_a_second_run_takes_the_next_free_id_and_an_explicit_taken_id_is_refused(served):
    client, settings = served
    quiet: list[str] = []
    token, trial = cli.local_token(SERVER, None, settings=settings, out=quiet.append)
    client.post("/v1/trials", json=protocol(trial), headers={"authorization": f"Bearer {token}"}).raise_for_status()
    _, second = cli.local_token(SERVER, None, settings=settings, out=quiet.append)
    assert second == "sarc031-example-2"
    with pytest.raises(cli.ExampleFailed, match="exists already"):
        cli.local_token(SERVER, "sarc031-example", settings=settings, out=quiet.append)


def test_a_given_token_for_every_trial_moves_past_an_existing_trial(served):
    from service import auth

    client, _ = served
    _, token = auth.create_token(client.app.state.database, name="stat", role="statistician", trials=[], actor="test")
    headers = {"authorization": f"Bearer {token}"}
    client.post("/v1/trials", json=protocol("sarc031-example"), headers=headers).raise_for_status()
    lines: list[str] = []
    chosen = cli.create_trial(cli.Registry(client, token), protocol, None, out=lines.append)
    assert chosen == "sarc031-example-2"
    assert lines == ["trial sarc031-example exists already: trying the next id"]


def test_no_token_is_made_for_a_remote_server_or_database(served):
    _, settings = served
    with pytest.raises(cli.ExampleFailed, match="pass --token"):
        cli.local_token("http://gonogo.example.org", None, settings=settings, out=lambda _: None)
    remote = settings.model_copy(update={"database_url": "postgresql+psycopg://u:secret@db.example.org/gonogo"})
    with pytest.raises(cli.ExampleFailed, match="pass --token") as refused:
        cli.local_token(SERVER, None, settings=remote, out=lambda _: None)
    assert "secret" not in str(refused.value)


def test_a_bad_token_stops_the_example_with_the_problem(served):
    client, _ = served
    with pytest.raises(cli.ExampleFailed, match="401"):
        cli.run_example(client, "gng_00000000_" + "x" * 43, seed=1, out=lambda _: None)


def test_the_command_says_when_no_server_answers(capsys):
    args = build_parser().parse_args(["example", "sarc031", "--url", "http://127.0.0.1:9", "--token", "t"])
    assert isinstance(args, argparse.Namespace) and args.func is cli.run
    assert args.func(args) == 2
    assert "no server answers at http://127.0.0.1:9" in capsys.readouterr().err
