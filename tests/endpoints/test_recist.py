"""RECIST 1.1 per-visit response (Eisenhauer et al. 2009, §4.3, Tables 1 and 2), at every threshold on both sides."""

from __future__ import annotations

import pytest

from designs.endpoints.recist import overall_non_target_only, overall_with_targets
from tests.endpoints.support import derive_one, recist, responses, visit


def first_response(total, baseline=100, **fields):
    return derive_one(recist(visit(56, total, **fields), baseline=baseline)).visits[0]


@pytest.mark.parametrize(("total", "expected"), [(70, "PR"), (70.0, "PR"), (70.1, "SD"), (69.9, "PR")])
def test_recist_pr_needs_30_percent_decrease_eisenhauer_2009(total, expected):
    assert first_response(total)["response"] == expected


def test_recist_thresholds_compare_the_numbers_as_written_not_binary_floats():
    """33.3 × 0.7 is 23.309999999999995 in binary floating point: 23.31 mm is exactly 30 % below 33.3 mm
    (PR); 30.12 mm is exactly 20 % above 25.1 mm, which (30.12 − 25.1) ≥ 0.2 × 25.1 denies in floats (PD)."""
    assert first_response(23.31, baseline=33.3)["response"] == "PR"
    assert first_response(23.32, baseline=33.3)["response"] == "SD"
    assert first_response(30.12, baseline=25.1)["response"] == "PD"
    assert first_response(30.11, baseline=25.1)["response"] == "SD"


@pytest.mark.parametrize(("total", "expected"), [(120, "PD"), (119.9, "SD")])
def test_recist_pd_needs_20_percent_increase_from_the_nadir_eisenhauer_2009(total, expected):
    result = first_response(total)
    assert result["response"] == expected and result["reference"] == 100


@pytest.mark.parametrize(("total", "expected"), [(25, "PD"), (24.9, "SD")])
def test_recist_pd_needs_5_mm_absolute_increase_as_well_eisenhauer_2009(total, expected):
    """20 → 24.9 mm is +24.5 % (≥ 20 %) but 4.9 mm: not PD; 25 mm is +25 % and 5 mm: PD."""
    assert first_response(total, baseline=20)["response"] == expected


@pytest.mark.parametrize(("second", "expected"), [(60, "PD"), (59.9, "PR")])
def test_recist_a_nadir_below_baseline_decides_progression_eisenhauer_2009(second, expected):
    """Baseline 100, then 50 (the nadir): 60 mm is 40 % below baseline yet 20 % and 10 mm above the nadir."""
    result = derive_one(recist(visit(56, 50), visit(112, second)))
    assert responses(result) == ["PR", expected]
    assert result.visits[1]["reference"] == 50
    assert result.visits[1]["change_from_baseline"] == pytest.approx(second / 100 - 1)


def test_recist_a_new_lesion_at_a_pr_visit_is_pd_eisenhauer_2009_table_1():
    result = first_response(50, new_lesions=True)
    assert (result["target"], result["response"]) == ("PR", "PD")


def test_recist_non_target_progression_with_shrinking_targets_is_pd_eisenhauer_2009_table_1():
    result = derive_one(recist(visit(56, 50, non_target="PD"), non_target=True)).visits[0]
    assert (result["target"], result["non_target"], result["response"]) == ("PR", "PD", "PD")


@pytest.mark.parametrize(("target", "non_target", "new", "expected"), [
    ("CR", "CR", False, "CR"),
    ("CR", None, False, "CR"),               # no non-target lesions at baseline
    ("CR", "non-CR/non-PD", False, "PR"),
    ("CR", "NE", False, "PR"),
    ("PR", "non-CR/non-PD", False, "PR"),
    ("PR", "NE", False, "PR"),
    ("SD", "non-CR/non-PD", False, "SD"),
    ("SD", "NE", False, "SD"),
    ("NE", "non-CR/non-PD", False, "NE"),
    ("PD", "non-CR/non-PD", False, "PD"),
    ("SD", "PD", False, "PD"),
    ("CR", "CR", True, "PD"),
    ("NE", "NE", True, "PD"),
])
def test_recist_overall_response_eisenhauer_2009_table_1(target, non_target, new, expected):
    assert overall_with_targets(target, non_target, new) == expected


