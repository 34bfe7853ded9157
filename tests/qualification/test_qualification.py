"""On-site qualification (issue 15): the set passes on this installation, a wrong expected value fails
its case and the command, the report's SHA-256 verifies and breaks on any byte changed, the HTML is
self-contained, the command's table and exit status, and GET /v1/qualification's roles and job."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from designs.qualification import cases as case_module
from designs.qualification import render_html, run_qualification, verify_report, write_report
from designs.qualification.cases import CASES, FREIREICH_6MP, LEE_LIU_2008, SAFETY_STOPPINGRULE, Check
from service.cli import main

ROOT = Path(__file__).resolve().parents[2]
CHEAP = (LEE_LIU_2008, FREIREICH_6MP, SAFETY_STOPPINGRULE)
"""Cases that take milliseconds: the tests of the machinery run these."""


def altered(case, name: str, expected):
    """``case`` with the expected value of its check ``name`` replaced."""
    checks = tuple(dataclasses.replace(c, expected=expected) if c.name == name else c for c in case.checks)
    assert checks != case.checks
    return dataclasses.replace(case, checks=checks)


# --------------------------------------------------------------------------------------------------
# The set


def test_the_whole_qualification_set_passes_on_this_installation_within_2_minutes_without_test_dependencies(tmp_path):
    """``gonogo qualify`` in a fresh interpreter: every case passes (exit 0), within the 2 minutes the
    issue allows, and neither pytest nor any other test dependency is imported."""
    script = (
        "import sys\n"
        "from service.cli import main\n"
        f"code = main(['qualify', '--output-dir', {str(tmp_path)!r}, '--no-pdf'])\n"
        "test_only = sorted({'pytest', 'hypothesis', 'lifelines', 'schemathesis', '_pytest'} & set(sys.modules))\n"
        "print('TEST-ONLY MODULES', test_only)\n"
        "sys.exit(code)\n"
    )
    start = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    seconds = time.monotonic() - start
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "TEST-ONLY MODULES []" in done.stdout
    assert f"PASS: {len(CASES)} of {len(CASES)} cases passed" in done.stdout
    assert seconds < 120, seconds
    (report_file,) = tmp_path.glob("*.json")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert verify_report(report) and report["passed"]
    assert {c["id"] for c in report["cases"]} == {c.id for c in CASES}


def test_every_case_names_its_source_how_its_expected_values_were_obtained_and_its_tolerance():
    ids = [c.id for c in CASES]
    assert len(set(ids)) == len(ids)
    for case in CASES:
        assert case.source and case.how_obtained and case.tolerance_why and case.checks, case.id
        assert all(check.tolerance >= 0 for check in case.checks), case.id
    (mcmc,) = [c for c in CASES if c.mcse_k is not None]
    assert mcmc.mcse_k == 4 and "Monte Carlo" in mcmc.tolerance_why


def test_the_freireich_6mp_data_embedded_in_the_case_are_gehans_21_patients_9_relapses_359_weeks():
    """Gehan (1965): 21 patients on 6-MP, 9 relapses, 359 weeks in all."""
    weeks, relapsed = case_module.FREIREICH_6MP_WEEKS, case_module.FREIREICH_6MP_RELAPSED
    assert (len(weeks), sum(relapsed), sum(weeks)) == (21, 9, 359)


# --------------------------------------------------------------------------------------------------
# Failing


def test_an_altered_expected_value_fails_its_case_and_the_command_exits_1(monkeypatch, tmp_path, capsys):
    """Lee & Liu's PP printed as 0.5756 instead of 0.5656: that case fails, the others pass, exit 1."""
    wrong = altered(LEE_LIU_2008, "PP(16 of 23, Nmax 40)", 0.5756)
    monkeypatch.setattr(case_module, "CASES", (wrong, FREIREICH_6MP))
    assert main(["qualify", "--output-dir", str(tmp_path), "--no-pdf"]) == 1
    out = capsys.readouterr().out
    (line,) = [line for line in out.splitlines() if line.startswith("lee-liu-2008")]
    assert line.split()[-1] == "FAIL" and "0.5756" in line
    assert all(line.endswith("PASS") for line in out.splitlines() if line.startswith("freireich"))
    assert "FAIL: 1 of 2 cases passed" in out
    (report_file,) = tmp_path.glob("*.json")
    report = json.loads(report_file.read_text(encoding="utf-8"))
    assert not report["passed"] and report["failed_cases"] == ["lee-liu-2008-predictive-probability"]


