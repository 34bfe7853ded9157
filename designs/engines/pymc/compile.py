"""Compiled models: each (kind, J[, K]) compiled once per process and shared, and the start-up warm-up.

A request swaps its data and prior into the shared model with ``CompiledPyMCModel.with_data``, which
returns a new object (the cached one is never mutated, so concurrent requests can share it). A warm
two-stratum fit takes about 0.15 s; compiling a model 3–8 s, or about a second when its machine code
is in the cache directory (:mod:`.nutpie_compile`): :func:`default_cache_dir`,
``$XDG_CACHE_HOME/gonogo/compiled-models`` (``~/.cache/...``), unless :func:`set_cache_dir` or
:func:`warm_up` name another (the service uses ``<data_dir>/compiled-models``).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from designs.core.errors import InvalidInputError
from designs.engines.pymc import models
from designs.engines.pymc.run import run_nutpie
from designs.engines.sampler_settings import MIN_DRAWS, SamplerSettings
from designs.survival import models as survival_models

ModelKey = tuple[str, int, int | None]
log = logging.getLogger("gonogo")

_compiled: dict[ModelKey, Any] = {}
_compile_lock = threading.Lock()
compile_seconds: dict[ModelKey, float] = {}
"""Wall time of each compilation in this process (for the benchmark and provenance)."""
from_disk_cache: dict[ModelKey, bool] = {}
"""Whether each model compiled in this process had its machine code read from the cache directory."""


def default_cache_dir() -> Path:
    """``gonogo/compiled-models`` under the user's cache directory (XDG cache home on Linux)."""
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "gonogo" / "compiled-models"


_cache_dir: Path | None = default_cache_dir()


def set_cache_dir(directory: Path | None) -> None:
    """Where this process keeps compiled machine code from now on; None keeps it in memory only."""
    global _cache_dir
    _cache_dir = None if directory is None else Path(directory).expanduser()


def cache_dir() -> Path | None:
    """Where this process keeps compiled machine code (None: in memory only)."""
    return _cache_dir


def compiled_model(kind: str, n_strata: int, n_intervals: int | None = None):
    """The nutpie-compiled model of (kind, J[, K]): compiled on first use, then shared (thread-safe)."""
    key = (kind, n_strata, n_intervals if kind == "hierarchical-piecewise-exponential" else None)
    model = _compiled.get(key)
    if model is not None:
        return model
    # One lock for all compilations: numba compiles under a process-wide lock anyway.
    with _compile_lock:
        model = _compiled.get(key)
        if model is None:
            start = time.perf_counter()
            model, from_disk_cache[key] = _compile(key)
            compile_seconds[key] = time.perf_counter() - start
            _compiled[key] = model
    return model


def _compile(key: ModelKey) -> tuple[Any, bool]:
    """nutpie's compilation of the model of ``key``, its machine code kept in the cache directory.

    ``nutpie_compile`` repeats the steps of nutpie 0.16 through nutpie's private helpers (pinned in
    pyproject.toml); should they not be there, the model compiles with nutpie's public
    ``compile_pymc_model`` and no disk cache: slower starts, the same draws.
    """
    try:
        # Deferred: numba, PyTensor, PyMC and nutpie take seconds to import, and only a process
        # that samples needs them.
        from designs.engines.pymc import nutpie_compile

        stem = None
        if _cache_dir is not None:
            name = f"{key[0]}-J{key[1]}" + ("" if key[2] is None else f"-K{key[2]}")
            stem = _cache_dir / nutpie_compile.source_digest() / name
        return nutpie_compile.compile_pymc_model(models.build_model(*key), stem)
    except (ImportError, AttributeError, TypeError):
        log.warning("nutpie's internals differ from 0.16's: compiling %s without the disk cache", key, exc_info=True)
        import nutpie  # deferred as above

        return nutpie.compile_pymc_model(models.build_model(*key)), False


def warm_up(
    kinds: Iterable[str] = models.ALL_KINDS,
    strata_counts: Iterable[int] = (2,),
    interval_counts: Iterable[int] = (len(survival_models.DEFAULT_CUT_POINTS),),
    cache_dir: Path | None = None,
) -> dict[str, float]:
    """Compile the models the service expects and run one tiny fit each; returns seconds per model.

    ``cache_dir``, when given, becomes this process's cache directory (:func:`set_cache_dir`).
    The first fit in a process also pays one-off costs outside compilation (about a second), so
    start-up takes it instead of the first request.
    """
    if cache_dir is not None:
        set_cache_dir(cache_dir)
    timings: dict[str, float] = {}
    settings = SamplerSettings(draws=MIN_DRAWS, tune=MIN_DRAWS, chains=1, max_reruns=0)
    for kind in kinds:
        if kind not in models.ALL_KINDS:
            raise InvalidInputError("model/kind", f"must be one of {', '.join(models.ALL_KINDS)}")
        for J in strata_counts:
            for K in interval_counts if kind == "hierarchical-piecewise-exponential" else (None,):
                start = time.perf_counter()
                run_nutpie(compiled_model(kind, J, K), settings, seed=0)
                timings[f"{kind}/J={J}" + (f"/K={K}" if K else "")] = time.perf_counter() - start
    return timings
