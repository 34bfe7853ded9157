"""bootstrap.py finds a Python >= 3.12 and installs from the locks."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bootstrap  # noqa: E402


def test_find_python_returns_312_or_newer():
    python = bootstrap.find_python()
    assert bootstrap._version_of(python) >= (3, 12)


def test_version_of_a_missing_interpreter_is_none():
    assert bootstrap._version_of("/nonexistent/python") is None


def test_lock_files_pin_every_package_with_hashes():
    for lock in bootstrap.LOCKS.values():
        text = (ROOT / lock).read_text()
        requirements = [line for line in text.splitlines() if line and not line.startswith((" ", "#"))]
        assert requirements, lock
        for line in requirements:
            assert "==" in line and line.rstrip().endswith("\\"), line  # pinned, hashes follow
        assert "--hash=sha256:" in text
