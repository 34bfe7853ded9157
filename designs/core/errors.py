"""The exceptions gonogo's core raises.

    GonogoError                    base of everything the core raises on purpose
    ├── InvalidInputError          values the core cannot work with (names every bad field and why)
    ├── InfeasibleDesignError      no design meets the constraints within the search limits
    └── ConvergenceError           MCMC failed its checks; carries the diagnostics

Statistical caveats (a stratum where the prior dominates, a bound beyond follow-up, ...) are not
exceptions: they are typed warnings in a result's ``warnings`` list (``designs.core.caveats``).
``service/problems.py`` maps each exception to its problem+json document, once for routes and jobs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


def _restore(cls: type[GonogoError], args: tuple, state: dict[str, Any]) -> GonogoError:
    exc = cls.__new__(cls)
    exc.args = args
    exc.__dict__.update(state)
    return exc


class GonogoError(Exception):
    """Base class for errors raised deliberately by gonogo's core.

    Pickled whole (arguments and attributes), so that an error raised in a worker process (compute
    pool, job pool, Dask) is the same error, with the same problem document, in the server:
    ``Exception`` pickles ``args`` only, which loses ``ConvergenceError.diagnostics`` or cannot
    rebuild it at all."""

    def __reduce__(self) -> tuple:
        return _restore, (type(self), self.args, dict(vars(self)))


@dataclass
class FieldProblem:
    """One bad field: a JSON-pointer-like location (e.g. ``strata/1/responders``) and why it is bad."""

    field: str
    reason: str


class InvalidInputError(GonogoError, ValueError):
    """Input that passes schema validation but is inconsistent (e.g. responders > n)."""

    def __init__(self, problems: list[FieldProblem] | FieldProblem | str, reason: str | None = None):
        if isinstance(problems, str):
            problems = [FieldProblem(problems, reason or "invalid value")]
        elif isinstance(problems, FieldProblem):
            problems = [problems]
        self.problems = list(problems)
        super().__init__("; ".join(f"{p.field}: {p.reason}" for p in self.problems))


class InfeasibleDesignError(GonogoError):
    """No design meets the error constraints within the search limits."""

    def __init__(self, message: str, suggestion: str | None = None):
        self.suggestion = suggestion
        super().__init__(message)


class ConvergenceError(GonogoError):
    """MCMC did not pass its convergence checks (R-hat, ESS, divergences)."""

    def __init__(self, message: str, diagnostics: dict[str, Any]):
        self.diagnostics = diagnostics
        super().__init__(message)
