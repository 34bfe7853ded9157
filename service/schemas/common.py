"""Shared schema pieces: strict models, probability types, typed warnings, the Problem schema.

Request models derive from the core's specs: ``model_from_fields`` builds a pydantic model from a
table of fields with ``designs.core.validation.Bounds`` (a spec's prior parameters), and
``model_from_dataclass`` from a dataclass whose fields are ``validation.bounded`` (a decision rule),
so that kinds, field lists, defaults and bounds are written once, in ``designs/``.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
import types
import typing
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel, BeforeValidator, ConfigDict, Field, ValidationInfo, create_model, field_validator, model_validator,
)

from designs.core.caveats import CODES
from designs.core.validation import MAX_ERROR_RATE, MAX_SEED, OPEN_PROBABILITY, RESPONSE_RATE, Bounds, whole


def _integral(annotation: Any, value: Any) -> Any:
    """``value`` with every number that ``annotation`` types as an integer and that JSON wrote with a
    zero fraction (``21.0``) made that integer: JSON Schema's "integer" admits it, and R's jsonlite or
    pandas write it. A fraction (``21.5``), a string (``"21"``) or a boolean stays as it is, to be refused."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _integral(typing.get_args(annotation)[0], value)
    if origin in (typing.Union, types.UnionType):
        if int in typing.get_args(annotation):
            return _integral(int, value)
        for member in typing.get_args(annotation):
            if typing.get_origin(member) in (list, dict, Annotated):
                value = _integral(member, value)
        return value
    if annotation is int:
        return whole(value)
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(annotation) or (Any,)
        return [_integral(item, v) for v in value]
    if origin is dict and isinstance(value, dict):
        _, item = typing.get_args(annotation) or (Any, Any)
        return {k: _integral(item, v) for k, v in value.items()}
    return value


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    """A JSON date is a string YYYY-MM-DD (a number is no date, as a strict model would otherwise
    have to refuse the string too); a string of another form stays, to be refused."""
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            return value
    return value


IsoDate = Annotated[datetime.date, BeforeValidator(_iso_date)]
"""A calendar date, sent as YYYY-MM-DD."""


