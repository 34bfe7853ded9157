"""The gonogo command line."""

from __future__ import annotations

import re

import numpy as np
import pytest

from designs.simon import search_designs
from service.cli import build_parser, main


def test_version_prints_the_version_provenance_reports(capsys):
    import designs

    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"gonogo {designs.__version__}"


def test_simon_prints_the_published_optimal_design(capsys):
    """Simon (1989) p0 .05, p1 .25, alpha .05, beta .20: optimal 0/9, 2/17."""
    assert main(["simon", "--p0", "0.05", "--p1", "0.25", "--alpha", "0.05", "--beta", "0.2"]) == 0
    rows = {line.split()[0]: line.split() for line in capsys.readouterr().out.splitlines() if line.strip()}
    assert rows["optimal"][1:3] == ["0/9", "2/17"]
    assert rows["minimax"][1:3] == ["0/12", "2/16"]


def test_simon_infeasible_exits_2_with_a_suggestion(capsys):
    assert main(["simon", "--p0", "0.2", "--p1", "0.25", "--nmax", "20"]) == 2
    assert "nmax" in capsys.readouterr().err


def _rows(output: str) -> dict[str, list[str]]:
    """The design rows of ``gonogo simon``'s table, by design name (the second column reads r1/n1)."""
    rows = [line.split() for line in output.splitlines()]
    return {row[0]: row for row in rows if len(row) > 2 and re.fullmatch(r"\d+/\d+", row[1])}


def test_simon_boundary_error_rates_change_the_printed_design(capsys):
    """alpha = beta = 0.5 are accepted and give the smallest two-stage design, 0/1 then 0/2, by hand:
    reject H0 iff the first patient responds, so type I = p0 = 0.3, power = p1 = 0.6, PET(p0) = 0.7,
    EN(p0) = 1 + 0.3 = 1.3. At the default alpha .05, beta .20 the designs are larger."""
    assert main(["simon", "--p0", "0.3", "--p1", "0.6", "--alpha", "0.5", "--beta", "0.5", "--nmax", "20"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows == {"minimax+optimal": ["minimax+optimal", "0/1", "0/2", "1.30", "0.700", "0.3000", "0.6000",
                                        "[0.000,", "1.000]"]}
    # numpy scalars, as a caller holding arrays passes them, give the same design.
    optimal = search_designs(np.float64(0.3), 0.6, 0.5, 0.5, nmax=np.int64(20)).optimal
    assert (optimal.r1, optimal.n1, optimal.r, optimal.n) == (0, 1, 0, 2)
    assert main(["simon", "--p0", "0.3", "--p1", "0.6", "--nmax", "20"]) == 0
    rows = _rows(capsys.readouterr().out)
    assert rows["optimal"][1:3] == ["2/7", "9/20"] and rows["minimax"][1:3] == ["2/10", "8/17"]


def test_unknown_command_fails():
    with pytest.raises(SystemExit):
        build_parser().parse_args(["nonsense"])
