"""Designs: decision-boundary tables (``POST /v1/designs/boundaries``)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/designs", tags=["designs"])
