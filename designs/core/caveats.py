"""Typed statistical caveats: what a result says about itself, as ``{"code", "message", "stratum"}``.

A caveat is not an error (``designs.core.errors``): the numbers are computed and stand, but a reader
should know something about them. A client tells one caveat from another by its ``code``, never by
parsing the message, whose wording may improve. ``stratum`` is null when a caveat concerns no one stratum. Every code a result can carry is listed in
``CODES`` (with what it means); the OpenAPI document enumerates them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

CODES: dict[str, str] = {
    # Engines and how a number was computed
    "engine-ignored": "a requested engine or its settings do not apply to the model and were ignored",
    "engine-substituted": "another engine than the one requested computed the result (the message says why)",
    "mcmc-not-converged": "MCMC failed its convergence checks (R-hat, ESS or divergences): treat the numbers with caution",
    "quadrature-self-check": "the quadrature's self-check is outside its tolerance: cross-check with engine 'mcmc'",
    "predictive-monte-carlo": "predictive probabilities were estimated by Monte Carlo (they carry a Monte Carlo standard error)",
    "predictive-fallback": "predictive probabilities were computed by the fallback method the message names",
    # Data in a stratum
    "stratum-empty": "a stratum has no evaluable patients: its posterior is the prior (and borrowing)",
    "stratum-sparse": "a stratum has so few patients or events that its posterior rests mostly on the prior (and borrowing)",
    "pooled-model": "the pooled model gives every stratum the same posterior",
    "events-at-time-zero": "events at time 0 were moved to half a day for the likelihood",
    "km-not-estimable": "the Kaplan–Meier estimate at the landmark is undefined (no one left at risk)",
    "extrapolation": "an estimate lies beyond the last follow-up: the model extrapolates",
    "no-planned-n": "a stratum has no planned number of patients (n_planned): no final analysis, only the interim criteria can fire",
    # Designs and operating characteristics
    "search-not-exhaustive": "the design search stopped at nmax before ruling out larger designs",
    "simon-schedule-mismatch": "the Simon design shown beside has n1 or n that are not the stratum's looks: it describes another schedule",
    "borrowing-inflation": "borrowing from active strata inflates an inactive stratum's type I error",
    "calibration-margin": "the calibrated threshold meets its target within two Monte Carlo standard errors only",
    "calibration-thresholds-skipped": "candidate final thresholds at or below the rule's futility bar were not tried",
    "calibration-edge": "the calibrated threshold is the lowest candidate: lower ones might also meet the target",
    "look-never-stops": "no simulated trial stopped at an interim look (in any scenario): it may come after the final analysis, or its criteria never fire",
    "comparator-impractical": "the classical comparator's sample size needs years of accrual at the stratum's rate",
    "safety-never-stops": "no toxicity count stops the trial at any look within alpha: the monitoring rule is inert",
    "safety-undetermined": "whether the safety rule stopped depends on the DLTs among the first n_j patients at a planned look, which were not given",
    "safety-look-provisional": "a safety look's first n_j patients may change: patients enrolled before its n_j-th evaluable one have no toxicity status yet",
    "safety-unrecorded": "a monitored stratum's patients have no toxicity status at all: the safety rule cannot act on them",
}


@dataclass(frozen=True)
class Caveat:
    """One typed warning. ``stratum`` names the stratum it concerns, when it concerns one."""

    code: str
    message: str
    stratum: str | None = None

    def __post_init__(self) -> None:
        if self.code not in CODES:
            raise ValueError(f"unknown warning code {self.code!r}; add it to designs.core.caveats.CODES")

    def as_dict(self) -> dict[str, Any]:
        # ``stratum`` always present (null when the caveat concerns no one stratum), as the HTTP schema
        # serialises it, so that a result reads the same answered at once or read back from a job.
        return {"code": self.code, "message": self.message, "stratum": self.stratum}


def caveat(code: str, message: str, stratum: str | None = None) -> dict[str, Any]:
    """The JSON form of one warning (what results carry in their ``warnings`` list)."""
    return Caveat(code, message, stratum).as_dict()
