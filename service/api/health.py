"""Liveness and version routes."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from designs.core.provenance import software_versions

router = APIRouter(tags=["service"])


@router.get("/health", operation_id="health", summary="Liveness check, and whether the PyMC models are compiled")
async def health(request: Request) -> dict[str, Any]:
    # async on purpose: answers on the event loop even while analyses occupy worker threads.
    return {"status": "ok", "models": getattr(request.app.state, "models", {"state": "unknown"})}


@router.get("/v1/version", operation_id="version", summary="Versions of gonogo and its numerical libraries")
async def version() -> dict[str, str]:
    return software_versions()
