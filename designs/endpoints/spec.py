"""The derivation settings (a protocol's ``derivation`` section, the route's ``derivation`` field), checked once.

``DerivationSpec`` says which criterion reads the tumour assessments (RECIST 1.1 or REiNS volumetric),
what makes a responder (objective response or clinical benefit) and the time rules around them
(confirmation, stable disease, clinical benefit, response window). Defaults depend on the criterion and
are filled after reading it; ``document`` holds every field, ``defaults`` names those gonogo filled in.

The thresholds that *define* the criteria (RECIST PR −30 %, PD +20 % and +5 mm; REiNS ±20 %) are
constants here, echoed in results, never parameters: a trial that changed them would no longer be
applying RECIST 1.1 or REiNS. They are exact decimals, so that 70 mm is exactly 30 % below 100 mm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from designs.core.validation import Checker, is_integer

CRITERIA = ("recist1.1", "reins")
ENDPOINTS = ("objective_response", "clinical_benefit")
OVERALL = ("CR", "PR", "SD", "NON-CR/NON-PD", "PD", "NE")
"""A visit's overall response."""
BEST = OVERALL + ("MISSING",)
"""A patient's best overall response (MISSING: no post-baseline assessment)."""
NON_TARGET = ("CR", "non-CR/non-PD", "PD", "NE")
"""A visit's non-target response as the reader records it."""
REFERENCES = ("baseline", "nadir")
DAYS_PER_MONTH = 30.4375
"""Days in an average month (365.25 / 12): PFS in months = days / 30.4375 (``designs.registry.datacut`` imports it)."""
FOLLOW_UP_TOLERANCE_DAYS = 1e-6
"""A time computed as days / 30.4375 may round a hair above the days it came from: follow-up checks
against a cut-off (data cuts, ADaM ADTTE) allow this much."""

RECIST_PR_DECREASE = Decimal("0.3")
"""RECIST 1.1 partial response: sum of target diameters at least 30 % below the baseline sum (Eisenhauer 2009)."""
RECIST_PD_INCREASE = Decimal("0.2")
"""RECIST 1.1 progression: sum at least 20 % above the nadir ..."""
RECIST_PD_ABSOLUTE_MM = Decimal(5)
"""... and at least 5 mm above it."""
REINS_CHANGE = Decimal("0.2")
"""REiNS volumetric (Dombi 2013): PR volume at least 20 % below baseline, PD at least 20 % above the reference."""

MAX_DAYS = 3650
"""Longest time rule in days (ten years): anything longer is a unit or typing mistake."""

_COMMON_DEFAULTS: dict[str, Any] = {
    "confirmation": True,
    "max_ne_between": 1,
    "sd_min_days": 42,
    "benefit_min_days": 112,
    "response_window_days": None,
}
DEFAULTS: dict[str, dict[str, Any]] = {
    "recist1.1": {**_COMMON_DEFAULTS, "confirm_min_days": 28, "confirm_max_days": None},
    "reins": {**_COMMON_DEFAULTS, "confirm_min_days": 91, "confirm_max_days": 183, "progression_reference": "baseline"},
}
"""Defaults per criterion. RECIST 1.1: confirmation ≥ 4 weeks (28 days) later, SD ≥ 6 weeks (42 days) after
start (Eisenhauer 2009 §4.6–4.7). REiNS: confirmation 3 to 6 months later (91 and 183 days: 3 and 6 × 30.4375,
rounded; Dombi 2013), SD 42 days as RECIST. Both: at most 1 NE between a response and its confirmation
(admiral ``derive_param_confirmed_bor``'s ``max_nr_ne``), clinical benefit at ≥ 112 days (SARC031: 4 cycles
of 28 days), no response window."""
FIELDS = ("criterion", "endpoint", "confirmation", "confirm_min_days", "confirm_max_days", "max_ne_between",
          "sd_min_days", "benefit_min_days", "progression_reference", "response_window_days")