@pytest.mark.parametrize(("non_target", "new", "expected"), [
    ("CR", False, "CR"), ("non-CR/non-PD", False, "NON-CR/NON-PD"), ("NE", False, "NE"), ("PD", False, "PD"),
    ("CR", True, "PD"), ("non-CR/non-PD", True, "PD"),
])
def test_recist_non_target_disease_only_eisenhauer_2009_table_2(non_target, new, expected):
    assert overall_non_target_only(non_target, new) == expected


def test_recist_non_target_disease_only_end_to_end_eisenhauer_2009_table_2():
    """No target lesions (baseline sum null): visits read by Table 2; an unassessed visit is NE."""
    result = derive_one(recist(visit(42, non_target="non-CR/non-PD"), visit(84), baseline=None, non_target=True))
    assert responses(result) == ["NON-CR/NON-PD", "NE"]
    assert result.best_response == "NON-CR/NON-PD" and result.visits[0]["target"] is None


def test_recist_non_target_only_confirmed_cr():
    result = derive_one(recist(visit(56, non_target="CR"), visit(84, non_target="CR"), baseline=0, non_target=True))
    assert (result.best_response, result.confirmed) == ("CR", True)


def test_recist_target_cr_with_lymph_nodes_below_10_mm_has_a_sum_above_0_eisenhauer_2009():
    """Nodes count by short axis and need only shrink below 10 mm: a sum of 8 mm may be a target CR."""
    assert first_response(8, target_cr=True)["target"] == "CR"
    assert first_response(8)["target"] == "PR"  # target_cr defaults to sum == 0
    assert first_response(0)["target"] == "CR"


def test_recist_an_unmeasured_target_sum_is_ne():
    result = derive_one(recist(visit(56, None, non_target="non-CR/non-PD"), non_target=True)).visits[0]
    assert (result["target"], result["response"], result["measure"]) == ("NE", "NE", None)


def test_recist_visit_reasons_quote_the_numbers():
    result = first_response(68)
    assert "68 mm" in result["reason"] and "−32 %" in result["reason"] and "Table 1" in result["reason"]
    assert result["change_from_baseline"] == pytest.approx(-0.32)


def test_recist_target_cr_with_nodes_below_10_mm_stays_cr_when_they_grow_eortc_faq_abnormal_lymph_node():
    """Nodes < 10 mm short axis are normal: with target_cr true the targets are CR whatever their sum
    (10 → 18 mm is +80 % and +8 mm, but no sum-based PD while target_cr is true)."""
    result = derive_one(recist(visit(56, 10, target_cr=True), visit(89, 18, target_cr=True)))
    assert responses(result) == ["CR", "CR"]
    assert result.best_response == "CR"


def test_recist_nodes_growing_with_target_cr_false_are_pd_from_the_nadir():
    result = derive_one(recist(visit(56, 10, target_cr=True), visit(89, 18, target_cr=False)))
    assert responses(result) == ["CR", "PD"]


@pytest.mark.parametrize("total", [4, 0.1])
def test_recist_reappearance_after_a_documented_cr_is_pd_eortc_faq_new_lesion(total):
    """Once CR has been documented, any reappearance of disease is PD (even 4 mm: below the 5 mm rule)."""
    result = derive_one(recist(visit(56, 0), visit(89, 0), visit(129, total)))
    assert responses(result) == ["CR", "CR", "PD"]
    assert "after the complete response on" in result.visits[2]["reason"]
    assert (result.pfs["kind"], result.pfs["time_days"]) == ("progression", 129)


def test_recist_non_target_no_longer_cr_after_a_documented_cr_is_pd_eortc_faq_new_lesion():
    result = derive_one(recist(visit(56, 0, non_target="CR"), visit(89, 0, non_target="non-CR/non-PD"),
                               non_target=True))
    assert responses(result) == ["CR", "PD"]
    assert "after the complete response on" in result.visits[1]["reason"]


def test_recist_without_a_documented_cr_a_small_increase_from_a_zero_nadir_is_not_pd():
    """Target CR but overall PR (non-target non-CR/non-PD): no CR documented, the 5 mm rule applies."""
    result = derive_one(recist(visit(56, 0, non_target="non-CR/non-PD"), visit(89, 4, non_target="non-CR/non-PD"),
                               non_target=True))
    assert responses(result) == ["PR", "PR"]
