"""Best overall response with confirmation (admiral ``derive_param_confirmed_bor`` rules), stable disease and
clinical benefit at their day thresholds on both sides."""

from __future__ import annotations

import pytest

from tests.endpoints.support import derive_one, overall, recist, visit


def bor(*visits, **settings):
    result = derive_one({"treatment_start": "2024-01-10", "visits": list(visits)}, **settings)
    return result.best_response, result.confirmed


@pytest.mark.parametrize(("gap", "expected"), [(27, ("SD", None)), (28, ("PR", True))])
def test_recist_confirmation_at_least_28_days_later_eisenhauer_2009(gap, expected):
    assert bor(overall(56, "PR"), overall(56 + gap, "PR")) == expected


@pytest.mark.parametrize(("between", "max_ne", "expected"), [
    (["NE"], None, ("PR", True)),
    (["NE", "NE"], None, ("SD", None)),
    (["NE", "NE"], 2, ("PR", True)),
    ([], 0, ("PR", True)),
    (["NE"], 0, ("SD", None)),
])
def test_admiral_confirmed_bor_at_most_max_nr_ne_ne_between_response_and_confirmation(between, max_ne, expected):
    visits = [overall(56, "PR")] + [overall(60 + 2 * k, r) for k, r in enumerate(between)] + [overall(120, "PR")]
    settings = {} if max_ne is None else {"max_ne_between": max_ne}
    assert bor(*visits, **settings) == expected


def test_admiral_confirmed_bor_an_sd_between_a_pr_and_its_confirmation_breaks_it():
    assert bor(overall(56, "PR"), overall(84, "SD"), overall(112, "PR")) == ("SD", None)


def test_admiral_confirmed_bor_cr_then_pr_confirms_a_pr():
    assert bor(overall(56, "CR"), overall(84, "PR")) == ("PR", True)


def test_admiral_confirmed_bor_pr_then_cr_confirms_a_pr_and_cr_then_cr_a_cr():
    assert bor(overall(56, "PR"), overall(84, "CR")) == ("PR", True)
    assert bor(overall(56, "PR"), overall(84, "CR"), overall(112, "CR")) == ("CR", True)


def test_admiral_confirmed_bor_a_pr_between_two_crs_confirms_only_a_pr():
    """A CR is confirmed by a later CR with only CR or NE in between; CR, PR, CR is a confirmed PR."""
    assert bor(overall(56, "CR"), overall(70, "PR"), overall(112, "CR")) == ("PR", True)
    assert bor(overall(56, "CR"), overall(70, "NE"), overall(112, "CR")) == ("CR", True)


def test_confirm_max_days_closes_the_window():
    assert bor(overall(56, "PR"), overall(120, "PR"), confirm_max_days=64) == ("PR", True)
    assert bor(overall(56, "PR"), overall(121, "PR"), confirm_max_days=64) == ("SD", None)


@pytest.mark.parametrize(("day", "expected"), [(41, "NE"), (42, "SD")])
def test_recist_sd_needs_an_assessment_at_least_42_days_after_start_eisenhauer_2009(day, expected):
    assert bor(overall(day, "SD")) == (expected, None)


def test_sd_before_42_days_then_pd_is_pd():
    assert bor(overall(41, "SD"), overall(84, "PD")) == ("PD", None)


def test_an_unconfirmed_pr_at_42_days_counts_as_sd():
    assert bor(overall(42, "PR"), overall(84, "SD")) == ("SD", None)


def test_sd_min_days_is_a_setting():
    assert bor(overall(41, "SD"), sd_min_days=41) == ("SD", None)


@pytest.mark.parametrize(("day", "benefit"), [(111, False), (112, True)])
def test_clinical_benefit_needs_sd_or_better_at_112_days_sarc031(day, benefit):
    result = derive_one({"treatment_start": "2024-01-10", "visits": [overall(56, "SD"), overall(day, "SD")]},
                        endpoint="clinical_benefit")
    assert result.clinical_benefit is benefit
    assert result.responder == ("responder" if benefit else None)


def test_clinical_benefit_counts_a_confirmed_response_before_112_days():
    result = derive_one({"treatment_start": "2024-01-10", "visits": [overall(28, "PR"), overall(56, "PR")]},
                        endpoint="clinical_benefit")
    assert (result.clinical_benefit, result.responder) == (True, "responder")


def test_non_target_only_sd_or_better_is_non_cr_non_pd():
    assert bor(overall(56, "NON-CR/NON-PD")) == ("NON-CR/NON-PD", None)
    assert bor(overall(56, "NON-CR/NON-PD"), overall(84, "SD")) == ("SD", None)  # SD ranks above NON-CR/NON-PD


def test_without_confirmation_any_cr_then_any_pr_is_the_best():
    assert bor(overall(56, "PR"), confirmation=False) == ("PR", False)
    assert bor(overall(56, "PR"), overall(84, "CR"), confirmation=False) == ("CR", False)
    result = derive_one({"treatment_start": "2024-01-10", "visits": [overall(56, "PR")]}, confirmation=False)
    assert (result.objective_response, result.responder) == (True, "responder")


def test_ne_and_missing():
    assert bor(overall(56, "NE")) == ("NE", None)
    assert bor() == ("MISSING", None)


def test_visits_after_the_first_pd_are_not_used():
    result = derive_one(recist(visit(42, 90), visit(84, 120), visit(112, 0), visit(140, 0)))
    assert [v["used"] for v in result.visits] == [True, True, False, False]
    assert "after the progression on" in result.visits[2]["reason"]
    assert (result.best_response, result.pfs["kind"]) == ("SD", "progression")


def test_visits_after_the_response_window_are_not_used_for_the_best_response():
    visits = [overall(56, "PR"), overall(84, "PR")]
    assert bor(*visits, response_window_days=84) == ("PR", True)
    assert bor(*visits, response_window_days=83) == ("SD", None)


def test_the_best_response_reason_names_both_visits():
    result = derive_one({"treatment_start": "2024-01-10", "visits": [overall(56, "PR"), overall(84, "PR")]})
    assert "PR on 2024-03-06 (day 56) confirmed by PR on 2024-04-03 (day 84), 28 days later" in result.reason