@dataclass(frozen=True)
class DerivationSpec:
    """How responses and PFS are derived from assessments (build it with ``from_mapping`` or ``check``)."""

    criterion: str
    endpoint: str
    confirmation: bool
    confirm_min_days: int
    confirm_max_days: int | None
    max_ne_between: int
    sd_min_days: int
    benefit_min_days: int
    progression_reference: str
    response_window_days: int | None
    document: dict
    defaults: tuple[str, ...]

    @classmethod
    def from_mapping(cls, body: Any) -> DerivationSpec:
        """The spec of ``body`` (field names as locations); raises ``InvalidInputError`` naming every problem."""
        check = Checker()
        spec = cls.check(check, "", body)
        check.raise_if_any()
        assert spec is not None
        return spec

    @classmethod
    def check(cls, check: Checker, where: str, body: Any) -> DerivationSpec | None:
        """The spec of ``body``, or None with its problems added to ``check`` at ``f"{where}/{field}"``."""
        prefix = f"{where}/" if where else ""
        before = len(check.problems)
        body = check.mapping(where or "body", body)
        check.unknown(prefix, body, FIELDS, "the derivation settings")
        criterion = _required_choice(check, f"{prefix}criterion", body.get("criterion"), CRITERIA)
        endpoint = _required_choice(check, f"{prefix}endpoint", body.get("endpoint"), ENDPOINTS)
        values = _values(check, prefix, body, criterion)
        if len(check.problems) > before or criterion is None or endpoint is None:
            return None
        return cls.build(criterion, endpoint, values, tuple(name for name in FIELDS if name in DEFAULTS[criterion]
                                                            and body.get(name) is None))

    @classmethod
    def build(cls, criterion: str, endpoint: str, values: Mapping[str, Any],
              defaults: tuple[str, ...]) -> DerivationSpec:
        """The spec of checked ``values`` (every default filled)."""
        full = {**DEFAULTS[criterion], **values}
        full.update(criterion=criterion, endpoint=endpoint)
        document = {name: full[name] for name in FIELDS if name in full}
        return cls(criterion, endpoint, full["confirmation"], full["confirm_min_days"], full["confirm_max_days"],
                   full["max_ne_between"], full["sd_min_days"], full["benefit_min_days"],
                   full.get("progression_reference", "nadir"), full["response_window_days"], document, defaults)

    @classmethod
    def default(cls, criterion: str, endpoint: str = "objective_response") -> DerivationSpec:
        """The spec with every default of ``criterion``."""
        return cls.build(criterion, endpoint, {}, tuple(name for name in FIELDS if name in DEFAULTS[criterion]))

    def thresholds(self) -> dict[str, Any]:
        """The criterion's defining thresholds (constants, not parameters), as echoed in results."""
        if self.criterion == "recist1.1":
            return {"criterion": "RECIST 1.1 (Eisenhauer et al. 2009)",
                    "partial_response": "sum of target diameters at least 30 % below baseline",
                    "progression": "sum at least 20 % and at least 5 mm above the nadir (smallest sum so far, "
                                   "baseline included), or non-target progression, or a new lesion",
                    "pr_decrease": float(RECIST_PR_DECREASE), "pd_increase": float(RECIST_PD_INCREASE),
                    "pd_absolute_mm": float(RECIST_PD_ABSOLUTE_MM)}
        return {"criterion": "REiNS volumetric (Dombi et al. 2013)",
                "partial_response": "volume at least 20 % below baseline",
                "progression": f"volume at least 20 % above the {self.progression_reference}, or a new lesion",
                "pr_decrease": float(REINS_CHANGE), "pd_increase": float(REINS_CHANGE)}


def _required_choice(check: Checker, where: str, value: Any, choices: tuple[str, ...]) -> str | None:
    if value is None:
        check.add(where, f"required: one of {', '.join(choices)}")
        return None
    return check.choice(where, value, choices)


