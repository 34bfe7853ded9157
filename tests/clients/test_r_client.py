"""The R client (clients/r) against the real service: a uvicorn server on a free loopback port with a
temporary data directory, the SARC031 example trial registered in it (`gonogo example sarc031`) and a
statistician token of that trial; the R package installed into a temporary library; its testthat suite
run with Rscript, then the R example of docs/CLIENTS.md. Any R test failing, erroring or skipping, or the
example stopping, fails this test, which prints R's output."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_server import live_server

ROOT = Path(__file__).resolve().parent.parent.parent
PACKAGE = ROOT / "clients" / "r"
R_PACKAGES = ("httr2", "jsonlite", "testthat")
DEBIAN = "Debian packages r-base-core r-cran-httr2 r-cran-jsonlite r-cran-testthat (.ci/run installs them)"
TRIAL = "sarc031-example"

RUN_TESTS = r"""
res <- testthat::test_dir(Sys.getenv("GONOGO_R_TESTS"), package = "gonogo", load_package = "installed",
                          reporter = "summary", stop_on_failure = FALSE)
df <- as.data.frame(res)
cat(sprintf("\nR tests: %d tests, %d expectations passed, %d failed, %d tests with errors, %d skipped\n",
            nrow(df), sum(df$passed), sum(df$failed), sum(df$error), sum(df$skipped)))
if (any(df$skipped)) cat("skipped:", df$test[df$skipped], sep = "\n  ")
quit(status = if (sum(df$failed) > 0 || any(df$error) || any(df$skipped)) 1 else 0)
"""


def missing_r() -> str | None:
    """Why the R client cannot be tested here, or None."""
    rscript = shutil.which("Rscript")
    if rscript is None or shutil.which("R") is None:
        return f"Rscript is not installed: install the {DEBIAN}"
    probe = subprocess.run(
        [rscript, "-e", f"for (p in c({', '.join(repr(p) for p in R_PACKAGES)})) "
                        "if (!requireNamespace(p, quietly = TRUE)) cat(p, '')"],
        capture_output=True, text=True, timeout=120)
    missing = probe.stdout.split()
    if probe.returncode != 0 or missing:
        return f"R packages missing: {', '.join(missing) or probe.stderr.strip()}; install the {DEBIAN}"
    return None


def _run(args: list[str], env: dict[str, str], timeout: float) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def r_ready():
    """Skips, saying what to install, where R or its packages are missing (before any server starts)."""
    if (reason := missing_r()) is not None:
        pytest.skip(reason)


@pytest.fixture
def server(r_ready, tmp_path):
    """The URL of a real gonogo server on loopback, and its environment (the same data directory)."""
    with live_server(tmp_path / "data", GONOGO_COMPUTE_WORKERS="1", GONOGO_JOB_WORKERS="1") as (url, env):
        yield url, env


@pytest.mark.slow
def test_r_client_testthat_suite_and_doc_example_pass_against_a_live_server(server, tmp_path):
    url, env = server
    library = tmp_path / "r-library"
    library.mkdir()
    install = _run(["R", "CMD", "INSTALL", "--no-test-load", "-l", str(library), str(PACKAGE)], env, 300)
    assert install.returncode == 0, f"R CMD INSTALL failed:\n{install.stdout}\n{install.stderr}"

    made = _run([sys.executable, "-m", "service.cli", "tokens", "create", "--name", "r-client",
                 "--role", "statistician", "--trial", TRIAL], env, 120)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    example = _run([sys.executable, "-m", "service.cli", "example", "sarc031", "--url", url, "--token", token,
                    "--trial-id", TRIAL], env, 300)
    assert example.returncode == 0, f"gonogo example failed:\n{example.stdout}\n{example.stderr}"

    script = tmp_path / "run_tests.R"
    script.write_text(RUN_TESTS, encoding="utf-8")
    r_env = {**env, "R_LIBS": str(library), "GONOGO_URL": url, "GONOGO_TOKEN": token, "GONOGO_TRIAL": TRIAL,
             "GONOGO_R_TESTS": str(PACKAGE / "tests" / "testthat")}
    tests = _run(["Rscript", str(script)], r_env, 600)
    output = f"{tests.stdout}\n{tests.stderr}"
    print(output)
    assert tests.returncode == 0, f"R tests failed, errored or skipped:\n{output}"
    summary = re.search(r"R tests: (\d+) tests, (\d+) expectations passed, 0 failed", tests.stdout)
    assert summary is not None, output
    assert int(summary.group(1)) >= 19 and int(summary.group(2)) >= 50, output

    (example_code,) = re.findall(r"^```r\n(.*?)^```", (ROOT / "docs" / "CLIENTS.md").read_text(encoding="utf-8"),
                                 re.S | re.M)
    assert '"http://127.0.0.1:8000"' in example_code
    doc_script = tmp_path / "clients_doc.R"
    doc_script.write_text(example_code.replace('"http://127.0.0.1:8000"', f'"{url}"'), encoding="utf-8")
    ran = _run(["Rscript", str(doc_script)], r_env, 300)
    output = f"{ran.stdout}\n{ran.stderr}"
    print(output)
    assert ran.returncode == 0, f"the R example of docs/CLIENTS.md stopped:\n{output}"
    assert "422 Invalid request" in ran.stdout and f"{TRIAL}-look-1-closed.html" in ran.stdout, output
