"""Safety monitoring: stopping boundaries (``POST /v1/designs/safety-boundaries``) and the analysis of
toxicities (``POST /v1/analyses/safety``)."""

from __future__ import annotations

from fastapi import APIRouter

designs_router = APIRouter(prefix="/v1/designs", tags=["designs"])
analyses_router = APIRouter(prefix="/v1/analyses", tags=["analyses"])
