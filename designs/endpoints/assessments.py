"""One patient's tumour assessments (the JSON object ``assessments``), checked and normalised.

The same object serves the stateless route and a registered data cut, so that a patient reads the same
wherever it comes from::

    {"treatment_start": "2024-01-10",
     "baseline": {"date" | "day", "target_sum_mm" | "volume_ml", "non_target": bool},
     "visits": [{"date" | "day", "target_sum_mm", "target_cr", "volume_ml", "non_target", "new_lesions"}
                | {"date" | "day", "overall"}],
     "death_date": "YYYY-MM-DD" | null, "off_study_date": "YYYY-MM-DD" | null}

``day`` is the CDISC study day: day 1 is the treatment start, day −1 the day before, there is no day 0.
Every problem is collected (``designs.core.validation.Checker``) with a location under ``where`` and a
reason that starts with the patient's label; nothing is derived from assessments that have one.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from designs.adam.readers import normal_value, parse_iso_date
from designs.core.validation import Checker, is_integer, is_number
from designs.endpoints.spec import NON_TARGET, OVERALL, DerivationSpec

MAX_VISITS = 200
MAX_SIZE = 1_000_000.0
"""Largest sum of diameters (mm) or volume (ml): a kilometre of tumour is a unit or typing mistake."""
EARLIEST = dt.date(1900, 1, 1)
LATEST = dt.date(2199, 12, 31)
MAX_STUDY_DAY = 36_525
_FIELDS = ("treatment_start", "baseline", "visits", "death_date", "off_study_date")
_BASELINE_FIELDS = ("date", "day", "target_sum_mm", "volume_ml", "non_target")
_VISIT_FIELDS = ("date", "day", "target_sum_mm", "target_cr", "volume_ml", "non_target", "new_lesions", "overall")
_VISIT_KEYS = frozenset(_VISIT_FIELDS)
_MEASUREMENTS = ("target_sum_mm", "target_cr", "volume_ml", "non_target", "new_lesions")
_OTHER_CRITERION = {"recist1.1": ("volume_ml",), "reins": ("target_sum_mm", "target_cr")}
_SIZE = {"recist1.1": "target_sum_mm", "reins": "volume_ml"}
_OTHER_KEYS = {criterion: frozenset(names) for criterion, names in _OTHER_CRITERION.items()}
_new, _set = object.__new__, object.__setattr__


@dataclass(frozen=True)
class Assessment:
    """One assessment: measurements (sizes as given, so that ``repr`` recovers the written number) or
    ``overall``, the visit's overall response as recorded."""

    on: dt.date
    target_sum_mm: float | None = None
    target_cr: bool | None = None
    volume_ml: float | None = None
    non_target: str | None = None
    new_lesions: bool = False
    overall: str | None = None

    @classmethod
    def checked(cls, on: dt.date, target_sum_mm: float | None, target_cr: bool | None, volume_ml: float | None,
                non_target: str | None, new_lesions: bool) -> Assessment:
        """A measured visit whose fields are checked already, built without the frozen ``__init__``'s
        per-field ``object.__setattr__`` (a request builds thousands; the instance is the same: equal, hashed
        and frozen alike, as ``test_a_checked_assessment_is_the_assessment`` holds)."""
        self = _new(cls)
        _set(self, "__dict__", {"on": on, "target_sum_mm": target_sum_mm, "target_cr": target_cr,
                                "volume_ml": volume_ml, "non_target": non_target, "new_lesions": new_lesions,
                                "overall": None})
        return self


@dataclass(frozen=True)
class PatientAssessments:
    treatment_start: dt.date
    baseline: Assessment | None
    baseline_non_target: bool
    visits: tuple[Assessment, ...]
    death_date: dt.date | None
    off_study_date: dt.date | None
    criterion: str

    @functools.cached_property
    def document(self) -> dict[str, Any]:
        """The assessments normalised (dates ISO, ``day`` turned into ``date``, defaults filled, sizes
        normal), as a data cut stores and hashes them; built when first asked for (the route never does).
        The same data give one document: a visit's omitted ``non_target`` is stored as read, "NE" when the
        baseline has non-target lesions; a RECIST baseline without target lesions stores ``target_sum_mm``
        null, whether it was given as 0 or omitted."""
        size_name = _SIZE[self.criterion]
        baseline = self.baseline
        return {
            "treatment_start": self.treatment_start.isoformat(),
            "baseline": None if baseline is None else {"date": baseline.on.isoformat(),
                                                       size_name: getattr(baseline, size_name),
                                                       "non_target": self.baseline_non_target},
            "visits": [_visit_document(v, self.criterion) for v in self.visits],
            "death_date": None if self.death_date is None else self.death_date.isoformat(),
            "off_study_date": None if self.off_study_date is None else self.off_study_date.isoformat(),
        }

    @property
    def non_target_only(self) -> bool:
        """RECIST disease with non-target lesions only at baseline (Eisenhauer 2009 Table 2 applies)."""
        return self.baseline is not None and self.baseline.volume_ml is None and not self.baseline.target_sum_mm


