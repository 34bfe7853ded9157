"""Endpoint derivation: responders and PFS from tumour assessments (``designs.endpoints``)."""

from __future__ import annotations

from fastapi import APIRouter

from service.problems import PROBLEM_RESPONSES

router = APIRouter(prefix="/v1/endpoints", tags=["endpoints"], responses=PROBLEM_RESPONSES)
