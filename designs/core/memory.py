"""One byte budget for every cache of arrays in the process.

Quadrature tables, quadrature engines (their grids), the predictive probability's final tables, the
operating characteristics' grids and engines and Simon's binomial tables are each kept in a
``ByteLRU`` (least recently used dropped first) registered here with a fixed share of
``CACHE_BYTES``, so together they never hold more than the budget. ``set_cache_budget`` changes it
(the service: ``GONOGO_CACHE_MB``), dropping what no longer fits.
"""

from __future__ import annotations

import threading
from typing import Any

from cachetools import LRUCache

MB = 2**20
CACHE_BYTES = 384 * MB
"""Default budget of all the process's caches of arrays together."""

SHARES = {
    "quadrature-tables": 0.50,
    "simon-binomial-tables": 0.20,
    "predictive-final-tables": 0.12,
    "predictive-engines": 0.08,
    "oc-beta-grids": 0.06,
    "oc-engines": 0.04,
}
"""Each cache's share of the budget (they add up to 1). Simon's share holds the two 24 MB tables of
a search at nmax 1000 under the default budget."""


def nbytes(value: Any) -> int:
    """Bytes of a cached value: its ``nbytes`` (arrays and the objects holding them)."""
    return int(value.nbytes)


class ByteLRU(LRUCache):
    """An LRU cache of values with ``nbytes``, bounded in bytes, whose bound can change (``resize``).
    A value larger than the whole bound is not kept (``cachetools.cached`` skips it)."""

    def __init__(self, max_bytes: int):
        super().__init__(maxsize=max_bytes, getsizeof=nbytes)
        self.lock = threading.RLock()

    def resize(self, max_bytes: int) -> None:
        with self.lock:
            self._Cache__maxsize = int(max_bytes)  # cachetools keeps its bound in this private field
            while self.currsize > self.maxsize:
                self.popitem()


class CacheBudget:
    """The registered caches and the budget they share."""

    def __init__(self, total_bytes: int = CACHE_BYTES):
        self.total_bytes = int(total_bytes)
        self._caches: dict[str, ByteLRU] = {}

    def cache(self, name: str) -> ByteLRU:
        """The cache called ``name`` (one of ``SHARES``), made on first use with its share of the budget."""
        if name not in self._caches:
            self._caches[name] = ByteLRU(self.bound(name))
        return self._caches[name]

    def bound(self, name: str) -> int:
        return int(self.total_bytes * SHARES[name])

    def set_total(self, total_bytes: int) -> None:
        self.total_bytes = int(total_bytes)
        for name, cache in self._caches.items():
            cache.resize(self.bound(name))

    def used(self) -> dict[str, int]:
        """Bytes each cache holds now."""
        return {name: int(cache.currsize) for name, cache in self._caches.items()}

    def used_bytes(self) -> int:
        return sum(self.used().values())

    def clear(self) -> None:
        for cache in self._caches.values():
            with cache.lock:
                cache.clear()


CACHES = CacheBudget()
"""Every cache of arrays in the process."""


def set_cache_budget(total_bytes: int) -> None:
    """Bound all the process's caches of arrays together by ``total_bytes`` (``GONOGO_CACHE_MB``)."""
    CACHES.set_total(total_bytes)


def cache_budget() -> int:
    return CACHES.total_bytes


