"""Reasons a data-monitoring committee member reads: each states the numbers and the rule, so that it can
be checked against the visits (why a response is unconfirmed, an NE between, PD's 5 mm, the nadir, death);
sizes in results written the normalised way."""

from __future__ import annotations

import pytest

from tests.endpoints.support import START, derive_one, on, overall, recist, reins, visit, volume

BASE = {"treatment_start": START.isoformat()}


def history(*visits, **settings):
    return derive_one({**BASE, "visits": list(visits)}, **settings)


def test_reins_an_unconfirmed_pr_says_the_gap_and_the_3_to_6_month_window_dombi_2013():
    result = history(overall(56, "PR"), overall(112, "PR"), criterion="reins")
    assert (f"not confirmed: PR on {on(56)} (day 56): PR on {on(112)} (day 112) only 56 days later "
            "(91..183 days needed); " f"PR on {on(112)} (day 112): no later CR or PR") in result.reason


def test_an_unconfirmed_pr_beyond_the_window_says_how_late():
    result = history(overall(56, "PR"), overall(250, "PR"), criterion="reins")
    assert f"PR on {on(250)} (day 250) 194 days later (91..183 days needed)" in result.reason


def test_an_sd_between_a_pr_and_its_confirmation_is_named_admiral_confirmed_bor():
    result = history(overall(56, "PR"), overall(84, "SD"), overall(112, "PR"))
    assert f"PR on {on(56)} (day 56): SD on {on(84)} (day 84) between" in result.reason


def test_too_many_ne_between_are_counted_against_the_limit():
    result = history(overall(56, "PR"), overall(70, "NE"), overall(84, "NE"), overall(112, "PR"))
    assert f"PR on {on(56)} (day 56): with 2 NE between, at most 1 allowed (up to NE on {on(84)}" in result.reason


def test_a_confirmation_across_an_ne_mentions_it():
    result = history(overall(56, "PR"), overall(70, "NE"), overall(112, "PR"))
    assert (result.best_response, result.confirmed) == ("PR", True)
    assert "56 days later (28..∞ days needed; with 1 NE between, at most 1 allowed)" in result.reason
    plain = history(overall(56, "PR"), overall(112, "PR"))
    assert "NE between" not in plain.reason


@pytest.mark.parametrize(("total", "target", "says"), [
    (24, "SD", "+20 % but only +4 mm above the nadir 20 mm: not PD"),
    (25, "PD", "5 mm (+25 %) above the nadir 20 mm"),
    (23.9, "SD", "+3.9 mm (+19.5 %) from the nadir 20 mm (neither PR"),
])
def test_recist_pd_needs_5_mm_as_well_as_20_percent_and_the_reason_says_which_failed(total, target, says):
    result = derive_one(recist(visit(56, 20), visit(84, total), baseline=30)).visits[1]
    assert result["target"] == target and says in result["reason"]


def test_recist_a_pr_visit_shows_the_change_from_the_nadir_too():
    result = derive_one(recist(visit(56, 60), visit(84, 65))).visits[1]
    assert result["target"] == "PR"
    assert "sum 65 mm is −35 % from baseline 100 mm (PR: ≤ −30 %); +5 mm (+8.33 %) from the nadir 60 mm" \
        in result["reason"]


def test_reins_with_the_baseline_as_reference_states_the_change_once():
    reason = derive_one(reins(volume(56, 300), baseline=350)).visits[0]["reason"]
    assert "volume 300 ml: −14.29 % from baseline 350 ml (neither" in reason and reason.count("14.29") == 1


def test_reins_with_the_nadir_as_reference_states_both_changes():
    result = derive_one(reins(volume(56, 300), volume(112, 320), baseline=350), progression_reference="nadir")
    assert "volume 320 ml: −8.57 % from baseline 350 ml, +6.67 % from the nadir 300 ml" in result.visits[1]["reason"]


def test_an_early_death_without_benefit_says_death():
    result = derive_one({**BASE, "visits": [], "death_date": on(22)}, endpoint="clinical_benefit")
    assert result.responder == "not-evaluable"
    assert "before death on day 22" in result.reason and "progression" not in result.reason


@pytest.mark.parametrize(("total", "baseline"), [(70, 100), (70.0, 100.0), (45, 50.0)])
def test_sizes_in_results_are_written_the_normalised_way(total, baseline):
    result = derive_one(recist(visit(56, total), visit(84, 80), baseline=baseline)).visits
    assert type(result[0]["reference"]) is int and type(result[0]["measure"]) is int
    assert result[1]["reference"] == result[0]["measure"] and type(result[1]["reference"]) is int
