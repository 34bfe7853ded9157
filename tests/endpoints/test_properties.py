"""Properties of the derivation over generated visit histories (Hypothesis)."""

from __future__ import annotations

import datetime as dt

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
    window = data.draw(st.one_of(st.none(), st.integers(min_value=30, max_value=400)))
    settings_ = {} if window is None else {"response_window_days": window}
    last = days[-1] if days else 0
    body = {"treatment_start": START.isoformat(), "visits": history}
    first = derive_one(body, as_of=on(last + wait), **settings_)
    later = derive_one(body, as_of=on(last + wait + more), **settings_)
    if first.status == "final":
        assert outcome(later) == outcome(first)
