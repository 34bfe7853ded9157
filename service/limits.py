"""The Settings limits on what one request may ask for, enforced at the boundary.

A request beyond a limit is a 422 problem naming the field, the limit and the setting that sets it
(``GONOGO_MAX_STRATA``, ``GONOGO_SIMON_NMAX_LIMIT``, ``GONOGO_MAX_MCMC_DRAWS``).
"""

from __future__ import annotations

from typing import Any

from designs.core.errors import FieldProblem, InvalidInputError
from service.settings import Settings


def problems(settings: Settings, *, strata: int | None = None, nmax: int | None = None,
             mcmc_draws: int | None = None, strata_field: str = "strata") -> list[FieldProblem]:
    """A ``FieldProblem`` for every value beyond its limit."""
    checks = (
        (strata_field, strata, settings.max_strata, " strata", "GONOGO_MAX_STRATA"),
        ("nmax", nmax, settings.simon_nmax_limit, "", "GONOGO_SIMON_NMAX_LIMIT"),
        ("mcmc/draws", mcmc_draws, settings.max_mcmc_draws, " draws per chain", "GONOGO_MAX_MCMC_DRAWS"),
    )
    return [
        FieldProblem(field, f"this service allows at most {limit}{what} ({variable}); the request asks for {value}")
        for field, value, limit, what, variable in checks
        if value is not None and value > limit
    ]


def enforce(settings: Settings, **values: int | None) -> None:
    """Raise ``InvalidInputError`` naming every value beyond its limit (see ``problems``)."""
    found = problems(settings, **values)
    if found:
        raise InvalidInputError(found)


def analysis_problems(settings: Settings, body: Any) -> list[FieldProblem]:
    """The limits of an interim analysis (response or PFS): strata and MCMC draws. A PFS request that
    declares no strata has as many as its patients name, and the problem is located at ``patients``."""
    if body.strata is not None:
        return problems(settings, strata=len(body.strata), mcmc_draws=body.mcmc.draws)
    named = {p.stratum for p in body.patients}
    return problems(settings, strata=len(named), mcmc_draws=body.mcmc.draws, strata_field="patients")
