"""A data cut's body as sent: JSON (patients, or ADaM datasets as records or Dataset-JSON) checked by its
schema, or multipart/form-data carrying ADaM files, read here (``designs.adam.readers``) before the
registry's write transaction, so that parsing a file never holds the database's write lock.

Either way the result is the JSON-shaped body ``designs.registry.datacut.DataCutSpec.from_mapping``
checks, with files as ``designs.adam.readers.Dataset`` values under ``adam``.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from designs.adam.readers import read_dataset
from designs.core.errors import FieldProblem, InvalidInputError
from designs.registry.datacut import ADAM_DATASETS
from service.problems import UnsupportedMediaType
from service.schemas.registry import DataCutRequest

FORM_FIELDS = ("cutoff_date", "supersedes", "reason")
MAX_FORM_PARTS = 32  # far more than a data cut has: the rest are named as problems, not refused unread


async def cut_body(request: Request) -> dict[str, Any]:
    """The body of ``POST /v1/trials/{id}/data-cuts`` by its content type (415 for any other)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "multipart/form-data":
        return await _form(request)
    if kind == "application/json" or kind.endswith("+json"):
        return _json(await request.body())
    raise UnsupportedMediaType(
        f"a data cut is sent as application/json (patients, or ADaM datasets as records or Dataset-JSON) or as "
        f"multipart/form-data (ADaM files: {', '.join(ADAM_DATASETS)}, with cutoff_date); got {kind or 'no content type'}")


def _json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", getattr(exc, "pos", 0)),
                                       "msg": "JSON decode error", "input": {}, "ctx": {"error": str(exc)}}]) from None
    try:
        cut = DataCutRequest.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    return cut.model_dump(mode="json", exclude_unset=True)


async def _form(request: Request) -> dict[str, Any]:
    """The form's fields as the JSON body's, its files read as datasets (a file that cannot be read
    carries its problems to the core, which reports them beside every other: one answer names all)."""
    try:
        form = await request.form(max_files=MAX_FORM_PARTS, max_fields=MAX_FORM_PARTS)
    except HTTPException as exc:  # Starlette: a malformed form, or more parts than any data cut has
        raise InvalidInputError("body", f"not a data cut's form: {exc.detail} (fields: {', '.join(FORM_FIELDS)}; "
                                f"files: {', '.join(ADAM_DATASETS)})") from None
    problems: list[FieldProblem] = []
    body: dict[str, Any] = {}
    files: dict[str, tuple[bytes, str | None]] = {}
    try:
        for name, value in form.multi_items():
            if name in body or name.upper() in files:
                problems.append(FieldProblem(name, "given twice"))
            elif name.upper() in ADAM_DATASETS:
                files[name.upper()] = ((await value.read()) if isinstance(value, UploadFile) else value.encode("utf-8"),
                                       value.filename if isinstance(value, UploadFile) else None)
            elif isinstance(value, UploadFile) and name in FORM_FIELDS:
                problems.append(FieldProblem(name, f"sent as a file ({value.filename!r}); {name} is a text field "
                                             f"(curl: -F {name}=value, not -F {name}=@file)"))
            elif isinstance(value, UploadFile):  # another dataset, or a misspelt one: the core names it
                files[name] = (await value.read(), value.filename)
            else:
                body[name] = value  # unknown fields are the core's to name, with everything else
    finally:
        await form.close()
    if problems:  # a field given twice or sent as a file: the form itself is wrong
        raise InvalidInputError(problems)
    if isinstance(body.get("supersedes"), str) and body["supersedes"].strip().isdigit():
        body["supersedes"] = int(body["supersedes"])
    return {**body, "adam": await run_in_threadpool(_read, files)}


def _read(files: dict[str, tuple[bytes, str | None]]) -> dict[str, Any]:
    """Each file as a Dataset, or the InvalidInputError saying why it cannot be read (a file of another
    name is left unread: the core names it)."""
    datasets: dict[str, Any] = {}
    for name, (data, filename) in files.items():
        if name not in ADAM_DATASETS:
            datasets[name] = data
            continue
        try:
            datasets[name] = read_dataset(name, data, filename=filename)
        except InvalidInputError as exc:
            datasets[name] = exc
    return datasets
