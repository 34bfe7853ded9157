"""The one checker of request values reports every bad field of a stratum, never a TypeError."""

from __future__ import annotations

import pytest

from designs.core.errors import InvalidInputError
from designs.core.validation import Checker


def test_counts_report_responders_and_n_planned_together():
    check = Checker()
    assert check.counts("strata/0", 10, 12, 5) is None
    assert [p.field for p in check.problems] == ["strata/0/responders", "strata/0/n_planned"]
    with pytest.raises(InvalidInputError):
        check.raise_if_any()


def test_consistent_counts_pass():
    check = Checker()
    assert check.counts("strata/0", 10, 3, 21) == (10, 3, 21)
    assert not check.problems


def test_unique_skips_unhashable_names_and_locates_repeats():
    check = Checker()
    check.unique("strata", ["NF1", ["not", "a", "name"], "sporadic", "NF1"], "/name")
    assert [p.field for p in check.problems] == ["strata/3/name"]


@pytest.mark.parametrize("second", ["nf1", "NF 1", "NF-1", " N.F.1 "])
def test_unique_refuses_names_differing_only_in_case_spaces_or_punctuation(second):
    """'NF1' and 'nf-1' would be two strata of the same patients: the second is named, the first quoted."""
    check = Checker()
    check.unique("strata", ["NF1", "sporadic", second], "/name")
    assert [(p.field, p.reason) for p in check.problems] == [
        ("strata/2/name", f"'{second}' differs from strata/0/name 'NF1' only in case, spaces or punctuation "
                          "(stratum names must be told apart by more)"),
    ]


def test_unique_accepts_names_that_differ_in_a_letter_or_digit():
    check = Checker()
    check.unique("strata", ["NF1", "NF2", "NF1-associated", "sporadic"])
    assert not check.problems
