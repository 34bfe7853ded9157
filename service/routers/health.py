"""Liveness and version routes."""

from __future__ import annotations

from fastapi import APIRouter

from designs.provenance import software_versions

router = APIRouter(tags=["service"])


@router.get("/health", operation_id="health", summary="Liveness check")
async def health() -> dict[str, str]:
    # async on purpose: answers on the event loop even while analyses occupy worker threads.
    return {"status": "ok"}


@router.get("/v1/version", operation_id="version", summary="Versions of gonogo and its numerical libraries")
async def version() -> dict[str, str]:
    return software_versions()
