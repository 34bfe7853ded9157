"""The process-wide cache of per-likelihood tables, bounded by bytes and shared by every engine.

A table depends on the hierarchy, the grid and the likelihood only, so its key is
(hierarchy, grid digest, kind, likelihood, ...): engines on equal grids share their tables, and a
table is never served to an engine on another grid. Tables are computed deterministically (row by
row), so a result does not depend on which tables were already cached.
"""

from __future__ import annotations

from collections.abc import Hashable
from typing import Any

from designs.core.memory import CACHES, ByteLRU

DEFAULT_CACHE_BYTES = 256 * 2**20
"""Bytes of tables a cache of its own keeps (least recently used dropped first); the process-wide
``TABLES`` has its share of the one cache budget (``designs.core.memory``)."""


class TableCache:
    """A least-recently-used cache of arrays (anything with ``nbytes``) bounded by bytes; thread-safe.

    A key of None (an unhashable likelihood) is never stored; a value larger than the whole cache
    is not stored either. ``lru`` given: that cache (and its bound) instead of one of ``max_bytes``.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES, *, lru: ByteLRU | None = None):
        self._lru = lru if lru is not None else ByteLRU(max_bytes)
        self._lock = self._lru.lock

    @property
    def bytes(self) -> int:
        return int(self._lru.currsize)

    def get(self, key: Hashable | None) -> Any:
        if key is None:
            return None
        with self._lock:
            return self._lru.get(key)

    def put(self, key: Hashable | None, value: Any) -> None:
        if key is None or value.nbytes > self._lru.maxsize:
            return
        with self._lock:
            self._lru[key] = value

    def clear(self) -> None:
        with self._lock:
            self._lru.clear()


TABLES = TableCache(lru=CACHES.cache("quadrature-tables"))
"""The tables of every engine built without a cache of its own (within the one cache budget)."""


def table_key(scope: Hashable, kind: str, likelihood: Any, *rest: Hashable) -> Hashable | None:
    """(scope, kind, likelihood, ...) — the likelihood itself is kept alive by the cache, so equal keys
    mean equal data; None for an unhashable likelihood, which is then not cached."""
    try:
        hash(likelihood)
    except TypeError:
        return None
    return (scope, kind, likelihood, *rest)