def _days(check: Checker, where: str, value: Any, low: int) -> int | None:
    if not is_integer(value) or not low <= value <= MAX_DAYS:
        check.add(where, f"must be a whole number of days in [{low}, {MAX_DAYS}] (got {value!r})")
        return None
    return int(value)


def _values(check: Checker, prefix: str, body: Mapping[str, Any], criterion: str | None) -> dict[str, Any]:
    """The fields of ``body`` other than criterion and endpoint, checked (only those given; with an unknown
    criterion, what does not depend on it)."""
    values: dict[str, Any] = {}
    # null is absent: the field takes its default (as a JSON merge patch's null removes a member, so that
    # an amended protocol's filled-in values follow a new criterion); no upper bound is a large one
    given = {name: body[name] for name in FIELDS[2:] if body.get(name) is not None}
    if "confirmation" in given:
        if isinstance(given["confirmation"], bool):
            values["confirmation"] = given["confirmation"]
        else:
            check.add(f"{prefix}confirmation", f"must be true or false (got {given['confirmation']!r})")
    lows = {"confirm_min_days": 1, "max_ne_between": 0, "sd_min_days": 0, "benefit_min_days": 0}
    for name, low in lows.items():
        if name in given:
            values[name] = _days(check, f"{prefix}{name}", given[name], low)
    for name in ("confirm_max_days", "response_window_days"):
        if name in given:
            values[name] = _days(check, f"{prefix}{name}", given[name], 1)
    if "progression_reference" in given:
        if criterion == "recist1.1":
            check.add(f"{prefix}progression_reference", "applies to REiNS only: RECIST 1.1 measures progression "
                      "from the nadir (the smallest sum so far, baseline included), always")
        else:
            values["progression_reference"] = check.choice(f"{prefix}progression_reference",
                                                           given["progression_reference"], REFERENCES)
    defaults = DEFAULTS.get(criterion or "", {})
    low = values.get("confirm_min_days", defaults.get("confirm_min_days"))
    high = values.get("confirm_max_days", defaults.get("confirm_max_days"))
    if low is not None and high is not None and high < low:
        where = "confirm_max_days" if "confirm_max_days" in given else "confirm_min_days"
        check.add(f"{prefix}{where}", f"confirm_max_days ({high}) must be at least confirm_min_days ({low})")
    if values.get("response_window_days") is not None and criterion is not None:
        _check_window(check, f"{prefix}response_window_days", {**defaults, **values}, body.get("endpoint"))
    return values


def _check_window(check: Checker, where: str, full: Mapping[str, Any], endpoint: Any) -> None:
    """A response window must leave room for every rule that makes a responder or a best response: a visit
    is on day 1 at the earliest (the day after treatment start), so a confirmation comes on day
    ``confirm_min_days + 1`` at the earliest; an SD on day ``sd_min_days``, a clinical benefit on day
    ``benefit_min_days``. (A value that failed its own check is None and not compared.)"""
    window = full["response_window_days"]
    rules = []
    if full.get("confirmation") is not False and full.get("confirm_min_days") is not None \
            and window <= full["confirm_min_days"]:
        rules.append(f"confirmation: a response on day 1 at the earliest is confirmed {full['confirm_min_days']} "
                     f"days later at the earliest (confirm_min_days), after day {window}")
    if full.get("sd_min_days") is not None and window < full["sd_min_days"]:
        rules.append(f"stable disease: an SD counts from day {full['sd_min_days']} (sd_min_days), after day {window}")
    if endpoint == "clinical_benefit" and full.get("benefit_min_days") is not None \
            and window < full["benefit_min_days"]:
        rules.append(f"clinical benefit: an SD or better counts from day {full['benefit_min_days']} "
                     f"(benefit_min_days), after day {window}")
    for rule in rules:
        check.add(where, f"response_window_days ({window}) is too short for {rule}: no visit in the window "
                  "could meet it")

