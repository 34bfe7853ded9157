"""One byte budget for every cache of arrays (designs.core.memory)."""

from __future__ import annotations

import math

import pytest

from designs.core.memory import CACHE_BYTES, CACHES, SHARES, set_cache_budget
from designs.engines.quadrature import TABLES, NormalHierarchy
from designs.oc import model_tables  # noqa: F401 - registers its caches
from designs.response import predictive
from designs.simon import binomial

P0 = 0.15
MU = math.log(P0 / (1 - P0))


@pytest.fixture
def small_budget():
    budget = 6 * 2**20
    set_cache_budget(budget)
    yield budget
    set_cache_budget(CACHE_BYTES)


def test_shares_of_the_budget_add_up_to_one():
    assert sum(SHARES.values()) == pytest.approx(1.0)


def test_filling_every_cache_stays_under_the_budget(small_budget):
    """Quadrature engines, tables and final tables of several designs and Simon's binomial tables,
    far more than the budget holds: together the caches never hold more than it, and each its share."""
    hierarchy = NormalHierarchy(MU, 2.0, 1.0)
    for n_final in (30, 40, 50, 60):
        for y in (2, 5):
            predictive.predictive_probability_hierarchical(hierarchy, [y, y], [10, 12], [n_final, n_final], P0)
        assert CACHES.used_bytes() <= small_budget
    for nmax in (200, 300, 400):
        binomial.binomial_tables(0.2, nmax)
        assert CACHES.used_bytes() <= small_budget
    used = CACHES.used()
    assert set(used) == set(SHARES)
    assert all(used[name] <= CACHES.bound(name) for name in used)
    assert used["quadrature-tables"] > CACHES.bound("quadrature-tables") / 2 and used["simon-binomial-tables"] > 0


def test_a_smaller_budget_drops_what_no_longer_fits_and_numbers_do_not_change():
    hierarchy = NormalHierarchy(MU, 2.0, 1.0)
    before = predictive.predictive_probability_hierarchical(hierarchy, [3, 5], [10, 12], [40, 40], P0).probability
    assert TABLES.bytes > 0
    try:
        set_cache_budget(2**20)
        assert CACHES.used_bytes() <= 2**20
        after = predictive.predictive_probability_hierarchical(hierarchy, [3, 5], [10, 12], [40, 40], P0).probability
        assert CACHES.used_bytes() <= 2**20
    finally:
        set_cache_budget(CACHE_BYTES)
    assert (after == before).all()
