"""REiNS volumetric response (Dombi et al. 2013): ±20 % on both sides, the progression reference, the 3–6
month confirmation window."""

from __future__ import annotations

import pytest

from tests.endpoints.support import derive_one, reins, responses, spec_of, volume


@pytest.mark.parametrize(("ml", "expected"), [(80, "PR"), (80.1, "SD"), (0, "CR")])
def test_reins_pr_needs_20_percent_volume_decrease_dombi_2013(ml, expected):
    assert responses(derive_one(reins(volume(56, ml)))) == [expected]


@pytest.mark.parametrize(("ml", "expected"), [(120, "PD"), (119.9, "SD")])
def test_reins_pd_needs_20_percent_volume_increase_dombi_2013(ml, expected):
    assert responses(derive_one(reins(volume(56, ml)))) == [expected]


@pytest.mark.parametrize(("reference", "expected"), [("baseline", "PR"), ("nadir", "PD")])
def test_reins_progression_from_baseline_by_default_or_from_the_nadir(reference, expected):
    """Baseline 100 ml, then 50 ml, then 60 ml: 40 % below baseline, 20 % above the nadir."""
    result = derive_one(reins(volume(91, 50), volume(182, 60)), progression_reference=reference)
    assert responses(result)[1] == expected
    assert result.visits[1]["reference"] == (100 if reference == "baseline" else 50)


def test_reins_a_nadir_of_0_ml_makes_any_regrowth_progression_but_not_0_again():
    result = derive_one(reins(volume(91, 0), volume(182, 0), volume(273, 1)), progression_reference="nadir")
    assert responses(result) == ["CR", "CR", "PD"]


def test_reins_a_new_lesion_is_progression_whatever_the_volume():
    assert responses(derive_one(reins(volume(56, 50, new_lesions=True)))) == ["PD"]
    assert responses(derive_one(reins(volume(56, None)))) == ["NE"]


@pytest.mark.parametrize(("gap", "confirmed"), [(90, False), (91, True), (183, True), (184, False)])
def test_reins_confirmation_3_to_6_months_later_dombi_2013(gap, confirmed):
    result = derive_one(reins(volume(91, 70), volume(91 + gap, 70)))
    assert (result.best_response, result.objective_response) == (("PR", True) if confirmed else ("SD", False))


def test_reins_defaults_are_3_and_6_months_and_progression_from_baseline():
    spec = spec_of("reins")
    assert (spec.confirm_min_days, spec.confirm_max_days, spec.progression_reference) == (91, 183, "baseline")
    assert spec.document["progression_reference"] == "baseline"


def test_reins_any_volume_after_a_volume_cr_is_pd_dombi_2013():
    """After a documented CR (volume 0), any volume above 0 is PD, also against the baseline reference."""
    result = derive_one(reins(volume(56, 0), volume(150, 0), volume(240, 1)))
    assert responses(result) == ["CR", "CR", "PD"]
    assert "after the complete response on" in result.visits[2]["reason"]
