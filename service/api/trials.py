"""The trial registry: protocols and amendments, data cuts and their differences, looks and their
reproduction, a trial's audit trail (``service.registry.repository`` stores; ``designs.registry`` checks
and computes).

Every route needs a token (``service.auth``) whose role fits and that is assigned the trial (403
otherwise, whether or not the trial exists). Every POST is audited and accepts ``Idempotency-Key``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from designs.core.errors import InvalidInputError
from designs.registry import look
from designs.registry.protocol import SLUG, ProtocolSpec
from service.auth import Principal, role, trial_role
from service.boundary import builds
from service.compute import tasks
from service import budget
from service.deps import ComputeDep, DatabaseDep, SettingsDep
from service.problems import (
    PROBLEM_JSON,
    PROBLEM_RESPONSES,
    UNAVAILABLE_RESPONSES,
    Forbidden,
    NotAcceptable,
)
from service.registry import repository
from service.registry.idempotency import HEADER, Idempotency, Reply, stored
from service.registry.uploads import cut_body
from service.schemas.registry import (
    AmendmentRequest,
    DataCut,
    DataCutDiff,
    DataCutFiles,
    DataCutRequest,
    DesignSummary,
    LookRequest,
    Look,
    ProtocolRequest,
    ProtocolVersion,
    Reproduction,
    Trial,
    TrialAudit,
    TrialSummary,
)
from service.store.tables import ROLES


def problem_response(description: str) -> dict[str, Any]:
    return {"description": description, "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}}


AUTH_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {**problem_response("No token, or a malformed, unknown or revoked one"),
          "headers": {"WWW-Authenticate": {"description": "Bearer", "schema": {"type": "string"}}}},
    403: problem_response("The token's role does not allow this, or the token is not assigned this trial "
                          "(whether or not it exists)"),
}
NOT_FOUND = {404: problem_response("No such trial, version, data cut or look (answered only to a token of every trial)")}
CONFLICT = {409: problem_response("Stored meanwhile by another request (a trial id taken, a look or amendment "
                                  "stored while this one ran): read the current state and send it again")}
CREATED_HEADERS = {"Location": {"description": "the new resource", "schema": {"type": "string"}}}

router = APIRouter(prefix="/v1/trials", tags=["trials"], responses={**AUTH_RESPONSES, **PROBLEM_RESPONSES})

IdempotencyKey = Annotated[str | None, Header(alias=HEADER, description="a retried POST with the same key and body "
                                              "gets the first answer, and nothing is stored anew (keys are per token)")]
TrialId = Annotated[str, Path(max_length=64, pattern=SLUG, description="the trial's id")]
Number = Annotated[int, Path(ge=1, le=2**31 - 1)]
Statistician = Annotated[Principal, Depends(trial_role("statistician"))]
Reader = Annotated[Principal, Depends(trial_role("statistician", "dmc"))]
Anyone = Annotated[Principal, Depends(trial_role(*ROLES))]
ReaderOrSponsor = Annotated[Principal, Depends(trial_role("statistician", "dmc", "sponsor"))]


def send(reply: Reply) -> Response:
    """A stored or fresh answer of a write, as JSON text (the bytes a replay sends again)."""
    headers = {**reply.headers, **({"Idempotent-Replayed": "true"} if reply.replayed else {})}
    return Response(reply.body, status_code=reply.status, headers=headers, media_type="application/json")


async def idempotency(request: Request, principal: Principal, key: str | None) -> Idempotency | None:
    return Idempotency.of(key, token_id=principal.token_id, method=request.method, path=request.url.path,
                          body=await request.body())


@router.post("", operation_id="trials-create", status_code=201, response_model=Trial,
             responses={**CONFLICT, 201: {"description": "Created", "headers": {
                 **CREATED_HEADERS, "ETag": {"description": "the protocol version's ETag", "schema": {"type": "string"}}}}},
             summary="Register a trial with its protocol (version 1)")
@builds(ProtocolSpec.from_mapping)
async def create_trial(request: Request, body: ProtocolRequest, engine: DatabaseDep, settings: SettingsDep,
                       principal: Annotated[Principal, Depends(role("statistician"))], key: IdempotencyKey = None) -> Response:
    principal.require_trial(body.id)
    idem = await idempotency(request, principal, key)
    spec = ProtocolSpec.from_mapping(body.model_dump(mode="json", exclude_unset=True))
    if problems := await run_in_threadpool(budget.protocol_problems, spec, settings):
        raise InvalidInputError(problems)
    return send(await run_in_threadpool(repository.create_trial, engine, spec, actor=principal.name, idem=idem))


@router.get("", operation_id="trials-list", response_model=list[TrialSummary],
            summary="The trials this token may see")
async def list_trials(engine: DatabaseDep, principal: Annotated[Principal, Depends(role(*ROLES))]) -> Any:
    return await run_in_threadpool(repository.list_trials, engine, principal.trials)


@router.get("/{trial_id}", operation_id="trials-get", response_model=Trial, responses=NOT_FOUND,
            summary="A trial: its current protocol (ETag) and the history of its versions")
async def get_trial(trial_id: TrialId, engine: DatabaseDep, _: Anyone, response: Response) -> Any:
    view, tag = await run_in_threadpool(repository.get_trial, engine, trial_id)
    response.headers["ETag"] = tag
    return view


@router.get("/{trial_id}/versions/{version}", operation_id="trials-version", response_model=ProtocolVersion,
            responses=NOT_FOUND, summary="One protocol version as it was")
async def get_version(trial_id: TrialId, version: Number, engine: DatabaseDep, _: Anyone, response: Response) -> Any:
    view = await run_in_threadpool(repository.get_version, engine, trial_id, version)
    response.headers["ETag"] = view["etag"]
    return view


@router.post("/{trial_id}/amendments", operation_id="trials-amend", status_code=201, response_model=ProtocolVersion,
             responses={**NOT_FOUND, 201: {"description": "Created", "headers": CREATED_HEADERS},
                        412: problem_response("If-Match is not the current version's ETag: read the trial again"),
                        428: problem_response("If-Match is missing: send the current version's ETag")},
             summary="Amend the protocol (a new version; If-Match: the current version's ETag)")
async def amend(request: Request, trial_id: TrialId, body: AmendmentRequest, engine: DatabaseDep, settings: SettingsDep,
                principal: Statistician, if_match: Annotated[str | None, Header(alias="If-Match")] = None,
                key: IdempotencyKey = None) -> Response:
    idem = await idempotency(request, principal, key)
    return send(await run_in_threadpool(repository.amend_trial, engine, trial_id, body.changes, body.reason, if_match,
                                        actor=principal.name, idem=idem,
                                        check=lambda spec: budget.protocol_problems(spec, settings)))


REQUEST_BODIES = (DataCutRequest, DataCutFiles)  # read by the routes themselves: components of the OpenAPI
CUT_BODY = {
    "required": True,
    "content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/DataCutRequest"}},
        "multipart/form-data": {"schema": {"$ref": "#/components/schemas/DataCutFiles"}},
    },
}


@router.post("/{trial_id}/data-cuts", operation_id="data-cuts-create", status_code=201, response_model=DataCut,
             responses={**NOT_FOUND, **CONFLICT, 201: {"description": "Created", "headers": CREATED_HEADERS},
                        415: problem_response("Neither JSON nor multipart/form-data")},
             openapi_extra={"requestBody": CUT_BODY},
             summary="Upload a data cut: patients or ADaM datasets as JSON, or ADaM files as multipart/form-data "
                     "(immutable; numbered 1, 2, ...; SHA-256 of its canonical content)")
async def create_cut(request: Request, trial_id: TrialId, engine: DatabaseDep, principal: Statistician,
                     key: IdempotencyKey = None) -> Response:
    idem = await idempotency(request, principal, key)
    body = await cut_body(request)
    return send(await run_in_threadpool(repository.create_cut, engine, trial_id, body, actor=principal.name, idem=idem))



create_cut.gonogo_body_model = DataCutRequest  # read by the route itself: the schema that names its fields (hints)


@router.get("/{trial_id}/data-cuts", operation_id="data-cuts-list", response_model=list[DataCut], response_model_exclude_unset=True,
            responses=NOT_FOUND,
            summary="The trial's data cuts: metadata and accrual per stratum (no patients)")
async def list_cuts(trial_id: TrialId, engine: DatabaseDep, principal: ReaderOrSponsor) -> Any:
    return await run_in_threadpool(repository.list_cuts, engine, trial_id, sponsor=principal.role == "sponsor")


@router.get("/{trial_id}/data-cuts/{number}", operation_id="data-cuts-get", response_model=DataCut, responses=NOT_FOUND,
            summary="One data cut with its patients")
async def get_cut(trial_id: TrialId, number: Number, engine: DatabaseDep, _: Reader) -> Any:
    return await run_in_threadpool(repository.get_cut, engine, trial_id, number)


@router.get("/{trial_id}/data-cuts/{number}/diff", operation_id="data-cuts-diff", response_model=DataCutDiff,
            responses=NOT_FOUND, summary="Patients added, removed or changed from cut `against` to this one")
async def diff_cuts(trial_id: TrialId, number: Number, engine: DatabaseDep, _: Reader,
                    against: Annotated[int, Query(ge=1, le=2**31 - 1, description="the earlier cut")]) -> Any:
    return await run_in_threadpool(repository.diff_cuts, engine, trial_id, number, against)


@router.post("/{trial_id}/looks", operation_id="looks-create", status_code=201, response_model=Look,
             responses={**NOT_FOUND, **CONFLICT, **UNAVAILABLE_RESPONSES,
                        201: {"description": "Created", "headers": CREATED_HEADERS}},
             summary="Run the protocol's analyses on a data cut and store the look (numbered 1, 2, ...)")
async def create_look(request: Request, trial_id: TrialId, body: LookRequest, engine: DatabaseDep,
                      principal: Statistician, compute: ComputeDep, key: IdempotencyKey = None) -> Response:
    idem = await idempotency(request, principal, key)
    if idem is not None and (previous := await run_in_threadpool(stored, engine, idem)) is not None:
        return send(previous)  # a retry: not computed again
    plan = await run_in_threadpool(repository.plan_look, engine, trial_id, body.data_cut, actor=principal.name)
    result, design = await compute(tasks.registry_look_with_design, plan.protocol, plan.cut, plan.number, plan.seed,
                                   plan.context, plan.design_needed)
    return send(await run_in_threadpool(repository.store_look, engine, plan, result, actor=principal.name, idem=idem,
                                        design=design))


@router.get("/{trial_id}/looks", operation_id="looks-list", response_model=list[Look], response_model_exclude_unset=True,
            responses=NOT_FOUND,
            summary="The trial's looks: whole (statistician, DMC) or their open views (sponsor)")
async def list_looks(trial_id: TrialId, engine: DatabaseDep, principal: ReaderOrSponsor) -> Any:
    return await run_in_threadpool(repository.list_looks, engine, trial_id, closed=principal.role != "sponsor")


@router.get("/{trial_id}/looks/{number}", operation_id="looks-get", response_model=Look, response_model_exclude_unset=True,
            responses=NOT_FOUND,
            summary="One look: closed (statistician, DMC) or its open view (sponsor)")
async def get_look(trial_id: TrialId, number: Number, engine: DatabaseDep, principal: ReaderOrSponsor) -> Any:
    found = await run_in_threadpool(repository.get_look, engine, trial_id, number, closed=principal.role != "sponsor")
    return Response(found, media_type="application/json") if isinstance(found, str) else found


@router.post("/{trial_id}/looks/{number}/reproduce", operation_id="looks-reproduce", response_model=Reproduction,
             responses={**NOT_FOUND, **UNAVAILABLE_RESPONSES},
             summary="Rerun a stored look: identical, or the exact differences and both runs' software versions")
async def reproduce(request: Request, trial_id: TrialId, number: Number, engine: DatabaseDep, principal: Reader,
                    compute: ComputeDep, key: IdempotencyKey = None) -> Response:
    idem = await idempotency(request, principal, key)
    if idem is not None and (previous := await run_in_threadpool(stored, engine, idem)) is not None:
        return send(previous)
    plan, stored_look = await run_in_threadpool(repository.plan_reproduction, engine, trial_id, number)
    rerun = await compute(tasks.registry_look, plan.protocol, plan.cut, plan.number, plan.seed, plan.context)
    comparison = look.compare(stored_look, rerun)
    return send(await run_in_threadpool(repository.record_reproduction, engine, trial_id, number, comparison,
                                        actor=principal.name, idem=idem))


@router.get("/{trial_id}/versions/{version}/design", operation_id="trials-version-design", response_model=DesignSummary,
            responses=NOT_FOUND,
            summary="The stored design summary of a protocol version: operating characteristics and decision "
                    "boundaries of its response plan (computed once, with the first look on the version)")
async def get_design(trial_id: TrialId, version: Number, engine: DatabaseDep, _: Reader) -> Any:
    return await run_in_threadpool(repository.get_design, engine, trial_id, version)


REPORT_TYPES = {"text/html": "html", "application/pdf": "pdf"}  # preferred first when the client is indifferent


def report_format(accept: str | None) -> str:
    """``html`` or ``pdf`` from the Accept header (HTML for none, ``*/*`` and ``text/*``; the highest
    q-value wins, HTML on a tie); ``NotAcceptable`` when it admits neither."""
    if accept is None or not accept.strip():
        return "html"
    quality = dict.fromkeys(REPORT_TYPES, 0.0)
    specificity = dict.fromkeys(REPORT_TYPES, -1)
    for item in accept.split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = min(max(float(value), 0.0), 1.0)
                except ValueError:
                    q = 0.0
        kind, _, sub = media.lower().partition("/")
        for offered in REPORT_TYPES:
            offered_kind, _, offered_sub = offered.partition("/")
            level = (2 if (kind, sub) == (offered_kind, offered_sub) else 1 if (kind, sub) == (offered_kind, "*")
                     else 0 if (kind, sub) == ("*", "*") else -1)
            if level > specificity[offered]:  # the most specific range decides (RFC 9110 12.5.1)
                specificity[offered], quality[offered] = level, q
    best = max(REPORT_TYPES, key=lambda offered: quality[offered])  # max keeps the first of equals: HTML
    if quality[best] <= 0:
        raise NotAcceptable(f"the report is offered as {' or '.join(REPORT_TYPES)}; the Accept header ({accept}) "
                            "admits neither", offered=list(REPORT_TYPES))
    return REPORT_TYPES[best]


REPORT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"description": "The report: self-contained HTML (inline CSS and SVG) or PDF",
          "content": {"text/html": {"schema": {"type": "string"}},
                      "application/pdf": {"schema": {"type": "string", "format": "binary"}}},
          "headers": {"ETag": {"description": "weak: the look's and design summary's SHA-256, the view, the format and gonogo's version (the cover names who asked and when)",
                               "schema": {"type": "string"}},
                      "Content-Disposition": {"description": "inline; filename=<trial>-look-<n>-<view>.<html|pdf>",
                                              "schema": {"type": "string"}}}},
    304: {"description": "If-None-Match names the current ETag: the report has not changed"},
    403: problem_response("The token's role does not allow this (a sponsor asking for the closed report), or the "
                          "token is not assigned this trial (whether or not it exists)"),
    406: problem_response("The Accept header admits neither text/html nor application/pdf"),
    **NOT_FOUND, **UNAVAILABLE_RESPONSES,
}


@router.get("/{trial_id}/looks/{number}/report", operation_id="looks-report", response_class=Response,
            responses=REPORT_RESPONSES,
            summary="The report of a look for the DMC (closed) or the sponsor (open), as HTML or PDF (Accept)")
async def report(trial_id: TrialId, number: Number, engine: DatabaseDep, principal: ReaderOrSponsor,
                 compute: ComputeDep, view: Annotated[Literal["closed", "open"] | None, Query(
                     description="closed (statistician, DMC; their default): every section; open (the sponsor's, "
                                 "and its default): accrual and data quality, nothing that reveals efficacy")] = None,
                 accept: Annotated[str | None, Header()] = None,
                 if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None) -> Response:
    fmt = report_format(accept)
    sponsor = principal.role == "sponsor"
    view = view or ("open" if sponsor else "closed")
    if sponsor and view == "closed":
        raise Forbidden("a sponsor reads the open report only (view=open): the closed report shows efficacy")
    bundle = await run_in_threadpool(repository.report_bundle, engine, trial_id, number, closed=view == "closed",
                                     actor=principal.name)
    design_sha = (bundle["design"] or {}).get("sha256", "none")
    # Weak: the same stored look, design, view and format, though the cover names who asked and when.
    # The renderer's version too: a gonogo upgrade may draw the same look differently.
    version = bundle["generated"]["software"].get("gonogo", "unknown")
    tag = f'W/"{bundle["look"]["sha256"][:16]}-{design_sha[:16]}-{view}-{fmt}-{version}"'
    headers = {"ETag": tag, "Cache-Control": "private, no-cache", "Vary": "Accept, Authorization",
               "Content-Disposition": f'inline; filename="{trial_id}-look-{number}-{view}.{fmt}"'}
    if if_none_match is not None and tag.removeprefix("W/") in (t.strip().removeprefix("W/") for t in if_none_match.split(",")):
        return Response(status_code=304, headers=headers)
    body = await compute(tasks.render_report, bundle, fmt)
    return Response(body, headers=headers, media_type=tasks.REPORT_MEDIA_TYPES[fmt])


@router.get("/{trial_id}/audit", operation_id="trials-audit", response_model=TrialAudit, responses=NOT_FOUND,
            summary="The trial's audit events in order (pages of `limit`, from `after`)")
async def trial_audit(trial_id: TrialId, engine: DatabaseDep,
                      _: Annotated[Principal, Depends(trial_role("admin", "statistician", "dmc"))],
                      after: Annotated[int, Query(ge=0, le=2**62)] = 0,
                      limit: Annotated[int, Query(ge=1, le=10_000)] = 1000) -> Any:
    return await run_in_threadpool(repository.trial_events, engine, trial_id, after=after, limit=limit)