class StrictModel(BaseModel):
    """Base of every request model: unknown fields and NaN/±inf are rejected, and types are strict:
    no string is read as a number or a boolean, no number as a boolean or a string, no boolean as a
    number (``"p0": "0.05"``, ``"event": "yes"`` and ``"responders": false`` are refused, naming the
    field). A whole number written with a zero fraction (``"n": 21.0``) is an integer, as JSON Schema says."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _whole_numbers(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        fields = cls.model_fields
        return {key: _integral(fields[key].annotation, value) if key in fields else value
                for key, value in data.items()}


class ResultModel(BaseModel):
    """Base of every response model (documented shape; extra keys pass through)."""

    model_config = ConfigDict(extra="allow")


OpenProbability = Annotated[float, Field(gt=0, lt=1, description="a probability strictly between 0 and 1")]
ResponseRate = Annotated[
    float,
    Field(
        **RESPONSE_RATE.as_field_kwargs(),
        description=f"a response rate in {RESPONSE_RATE.text()} (a phase II trial's p0 or p1; the engines need it away from 0 and 1)",
    ),
]
ClosedProbability = Annotated[float, Field(ge=0, le=1, description="a probability in [0, 1]")]
ErrorRate = Annotated[float, Field(gt=0, le=MAX_ERROR_RATE, description=f"an error rate in (0, {MAX_ERROR_RATE:g}]")]
Seed = Annotated[int, Field(ge=0, le=MAX_SEED, description="random seed; same request + same seed → same numbers")]


class Rates(StrictModel):
    """Base of requests with a null and a target response rate."""

    p0: ResponseRate = Field(description="null (uninteresting) response rate", examples=[0.15])
    p1: ResponseRate = Field(description="target response rate", examples=[0.35])

    @field_validator("p1")
    @classmethod
    def _p1_above_p0(cls, p1: float, info: ValidationInfo) -> float:
        p0 = info.data.get("p0")
        if p0 is not None and p1 <= p0:
            raise ValueError(f"p1 must be greater than p0 (p0 = {p0}, p1 = {p1})")
        return p1


class RatesAndStrata(Rates):
    """Base of requests with rates and named strata (the ``strata`` field is the subclass's)."""

    @field_validator("strata", check_fields=False)
    @classmethod
    def _unique_names(cls, strata: list[Any]) -> list[Any]:
        seen: dict[str, int] = {}
        for i, stratum in enumerate(strata):
            if stratum.name in seen:
                raise ValueError(
                    f"stratum names must be unique: strata/{i}/name repeats strata/{seen[stratum.name]}/name "
                    f"'{stratum.name}'"
                )
            seen[stratum.name] = i
        return strata


def bounded_float(bounds: Bounds) -> Any:
    """The pydantic type of a number within ``bounds`` (an open probability reads as one)."""
    return OpenProbability if bounds == OPEN_PROBABILITY else Annotated[float, Field(**bounds.as_field_kwargs())]


def model_from_fields(name: str, doc: str, fields: dict[str, tuple[Bounds, str]]) -> type[StrictModel]:
    """A request model of optional numbers ``{field: (bounds, description)}``, null when omitted."""
    return create_model(
        name,
        __base__=StrictModel,
        __doc__=doc,
        __module__=__name__,
        **{field: (bounded_float(bounds) | None, Field(None, description=text)) for field, (bounds, text) in fields.items()},
    )


def model_from_dataclass(name: str, cls: type, doc: str | None = None) -> type[StrictModel]:
    """The request model of a dataclass whose fields are ``designs.core.validation.bounded``."""
    fields: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        meta = f.metadata
        annotation = bounded_float(meta["bounds"])
        if meta["json_nullable"]:
            annotation = annotation | None
        fields[f.name] = (annotation, Field(f.default, description=meta["description"]))
    return create_model(name, __base__=StrictModel, __doc__=doc, __module__=__name__, **fields)


class Warning(ResultModel):  # noqa: A001 - the OpenAPI name of a typed caveat
    """A statistical caveat about a result; clients tell caveats apart by ``code``, not by the message."""

    code: Literal[tuple(CODES)] = Field(  # type: ignore[valid-type]
        description="what kind of caveat: " + "; ".join(f"{code}: {meaning}" for code, meaning in CODES.items())
    )
    message: str = Field(description="the caveat in words, with its numbers")
    stratum: str | None = Field(None, description="the stratum it concerns, when it concerns one")


class FieldError(BaseModel):
    field: str = Field(description="location of the bad value, e.g. strata/1/responders")
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details: ``type`` tells problems apart; the members after ``detail`` appear
    where they apply (others may be added: a client ignores what it does not know)."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = Field(None, description="422: every bad field and why, all at once")
    suggestion: str | None = Field(None, description="/problems/infeasible-design: what to change")
    line: int | None = Field(None, description="/problems/malformed-json: the line of the syntax error (from 1)")
    column: int | None = Field(None, description="/problems/malformed-json: its column (from 1)")
    limit_bytes: int | None = Field(None, description="/problems/request-too-large: the body limit (GONOGO_MAX_BODY_BYTES)")
    retry_after_seconds: int | None = Field(None, description="503: seconds after which sending it again may succeed "
                                            "(also the Retry-After header)")
    timeout_seconds: float | None = Field(None, description="/problems/computation-timeout: the limit it ran past")
    diagnostics: dict[str, Any] | None = Field(None, description="/problems/sampling-failed: the sampler's diagnostics")


def component_schemas(*models: type[BaseModel]) -> dict[str, Any]:
    """The OpenAPI component schemas of ``models`` and of what they refer to, each under its own name,
    so that every ``$ref`` of the document resolves (for bodies a route reads itself)."""
    out: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        out.update(schema.pop("$defs", {}))
        out[model.__name__] = schema
    return out


def problem_schemas() -> dict[str, Any]:
    """``Problem`` and what it refers to (``FieldError``): referenced by every route's 4xx answers."""
    return component_schemas(Problem)


Provenance = dict[str, Any]
