"""Endpoint derivation: responders and PFS from tumour assessments (``designs.endpoints``).

Stateless and cheap (milliseconds for hundreds of patients): answered at once, on a thread of the server.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool

from designs.endpoints.derive import check_request, derive
from service.boundary import builds
from service.problems import PROBLEM_RESPONSES
from service.schemas.endpoints import EndpointsRequest, EndpointsResult

router = APIRouter(prefix="/v1/endpoints", tags=["endpoints"], responses=PROBLEM_RESPONSES)


@router.post("/response", operation_id="endpoints-response", response_model=EndpointsResult,
             summary="Per-visit response, confirmed best overall response, responders and PFS from tumour "
                     "assessments (RECIST 1.1 or REiNS)")
@builds(check_request)
async def response(body: EndpointsRequest) -> dict:
    return await run_in_threadpool(derive, body.model_dump(mode="json", exclude_unset=True))
