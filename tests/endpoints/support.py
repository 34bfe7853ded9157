"""Compact builders of one patient's assessments for the derivation tests: visits are placed by days since
treatment start (``on(56)`` is 56 days after it), sizes given as the reader writes them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from designs.core.validation import Checker
from designs.endpoints.assessments import parse_assessments
from designs.endpoints.derive import PatientDerivation, derive_patient
from designs.endpoints.spec import DerivationSpec

START = dt.date(2024, 1, 10)


def on(days: int) -> str:
    """The ISO date ``days`` after treatment start."""
    return (START + dt.timedelta(days=days)).isoformat()


def visit(days: int, total: float | None = None, **fields: Any) -> dict[str, Any]:
    """A RECIST visit ``days`` after start with sum ``total`` (mm) and any other fields."""
    return {"date": on(days), "target_sum_mm": total, **fields}


def volume(days: int, ml: float | None, **fields: Any) -> dict[str, Any]:
    """A REiNS visit ``days`` after start with volume ``ml``."""
    return {"date": on(days), "volume_ml": ml, **fields}


def overall(days: int, response: str) -> dict[str, Any]:
    """A visit giving its overall response as recorded."""
    return {"date": on(days), "overall": response}


def recist(*visits: dict[str, Any], baseline: float | None = 100, non_target: bool = False,
           **more: Any) -> dict[str, Any]:
    """RECIST assessments with baseline sum ``baseline`` (mm) a week before start."""
    return {"treatment_start": START.isoformat(), "baseline": {"date": on(-7), "target_sum_mm": baseline,
                                                               "non_target": non_target},
            "visits": list(visits), **more}


def reins(*visits: dict[str, Any], baseline: float = 100, **more: Any) -> dict[str, Any]:
    """REiNS assessments with baseline volume ``baseline`` (ml) a week before start."""
    return {"treatment_start": START.isoformat(), "baseline": {"date": on(-7), "volume_ml": baseline},
            "visits": list(visits), **more}


def spec_of(criterion: str = "recist1.1", endpoint: str = "objective_response", **settings: Any) -> DerivationSpec:
    return DerivationSpec.from_mapping({"criterion": criterion, "endpoint": endpoint, **settings})


def derive_one(assessments: dict[str, Any], as_of: str | None = None, **settings: Any) -> PatientDerivation:
    """The derivation of one patient (criterion from the assessments' baseline unless given)."""
    baseline = assessments.get("baseline") or {}
    settings.setdefault("criterion", "reins" if "volume_ml" in baseline else "recist1.1")
    spec = spec_of(**settings)
    cutoff = None if as_of is None else dt.date.fromisoformat(as_of)
    check = Checker()
    parsed = parse_assessments(check, "assessments", assessments, spec, label="patient 'T'", as_of=cutoff)
    check.raise_if_any()
    assert parsed is not None
    return derive_patient(parsed, spec, cutoff)


def responses(result: PatientDerivation) -> list[str]:
    """The overall response of every visit."""
    return [v["response"] for v in result.visits]
