"""Computations for the compute pool's tests: module-level, so that a worker process can import them
(``tests/service`` is on the path of the test process, which spawned workers inherit)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from designs import simon
from designs.core.errors import ConvergenceError, InvalidInputError

GATE = "GONOGO_TEST_WARM_UP_GATE"
_held: list[bytearray] = []


def pid() -> int:
    """The worker's process id."""
    return os.getpid()


def sleep(seconds: float) -> int:
    """Take ``seconds``, then the worker's process id."""
    time.sleep(seconds)
    return os.getpid()


def slow_design_evaluation(*args: Any) -> dict:
    """``simon.design_evaluation`` after 1 s (stands in for it behind /v1/simon/evaluate)."""
    time.sleep(1)
    return simon.design_evaluation(*args)


def endless_design_evaluation(*args: Any) -> dict:
    """Never finishes (until its worker is killed)."""
    while True:
        time.sleep(0.1)


def sampler_fails(spec: Any) -> dict:
    """What ``analyse_response`` raises when the sampler breaks (stands in for it behind /v1/analyses/response)."""
    raise ConvergenceError("MCMC sampling failed for model 'hierarchical': the worker's sampler broke",
                           {"converged": False, "stage": "sampling", "error": "the worker's sampler broke", "attempt": 0})


def refuses(spec: Any) -> dict:
    raise InvalidInputError("strata/1/responders", "refused in the worker")


def hold_memory(megabytes: int) -> int:
    """Keep ``megabytes`` of touched memory alive in the worker; its process id."""
    _held.append(bytearray(os.urandom(1)) * (megabytes * 2**20))
    return os.getpid()


def rss() -> int:
    import psutil

    return psutil.Process().memory_info().rss


def _wait_for_gate() -> None:
    gate = Path(os.environ[GATE])
    while not gate.exists():
        time.sleep(0.01)


def gated_warm_up() -> dict[str, float]:
    """A warm-up that waits for the test's gate file, checks the worker's compiled-model directory, and
    reports two compilations."""
    from designs.engines import pymc
    from service.settings import Settings

    _wait_for_gate()
    assert pymc.cache_dir() == Settings().data_dir / "compiled-models"  # compiled models persist in the data dir
    return {"hierarchical": 1.234, "exnex": 2.0}


def gated_broken_warm_up() -> dict[str, float]:
    _wait_for_gate()
    raise RuntimeError("no C compiler found")


def dying_warm_up() -> dict[str, float]:
    """A worker that cannot start: it ends during its warm-up."""
    os._exit(3)


class NeedsItsArguments(Exception):
    """An exception whose class cannot be made without its arguments (as pydantic's ValidationError)."""

    def __new__(cls, code: int):
        return super().__new__(cls, code)


def raises_unrebuildable(_: Any) -> dict:
    raise NeedsItsArguments(7)


def cache_budget() -> int:
    """The worker's budget for its caches of tables, in bytes."""
    from designs.core.memory import CACHES

    return CACHES.total_bytes


class Sums:
    """A job computation of ``n`` chunks that are their own values (pure): its total is n(n - 1)/2."""

    pure = True

    def __init__(self, n: int = 6):
        self.chunks = list(range(n))

    def prepare(self):
        return self

    def run_chunk(self, chunk):
        return chunk

    def reduce(self, pairs):
        return {"total": sum(v for _, v in pairs)}
