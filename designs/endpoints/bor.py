"""Best overall response with confirmation, and clinical benefit, from a patient's used visits.

Confirmation follows admiral's ``derive_param_confirmed_bor`` (pharmaverse, after RECIST 1.1 §4.6):

* a CR is confirmed by a later CR at least ``confirm_min_days`` (and at most ``confirm_max_days``, when
  set) after it, with only CR or NE in between, at most ``max_ne_between`` of them NE;
* a PR — or a CR that no CR confirms — is confirmed as a PR by a later CR or PR in the same window, with
  only CR, PR or NE in between, at most ``max_ne_between`` NE (so CR then PR confirms a PR); an SD, a
  NON-CR/NON-PD or a PD in between breaks it.

Best overall response, in this order: confirmed CR > confirmed PR > SD (an SD or better — SD, or an
unconfirmed CR or PR — at least ``sd_min_days`` after treatment start) > NON-CR/NON-PD (the same for
non-target disease only, where CR and NON-CR/NON-PD are what a visit can be) > PD > NE (assessments,
none of which qualifies) > MISSING (no assessment). Without confirmation, any CR, else any PR, is the best.

Clinical benefit (SARC031): a confirmed CR or PR, or an SD or better (SD, NON-CR/NON-PD, unconfirmed CR or
PR) at least ``benefit_min_days`` after treatment start, before any progression.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from designs.endpoints.readings import VisitReading
from designs.endpoints.spec import DerivationSpec

RESPONSES = ("CR", "PR")
SD_OR_BETTER = ("CR", "PR", "SD", "NON-CR/NON-PD")


class Row(NamedTuple):
    """A visit in time: its date, days since treatment start, reading, and whether the best response uses it
    (a ``NamedTuple``, immutable, as ``designs.endpoints.readings.VisitReading``: one per visit)."""

    on: dt.date
    day: int
    reading: VisitReading
    used: bool
    note: str
    response: str
    """``reading.response``, a field as the confirmation loops read it often."""

    @classmethod
    def of(cls, on: dt.date, day: int, reading: VisitReading, note: str = "") -> Row:
        """The row of a visit; used unless ``note`` says why not."""
        return cls(on, day, reading, not note, note, reading.response)

    def text(self) -> str:
        return f"{self.response} on {self.on} (day {self.day})"


@dataclass(frozen=True)
class Best:
    response: str
    confirmed: bool | None
    reason: str


def _in_window(gap: int, spec: DerivationSpec) -> bool:
    return gap >= spec.confirm_min_days and (spec.confirm_max_days is None or gap <= spec.confirm_max_days)


def confirmation(rows: Sequence[Row], i: int, spec: DerivationSpec) -> tuple[str | None, int | None]:
    """What confirms the CR or PR at ``rows[i]``: ("CR", j) a CR confirmed by rows[j], ("PR", j) a PR
    (or CR) confirmed as a PR, (None, None) nothing (yet)."""
    first, as_pr = rows[i], None
    cr_intact, ne = first.response == "CR", 0
    for j in range(i + 1, len(rows)):
        later, gap = rows[j].response, rows[j].day - first.day
        if spec.confirm_max_days is not None and gap > spec.confirm_max_days:
            break
        if later in RESPONSES and _in_window(gap, spec) and ne <= spec.max_ne_between:
            if cr_intact and later == "CR":
                return "CR", j
            as_pr = as_pr or ("PR", j)
        if later == "NE":
            ne += 1
        elif later == "PR":
            cr_intact = False
        elif later != "CR":
            break
        if ne > spec.max_ne_between:
            break
    return as_pr or (None, None)


def _window_text(spec: DerivationSpec) -> str:
    """The confirmation window in days ("28..∞", "91..183")."""
    return f"{spec.confirm_min_days}..{'∞' if spec.confirm_max_days is None else spec.confirm_max_days}"


def _ne_text(count: int, spec: DerivationSpec) -> str:
    return f"with {count} NE between, at most {spec.max_ne_between} allowed"


def _confirmed_best(rows: Sequence[Row], spec: DerivationSpec) -> Best | None:
    found: dict[str, tuple[int, int]] = {}
    for i, row in enumerate(rows):
        if row.response in RESPONSES:
            level, j = confirmation(rows, i, spec)
            if level is not None and level not in found:
                found[level] = (i, j)  # type: ignore[assignment]
    for level in RESPONSES:
        if level in found:
            i, j = found[level]
            gap = rows[j].day - rows[i].day
            ne = sum(row.response == "NE" for row in rows[i + 1:j])
            return Best(level, True, f"{rows[i].text()} confirmed by {rows[j].text()}, {gap} days later "
                                     f"({_window_text(spec)} days needed" + (f"; {_ne_text(ne, spec)}" if ne else "")
                                     + ")")
    return None


def unconfirmed_why(rows: Sequence[Row], i: int, spec: DerivationSpec) -> str:
    """Why nothing confirms the CR or PR at ``rows[i]`` (``confirmation`` found none), in words a reader can
    check: the CRs or PRs too soon or too late, the SD, NON-CR/NON-PD or PD between, or the NE too many."""
    first, ne, soon = rows[i], 0, None
    needed = f"{_window_text(spec)} days needed"
    for later in rows[i + 1:]:
        gap = later.day - first.day
        if later.response in RESPONSES:  # in the window with few enough NE it would have confirmed
            if spec.confirm_max_days is not None and gap > spec.confirm_max_days:
                return _then(soon, f"{later.text()} {gap} days later ({needed})")
            soon = f"{later.text()} only {gap} days later ({needed})"
        elif later.response == "NE":
            ne += 1
            if ne > spec.max_ne_between:
                return _then(soon, f"{_ne_text(ne, spec)} (up to {later.text()})")
        else:
            return _then(soon, f"{later.text()} between")
    return soon or "no later CR or PR"


def _then(before: str | None, after: str) -> str:
    return after if before is None else f"{before}, then {after}"


def _unconfirmed_best(rows: Sequence[Row], spec: DerivationSpec) -> Best | None:
    """Without confirmation: the first CR, else the first PR (``confirmed`` says whether it happens to be)."""
    for level in RESPONSES:
        for i, row in enumerate(rows):
            if row.response == level:
                done = confirmation(rows, i, spec)[0] == level
                return Best(level, done, f"{row.text()} (confirmation not required; "
                                         f"{'confirmed' if done else 'not confirmed'})")
    return None


def _stable(rows: Sequence[Row], spec: DerivationSpec, non_target_only: bool) -> Best | None:
    levels = (("NON-CR/NON-PD", ("CR", "NON-CR/NON-PD")),) if non_target_only else (
        ("SD", ("CR", "PR", "SD")), ("NON-CR/NON-PD", ("NON-CR/NON-PD",)))
    unconfirmed = [f"{row.text()}: {unconfirmed_why(rows, i, spec)}" for i, row in enumerate(rows)
                   if row.response in RESPONSES]
    note = f"; not confirmed: {'; '.join(unconfirmed)}" if unconfirmed else ""
    for level, qualifying in levels:
        for row in rows:
            if row.response in qualifying and row.day >= spec.sd_min_days:
                return Best(level, None, f"{row.text()} is {level} or better at least {spec.sd_min_days} days "
                                         f"after treatment start{note}")
    return None


def best_response(rows: Sequence[Row], spec: DerivationSpec, non_target_only: bool) -> Best:
    """The best overall response of the used visits ``rows`` (see the module docstring for the order)."""
    best = _confirmed_best(rows, spec) if spec.confirmation else _unconfirmed_best(rows, spec)
    best = best or _stable(rows, spec, non_target_only)
    if best is not None:
        return best
    progression = next((row for row in rows if row.response == "PD"), None)
    if progression is not None:
        return Best("PD", None, f"{progression.text()}, with no SD or better at least {spec.sd_min_days} days after "
                                "treatment start before it")
    if rows:
        return Best("NE", None, f"{len(rows)} assessment(s), none of them SD or better at least {spec.sd_min_days} "
                                "days after treatment start, and no PD")
    return Best("MISSING", None, "no post-baseline assessment" + (
        f" within the response window of {spec.response_window_days} days" if spec.response_window_days else ""))


def clinical_benefit(rows: Sequence[Row], spec: DerivationSpec, objective: bool, best: Best,
                     end: str | None = None) -> tuple[bool, str]:
    """Whether the used visits ``rows`` show clinical benefit, and why (``end``: what ended follow-up, as
    "death on 2024-02-01 (day 22)"; None: nothing yet)."""
    if objective:
        return True, f"{best.response} ({'confirmed' if best.confirmed else 'confirmation not required'})"
    for row in rows:
        if row.response in SD_OR_BETTER and row.day >= spec.benefit_min_days:
            return True, f"{row.text()} is SD or better at least {spec.benefit_min_days} days after treatment start"
    return False, (f"no SD or better at least {spec.benefit_min_days} days after treatment start"
                   + (f" before {end}" if end else " so far"))


def awaited_confirmation(rows: Sequence[Row], spec: DerivationSpec, as_of: dt.date | None,
                         last_day: dt.date | None) -> str | None:
    """The latest CR or PR that a later visit may still confirm, in words ("PR on 2024-03-05 awaits
    confirmation from 2024-04-02"); None when there is none. ``last_day``: the response window's last date."""
    for i in range(len(rows) - 1, -1, -1):
        row = rows[i]
        if row.response not in RESPONSES or not _open(rows, i, spec):
            continue
        earliest = row.on + dt.timedelta(days=spec.confirm_min_days)
        latest = None if spec.confirm_max_days is None else row.on + dt.timedelta(days=spec.confirm_max_days)
        if last_day is not None:
            latest = last_day if latest is None else min(latest, last_day)
        if (latest is not None and latest < earliest) or (latest is not None and as_of is not None and as_of > latest):
            continue
        return f"{row.response} on {row.on} awaits confirmation from {earliest}" + (f" to {latest}" if latest else "")
    return None


def _open(rows: Sequence[Row], i: int, spec: DerivationSpec) -> bool:
    """Only CR, PR or NE after ``rows[i]``, at most ``max_ne_between`` NE: a later visit may still confirm it."""
    after = [row.response for row in rows[i + 1:]]
    return all(r in ("CR", "PR", "NE") for r in after) and after.count("NE") <= spec.max_ne_between
