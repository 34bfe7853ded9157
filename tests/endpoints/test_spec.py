"""The derivation settings: defaults per criterion (with their sources), refusals, the normalised document."""

from __future__ import annotations

import pytest

from designs.core.errors import InvalidInputError
from designs.core.validation import Checker
from designs.endpoints.spec import DerivationSpec


def test_recist_defaults_eisenhauer_2009_and_sarc031():
    spec = DerivationSpec.from_mapping({"criterion": "recist1.1", "endpoint": "objective_response"})
    assert spec.document == {"criterion": "recist1.1", "endpoint": "objective_response", "confirmation": True,
                             "confirm_min_days": 28, "confirm_max_days": None, "max_ne_between": 1, "sd_min_days": 42,
                             "benefit_min_days": 112, "response_window_days": None}
    assert "progression_reference" not in spec.defaults and "confirm_min_days" in spec.defaults
    assert spec.progression_reference == "nadir"


def test_given_fields_are_not_listed_as_defaults_and_null_takes_the_default():
    """null is absent (as a merge patch's null): REiNS's 6-month confirmation limit stays, listed as filled in."""
    spec = DerivationSpec.from_mapping({"criterion": "reins", "endpoint": "clinical_benefit", "confirm_max_days": None,
                                        "progression_reference": "nadir"})
    assert spec.confirm_max_days == 183 and spec.progression_reference == "nadir"
    assert "confirm_max_days" in spec.defaults and "progression_reference" not in spec.defaults
    assert "confirm_min_days" in spec.defaults


@pytest.mark.parametrize(("body", "where"), [
    ({"endpoint": "objective_response"}, "criterion"),
    ({"criterion": "recist1.1"}, "endpoint"),
    ({"criterion": "recist1.1", "endpoint": "objective_response", "progression_reference": "baseline"},
     "progression_reference"),
    ({"criterion": "reins", "endpoint": "objective_response", "confirm_max_days": 60}, "confirm_max_days"),
    ({"criterion": "recist1.1", "endpoint": "objective_response", "confirmation": "yes"}, "confirmation"),
    ({"criterion": "recist1.1", "endpoint": "objective_response", "max_ne_between": 1.5}, "max_ne_between"),
    ({"criterion": "recist1.1", "endpoint": "objective_response", "thresholds": 0.3}, "thresholds"),
])
def test_bad_settings_are_named(body, where):
    with pytest.raises(InvalidInputError) as error:
        DerivationSpec.from_mapping(body)
    assert where in [p.field for p in error.value.problems]


def test_check_locates_problems_under_its_prefix():
    check = Checker()
    assert DerivationSpec.check(check, "derivation", {"criterion": "reins", "endpoint": "x"}) is None
    assert [p.field for p in check.problems] == ["derivation/endpoint"]


def test_thresholds_are_constants_echoed():
    spec = DerivationSpec.from_mapping({"criterion": "recist1.1", "endpoint": "objective_response"})
    assert spec.thresholds()["pr_decrease"] == 0.3 and spec.thresholds()["pd_absolute_mm"] == 5


def test_settings_are_checked_even_without_a_criterion():
    with pytest.raises(InvalidInputError) as error:
        DerivationSpec.from_mapping({"endpoint": "objective_response", "sd_min_days": -1, "confirm_min_days": 0})
    assert {p.field for p in error.value.problems} == {"criterion", "sd_min_days", "confirm_min_days"}



@pytest.mark.parametrize(("settings", "rule"), [
    ({"response_window_days": 111, "sd_min_days": 42}, "clinical benefit"),
    ({"response_window_days": 28, "sd_min_days": 0}, "confirmation"),
    ({"response_window_days": 41}, "stable disease"),
])
def test_a_response_window_too_short_for_a_rule_is_refused_naming_the_rule(settings, rule):
    endpoint = "clinical_benefit" if rule == "clinical benefit" else "objective_response"
    with pytest.raises(InvalidInputError) as error:
        DerivationSpec.from_mapping({"criterion": "recist1.1", "endpoint": endpoint, **settings})
    [problem] = error.value.problems
    assert problem.field == "response_window_days"
    assert rule in problem.reason and f"({settings['response_window_days']})" in problem.reason


@pytest.mark.parametrize("settings", [
    {"endpoint": "clinical_benefit", "response_window_days": 112},
    {"endpoint": "objective_response", "response_window_days": 42},  # SD on day 42, confirmation on day 29
    {"endpoint": "objective_response", "response_window_days": 29, "sd_min_days": 29},
    {"endpoint": "objective_response", "response_window_days": 10, "sd_min_days": 10, "confirmation": False},
])
def test_a_response_window_just_long_enough_for_every_rule_is_accepted(settings):
    spec = DerivationSpec.from_mapping({"criterion": "recist1.1", **settings})
    assert spec.response_window_days == settings["response_window_days"]


def test_every_rule_a_response_window_defeats_is_named_at_once():
    with pytest.raises(InvalidInputError) as error:
        DerivationSpec.from_mapping({"criterion": "reins", "endpoint": "clinical_benefit", "response_window_days": 40})
    reasons = [p.reason for p in error.value.problems if p.field == "response_window_days"]
    assert len(reasons) == 3 and "confirm_min_days" in reasons[0] and "91" in reasons[0]
    assert "sd_min_days" in reasons[1] and "benefit_min_days" in reasons[2]