def test_an_altered_integer_boundary_fails_exactly():
    """A published boundary one off (tolerance 0) fails."""
    bounds = next(c for c in SAFETY_STOPPINGRULE.checks if c.name.startswith("stop at")).expected
    case = altered(SAFETY_STOPPINGRULE, "stop at (patients 1 to 30)", bounds[:-1] + [bounds[-1] + 1])
    (record,) = run_qualification([case])["cases"]
    failed = [c["name"] for c in record["checks"] if not c["passed"]]
    assert failed == ["stop at (patients 1 to 30)"] and not record["passed"]


def test_a_case_that_raises_fails_with_its_error_and_the_run_goes_on():
    def broken():
        raise ZeroDivisionError("no data")

    case = dataclasses.replace(LEE_LIU_2008, id="broken", compute=broken)
    report = run_qualification([case, FREIREICH_6MP])
    broken_record, freireich = report["cases"]
    assert broken_record["error"] == "ZeroDivisionError: no data" and not broken_record["passed"]
    assert all(c["obtained"] is None and not c["passed"] for c in broken_record["checks"])
    assert freireich["passed"] and not report["passed"] and report["counts"]["failed"] == 1


def test_a_nan_obtained_fails_and_the_report_stays_json():
    case = dataclasses.replace(LEE_LIU_2008, compute=lambda: {"PP(16 of 23, Nmax 40)": float("nan")})
    report = run_qualification([case])
    (check,) = report["cases"][0]["checks"]
    assert check["obtained"] == "nan" and check["passed"] is False
    json.dumps(report, allow_nan=False)


def test_mcmc_tolerance_is_k_mcse_plus_the_reference_accuracy():
    """|obtained − expected| ≤ tolerance + k·MCSE passes; just beyond fails."""
    check = Check("x", 0.5, 1e-4)
    from designs.qualification.runner import check_result

    inside = check_result(check, 0.5 + 1e-4 + 4 * 0.01 - 1e-9, 0.01, 4.0)
    outside = check_result(check, 0.5 + 1e-4 + 4 * 0.01 + 1e-9, 0.01, 4.0)
    assert inside["passed"] and not outside["passed"]
    assert inside["allowed"] == pytest.approx(0.0401) and inside["mcse"] == 0.01 and inside["k"] == 4.0


# --------------------------------------------------------------------------------------------------
# The report


@pytest.fixture(scope="module")
def cheap_report():
    return run_qualification(CHEAP)


def test_the_report_names_versions_platform_cpu_times_and_every_value(cheap_report):
    report = cheap_report
    for name in ("gonogo", "python", "numpy", "scipy", "pymc", "pytensor", "arviz", "nutpie"):
        assert report["software"][name], name
    assert report["platform"]["cpu_model"] and report["platform"]["cpu_count"] >= 1
    assert report["started_at"] <= report["finished_at"] and report["started_at"].endswith("Z")
    for case in report["cases"]:
        assert case["seconds"] >= 0
        for check in case["checks"]:
            assert {"name", "expected", "tolerance", "obtained", "difference", "passed"} <= set(check)


def test_the_reports_sha256_verifies_and_changes_when_a_byte_changes(cheap_report, tmp_path):
    paths = write_report(cheap_report, tmp_path, pdf=False)
    text = paths["json"].read_text(encoding="utf-8")
    assert verify_report(json.loads(text))
    assert main(["qualify", "--verify", str(paths["json"])]) == 0
    # One byte: a digit of an obtained value.
    at = text.index('"obtained": 0.56') + len('"obtained": 0.56')
    changed = text[:at] + ("1" if text[at] != "1" else "2") + text[at + 1:]
    assert len(changed.encode()) == len(text.encode())
    assert not verify_report(json.loads(changed))
    paths["json"].write_text(changed, encoding="utf-8")
    assert main(["qualify", "--verify", str(paths["json"])]) == 1
    # Re-serialised differently (no indentation): the same content, the same SHA-256.
    assert verify_report(json.loads(json.dumps(json.loads(text))))


