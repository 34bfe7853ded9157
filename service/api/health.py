"""Liveness and version routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from designs.core.provenance import software_versions

router = APIRouter(tags=["service"])


@router.get("/health", operation_id="health",
            summary="Liveness check, the compute pool (workers alive, busy, queued), and whether the PyMC models are compiled")
async def health(request: Request) -> dict[str, Any]:
    # async on purpose: answers on the event loop, from what the pool last saw (no round trip to a worker).
    pool = getattr(request.app.state, "compute", None)
    if pool is None:
        return {"status": "ok", "models": {"state": "unknown"}}
    status = pool.status()
    return {"status": "ok" if status["state"] == "ok" else "degraded", "models": pool.models, "compute": status}


@router.get("/v1/version", operation_id="version", summary="Versions of gonogo and its numerical libraries")
async def version() -> dict[str, str]:
    return software_versions()