@functools.lru_cache(maxsize=8192)
def _iso_date(text: str) -> dt.date | None:
    """The date ``YYYY-MM-DD`` between 1900 and 2199 that ``text`` writes, else None (cached: a request
    repeats its dates)."""
    day = parse_iso_date(text)
    return day if day is not None and EARLIEST <= day <= LATEST else None


def parse_date(check: Checker, where: str, value: Any, what: str) -> dt.date | None:
    """An ISO calendar date ``YYYY-MM-DD`` between 1900 and 2199; ``what`` starts the reason."""
    day = _iso_date(value) if isinstance(value, str) else None
    if day is None:
        check.add(where, f"{what} must be a date YYYY-MM-DD between {EARLIEST} and {LATEST} (got {value!r})")
    return day


def date_of_study_day(start: dt.date, day: int) -> dt.date:
    """The calendar date of CDISC study day ``day`` (day 1 = ``start``, day −1 the day before, no day 0)."""
    return start + dt.timedelta(days=day - 1 if day > 0 else day)


def _when(check: Checker, where: str, item: Mapping[str, Any], start: dt.date | None, what: str) -> dt.date | None:
    """The date of a baseline or visit given as exactly one of ``date`` and ``day``."""
    if ("date" in item) == ("day" in item):
        check.add(f"{where}/date", f"{what}: give exactly one of date and day (study day, day 1 = treatment start)")
        return None
    if "date" in item:
        return parse_date(check, f"{where}/date", item["date"], what)
    day = item["day"]
    if not is_integer(day) or day == 0 or abs(day) > MAX_STUDY_DAY:
        check.add(f"{where}/day", f"{what}: day must be a non-zero whole number in [−{MAX_STUDY_DAY}, {MAX_STUDY_DAY}] "
                  f"(CDISC study day: day 1 = treatment start, day −1 the day before, no day 0; got {day!r})")
        return None
    if start is None:
        return None
    on = date_of_study_day(start, int(day))  # |day| ≤ MAX_STUDY_DAY: within Python's dates from 1900–2199
    if not EARLIEST <= on <= LATEST:
        check.add(f"{where}/day", f"{what}: day {day} is {on}, but dates must be between {EARLIEST} and {LATEST}")
        return None
    return on


def _size(check: Checker, where: str, value: Any, what: str) -> float | None:
    """A size in [0, MAX_SIZE], normalised as ``designs.adam.readers.normal_value`` does (an int when
    integral), so that 70 and 70.0 give one document (and one hash) and one result."""
    if value is None:
        return None
    if not is_number(value) or not 0 <= value <= MAX_SIZE:
        check.add(where, f"{what} must be a number in [0, {MAX_SIZE:,.0f}] (got {value!r})")
        return None
    return normal_value(value if isinstance(value, int) else float(value))


def _flag(check: Checker, where: str, value: Any, what: str, default: bool | None) -> bool | None:
    if value is None:
        return default
    if not isinstance(value, bool):
        check.add(where, f"{what} must be true or false (got {value!r})")
        return default
    return value


@dataclass(frozen=True)
class _Context:
    """What the checks of one patient share."""

    check: Checker
    where: str
    label: str
    spec: DerivationSpec
    start: dt.date | None
    as_of: dt.date | None
    off_study: dt.date | None = None

    @functools.cached_property
    def last(self) -> dt.date:
        """The latest date a visit may have: the cut-off and the off-study date, the earlier."""
        return min(day for day in (self.as_of, self.off_study, LATEST) if day is not None)


