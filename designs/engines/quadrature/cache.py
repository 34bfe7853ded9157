"""The process-wide cache of per-likelihood tables, bounded by bytes and shared by every engine.

A table depends on the hierarchy, the grid and the likelihood only, so its key is
(hierarchy, grid digest, kind, likelihood, ...): engines on equal grids share their tables, and a
table is never served to an engine on another grid. Tables are computed deterministically (row by
row), so a result does not depend on which tables were already cached.
"""

from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from cachetools import LRUCache

DEFAULT_CACHE_BYTES = 256 * 2**20
"""Bytes of tables the process keeps (least recently used dropped first)."""


class TableCache:
    """A least-recently-used cache of arrays (anything with ``nbytes``) bounded by bytes; thread-safe.

    A key of None (an unhashable likelihood) is never stored; a value larger than the whole cache
    is not stored either.
    """

    def __init__(self, max_bytes: int = DEFAULT_CACHE_BYTES):
        self._lru: LRUCache[Hashable, Any] = LRUCache(maxsize=max_bytes, getsizeof=lambda value: value.nbytes)
        self._lock = threading.Lock()

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


TABLES = TableCache()
"""The tables of every engine built without a cache of its own."""


def table_key(scope: Hashable, kind: str, likelihood: Any, *rest: Hashable) -> Hashable | None:
    """(scope, kind, likelihood, ...) — the likelihood itself is kept alive by the cache, so equal keys
    mean equal data; None for an unhashable likelihood, which is then not cached."""
    try:
        hash(likelihood)
    except TypeError:
        return None
    return (scope, kind, likelihood, *rest)
