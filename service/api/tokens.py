"""Tokens (admin only): create (the token is shown once), list, revoke, assign trials (``service.auth``).

Every change is audited with the admin token's name as actor; POST accepts ``Idempotency-Key``
(a replay shows the token again only to the token that created it, under the same key).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from service import auth
from service.api.trials import AUTH_RESPONSES, CONFLICT, IdempotencyKey, idempotency, problem_response, send
from service.deps import DatabaseDep
from service.problems import PROBLEM_RESPONSES
from service.registry.idempotency import Reply
from service.registry.repository import write
from service.schemas.registry import CreatedToken, TokenRecord, TokenRequest, TrialAssignment

router = APIRouter(prefix="/v1/tokens", tags=["tokens"], responses={**AUTH_RESPONSES, **PROBLEM_RESPONSES})
Admin = Annotated[auth.Principal, Depends(auth.role("admin"))]
TokenId = Annotated[str, Path(min_length=1, max_length=128, description="the token's id (or its name)")]
NOT_FOUND = {404: problem_response("No token with this id or name")}


@router.post("", operation_id="tokens-create", status_code=201, response_model=CreatedToken, responses=CONFLICT,
             summary="Create a token (shown once: only its SHA-256 is stored)")
async def create(request: Request, body: TokenRequest, engine: DatabaseDep, principal: Admin,
                 key: IdempotencyKey = None) -> Response:
    idem = await idempotency(request, principal, key)

    def create_in(conn: Any, at: str) -> Reply:
        record, token = auth.create_token_in(conn, at, name=body.name, role=body.role, trials=body.trials,
                                             actor=principal.name)
        return Reply.of(201, {**record, "token": token}, {"Location": f"/v1/tokens/{record['id']}"})

    auth.check_token_fields(body.name, body.role, body.trials)
    return send(await run_in_threadpool(write, engine, idem, create_in))


@router.get("", operation_id="tokens-list", response_model=list[TokenRecord], summary="Every token (never the secret)")
async def list_tokens(engine: DatabaseDep, _: Admin) -> Any:
    return await run_in_threadpool(auth.list_tokens, engine)


@router.delete("/{token_id}", operation_id="tokens-revoke", response_model=TokenRecord, responses=NOT_FOUND,
               summary="Revoke a token for good (it answers 401 from now on)")
async def revoke(token_id: TokenId, engine: DatabaseDep, principal: Admin) -> Any:
    return await run_in_threadpool(auth.revoke_token, engine, token_id, actor=principal.name)


@router.put("/{token_id}/trials", operation_id="tokens-assign", response_model=TokenRecord,
            responses={**NOT_FOUND, **CONFLICT}, summary="Set the trials a token may see (or every trial, with all_trials)")
async def assign(token_id: TokenId, body: TrialAssignment, engine: DatabaseDep, principal: Admin) -> Any:
    return await run_in_threadpool(auth.assign_trials, engine, token_id, body.trials, actor=principal.name,
                                   all_trials=body.all_trials)
