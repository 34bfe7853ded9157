"""The convergence policy: sample, check, rerun with more and smaller steps while failing.

A fit converges when max rank-normalised split R-hat ≤ 1.01, min bulk ESS ≥ 400 over every free
parameter and reported quantity, and no divergence follows warm-up
(:func:`designs.engines.diagnostics.convergence_summary`). On failure, sampling is rerun (up to
``max_reruns`` times) with draws and tune doubled, target_accept raised to 0.99 and a seed derived
from the request seed; if it still fails, the last result is returned with
``diagnostics["converged"] = False``. The report's ``parameters`` says what each quantity named in it is
(``designs.engines.pymc.models.PARAMETER_DESCRIPTIONS``). :class:`~designs.core.errors.ConvergenceError` is raised only
when sampling itself fails.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib.metadata import version
from typing import Any

import numpy as np

from designs.core.errors import ConvergenceError
from designs.engines import diagnostics
from designs.engines.pymc.models import free_parameters, parameter_descriptions
from designs.engines.pymc.run import Trace, derived_seed, run_nutpie
from designs.engines.sampler_settings import SamplerSettings


def sample_with_policy(
    kind: str,
    compiled,
    settings: SamplerSettings,
    seed: int,
    derive: Callable[[Trace, int], tuple[dict[str, np.ndarray], Any]],
    prior_as_applied: Mapping[str, Any],
) -> tuple[Any, dict[str, Any], dict[str, Any]]:
    """Sample, check convergence, rerun with doubled draws while failing; return the last attempt.

    ``derive(trace, attempt)`` returns (reported quantities by chain, result payload). The checks
    run over the free parameters and the reported quantities; quantities that are monotone
    functions of one of these (μ, τ, θ_j = logit p_j, k = exp(log k), ...) are left out, since
    rank-normalised R-hat and bulk/tail ESS are invariant under monotone maps.
    Returns (payload, convergence report, sampler provenance).
    """
    attempts: list[dict[str, Any]] = []
    current = settings
    for attempt in range(settings.max_reruns + 1):
        nutpie_seed = seed if attempt == 0 else derived_seed(seed, 0, attempt)
        try:
            trace = run_nutpie(compiled, current, nutpie_seed)
        except Exception as error:  # nutpie raises RuntimeError/ValueError from Rust; keep the cause
            raise ConvergenceError(
                f"MCMC sampling failed for model {kind!r}: {error}",
                {"converged": False, "stage": "sampling", "error": str(error), "attempt": attempt},
            ) from error
        reported, payload = derive(trace, attempt)
        free = {name: trace.draws[name] for name in free_parameters(kind) if name in trace.draws}
        report = diagnostics.convergence_summary({**free, **reported}, trace.divergences)
        report["max_treedepth_hits"] = trace.max_treedepth_hits
        report["parameters"] = parameter_descriptions(kind, [*report["quantities"], *report["constant_quantities"]])
        attempts.append(
            {
                "draws": current.draws,
                "tune": current.tune,
                "target_accept": current.target_accept,
                "seed": nutpie_seed,
                "seconds": round(trace.seconds, 4),
                "converged": report["converged"],
                "failed_checks": report["failed_checks"],
            }
        )
        if report["converged"] or attempt == settings.max_reruns:
            break
        current = current.for_rerun()
    report["reruns"] = len(attempts) - 1
    sampler = {
        "engine": "pymc+nutpie (NUTS)",
        "versions": {"pymc": version("pymc"), "nutpie": version("nutpie")},
        "kind": kind,
        "prior": dict(prior_as_applied),
        "draws": current.draws,
        "tune": current.tune,
        "chains": current.chains,
        "cores": current.cores_used,
        "target_accept": current.target_accept,
        "max_reruns": settings.max_reruns,
        "seed": seed,
        "reruns": len(attempts) - 1,
        "attempts": attempts,
    }
    return payload, report, sampler
