"""The Settings limits on what one request may ask for, enforced at the boundary.

A request beyond a limit is a 422 problem naming the field, the limit and the setting that sets it
(``GONOGO_MAX_STRATA``, ``GONOGO_SIMON_NMAX_LIMIT``, ``GONOGO_MAX_MCMC_DRAWS``).
"""

from __future__ import annotations

from typing import Any

from designs.core.errors import FieldProblem, InvalidInputError
from service.settings import Settings


def enforce(settings: Settings, *, strata: int | None = None, nmax: int | None = None,
            mcmc_draws: int | None = None) -> None:
    """Raise ``InvalidInputError`` naming every value beyond its limit."""
    checks = (
        ("strata", strata, settings.max_strata, " strata", "GONOGO_MAX_STRATA"),
        ("nmax", nmax, settings.simon_nmax_limit, "", "GONOGO_SIMON_NMAX_LIMIT"),
        ("mcmc/draws", mcmc_draws, settings.max_mcmc_draws, " draws per chain", "GONOGO_MAX_MCMC_DRAWS"),
    )
    problems = [
        FieldProblem(field, f"this service allows at most {limit}{what} ({variable}); the request asks for {value}")
        for field, value, limit, what, variable in checks
        if value is not None and value > limit
    ]
    if problems:
        raise InvalidInputError(problems)


def enforce_analysis(settings: Settings, body: Any) -> None:
    """The limits of an interim analysis (response or PFS): strata and MCMC draws."""
    strata = body.strata if body.strata is not None else {p.stratum for p in body.patients}
    enforce(settings, strata=len(strata), mcmc_draws=body.mcmc.draws)
