"""Properties of the derivation over generated visit histories (Hypothesis)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from designs.endpoints.spec import OVERALL
from tests.endpoints.support import START, derive_one, on, overall

gaps = st.lists(st.integers(min_value=7, max_value=70), min_size=0, max_size=10)
days_of = lambda steps: [sum(steps[: i + 1]) for i in range(len(steps))]  # noqa: E731


def outcome(result):
    return (result.best_response, result.confirmed, result.objective_response, result.clinical_benefit,
            result.responder, result.status, result.pfs)


@settings(max_examples=150, deadline=None)
@given(gaps, st.data())
def test_a_visit_after_a_pd_never_changes_the_best_response_or_pfs(steps, data):
    days = days_of(steps)
    history = [overall(d, data.draw(st.sampled_from(OVERALL))) for d in days]
    if not any(v["overall"] == "PD" for v in history):
        history.append(overall((days[-1] if days else 0) + 28, "PD"))
    last = (dt.date.fromisoformat(history[-1]["date"]) - START).days
    later = overall(last + 30, data.draw(st.sampled_from(OVERALL)))
    base = {"treatment_start": START.isoformat()}
    endpoint = data.draw(st.sampled_from(["objective_response", "clinical_benefit"]))
    before = derive_one({**base, "visits": history}, endpoint=endpoint)
    after = derive_one({**base, "visits": [*history, later]}, endpoint=endpoint)
    assert outcome(after) == outcome(before)
    assert after.visits[-1]["used"] is False


@settings(max_examples=100, deadline=None)
@given(gaps, st.data())
def test_study_days_and_dates_give_identical_results(steps, data):
    days = days_of(steps)
    sums = [data.draw(st.one_of(st.none(), st.integers(min_value=0, max_value=200))) for _ in days]
    by_date = [{"date": on(d), "target_sum_mm": s} for d, s in zip(days, sums)]
    by_day = [{"day": d + 1, "target_sum_mm": s} for d, s in zip(days, sums)]
    base = {"treatment_start": START.isoformat()}
    dated = derive_one({**base, "baseline": {"date": on(-5), "target_sum_mm": 100}, "visits": by_date})
    numbered = derive_one({**base, "baseline": {"day": -5, "target_sum_mm": 100}, "visits": by_day})
    assert dated == numbered


@settings(max_examples=100, deadline=None)
@given(gaps, st.data(), st.integers(min_value=0, max_value=400), st.integers(min_value=1, max_value=400))
def test_a_final_result_never_changes_as_as_of_grows(steps, data, wait, more):
    days = days_of(steps)
    history = [overall(d, data.draw(st.sampled_from(OVERALL))) for d in days]
    window = data.draw(st.one_of(st.none(), st.integers(min_value=42, max_value=400)))
    settings_ = {} if window is None else {"response_window_days": window}
    last = days[-1] if days else 0
    body = {"treatment_start": START.isoformat(), "visits": history}
    first = derive_one(body, as_of=on(last + wait), **settings_)
    later = derive_one(body, as_of=on(last + wait + more), **settings_)
    if first.status == "final":
        assert outcome(later) == outcome(first)


_VALUES = {
    "date": st.sampled_from([on(-1), on(0), on(30), on(60), on(90), "2024-02-30", 20240301, None]),
    "day": st.sampled_from([31, 0, 10**9]),
    "target_sum_mm": st.sampled_from([None, 0, 0.0, 12, 12.0, 12.5, -1, float("nan"), 2e6, True, "12"]),
    "volume_ml": st.sampled_from([None, 0, 3.5, 7]),
    "target_cr": st.sampled_from([None, True, False, 1]),
    "non_target": st.sampled_from([None, "CR", "non-CR/non-PD", "PD", "NE", "cr", 3]),
    "new_lesions": st.sampled_from([None, True, False, 0]),
    "overall": st.sampled_from([None, "PR", "NE", "pr", 2]),
    "colour": st.just("red"),
}


@settings(max_examples=300, deadline=None)
@given(st.data(), st.sampled_from(["recist1.1", "reins"]), st.booleans(), st.booleans(), st.booleans())
def test_quick_visit_takes_a_visit_only_as_the_full_checks_take_it(data, criterion, targets, non_target, previous):
    """``_quick_visit`` (the speed-up) agrees with ``_checked_visit`` (every check named) whenever it
    takes a visit: same assessment, and the full checks find no problem."""
    from designs.core.validation import Checker
    from designs.endpoints.assessments import Assessment, _checked_visit, _Context, _quick_visit
    from tests.endpoints.support import spec_of
    names = data.draw(st.sets(st.sampled_from(sorted(_VALUES)), max_size=3))
    item = {"date": on(data.draw(st.sampled_from([30, 60, 90]))), "target_sum_mm" if criterion == "recist1.1"
            else "volume_ml": data.draw(st.sampled_from([0, 12, 12.5])), **{n: data.draw(_VALUES[n]) for n in names}}
    as_of, off = (dt.date.fromisoformat(data.draw(st.sampled_from([on(60), on(400)]))) for _ in range(2))
    ctx = _Context(Checker(), "a", "patient 'T'", spec_of(criterion), START, as_of, off)
    size = (100 if targets else 0) if criterion == "recist1.1" else 100
    baseline = Assessment(START, **({"target_sum_mm": size} if criterion == "recist1.1" else {"volume_ml": size}))
    before = dt.date.fromisoformat(on(30)) if previous else None
    quick = _quick_visit(ctx, item, before, baseline, non_target)
    full, when, _ = _checked_visit(ctx, 0, item, before, baseline, non_target)
    if quick is not None:
        assert (repr(quick), quick.on, ctx.check.problems) == (repr(full), when, [])


def _written_before(fraction: Decimal) -> str:
    """How ``percent`` wrote a change before its one-format speed-up: ``round(·, 2)`` then ``:g``."""
    number = float(fraction)
    return f"{'−' if number < 0 else '+'}{abs(round(number * 100, 2)):g} %"


@settings(max_examples=500, deadline=None)
@given(st.decimals(min_value=-1, max_value=200, places=17, allow_nan=False, allow_infinity=False))
def test_percent_writes_a_change_as_round_to_two_places_then_g_format(fraction):
    from designs.endpoints.readings import percent

    assert percent(fraction) == _written_before(fraction)


def test_percent_on_both_sides_of_the_ties_and_of_ten_thousand_percent():
    """Ties of the second decimal (0.12345 → 12.345 %, binary either side) and the switch of ``:g`` to six
    significant digits at 10 000 % (99.99995 → 9999.995 %, 100.0005 → 10000.05 %)."""
    from designs.endpoints.readings import percent

    for text in ("0.12345", "-0.12345", "0.00005", "-0.000049", "99.99995", "99.999949", "100.0005", "0", "-1",
                 "1234.56789", "0.3", "-0.3", "0.2"):
        assert percent(Decimal(text)) == _written_before(Decimal(text)), text
    assert percent(Decimal("-0.3")) == "−30 %" and percent(Decimal("100.0005")) == "+10000 %"


sizes_mm = st.one_of(st.integers(min_value=0, max_value=400),
                     st.floats(min_value=0, max_value=400, allow_nan=False).map(lambda x: round(x, 1)),
                     st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_subnormal=True))


@settings(max_examples=400, deadline=None)
@given(sizes_mm, sizes_mm, sizes_mm, st.sampled_from([None, "CR", "non-CR/non-PD", "NE", "PD"]), st.booleans())
def test_the_common_recist_visit_read_in_one_call_is_table_1_of_the_worded_target_response(
        value, baseline_mm, nadir_mm, non_target, new_lesions):
    """``recist.read_sum`` (a sum, no target_cr, no CR before: the derivation's common visit, uncached sizes)
    gives the reading that ``target_response`` of the cached ``measured`` sizes gives through Table 1."""
    from designs.endpoints import recist
    from designs.endpoints.readings import exact, measured, reading

    baseline = exact(baseline_mm)
    nadir = baseline if nadir_mm >= baseline_mm else exact(nadir_mm)  # the nadir is the baseline until below it
    if not baseline:
        return
    sizes = measured(value, baseline, nadir)
    target, why = recist.target_response(sizes, None)
    response = recist.overall_with_targets(target, non_target, new_lesions)
    others = (f"non-target {non_target}" if non_target else "no non-target lesions") + "; " + (
        "new lesion(s)" if new_lesions else "no new lesions")
    expected = reading(response, target, non_target, new_lesions, value, sizes, nadir,
                       f"target {target}: {why}; {others} → {response} (RECIST 1.1 Table 1)")
    recist._sized.cache_clear()
    assert recist.read_sum(value, non_target, new_lesions, baseline, nadir) == (expected, sizes.value)
    assert recist.read_sum(value, non_target, new_lesions, baseline, nadir) == (expected, sizes.value)  # cached
