"""The Cost value and the search for the largest value that fits (designs.core.cost)."""

from __future__ import annotations

from designs.core.cost import MB, Cost, largest_within


def test_then_adds_seconds_and_keeps_the_larger_peak():
    a = Cost(2.0, 100 * MB, ("mcmc/draws",), rerun_seconds=1.0, parts={"a": 1})
    b = Cost(3.0, 50 * MB, ("strata", "mcmc/draws"), parts={"b": 2})
    both = a.then(b)
    assert both.seconds == 5.0 and both.peak_bytes == 100 * MB and both.rerun_seconds == 1.0
    assert both.drivers == ("mcmc/draws", "strata") and both.parts == {"a": 1, "b": 2}


def test_largest_within_finds_the_last_integer_and_real_value_that_fits():
    cost_of = lambda v: Cost(0.5 * v, 0)  # noqa: E731
    fits = lambda c: c.seconds <= 600  # noqa: E731
    assert largest_within(cost_of, fits, 100, 100_000) == 1200
    assert largest_within(cost_of, fits, 100, 1000) == 1000  # the value asked for fits
    assert largest_within(cost_of, fits, 2000, 100_000) is None  # not even the lowest does
    real = largest_within(cost_of, fits, 0.001, 10_000.0, integer=False)
    assert 1199 <= real <= 1200
