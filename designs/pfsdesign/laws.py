"""True survival laws of a PFS design scenario: exponential, Weibull, piecewise exponential.

Times are in months and hazards per month, as in ``designs.survival``. Every law is a cumulative hazard
H(t), with S(t) = exp(−H(t)); times are drawn by inversion, T = H⁻¹(−log U) for U uniform on (0, 1],
so one stream of uniforms gives the same patients under every law (common random numbers across
scenarios).

    exponential              H(t) = λ·t
    weibull                  H(t) = λ·t^k                  (k the shape; k = 1 is the exponential)
    piecewise-exponential    H(t) = Σ_i λ_i·|[c_i, c_i+1) ∩ [0, t)|, c_0 = 0, the last interval open

A law may be stated by its hazard(s), its median or its survival at a landmark (``landmark_pfs`` at
``landmark_months``); the Weibull also needs its shape, the piecewise law its cut points and hazards.
``law_from_mapping`` reads the JSON form, reporting every bad field at once.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from designs.core.validation import OPEN_PROBABILITY, Bounds, Checker
from designs.survival.spec import LANDMARK_BOUNDS, MAX_TIME_MONTHS

LN2 = math.log(2.0)
KINDS = ("exponential", "weibull", "piecewise-exponential")
HAZARD = Bounds(gt=0.0, le=100.0)
"""A hazard per month: above 0 (a law must have events) and at most 100 (a median of ten minutes)."""
MEDIAN = Bounds(gt=0.0, le=MAX_TIME_MONTHS)
WEIBULL_SHAPE = Bounds(ge=0.05, le=20.0)
MAX_PIECES = 20
_FIELDS = ("kind", "hazard_per_month", "median_months", "landmark_pfs", "landmark_months", "shape", "cut_points",
           "hazards_per_month")


@dataclass(frozen=True)
class SurvivalLaw:
    """H(t) = Σ_i rates_i·(measure of [cut_points_i, cut_points_i+1) ∩ [0, t))^shape (see the module).

    ``rates`` and ``cut_points`` have one entry per piece (one piece unless piecewise; ``cut_points[0]``
    is 0); ``shape`` is 1 unless Weibull (which has one piece).
    """

    kind: str
    rates: tuple[float, ...]
    shape: float = 1.0
    cut_points: tuple[float, ...] = (0.0,)

    @classmethod
    def exponential(cls, hazard: float) -> SurvivalLaw:
        return cls("exponential", (float(hazard),))

    @classmethod
    def weibull(cls, rate: float, shape: float) -> SurvivalLaw:
        return cls("weibull", (float(rate),), float(shape))

    @classmethod
    def piecewise(cls, cut_points: tuple[float, ...], hazards: tuple[float, ...]) -> SurvivalLaw:
        return cls("piecewise-exponential", tuple(map(float, hazards)), 1.0, tuple(map(float, cut_points)))

    @classmethod
    def from_landmark(cls, landmark_pfs: float, landmark_months: float, shape: float = 1.0) -> SurvivalLaw:
        """The exponential (shape 1) or Weibull law with S(landmark_months) = landmark_pfs."""
        rate = -math.log(landmark_pfs) / landmark_months**shape
        return cls.exponential(rate) if shape == 1.0 else cls.weibull(rate, shape)

    @classmethod
    def from_median(cls, median_months: float, shape: float = 1.0) -> SurvivalLaw:
        rate = LN2 / median_months**shape
        return cls.exponential(rate) if shape == 1.0 else cls.weibull(rate, shape)

    def _ends(self) -> np.ndarray:
        return np.append(np.asarray(self.cut_points[1:]), np.inf)

    def cumulative_hazard(self, t: Any) -> np.ndarray:
        t = np.maximum(np.asarray(t, dtype=float), 0.0)
        if len(self.rates) == 1:
            return self.rates[0] * t**self.shape
        starts = np.asarray(self.cut_points)
        exposure = np.clip(t[..., None] - starts, 0.0, self._ends() - starts)
        return exposure @ np.asarray(self.rates)

    def survival(self, t: Any) -> np.ndarray:
        return np.exp(-self.cumulative_hazard(t))

    def time_at(self, cumulative_hazard: Any) -> np.ndarray:
        """H⁻¹: the time at which the cumulative hazard reaches the given values (∞ for ∞)."""
        h = np.asarray(cumulative_hazard, dtype=float)
        if len(self.rates) == 1:
            return (h / self.rates[0]) ** (1.0 / self.shape)
        starts, rates = np.asarray(self.cut_points), np.asarray(self.rates)
        at_start = np.concatenate([[0.0], np.cumsum(rates[:-1] * np.diff(starts))])
        piece = np.searchsorted(at_start, h, side="right") - 1
        return starts[piece] + (h - at_start[piece]) / rates[piece]

    def sample(self, uniforms: Any) -> np.ndarray:
        """Event times by inversion from uniforms on (0, 1]: T = H⁻¹(−log U)."""
        return self.time_at(-np.log(np.asarray(uniforms, dtype=float)))

    def median(self) -> float:
        return float(self.time_at(LN2))

    def landmark(self, months: float) -> float:
        return float(self.survival(months))

    def to_dict(self, landmark_months: float | None = None) -> dict[str, Any]:
        """The law as stated in results: its parameters, median and (given) landmark survival."""
        out: dict[str, Any] = {"kind": self.kind}
        if self.kind == "piecewise-exponential":
            out |= {"cut_points": list(self.cut_points), "hazards_per_month": list(self.rates)}
        else:
            out["hazard_per_month" if self.kind == "exponential" else "rate"] = self.rates[0]
            if self.kind == "weibull":
                out["shape"] = self.shape
        out["median_months"] = self.median()
        if landmark_months is not None:
            out["landmark_months"] = landmark_months
            out["landmark_pfs"] = self.landmark(landmark_months)
        return out


def law_from_mapping(check: Checker, where: str, raw: Any, default_landmark_months: float) -> SurvivalLaw | None:
    """The law of ``{kind, hazard_per_month | median_months | landmark_pfs [, landmark_months], shape,
    cut_points, hazards_per_month}``; problems go to ``check`` under ``where`` (None then).

    exponential: exactly one of hazard_per_month, median_months, landmark_pfs; weibull: shape and one of
    median_months, landmark_pfs; piecewise-exponential: cut_points (increasing, from 0) and one hazard
    per interval. ``landmark_months`` defaults to ``default_landmark_months`` (the design's landmark).
    """
    before = len(check.problems)
    law = _law(check, where, raw, default_landmark_months)
    return None if len(check.problems) > before else law


def _law(check: Checker, where: str, raw: Any, default_landmark_months: float) -> SurvivalLaw | None:
    raw = check.mapping(where, raw)
    check.unknown(f"{where}/", raw, _FIELDS, "a survival law")
    kind = check.choice(f"{where}/kind", raw.get("kind", "exponential"), KINDS)
    allowed = {
        "exponential": ("hazard_per_month", "median_months", "landmark_pfs"),
        "weibull": ("median_months", "landmark_pfs"),
        "piecewise-exponential": ("hazards_per_month",),
    }.get(kind, ())
    for name in ("hazard_per_month", "median_months", "landmark_pfs", "shape", "cut_points", "hazards_per_month"):
        needed_elsewhere = (name == "shape" and kind == "weibull") or (name == "cut_points" and kind == "piecewise-exponential")
        if raw.get(name) is not None and kind is not None and name not in allowed and not needed_elsewhere:
            check.add(f"{where}/{name}", f"not a parameter of the {kind} law (it takes {', '.join(allowed)}"
                      + (", shape" if kind == "weibull" else ", cut_points" if kind == "piecewise-exponential" else "") + ")")
    if kind is None:
        return None
    if kind == "piecewise-exponential":
        return _piecewise(check, where, raw)
    stated = [name for name in allowed if raw.get(name) is not None]
    if len(stated) != 1:
        check.add(where, f"state the {kind} law by exactly one of {', '.join(allowed)} (got {len(stated)})")
        return None
    shape = 1.0
    if kind == "weibull":
        shape = check.number(f"{where}/shape", raw.get("shape"), WEIBULL_SHAPE)
    if raw.get("landmark_months") is not None and stated[0] != "landmark_pfs":
        check.add(f"{where}/landmark_months", "only a law stated by landmark_pfs takes landmark_months")
    name = stated[0]
    if name == "hazard_per_month":
        hazard = check.number(f"{where}/hazard_per_month", raw[name], HAZARD)
        return None if hazard is None else SurvivalLaw.exponential(hazard)
    if name == "median_months":
        median = check.number(f"{where}/median_months", raw[name], MEDIAN)
        return None if median is None or shape is None else SurvivalLaw.from_median(median, shape)
    rate = check.number(f"{where}/landmark_pfs", raw[name], OPEN_PROBABILITY)
    landmark = check.number(f"{where}/landmark_months", raw.get("landmark_months", default_landmark_months), LANDMARK_BOUNDS)
    if None in (rate, landmark, shape):
        return None
    return SurvivalLaw.from_landmark(rate, landmark, shape)


def _piecewise(check: Checker, where: str, raw: Mapping[str, Any]) -> SurvivalLaw | None:
    cuts, hazards = raw.get("cut_points"), raw.get("hazards_per_month")
    ok = check.size(f"{where}/cut_points", cuts, 1, MAX_PIECES, "cut points (interval starts, the first 0)")
    ok &= check.size(f"{where}/hazards_per_month", hazards, 1, MAX_PIECES, "hazards (one per interval)")
    if not ok:
        return None
    values = [check.number(f"{where}/cut_points/{i}", c, Bounds(ge=0.0, lt=MAX_TIME_MONTHS)) for i, c in enumerate(cuts)]
    rates = [check.number(f"{where}/hazards_per_month/{i}", h, HAZARD) for i, h in enumerate(hazards)]
    if values[0] is not None and values[0] != 0.0:
        check.add(f"{where}/cut_points/0", f"the first interval starts at 0 (got {values[0]})")
    for i in range(1, len(values)):
        if values[i] is not None and values[i - 1] is not None and not values[i] > values[i - 1]:
            check.add(f"{where}/cut_points/{i}", f"cut points must increase ({values[i - 1]} then {values[i]})")
    if len(rates) != len(values):
        check.add(f"{where}/hazards_per_month", f"need one hazard per interval: {len(values)} cut points, {len(rates)} hazards")
    if None in values or None in rates:
        return None
    return SurvivalLaw.piecewise(tuple(values), tuple(rates))