def test_the_html_report_is_self_contained(cheap_report):
    """No script, no stylesheet or image fetched, no link out of the page: every href is an anchor."""
    html = render_html(cheap_report)
    lowered = html.lower()
    assert "<script" not in lowered and "<link" not in lowered and "src=" not in lowered
    assert "http://" not in lowered and "https://" not in lowered and "url(" not in lowered
    import re

    assert all(href.startswith("#") for href in re.findall(r'href="([^"]*)"', html))
    assert cheap_report["sha256"] in html and "PASS" in html
    for case in cheap_report["cases"]:
        assert f'id="{case["id"]}"' in html


def test_the_pdf_is_written_where_weasyprint_renders_else_skipped_with_a_note(cheap_report, tmp_path):
    paths = write_report(cheap_report, tmp_path)
    if paths["pdf"] is None:
        assert "Pango" in paths["pdf_note"]
    else:
        assert paths["pdf"].read_bytes().startswith(b"%PDF") and paths["pdf_note"] is None


# --------------------------------------------------------------------------------------------------
# The command


def test_the_command_prints_a_table_of_every_value_the_files_and_the_sha256_and_exits_0(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(case_module, "CASES", CHEAP)
    assert main(["qualify", "--output-dir", str(tmp_path / "new"), "--no-pdf"]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].split() == ["case", "value", "expected", "obtained", "tolerance", "result"]
    rows = [line for line in lines if line.startswith(("lee-liu", "freireich", "safety"))]
    assert len(rows) == sum(len(c.checks) for c in CHEAP) and all(r.endswith("PASS") for r in rows)
    assert any("S(13)" in r and "0.69" in r and "0.0005" in r for r in rows)
    assert "PASS: 3 of 3 cases passed" in out
    (json_file,) = (tmp_path / "new").glob("*.json")
    sha = json.loads(json_file.read_text(encoding="utf-8"))["sha256"]
    assert f"SHA-256  {sha}" in out and f"JSON  {json_file}" in out and "HTML" in out


def test_the_command_with_json_prints_the_report(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(case_module, "CASES", CHEAP[:1])
    assert main(["qualify", "--output-dir", str(tmp_path), "--no-pdf", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert verify_report(report) and report["passed"]


def test_the_command_refuses_an_output_dir_that_is_a_file(tmp_path, capsys):
    target = tmp_path / "file"
    target.write_text("x")
    assert main(["qualify", "--output-dir", str(target)]) == 1
    assert "not a directory" in capsys.readouterr().err


def test_verify_refuses_a_file_that_is_not_json(tmp_path, capsys):
    target = tmp_path / "report.json"
    target.write_text("{not json")
    assert main(["qualify", "--verify", str(target)]) == 1
    assert "not a readable JSON report" in capsys.readouterr().err


def test_the_documentation_lists_every_case():
    """docs/QUALIFICATION.md names every case by its id."""
    text = (ROOT / "docs" / "QUALIFICATION.md").read_text(encoding="utf-8")
    missing = [case.id for case in CASES if f"`{case.id}`" not in text]
    assert not missing, missing


@pytest.mark.parametrize(("expected", "obtained", "difference"), [
    ([None, 3, 4], [None, 3, 4], 0.0), ([None, 3], [3, 3], None), ([1, 2], [1, 2, 3], None), ([1, 2], 1, None),
    (True, True, 0.0), (True, False, None), (True, 1, None), (0.5, None, None), (0.5, "nan", None), (88, 88, 0.0),
    (0.5656, 0.56561, pytest.approx(1e-5)),
])
def test_values_compare_exactly_where_they_are_not_numbers(expected, obtained, difference):
    """A boundary of None (cannot stop) matches only None; a boolean only itself; lists elementwise and
    of the same length; a missing or non-finite value never passes."""
    from designs.qualification.runner import difference as compare

    assert compare(expected, obtained) == difference


def test_the_command_uses_the_servers_compiled_models_where_they_exist(monkeypatch, tmp_path):
    """GONOGO_DATA_DIR/compiled-models present: the MCMC case reads and keeps its compiled model there."""
    from designs.engines import pymc
    from service.cli.qualify import use_the_servers_compiled_models
    from service.settings import Settings

    before = pymc.cache_dir()
    monkeypatch.setattr("service.settings.get_settings", lambda: Settings(data_dir=tmp_path))
    try:
        use_the_servers_compiled_models()
        assert pymc.cache_dir() == before  # no compiled-models directory: the user's cache stays
        (tmp_path / "compiled-models").mkdir()
        use_the_servers_compiled_models()
        assert pymc.cache_dir() == tmp_path / "compiled-models"
    finally:
        pymc.set_cache_dir(before)
