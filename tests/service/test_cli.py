"""The gonogo command line."""

from __future__ import annotations

import pytest

from service.cli import build_parser, main


def test_simon_prints_the_published_optimal_design(capsys):
    """Simon (1989) p0 .05, p1 .25, alpha .05, beta .20: optimal 0/9, 2/17."""
    assert main(["simon", "--p0", "0.05", "--p1", "0.25", "--alpha", "0.05", "--beta", "0.2"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert rows["optimal"][1:3] == ["0/9", "2/17"]
    assert rows["minimax"][1:3] == ["0/12", "2/16"]


def test_simon_infeasible_exits_2_with_a_suggestion(capsys):
    assert main(["simon", "--p0", "0.2", "--p1", "0.25", "--nmax", "20"]) == 2
    assert "nmax" in capsys.readouterr().err


def test_serve_options_parse():
    args = build_parser().parse_args(["serve", "--host", "0.0.0.0", "--port", "9000", "--workers", "2"])
    assert (args.host, args.port, args.workers) == ("0.0.0.0", 9000, 2)


def test_unknown_command_fails():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["nonsense"])
