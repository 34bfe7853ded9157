"""Shared schema pieces: strict models, probability types, the Problem schema."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator


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


class Rates(StrictModel):
    """Base of requests with a null and a target response rate."""

    p0: OpenProbability = Field(description="null (uninteresting) response rate", examples=[0.15])
    p1: OpenProbability = Field(description="target response rate", examples=[0.35])

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


def check_prior_fields(kind: str, prior: BaseModel, allowed_by_kind: dict[str, tuple[str, ...]]) -> None:
    """Raise ValueError when ``prior`` sets a field that the model ``kind`` does not take."""
    allowed = allowed_by_kind[kind]
    extra = [f for f in prior.model_fields_set if f not in allowed]
    if extra:
        raise ValueError(
            f"prior field(s) {', '.join(sorted(extra))} do not apply to kind '{kind}' (it takes {', '.join(allowed)})"
        )


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
