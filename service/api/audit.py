"""The audit trail as a whole: ``GET /v1/audit/verify`` walks every event of every trial and reports
whether the hash chain holds and every stored protocol version, data cut and look still matches its
SHA-256 and its audit event (``service.registry.audit.verify_trail``).

An admin sees every break found; a statistician or DMC member sees whether it holds and the counts
(the breaks name events of trials they may not be assigned).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from starlette.concurrency import run_in_threadpool

from service.api.trials import AUTH_RESPONSES
from service.auth import Principal, role
from service.deps import DatabaseDep
from service.registry.audit import verify_trail
from service.schemas.registry import AuditVerification

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=AUTH_RESPONSES)


@router.get("/verify", operation_id="audit-verify", response_model=AuditVerification, response_model_exclude_unset=True,
            summary="Verify the whole audit trail's hash chain (any edited, deleted or reordered event is found)")
async def verify(engine: DatabaseDep, principal: Annotated[Principal, Depends(role("admin", "statistician", "dmc"))]) -> Any:
    report = (await run_in_threadpool(verify_trail, engine)).as_dict()
    if principal.role == "admin":
        return report
    return {"ok": report["ok"], "events": report["events"], "last_seq": report["last_seq"]}
