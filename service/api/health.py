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


@router.get("/health", operation_id="health", summary="Liveness check, and whether the PyMC models are compiled")
async def health(request: Request) -> dict[str, Any]:
    # async on purpose: answers on the event loop even while analyses occupy worker threads. Every
    # part reads this process's memory only.
    jobs = _jobs(request)
    return {"status": overall_status(jobs), "models": getattr(request.app.state, "models", {"state": "unknown"}),
            "jobs": jobs}


@router.get("/v1/version", operation_id="version", summary="Versions of gonogo and its numerical libraries")
async def version() -> dict[str, str]:
    return software_versions()