def _baseline(ctx: _Context, body: Any) -> tuple[Assessment | None, bool]:
    where, check, criterion = f"{ctx.where}/baseline", ctx.check, ctx.spec.criterion
    body = check.mapping(where, body)
    check.unknown(f"{where}/", body, _BASELINE_FIELDS, "a baseline")
    for name in _OTHER_CRITERION[criterion]:
        if name in body:
            check.add(f"{where}/{name}", f"{ctx.label}: {name} is not a {criterion} measurement "
                      f"({_SIZE[criterion]} is)")
    on = _when(check, where, body, ctx.start, f"{ctx.label}: baseline")
    if on is not None and ctx.start is not None and on > ctx.start:
        check.add(f"{where}/{'date' if 'date' in body else 'day'}",
                  f"{ctx.label}: baseline on {on} is after treatment start {ctx.start}")
    non_target = bool(_flag(check, f"{where}/non_target", body.get("non_target"),
                            f"{ctx.label}: baseline non_target", False))
    size_name = _SIZE[criterion]
    raw = body.get(size_name)
    size = _size(check, f"{where}/{size_name}", raw, f"{ctx.label}: baseline {size_name}")
    absent = raw is None or size == 0  # an invalid value is reported by _size
    if criterion == "reins" and absent:
        check.add(f"{where}/volume_ml", f"{ctx.label}: REiNS needs a baseline volume_ml above 0 (got {raw!r})")
    elif criterion == "recist1.1" and absent and not non_target:
        check.add(f"{where}/target_sum_mm", f"{ctx.label}: the baseline has no target lesions (target_sum_mm "
                  f"{raw!r}) and no non-target lesions (non_target false): nothing to assess")
    if on is None:
        return None, non_target
    if criterion == "recist1.1" and absent:
        size = None  # no target lesions: one form, whether target_sum_mm was 0 or omitted
    return Assessment(on, target_sum_mm=size if criterion == "recist1.1" else None,
                      volume_ml=size if criterion == "reins" else None), non_target


def _overall_visit(ctx: _Context, where: str, body: Mapping[str, Any], on: dt.date | None,
                   what: str) -> Assessment | None:
    measured = [name for name in _MEASUREMENTS if body.get(name) is not None]
    if measured:
        ctx.check.add(f"{where}/overall", f"{what}: give either overall or measurements, not both "
                      f"(also given: {', '.join(measured)})")
    overall = ctx.check.choice(f"{where}/overall", body["overall"], OVERALL)
    return None if on is None or overall is None or measured else Assessment(on, overall=overall)


def _measured_visit(ctx: _Context, where: str, body: Mapping[str, Any], on: dt.date | None, what: str,
                    baseline: Assessment | None, baseline_non_target: bool) -> Assessment | None:
    check, criterion = ctx.check, ctx.spec.criterion
    before = len(check.problems)
    for name in _OTHER_CRITERION[criterion]:
        if name in body:
            check.add(f"{where}/{name}", f"{what}: {name} is not a {criterion} measurement ({_SIZE[criterion]} is)")
    size_name = _SIZE[criterion]
    size = _size(check, f"{where}/{size_name}", body.get(size_name), f"{what}: {size_name}")
    if size is not None and baseline is not None and not getattr(baseline, size_name):
        check.add(f"{where}/{size_name}", f"{what}: {size_name} given, but the baseline has no target lesions "
                  "(a lesion that appears later is a new lesion)")
    target_cr = _flag(check, f"{where}/target_cr", body.get("target_cr"), f"{what}: target_cr", None)
    if criterion == "recist1.1":
        target_cr = _target_cr(check, f"{where}/target_cr", size, target_cr, what)
    non_target = body.get("non_target")
    if non_target is not None:
        non_target = check.choice(f"{where}/non_target", non_target, NON_TARGET)
        if non_target is not None and baseline is not None and not baseline_non_target:
            check.add(f"{where}/non_target", f"{what}: non_target {non_target!r} given, but the baseline records no "
                      "non-target lesions (baseline non_target false; a lesion that appears later is a new lesion)")
    elif baseline_non_target:
        non_target = "NE"  # the baseline's non-target lesions, not assessed
    new = bool(_flag(check, f"{where}/new_lesions", body.get("new_lesions"), f"{what}: new_lesions", False))
    if on is None or len(check.problems) > before:
        return None
    return Assessment(on, target_sum_mm=size if criterion == "recist1.1" else None, target_cr=target_cr,
                      volume_ml=size if criterion == "reins" else None, non_target=non_target, new_lesions=new)


