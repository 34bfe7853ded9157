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
