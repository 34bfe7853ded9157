"""The Settings limits on what one request may ask for, enforced at the boundary.

A request beyond a limit is a 422 problem naming the field, the limit and the setting that sets it
(``GONOGO_MAX_STRATA``, ``GONOGO_SIMON_NMAX_LIMIT``, ``GONOGO_MAX_MCMC_DRAWS``,
``GONOGO_MAX_SIMULATED_TRIALS``). ``service.boundary`` reports them with the request's other problems.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from designs.core.errors import FieldProblem, InvalidInputError
from service.settings import Settings


def problems(settings: Settings, *, strata: int | None = None, nmax: int | None = None,
             mcmc_draws: int | None = None, n_trials: int | None = None,
             strata_field: str = "strata") -> list[FieldProblem]:
    """A ``FieldProblem`` for every value beyond its limit."""
    checks = (
        (strata_field, strata, settings.max_strata, " strata", "GONOGO_MAX_STRATA"),
        ("nmax", nmax, settings.simon_nmax_limit, "", "GONOGO_SIMON_NMAX_LIMIT"),
        ("mcmc/draws", mcmc_draws, settings.max_mcmc_draws, " draws per chain", "GONOGO_MAX_MCMC_DRAWS"),
        ("n_trials", n_trials, settings.max_simulated_trials, " simulated trials per scenario",
         "GONOGO_MAX_SIMULATED_TRIALS"),
    )
    return [
        FieldProblem(field, f"this service allows at most {limit}{what} ({variable}); the request asks for {value}")
        for field, value, limit, what, variable in checks
        if value is not None and value > limit
    ]


def of_request(settings: Settings, body: Mapping[str, Any]) -> list[FieldProblem]:
    """The limits of a request, read off its JSON body (validated, or as received when the schema refused
    it: what can be read of it): strata, Simon nmax, MCMC draws, simulated trials. A PFS request that
    declares no strata has as many as its patients name, and the problem is located at ``patients``."""
    def number(value: Any) -> int | None:
        return value if isinstance(value, int) and not isinstance(value, bool) else None

    strata, field = body.get("strata"), "strata"
    if strata is None and isinstance(body.get("patients"), list):
        strata = {p.get("stratum") for p in body["patients"] if isinstance(p, Mapping) and isinstance(p.get("stratum"), str)}
        field = "patients"
    mcmc = body.get("mcmc") if isinstance(body.get("mcmc"), Mapping) else {}
    return problems(
        settings,
        strata=len(strata) if isinstance(strata, list | set) else None,
        nmax=number(body.get("nmax")),
        mcmc_draws=number(mcmc.get("draws")),
        n_trials=number(body.get("n_trials")),
        strata_field=field,
    )


def enforce(settings: Settings, body: Mapping[str, Any]) -> None:
    """Raise ``InvalidInputError`` naming every value of ``body`` beyond its limit (``of_request``)."""
    found = of_request(settings, body)
    if found:
        raise InvalidInputError(found)
