"""Kaplan–Meier curve and landmark estimate with a Greenwood 95% CI.

The product-limit estimate Ŝ(t) = ∏_{t_i ≤ t} (1 − d_i / n_i) (Kaplan & Meier 1958) and its pointwise
Greenwood interval Ŝ(t) ± z·Ŝ(t)·√Σ_{t_i ≤ t} d_i / (n_i (n_i − d_i)) (Greenwood 1926), clipped to
[0, 1], both from :func:`scipy.stats.ecdf` on right-censored data.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats

Z_95 = float(stats.norm.ppf(0.975))


@dataclass(frozen=True)
class LandmarkEstimate:
    """Ŝ(landmark) with its Greenwood standard error and 95% CI.

    ``estimable`` is False when the landmark lies beyond the last follow-up time while the curve is
    still above zero: the product-limit estimate is undefined there and ``survival`` is None.
    """

    landmark: float
    survival: float | None
    se: float | None
    ci95: tuple[float, float] | None
    at_risk: int
    estimable: bool

    def to_dict(self) -> dict[str, Any]:
        return {
            "landmark_months": self.landmark,
            "survival": self.survival,
            "greenwood_se": self.se,
            "ci95": list(self.ci95) if self.ci95 is not None else None,
            "ci_method": "Greenwood (linear), clipped to [0, 1]",
            "at_risk": self.at_risk,
            "estimable": self.estimable,
        }


@dataclass(frozen=True)
class KaplanMeierCurve:
    """The product-limit curve at each distinct observed time (events and censorings).

    Ŝ is right-continuous: it equals 1 before ``times[0]`` and ``survival[i]`` on
    [``times[i]``, ``times[i+1]``). ``at_risk[i]`` counts patients with time ≥ ``times[i]``.
    """

    times: np.ndarray
    survival: np.ndarray
    at_risk: np.ndarray
    events: np.ndarray
    censored: np.ndarray
    greenwood_se: np.ndarray
    ci95_lower: np.ndarray
    ci95_upper: np.ndarray

    @property
    def last_follow_up(self) -> float:
        return float(self.times[-1])

    def landmark(self, t: float) -> LandmarkEstimate:
        """Ŝ(t), its Greenwood SE and 95% CI; not estimable past the last follow-up unless Ŝ reached 0."""
        i = int(np.searchsorted(self.times, t, side="right")) - 1
        first_at_or_after = int(np.searchsorted(self.times, t, side="left"))
        at_risk = int(self.at_risk[first_at_or_after]) if first_at_or_after < len(self.times) else 0
        if i < 0:  # before the first observed time: nobody has had an event yet
            return LandmarkEstimate(t, 1.0, 0.0, (1.0, 1.0), at_risk, True)
        survival = float(self.survival[i])
        if t > self.last_follow_up and survival > 0:
            return LandmarkEstimate(t, None, None, None, 0, False)
        ci = (float(self.ci95_lower[i]), float(self.ci95_upper[i]))
        return LandmarkEstimate(t, survival, float(self.greenwood_se[i]), ci, at_risk, True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "times": self.times.tolist(),
            "survival": self.survival.tolist(),
            "at_risk": self.at_risk.tolist(),
            "events": self.events.tolist(),
            "censored": self.censored.tolist(),
            "ci95_lower": self.ci95_lower.tolist(),
            "ci95_upper": self.ci95_upper.tolist(),
        }


def kaplan_meier(time: np.ndarray, event: np.ndarray) -> KaplanMeierCurve:
    """The Kaplan–Meier curve of right-censored data (``event`` True = progression or death)."""
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=bool)
    if time.ndim != 1 or time.shape != event.shape or time.size == 0:
        raise ValueError("time and event must be non-empty 1-d arrays of the same length")
    sample = stats.CensoredData(uncensored=time[event], right=time[~event])
    sf = stats.ecdf(sample).sf
    with warnings.catch_warnings():
        # Greenwood's variance is 0·∞ where Ŝ drops to 0; scipy warns and returns NaN (handled below).
        warnings.filterwarnings("ignore", "The confidence interval is undefined", RuntimeWarning)
        ci = sf.confidence_interval(0.95, method="linear")
    times = sf.quantiles
    survival = sf.probabilities
    sorted_time = np.sort(time)
    at_risk = time.size - np.searchsorted(sorted_time, times, side="left")
    index = np.searchsorted(times, time)
    events = np.bincount(index[event], minlength=times.size)
    censored = np.bincount(index[~event], minlength=times.size)
    zero = survival == 0
    with np.errstate(divide="ignore", invalid="ignore"):  # d = n where Ŝ drops to 0: set to 0 below
        greenwood_sum = np.cumsum(events / (at_risk * (at_risk - events)))
        greenwood_se = np.where(zero, 0.0, survival * np.sqrt(greenwood_sum))
    lower = np.where(zero, 0.0, ci.low.probabilities)
    upper = np.where(zero, 0.0, ci.high.probabilities)
    return KaplanMeierCurve(times, survival, at_risk, events, censored, greenwood_se, lower, upper)
