"""Typed statistical caveats: what a result says about itself, as ``{"code", "message", "stratum"}``.

A caveat is not an error (``designs.core.errors``): the numbers are computed and stand, but a reader
should know something about them. A client tells one caveat from another by its ``code``, never by
parsing the message, whose wording may improve. ``stratum`` is null when a caveat concerns no one stratum. Every code a result can carry is listed in
``CODES`` (with what it means); the OpenAPI document enumerates them.
"""

from __future__ import annotations

from collections.abc import Iterable
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
    "decision-near-threshold": (
        "a Monte Carlo (MCMC) probability that decides lies within two Monte Carlo standard errors of its decision "
        "threshold, so the decision could change with other draws; the MCSE of a posterior probability p̂ is "
        "√(p̂(1 − p̂)/ESS), ESS the effective sample size of the mean of its indicator draws"
    ),
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
    "simon-design-misfit": (
        "the Simon design given beside does not fit the request's rates: its type I error at p0 exceeds alpha or its "
        "power at p1 falls short of 1 − beta (the request's alpha and beta, else the Simon search's defaults 0.05 and 0.20)"
    ),
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


DECISION_MARGIN_MCSE = 2.0
"""A decision is flagged when its probability lies within this many Monte Carlo SEs of its threshold
(as ``designs.oc.calibration`` flags a calibrated type I error within two SEs of its target)."""


@dataclass(frozen=True)
class Comparison:
    """One comparison a decision rule makes: ``quantity`` (in words) = ``value`` against ``threshold``.

    ``criterion`` is the id of the criterion it decides (``designs.core.decisions.CRITERIA``);
    ``mcse`` its Monte Carlo standard error (None or 0: exact or deterministic); ``threshold`` None,
    ≤ 0 or ≥ 1: the criterion is switched off (no probability can cross it)."""

    criterion: str
    quantity: str
    value: float
    mcse: float | None
    threshold: float | None


def near_threshold(
    stratum: str, decision: str, fired: str, comparisons: Iterable[Comparison], remedy: str
) -> list[dict[str, Any]]:
    """``decision-near-threshold`` caveats for a stratum's decision.

    ``comparisons`` are the rule's, in the order it evaluates them; those up to the criterion that
    ``fired`` (all when none of them did, e.g. a final failure or "continue") decided the outcome, and each
    of them whose value lies within ``DECISION_MARGIN_MCSE`` Monte Carlo SEs of its threshold is reported,
    with the numbers and ``remedy`` (what would settle it: the quadrature engine, more draws)."""
    out = []
    for c in comparisons:
        active = c.threshold is not None and 0.0 < c.threshold < 1.0
        if active and c.mcse and abs(c.value - c.threshold) < DECISION_MARGIN_MCSE * c.mcse:
            text = (
                f"Stratum '{stratum}': {c.quantity} = {c.value:.3f} ± {c.mcse:.3f} (Monte Carlo SE) lies within "
                f"{DECISION_MARGIN_MCSE:g} Monte Carlo SEs of its threshold {c.threshold:g} "
                f"(|difference| {abs(c.value - c.threshold):.4f} < {DECISION_MARGIN_MCSE * c.mcse:.4f}): "
                f"the decision '{decision}' could change with other draws. {remedy}"
            )
            out.append(caveat("decision-near-threshold", text, stratum))
        if c.criterion == fired:
            break
    return out