def _target_cr(check: Checker, where: str, size: float | None, target_cr: bool | None, what: str) -> bool | None:
    """RECIST ``target_cr``: default sum == 0; true needs a measured sum; false contradicts a sum of 0."""
    if size is None:
        if target_cr:
            check.add(where, f"{what}: target_cr true needs target_sum_mm (the sum of the targets, nodes included)")
        return None
    if target_cr is None:
        return size == 0
    if not target_cr and size == 0:
        check.add(where, f"{what}: target_cr false with target_sum_mm 0 (every target gone is a complete response)")
    return target_cr


def _quick_visit(ctx: _Context, item: Any, previous: dt.date | None, baseline: Assessment | None,
                 baseline_non_target: bool) -> Assessment | None:
    """The visit ``item`` when it passes every check of ``_when``, ``_order``, ``_overall_visit`` and
    ``_measured_visit`` at a glance (a date, sizes already normal, ...); None sends it to those, which
    name its problems. Only a speed-up: a visit it takes, they take alike (``test_quick_visit...``)."""
    if type(item) is not dict or not _VISIT_KEYS.issuperset(item) or "day" in item:
        return None
    get = item.get
    text = get("date")
    on = _iso_date(text) if type(text) is str else None
    start = ctx.start  # visits are after the treatment start and the visit before, on or before ctx.last
    if on is None or start is None or on <= start or (previous is not None and on <= previous) or on > ctx.last:
        return None
    overall = get("overall")
    if overall is not None:
        if type(overall) is not str or overall not in OVERALL or any(get(name) is not None for name in _MEASUREMENTS):
            return None
        return Assessment(on, overall=overall)
    criterion = ctx.spec.criterion
    size_name = _SIZE[criterion]
    size, target_cr, non_target, new = get(size_name), get("target_cr"), get("non_target"), get("new_lesions")
    kind = type(size)  # a size _size takes: None, or an int or float in [0, MAX_SIZE] (NaN fails the bounds)
    if (not (size is None or (kind is int or kind is float) and 0 <= size <= MAX_SIZE)
            or not _OTHER_KEYS[criterion].isdisjoint(item)
            or (size is not None and baseline is not None and not getattr(baseline, size_name))
            or (target_cr is not None and type(target_cr) is not bool) or (new is not None and type(new) is not bool)
            or (non_target is not None and (type(non_target) is not str or non_target not in NON_TARGET
                                            or (baseline is not None and not baseline_non_target)))):
        return None
    if kind is float and size.is_integer():
        size = normal_value(size)
    if non_target is None and baseline_non_target:
        non_target = "NE"
    if criterion == "recist1.1":
        if size is None and target_cr or target_cr is False and size == 0:
            return None
        target_cr = None if size is None else (size == 0 if target_cr is None else target_cr)
        return Assessment.checked(on, size, target_cr, None, non_target, bool(new))
    return Assessment.checked(on, None, target_cr, size, non_target, bool(new))


def _visits(ctx: _Context, body: Any, baseline: Assessment | None, baseline_non_target: bool,
            ) -> tuple[list[Assessment], list[int], dt.date | None]:
    """The checked visits, the indexes of those given as measurements, and the latest visit date read."""
    check, where = ctx.check, f"{ctx.where}/visits"
    if body is None or not check.size(where, body, 0, MAX_VISITS, "visits"):
        return [], [], None
    visits, measured, previous = [], [], None
    for j, item in enumerate(body):
        visit = _quick_visit(ctx, item, previous, baseline, baseline_non_target)
        if visit is not None:
            on, is_measured = visit.on, visit.overall is None
        else:
            visit, on, is_measured = _checked_visit(ctx, j, item, previous, baseline, baseline_non_target)
        if is_measured:
            measured.append(j)
        if on is not None:
            previous = max(on, previous or on)
        if visit is not None:
            visits.append(visit)
    return visits, measured, previous


def _checked_visit(ctx: _Context, j: int, item: Any, previous: dt.date | None, baseline: Assessment | None,
                   baseline_non_target: bool) -> tuple[Assessment | None, dt.date | None, bool]:
    """Visit ``j`` with every problem named: the visit (None when it has one), its date, whether it gives
    measurements."""
    check, at = ctx.check, f"{ctx.where}/visits/{j}"
    item = check.mapping(at, item)
    if not _VISIT_KEYS.issuperset(item):
        check.unknown(f"{at}/", item, _VISIT_FIELDS, "a visit")
    on = _when(check, at, item, ctx.start, f"{ctx.label}: visit {j}")
    what = f"{ctx.label}: visit {j}" + (f" on {on}" if on else "")
    if on is not None:
        _order(ctx, f"{at}/{'date' if 'date' in item else 'day'}", on, previous, what)
    if item.get("overall") is not None:
        return _overall_visit(ctx, at, item, on, what), on, False
    return _measured_visit(ctx, at, item, on, what, baseline, baseline_non_target), on, True


