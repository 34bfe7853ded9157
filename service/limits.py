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


def design_problems(settings: Settings, body: Any) -> list[FieldProblem]:
    """The limits of an operating-characteristics or calibration request: strata and simulated trials."""
    return problems(settings, strata=len(body.strata), n_trials=body.n_trials)


def raw_problems(settings: Settings, body: Mapping[str, Any]) -> list[FieldProblem]:
    """The same limits read off a raw JSON body the schema refused (what can be read of it)."""
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
