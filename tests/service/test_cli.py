"""The gonogo command line."""

from __future__ import annotations

import argparse
import json
import re

import numpy as np
import pytest

from designs.simon import search_designs
from service.cli import build_parser, main
from service.cli.text import plain


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


# --------------------------------------------------------------------------------------------------
# Help text: plain, not reStructuredText


def _command_paths(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command of the parser, subcommands included: (), ("serve",), ("db", "upgrade"), ..."""
    paths = [path]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths += _command_paths(sub, (*path, name))
    return paths


COMMANDS = _command_paths(build_parser())


def test_every_command_is_found_for_the_help_test():
    assert {("simulate",), ("db", "upgrade"), ("tokens", "create"), ("audit", "verify"), ("example",)} <= set(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda path: " ".join(path) or "gonogo")
def test_help_is_plain_text_without_restructuredtext(command, capsys):
    with pytest.raises(SystemExit) as exit_:
        main([*command, "--help"])
    out = capsys.readouterr().out
    assert exit_.value.code == 0 and out.startswith("usage: gonogo")
    assert "``" not in out, out
    assert not re.search(r":[a-z]+(:[a-z]+)?:`", out), out


def test_help_lists_version(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    options = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith("  -")]
    assert ["--version", "print", "gonogo's", "version"] == options[1][:4]


def test_command_help_shows_its_module_docstring_in_plain_text(capsys):
    with pytest.raises(SystemExit):
        main(["simulate", "--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "The request is the body of POST /v1/designs/operating-characteristics (or, with --calibrate," in out


@pytest.mark.parametrize(("markup", "text"), [
    ("``gonogo serve`` runs it", "gonogo serve runs it"),
    ("see :func:`designs.simon.search_designs`", "see designs.simon.search_designs"),
    ("see :func:`~designs.simon.search_designs`", "see search_designs"),
    (":ref:`the jobs <jobs-section>` and :py:class:`Settings`", "the jobs and Settings"),
    ("`interpreted` text, but it's not a quote", "interpreted text, but it's not a quote"),
])
def test_plain_drops_restructuredtext_markup(markup, text):
    assert plain(markup) == text


# --------------------------------------------------------------------------------------------------
# gonogo simulate prints a table

SIMULATED = {
    "p0": 0.15, "p1": 0.35,
    "strata": [{"name": "NF1", "looks": [7, 14, 21]}, {"name": "sporadic", "looks": [7, 14, 21]}],
    "model": {"kind": "hierarchical"}, "n_trials": 2_000, "seed": 5,
}


def _simulate(tmp_path, capsys, request: dict, *options: str) -> str:
    path = tmp_path / "request.json"
    path.write_text(json.dumps(request), encoding="utf-8")
    assert main(["simulate", str(path), "--workers", "1", "--quiet", *options]) == 0
    return capsys.readouterr().out


def _table_rows(block: list[str], first: str) -> list[list[str]]:
    """The rows of the table whose header starts with ``first``, split on runs of 2+ spaces."""
    start = next(i for i, line in enumerate(block) if line.strip().startswith(first))
    rows = []
    for line in block[start + 2:]:
        if not line.strip():
            break
        rows.append(re.split(r"\s{2,}", line.strip()) if not line.startswith("   ") else
                    ["", *re.split(r"\s{2,}", line.strip())])
    return rows


def test_simulate_table_shows_the_json_numbers_with_their_monte_carlo_errors(tmp_path, capsys):
    """The same request and seed twice: the table's numbers are the JSON's, rounded, MCSE in parentheses;
    per look, P(go) + P(no-go) = P(stop), the looks' P(go) add up to P(go), and P(stop) to 1."""
    result = json.loads(_simulate(tmp_path, capsys, SIMULATED, "--json"))
    out = _simulate(tmp_path, capsys, SIMULATED)
    assert "Method:  simulation, 2,000 trials per scenario, seed 5" in out
    assert "Model:   hierarchical (prior mu_mean -1.7346, mu_sd 2.6159, tau_scale 1)" in out
    assert "go at the final analysis when P(p > p0 | data) > 0.95, else no-go (final_threshold)" in out
    assert "interim no-go when the predictive probability of success < 0.05 (futility_ppos)" in out
    assert f"SHA-256 {result['provenance']['input_sha256']}" in out
    blocks = out.split("\nScenario ")[1:]
    assert [block.split(":", 1)[0] for block in blocks] == [repr(s["name"]) for s in result["scenarios"]]
    for block, scenario in zip(blocks, result["scenarios"], strict=True):
        lines = block.splitlines()
        assert (f"P(go in at least one stratum) {scenario['prob_any_go']:.4f} ({scenario['mcse']['prob_any_go']:.4f});"
                f" expected total n {scenario['expected_total_n']:.2f}") in lines[1]
        summary = {row[0]: row for row in _table_rows(lines, "stratum   ")}
        looks = _table_rows(lines, "stratum        look")
        for k, stratum in enumerate(scenario["strata"]):
            mcse = stratum["mcse"]
            assert summary[stratum["name"]] == [
                stratum["name"], f"{stratum['prob_go']:.4f} ({mcse['prob_go']:.4f})", f"{1 - stratum['prob_go']:.4f}",
                f"{stratum['prob_early_go']:.4f} ({mcse['prob_early_go']:.4f})", f"{stratum['prob_early_stop']:.4f}",
                f"{stratum['expected_n']:.2f} ({mcse['expected_n']:.2f})"]
            rows = looks[3 * k:3 * k + 3]
            assert [row[0] for row in rows] == [stratum["name"], "", ""]
            assert [row[1:3] for row in rows] == [["1", "7"], ["2", "14"], ["3 (final)", "21"]]
            for row, stop, se in zip(rows, stratum["prob_stop_at_look"], mcse["prob_stop_at_look"], strict=True):
                assert row[3] == f"{stop:.4f} ({se:.4f})"
                assert float(row[4]) + float(row[5]) == pytest.approx(stop, abs=1.1e-4)
            assert sum(float(row[4]) for row in rows) == pytest.approx(stratum["prob_go"], abs=2e-4)
    assert "Borrowing:" in out and out.count("warning: ") == len(result["warnings"])


def test_simulate_table_shows_simons_published_optimal_design_beside(tmp_path, capsys):
    """Simon (1989), p0 .05, p1 .25: the optimal design 0/9, 2/17 has PET(p0) 0.63 and EN(p0) 11.96, type I
    0.0466, power 0.8122 (as `gonogo simon` prints). Exact enumeration: no Monte Carlo errors shown."""
    request = {"p0": 0.05, "p1": 0.25, "strata": [{"name": "all", "looks": [9, 17]}], "model": {"kind": "independent"},
               "simon": {"r1": 0, "n1": 9, "r": 2, "n": 17}}
    out = _simulate(tmp_path, capsys, request)
    assert "exact enumeration of every outcome (no Monte Carlo error)" in out and "(0." not in out
    assert "Simon:   r1/n1 0/9, r/n 2/17 beside (exact)" in out
    null, alternative = out.split("\nScenario ")[1:]
    row = _table_rows(null.splitlines(), "stratum   ")[0]
    assert row[-3:] == ["0.0466", "0.6302", "11.96"]
    assert _table_rows(alternative.splitlines(), "stratum   ")[0][-3] == "0.8122"


def test_simulate_calibrate_table_marks_the_chosen_threshold(tmp_path, capsys):
    request = {**SIMULATED, "model": {"kind": "independent"}, "strata": SIMULATED["strata"][:1],
               "thresholds": [0.8, 0.9, 0.95], "target_type_i_error": 0.05}
    result = json.loads(_simulate(tmp_path, capsys, request, "--calibrate", "--json"))
    out = _simulate(tmp_path, capsys, request, "--calibrate")
    assert f"Chosen:  final_threshold {result['final_threshold']:g}" in out
    assert f"> {result['final_threshold']:g}, else no-go (final_threshold)" in out
    rows = _table_rows(out.splitlines(), "final_threshold")
    assert [row[1] for row in rows] == ["0.8", "0.9", "0.95"]
    chosen = [row for row in rows if row[0] == "*"]
    assert len(chosen) == 1 and float(chosen[0][1]) == result["final_threshold"]
    feasible = {c["final_threshold"]: c["feasible"] for c in result["candidates"]}
    assert {float(row[1]): row[-1] == "yes" for row in rows} == feasible
    assert "Operating characteristics of the chosen rule:" in out and "\nScenario 'global null'" in out


def test_simulate_output_writes_the_json_and_prints_the_table(tmp_path, capsys):
    target = tmp_path / "result.json"
    out = _simulate(tmp_path, capsys, SIMULATED, "--output", str(target))
    assert out.startswith("Operating characteristics of a Bayesian go/no-go design")
    assert json.loads(target.read_text(encoding="utf-8"))["seed"] == 5
    assert _simulate(tmp_path, capsys, SIMULATED, "--json", "--output", str(target)) == ""
