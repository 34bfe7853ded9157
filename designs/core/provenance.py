"""Provenance: how a result was computed, so that it can be checked and reproduced.

Every result carries software versions, the model and priors as applied, the sampler settings, the
seed and the SHA-256 of the canonical request (sorted keys, no whitespace, floats in repr form).
"""

from __future__ import annotations

import hashlib
import json
import platform
from functools import cache
from importlib import metadata
from typing import Any

import designs

# Distributions whose versions matter to a result. Optional ones are reported when installed.
_DISTRIBUTIONS = ("numpy", "scipy", "pymc", "pytensor", "arviz", "nutpie")


@cache
def software_versions() -> dict[str, str]:
    """Versions of gonogo, Python and the numerical libraries (without importing the heavy ones)."""
    versions = {"gonogo": designs.__version__, "python": platform.python_version()}
    for name in _DISTRIBUTIONS:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:  # pragma: no cover - all are pinned dependencies
            continue
    return versions


def canonical_json(payload: Any) -> str:
    """The canonical JSON text of a request: sorted keys, compact separators, UTF-8."""
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def input_hash(payload: Any) -> str:
    """SHA-256 (hex) of the canonical JSON of ``payload``."""
    return hashlib.sha256(canonical_json(payload).encode("utf-8")).hexdigest()


def provenance(
    request: Any,
    *,
    model: dict[str, Any] | None = None,
    engine: str | None = None,
    sampler: dict[str, Any] | None = None,
    seed: int | None = None,
    method: str | None = None,
) -> dict[str, Any]:
    """The provenance block attached to every result."""
    block: dict[str, Any] = {
        "software": software_versions(),
        "input_sha256": input_hash(request),
    }
    if method is not None:
        block["method"] = method
    if model is not None:
        block["model"] = model
    if engine is not None:
        block["engine"] = engine
    if sampler is not None:
        block["sampler"] = sampler
    if seed is not None:
        block["seed"] = seed
    return block
