"""Designs: operating characteristics and calibration of PFS go/no-go rules, with the one-sample log-rank comparator."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/v1/designs", tags=["designs"])
