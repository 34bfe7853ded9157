"""Shared schema pieces: strict models, probability types, the Problem schema."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class StrictModel(BaseModel):
    """Base of every request model: unknown fields and NaN/±inf are rejected."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ResultModel(BaseModel):
    """Base of every response model (documented shape; extra keys pass through)."""

    model_config = ConfigDict(extra="allow")


OpenProbability = Annotated[float, Field(gt=0, lt=1, description="a probability strictly between 0 and 1")]
ClosedProbability = Annotated[float, Field(ge=0, le=1, description="a probability in [0, 1]")]
ErrorRate = Annotated[float, Field(gt=0, le=0.5, description="an error rate in (0, 0.5]")]
Seed = Annotated[int, Field(ge=0, le=2**32 - 1, description="random seed; same request + same seed → same numbers")]


class FieldError(BaseModel):
    field: str = Field(description="location of the bad value, e.g. strata/1/responders")
    reason: str


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
    suggestion: str | None = None


Provenance = dict[str, Any]
