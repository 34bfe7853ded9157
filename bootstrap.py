#!/usr/bin/env python3
"""Set up gonogo in ./.venv from the lock file, then run it.

    python3 bootstrap.py serve [gonogo serve options]   # install (once) and start the service on 127.0.0.1:8000
    python3 bootstrap.py test  [pytest options]         # install (once) with test tools and run the whole suite (2 processes)

Works with any python3 ≥ 3.8 as the launcher; finds a Python ≥ 3.12 for the virtualenv (PyMC 6 needs
it): $GONOGO_PYTHON, the running interpreter, python3.13/python3.12 on PATH, or pyenv's versions.
Installs only pinned, hash-checked packages from the package index; downloads nothing else.
"""

from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.abspath(__file__))
VENV = os.environ.get("GONOGO_VENV", os.path.join(ROOT, ".venv"))
MIN_PYTHON = (3, 12)
LOCKS = {"serve": "requirements.lock", "test": "requirements-test.lock"}

# The same two steps install gonogo in the Dockerfile (a test checks that they match).
INSTALL_DEPENDENCIES = ["-m", "pip", "install", "--no-input", "--require-hashes", "-r"]
INSTALL_PROJECT = ["-m", "pip", "install", "--no-input", "--no-deps", "--no-build-isolation"]


def _version_of(python: str) -> tuple[int, int] | None:
    try:
        out = subprocess.run(
            [python, "-c", "import sys; print(*sys.version_info[:2])"],
            capture_output=True, text=True, timeout=30, check=True,
        ).stdout.split()
        return int(out[0]), int(out[1])
    except (OSError, subprocess.SubprocessError, ValueError, IndexError):
        return None


def find_python() -> str:
    candidates = [os.environ.get("GONOGO_PYTHON"), sys.executable]
    candidates += [shutil.which(name) for name in ("python3.14", "python3.13", "python3.12")]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.1[2-9]*", "bin", "python3")), reverse=True)
    candidates += sorted(glob.glob("/usr/local/bin/python3.1[2-9]") + glob.glob("/usr/bin/python3.1[2-9]"), reverse=True)
    for python in filter(None, candidates):
        version = _version_of(python)
        if version is not None and version >= MIN_PYTHON:
            return python
    sys.exit("bootstrap: no Python >= 3.12 found; install one or set GONOGO_PYTHON to its path")


def venv_python() -> str:
    return os.path.join(VENV, "bin", "python")


def ensure_environment(lock: str) -> str:
    python = venv_python()
    if not os.path.exists(python) or (_version_of(python) or (0, 0)) < MIN_PYTHON:
        base = find_python()
        print(f"bootstrap: creating {VENV} with {base}", file=sys.stderr)
        subprocess.run([base, "-m", "venv", "--clear", VENV], check=True)
    lock_path = os.path.join(ROOT, lock)
    with open(lock_path, "rb") as fh:
        digest = hashlib.sha256(fh.read()).hexdigest()[:16]
    project_files = [os.path.join(ROOT, "pyproject.toml")]
    with open(project_files[0], "rb") as fh:
        digest += hashlib.sha256(fh.read()).hexdigest()[:16]
    stamp = os.path.join(VENV, f".gonogo-installed-{lock}-{digest}")
    if not os.path.exists(stamp):
        print(f"bootstrap: installing {lock} into {VENV}", file=sys.stderr)
        subprocess.run([python, *INSTALL_DEPENDENCIES, lock_path], check=True, cwd=ROOT)
        subprocess.run([python, *INSTALL_PROJECT, "--editable", ROOT], check=True, cwd=ROOT)
        open(stamp, "w").close()
    return python


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in LOCKS:
        print(__doc__, file=sys.stderr)
        return 2
    command, rest = argv[0], argv[1:]
    python = ensure_environment(LOCKS[command])
    if command == "serve":
        args = [python, "-m", "service.cli", "serve", *rest]
    else:
        # Two test processes (CI has 2 cores; the suite takes half the time); a module that builds one
        # expensive thing (the container image) keeps its tests on one process (xdist_group). Options
        # given after `test` come later and win (`-n 0`: one process).
        args = [python, "-m", "pytest", "-n", "2", "--dist", "loadgroup", *rest]
    os.chdir(ROOT)
    os.execv(python, args)
    return 0  # pragma: no cover


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
