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

from designs.adam.readers import read_dataset
from designs.core.errors import FieldProblem, InvalidInputError
from designs.registry.datacut import ADAM_DATASETS
from service.problems import UnsupportedMediaType
from service.schemas.registry import DataCutRequest

FORM_FIELDS = ("cutoff_date", "supersedes", "reason")
MAX_FORM_PARTS = len(FORM_FIELDS) + len(ADAM_DATASETS)


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
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RequestValidationError([{"type": "json_invalid", "loc": ("body", getattr(exc, "pos", 0)),
                                       "msg": "JSON decode error", "input": {}, "ctx": {"error": str(exc)}}]) from None
    try:
        cut = DataCutRequest.model_validate(body)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None
    return cut.model_dump(mode="json", exclude_unset=True)


async def _form(request: Request) -> dict[str, Any]:
    """The form's fields as the JSON body's, its files read as datasets; every problem at once."""
    form = await request.form(max_files=len(ADAM_DATASETS), max_fields=MAX_FORM_PARTS)
    problems: list[FieldProblem] = []
    body: dict[str, Any] = {}
    files: dict[str, tuple[bytes, str | None]] = {}
    for name, value in form.multi_items():
        upper = name.upper()
        if name in body or upper in files:
            problems.append(FieldProblem(name, "given twice"))
        elif upper in ADAM_DATASETS:
            if isinstance(value, UploadFile):
                files[upper] = (await value.read(), value.filename)
            else:
                files[upper] = (value.encode("utf-8"), None)
        elif name in FORM_FIELDS and isinstance(value, str):
            body[name] = value
        else:
            problems.append(FieldProblem(name, f"not a field of a data cut's form ({', '.join(FORM_FIELDS)}, and the "
                                         f"files {', '.join(ADAM_DATASETS)})"))
    await form.close()
    if "supersedes" in body:
        try:
            body["supersedes"] = int(body["supersedes"])
        except ValueError:
            problems.append(FieldProblem("supersedes", f"must be the number of the cut it corrects (got {body['supersedes']!r})"))
    if "cutoff_date" not in body:
        problems.append(FieldProblem("cutoff_date", "required: the date the data were cut off, YYYY-MM-DD"))
    if "ADSL" not in files:
        problems.append(FieldProblem("ADSL", "required: the subject-level dataset (USUBJID, TRTSDT, the stratum variable)"))
    datasets = await run_in_threadpool(_read, files, problems)
    if problems:
        raise InvalidInputError(problems)
    return {**body, "adam": datasets}


def _read(files: dict[str, tuple[bytes, str | None]], problems: list[FieldProblem]) -> dict[str, Any]:
    datasets = {}
    for name, (data, filename) in files.items():
        try:
            datasets[name] = read_dataset(name, data, filename=filename)
        except InvalidInputError as exc:
            problems.extend(exc.problems)
    return datasets
