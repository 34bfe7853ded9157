"""Liveness and version routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from designs.core.provenance import software_versions

router = APIRouter(tags=["service"])


def overall_status(*parts: dict[str, Any]) -> str:
    """``degraded`` when any part of /health is (each part with a ``status`` says why), else ``ok``."""
    return "degraded" if any(part.get("status") == "degraded" for part in parts) else "ok"


def _jobs(request: Request) -> dict[str, Any]:
    manager = getattr(request.app.state, "job_manager", None)
    return {"status": "ok", "detail": "no job manager"} if manager is None else manager.health()


def _compute(request: Request) -> dict[str, Any]:
    pool = getattr(request.app.state, "compute", None)
    return {"status": "ok", "detail": "no compute pool"} if pool is None else pool.status()


@router.get("/health", operation_id="health",
            summary="Liveness check: the compute pool (workers alive, busy, queued), the job backend and queue, "
                    "and whether the PyMC models are compiled")
async def health(request: Request) -> dict[str, Any]:
    # async on purpose: answers on the event loop from what this process already knows (no round trip
    # to a worker, no database read).
    compute, jobs = _compute(request), _jobs(request)
    pool = getattr(request.app.state, "compute", None)
    models = pool.models if pool is not None else {"state": "unknown"}
    return {"status": overall_status(compute, jobs), "models": models, "compute": compute, "jobs": jobs}


@router.get("/v1/version", operation_id="version", summary="Versions of gonogo and its numerical libraries")
async def version() -> dict[str, str]:
    return software_versions()
