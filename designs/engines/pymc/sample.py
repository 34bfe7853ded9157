"""The engine's two entry points: posterior draws of a response model and of a PFS model.

Both take a model spec validated at the boundary (:class:`designs.response.spec.ResponseModelSpec`,
:class:`designs.survival.models.PFSModel`) and trust it; they swap its prior and the data into the
compiled model of its kind (:mod:`.compile`) and sample under the convergence policy (:mod:`.policy`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from scipy.special import expit, log_expit

from designs.core.errors import InvalidInputError
from designs.engines.pymc.compile import compiled_model
from designs.engines.pymc.draws import PFSData, PFSDraws, ResponseDraws, stack_chains
from designs.engines.pymc.models import PFS_KINDS, RESPONSE_KINDS, model_inputs
from designs.engines.pymc.policy import sample_with_policy
from designs.engines.pymc.run import Trace, derived_seed
from designs.engines.sampler_settings import SamplerSettings
from designs.response.spec import ResponseModelSpec
from designs.survival.models import PFSModel

PFS_MIN_TARGET_ACCEPT = 0.99
"""PFS fits sample with at least this target_accept: with a few dozen events per stratum their
non-centred posteriors funnel in the tail of τ and diverge at 0.95 in most fits, and a rerun costs
more than the smaller steps do."""


def _check_kind(kind: str, kinds: Sequence[str]) -> None:
    """The spec's kind is valid, but is it one this engine samples?"""
    if kind not in kinds:
        raise InvalidInputError("model/kind", f"the MCMC engine samples {', '.join(kinds)}, not {kind!r}")


def sample_response(
    spec: ResponseModelSpec,
    responders: Sequence[int],
    n: Sequence[int],
    settings: SamplerSettings,
    seed: int,
) -> ResponseDraws:
    """Posterior draws of per-stratum response rates under the ``hierarchical`` or ``exnex`` model.

    EXNEX membership is marginalised in the sampler; afterwards, per draw, the probability that
    stratum j is exchangeable is w·Bin(y_j | θex_j) / (w·Bin(y_j | θex_j) + (1 − w)·Bin(y_j | θnex_j))
    and θ_j is θex_j or θnex_j according to a membership drawn with that probability (numpy
    Generator seeded from ``seed``). ``responders`` and ``n`` are validated counts per stratum.
    """
    _check_kind(spec.kind, RESPONSE_KINDS)
    prior = spec.prior
    if spec.kind == "exnex" and not 0.0 < prior.weight_exchangeable < 1.0:
        raise InvalidInputError(
            "model/prior/weight_exchangeable", "the MCMC engine samples 0 < w < 1 (w = 0 or 1 is a one-component model)"
        )
    y, n_arr = np.asarray(responders, dtype=float), np.asarray(n, dtype=float)
    compiled = compiled_model(spec.kind, len(y)).with_data(**model_inputs(spec, (y, n_arr)))

    def derive(trace: Trace, attempt: int) -> tuple[dict[str, np.ndarray], Any]:
        mu, tau, z = trace.draws["mu"], trace.draws["tau"], trace.draws["z"]
        theta = mu[..., None] + tau[..., None] * z  # (chain, draw, J)
        prob_exchangeable = None
        if spec.kind == "exnex":
            w = prior.weight_exchangeable
            theta_nex = prior.nex_mean + prior.nex_sd * trace.draws["u"]
            log_ex = math.log(w) + y * log_expit(theta) + (n_arr - y) * log_expit(-theta)
            log_nex = math.log1p(-w) + y * log_expit(theta_nex) + (n_arr - y) * log_expit(-theta_nex)
            prob_exchangeable = expit(log_ex - log_nex)
            rng = np.random.default_rng(derived_seed(seed, 1, attempt))
            exchangeable = rng.random(prob_exchangeable.shape) < prob_exchangeable
            theta = np.where(exchangeable, theta, theta_nex)
        p = expit(theta)
        reported = {"p": p}
        if prob_exchangeable is not None:
            reported["prob_exchangeable"] = prob_exchangeable
        return reported, (p, theta, tau, mu, prob_exchangeable)

    (p, theta, tau, mu, prob_exchangeable), report, sampler = sample_with_policy(
        spec.kind, compiled, settings, seed, derive, prior.as_dict()
    )
    return ResponseDraws(
        p=stack_chains(p),
        tau=stack_chains(tau),
        prob_exchangeable=stack_chains(prob_exchangeable),
        theta=stack_chains(theta),
        diagnostics=report,
        sampler=sampler,
        mu=stack_chains(mu),
        chains=settings.chains,
    )


def sample_pfs(model: PFSModel, data: PFSData, settings: SamplerSettings, seed: int) -> PFSDraws:
    """Posterior draws of per-stratum hazards under a hierarchical PFS model (see :mod:`.models`).

    Sampling uses target_accept ≥ ``PFS_MIN_TARGET_ACCEPT`` (recorded in ``sampler``). The piecewise
    kind takes its cut points from ``model.prior.cut_points``; a model is compiled per number of
    intervals.
    """
    _check_kind(model.kind, PFS_KINDS)
    kind = model.kind
    cut_points = model.prior.cut_points if kind == "hierarchical-piecewise-exponential" else None
    compiled = compiled_model(kind, data.n_strata, None if cut_points is None else len(cut_points))
    compiled = compiled.with_data(**model_inputs(model, data))
    if settings.target_accept < PFS_MIN_TARGET_ACCEPT:
        settings = dataclasses.replace(settings, target_accept=PFS_MIN_TARGET_ACCEPT)

    def derive(trace: Trace, attempt: int) -> tuple[dict[str, np.ndarray], PFSDraws]:
        mu, tau, z = trace.draws["mu"], trace.draws["tau"], trace.draws["z"]
        if kind == "hierarchical-piecewise-exponential":
            log_hazard = mu[:, :, None, :] + tau[..., None, None] * z  # (chain, draw, J, K)
        else:
            log_hazard = mu[..., None] + tau[..., None] * z  # (chain, draw, J)
        shape = np.exp(trace.draws["log_shape"]) if kind == "hierarchical-weibull" else None
        draws = PFSDraws(
            kind=kind,
            log_hazard=stack_chains(log_hazard),
            shape=stack_chains(shape),
            cut_points=cut_points,
            tau=stack_chains(tau),
            diagnostics={},
            sampler={},
            mu=stack_chains(mu),
            chains=settings.chains,
        )
        reported = {"log_hazard": log_hazard}
        if kind != "hierarchical-exponential":  # the exponential median is monotone in log λ_j
            reported["median_survival"] = draws.by_chain(draws.median_survival())
        return reported, draws

    draws, report, sampler = sample_with_policy(kind, compiled, settings, seed, derive, model.prior_as_applied())
    sampler["n_events_at_time_zero"] = list(data.n_events_at_time_zero)
    return dataclasses.replace(draws, diagnostics=report, sampler=sampler)