def _order(ctx: _Context, where: str, on: dt.date, previous: dt.date | None, what: str) -> None:
    if ctx.start is not None and on <= ctx.start:
        ctx.check.add(where, f"{what} is {'on' if on == ctx.start else 'before'} treatment start {ctx.start} "
                      "(visits are after it; the baseline is on or before it)")
    if previous is not None and on <= previous:
        ctx.check.add(where, f"{what} is {'on the same date as' if on == previous else 'before'} the visit before "
                      f"it ({previous}); visits are listed in date order, one per date")
    if ctx.as_of is not None and on > ctx.as_of:
        ctx.check.add(where, f"{what} is after the cut-off {ctx.as_of} (as_of)")
    if ctx.off_study is not None and on > ctx.off_study:
        ctx.check.add(where, f"{what} is after the off-study date {ctx.off_study} (follow-up ends there)")


def _event_date(ctx: _Context, body: Mapping[str, Any], name: str, what: str,
                last_visit: dt.date | None) -> dt.date | None:
    value = body.get(name)
    if value is None:
        return None
    where = f"{ctx.where}/{name}"
    on = parse_date(ctx.check, where, value, f"{ctx.label}: {what}")
    if on is None:
        return None
    if ctx.start is not None and on < ctx.start:
        ctx.check.add(where, f"{ctx.label}: {what} {on} is before treatment start {ctx.start}")
    if ctx.as_of is not None and on > ctx.as_of:
        ctx.check.add(where, f"{ctx.label}: {what} {on} is after the cut-off {ctx.as_of} (as_of)")
    if name == "death_date" and last_visit is not None and on < last_visit:
        ctx.check.add(where, f"{ctx.label}: death on {on} is before the visit on {last_visit}")
    return on


def parse_assessments(check: Checker, where: str, body: Any, spec: DerivationSpec, *,
                      label: str, as_of: dt.date | None) -> PatientAssessments | None:
    """The checked assessments of one patient, or None with every problem added to ``check``
    (locations ``f"{where}/visits/{j}/date"`` ...; reasons start with ``label``, e.g. "patient 'P-07'")."""
    before = len(check.problems)
    body = check.mapping(where, body)
    check.unknown(f"{where}/", body, _FIELDS, "the assessments")
    start = parse_date(check, f"{where}/treatment_start", body.get("treatment_start"), f"{label}: treatment_start")
    off = _event_date(_Context(check, where, label, spec, start, as_of), body, "off_study_date", "off-study date",
                      None)
    ctx = _Context(check, where, label, spec, start, as_of, off)
    if start is not None and as_of is not None and start > as_of:
        check.add(f"{where}/treatment_start", f"{label}: treatment start {start} is after the cut-off {as_of} (as_of)")
    baseline, baseline_non_target = (None, False) if body.get("baseline") is None else _baseline(ctx, body["baseline"])
    visits, measured, last = _visits(ctx, body.get("visits"), baseline, baseline_non_target)
    if body.get("baseline") is None and measured:
        check.add(f"{where}/baseline", f"{label}: required, as visits {', '.join(map(str, measured))} give "
                  "measurements, which are read against the baseline (only visits that all give overall need none)")
    death = _event_date(ctx, body, "death_date", "death", last)
    if len(check.problems) > before or start is None:
        return None
    return PatientAssessments(start, baseline, baseline_non_target, tuple(visits), death, off, spec.criterion)


def _visit_document(visit: Assessment, criterion: str) -> dict[str, Any]:
    if visit.overall is not None:
        return {"date": visit.on.isoformat(), "overall": visit.overall}
    size_name = _SIZE[criterion]
    document: dict[str, Any] = {"date": visit.on.isoformat(), size_name: getattr(visit, size_name)}
    if criterion == "recist1.1":
        document["target_cr"] = visit.target_cr
    return {**document, "non_target": visit.non_target, "new_lesions": visit.new_lesions}
