"""Tokens (admin only): create (the token is shown once), list, revoke, assign trials (``service.auth``).

Every change is audited with the admin token's name as actor; POST accepts ``Idempotency-Key``
(the secret is never stored: a replay of a creation is answered 409, naming the token created).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from designs.registry.protocol import NO_CONTROL
from service import auth
from service.api.trials import AUTH_RESPONSES, CONFLICT, IdempotencyKey, idempotency, problem_response, send
from service.deps import DatabaseDep
from service.problems import PROBLEM_RESPONSES, Conflict
from service.registry.idempotency import HEADER, Reply, render
from service.registry.repository import write
from service.schemas.registry import CreatedToken, TokenRecord, TokenRequest, TrialAssignment

router = APIRouter(prefix="/v1/tokens", tags=["tokens"], responses={**AUTH_RESPONSES, **PROBLEM_RESPONSES})
Admin = Annotated[auth.Principal, Depends(auth.role("admin"))]
TokenId = Annotated[str, Path(min_length=1, max_length=auth.MAX_NAME, pattern=NO_CONTROL,
                                description="the token's id (or its name)")]
NOT_FOUND = {404: problem_response("No token with this id or name")}


@router.post("", operation_id="tokens-create", status_code=201, response_model=CreatedToken, responses=CONFLICT,
             summary="Create a token (shown once: only its SHA-256 is stored)")
async def create(request: Request, body: TokenRequest, engine: DatabaseDep, principal: Admin,
                 key: IdempotencyKey = None) -> Response:
    idem = await idempotency(request, principal, key)

    def create_in(conn: Any, at: str) -> Reply:
        record, token = auth.create_token_in(conn, at, name=body.name, role=body.role, trials=body.trials,
                                             actor=principal.name)
        headers = {"Location": f"/v1/tokens/{record['id']}"}
        # The key's stored answer is the public record: the secret is never stored (only its SHA-256).
        return Reply(201, render({**record, "token": token}), headers, stored_as=Reply.of(201, record, headers))

    auth.check_token_fields(body.name, body.role, body.trials)
    reply = await run_in_threadpool(write, engine, idem, create_in)
    if reply.replayed:
        created = json.loads(reply.body)
        raise Conflict(f"token already created with this key (id {created.get('id')}, name {created.get('name')!r}); "
                       "its secret is shown only once: revoke it and create another if it was lost",
                       field=HEADER, token=created)
    return send(reply)


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
