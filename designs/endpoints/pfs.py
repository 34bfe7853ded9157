"""Progression-free survival of one patient from the visits in time.

* Event: the first PD visit's date or the death date, whichever is earlier (a PD and a death on the same
  day: progression). Every visit counts here, also those after a response window.
* Follow-up ends at the off-study date (no visit is after it: they are refused): a death after the
  off-study date without an earlier PD is not an event; PFS is censored as below, and the reason says so.
* Otherwise censored at the last adequate assessment (overall response not NE) — an NE visit does not
  extend follow-up — or at treatment start (0 days) when there is none.
* ``time_days`` = date − treatment start; ``time_months`` = time_days / 30.4375 (365.25 / 12).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from designs.endpoints.bor import Row
from designs.endpoints.spec import DAYS_PER_MONTH


def _result(start: dt.date, on: dt.date, event: bool, kind: str, what: str) -> dict[str, Any]:
    days = (on - start).days
    months = days / DAYS_PER_MONTH
    return {"time_days": days, "time_months": months, "event": event, "date": on.isoformat(), "kind": kind,
            "reason": f"{what}: {days} days after treatment start {start} = {months:.4f} months "
                      f"(days / {DAYS_PER_MONTH})"}


def derive_pfs(rows: Sequence[Row], start: dt.date, death: dt.date | None,
               off_study: dt.date | None = None) -> dict[str, Any]:
    """``{time_days, time_months, event, date, kind, reason}`` from every visit ``rows`` (in date order);
    follow-up ends at ``off_study`` (a later death is no event)."""
    progression = next((row for row in rows if row.response == "PD"), None)
    if progression is not None and (death is None or progression.on <= death):
        return _result(start, progression.on, True, "progression", f"event: progression (PD) on {progression.on}")
    after_off = ""
    if death is not None and off_study is not None and death > off_study:
        after_off = f" (the death on {death} is after the off-study date {off_study}, where follow-up ended)"
    elif death is not None:
        return _result(start, death, True, "death", f"event: death on {death}, before any progression")
    adequate = [row for row in rows if row.response != "NE"]
    if adequate:
        last = adequate[-1]
        later = len(rows) - rows.index(last) - 1
        tail = f" (the {later} NE visit(s) after it do not extend follow-up)" if later else ""
        return _result(start, last.on, False, "censored",
                       f"censored at the last adequate assessment, {last.response} on {last.on}{tail}{after_off}")
    return _result(start, start, False, "censored",
                   f"censored at treatment start: no adequate (non-NE) post-baseline assessment{after_off}")
