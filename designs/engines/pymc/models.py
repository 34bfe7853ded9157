"""The PyMC models of the engine, and the two data vectors a request swaps into a compiled model.

All non-centred; every scale parameter is standardised, e.g. μ = mu_mean + mu_sd·μ₀ with
μ₀ ~ N(0, 1) and τ = tau_scale·τ₀ with τ₀ ~ HalfNormal(1), so that the compiled initial point — which
PyMC computes from the data the model was *built* with — suits any prior swapped in later:

    hierarchical          y_j ~ Bin(n_j, expit θ_j), θ_j = μ + τ z_j; μ ~ N(mu_mean, mu_sd²),
                          τ ~ HalfNormal(tau_scale), z_j ~ N(0, 1)
    exnex                 p(y_j) = w Bin(y_j | expit θex_j) + (1 − w) Bin(y_j | expit θnex_j),
                          θex_j = μ + τ z_j, θnex_j = nex_mean + nex_sd u_j, u_j ~ N(0, 1)
                          (Neuenschwander et al. 2016, Pharm Stat 15:123–134; membership
                          marginalised, then drawn per draw from its Rao-Blackwellised probability)
    hierarchical-exponential          log λ_j = μ + τ z_j; Σ_j d_j log λ_j − λ_j T_j
    hierarchical-weibull              h_j(t) = λ_j k t^(k−1), log k ~ N(0, shape_log_sd²);
                                      Σ_i δ_i (log λ_j + log k + (k − 1) log t_i) − λ_j t_i^k
    hierarchical-piecewise-exponential log λ_jk = μ_k + τ z_jk on [c_k, c_k+1) (last open);
                                      Σ_jk d_jk log λ_jk − λ_jk T_jk

Times are in months. The Weibull likelihood needs log t_i for events, so an event at t = 0 is moved
to ``MIN_EVENT_TIME_MONTHS`` (:class:`~designs.engines.pymc.draws.PFSData`); a censoring at t = 0
carries no information and is left out of the Weibull likelihood.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from designs.engines.pymc.draws import PFSData
from designs.response import spec as response_spec
from designs.survival import models as survival_models

RESPONSE_KINDS: tuple[str, ...] = response_spec.HIERARCHICAL_KINDS
PFS_KINDS: tuple[str, ...] = survival_models.HIERARCHICAL_KINDS
ALL_KINDS: tuple[str, ...] = RESPONSE_KINDS + PFS_KINDS

PRIOR_VECTOR: dict[str, tuple[str, ...]] = {
    "hierarchical": ("mu_mean", "mu_sd", "tau_scale"),
    "exnex": ("mu_mean", "mu_sd", "tau_scale", "weight_exchangeable", "nex_mean", "nex_sd"),
    "hierarchical-exponential": ("mu_mean", "mu_sd", "tau_scale"),
    "hierarchical-weibull": ("mu_mean", "mu_sd", "tau_scale", "shape_log_sd"),
    "hierarchical-piecewise-exponential": ("mu_mean", "mu_sd", "tau_scale"),
}
"""The prior attributes each model reads from its ``prior`` vector, in order (the piecewise cut points
shape the ``data`` vector instead)."""


_RESPONSE_PARAMETERS: dict[str, str] = {
    "mu_std": "mean logit (mu), standardised: mu = mu_mean + mu_sd·mu_std; mu is the mean logit response rate of "
              "the exchangeable strata",
    "tau_std": "between-stratum sd (tau), standardised: tau = tau_scale·tau_std; tau on the logit scale",
    "z": "stratum effects, standardised: logit p_j = mu + tau·z_j (one per stratum, in request order)",
    "u": "non-exchangeable logits (EXNEX), standardised: logit p_j = nex_mean + nex_sd·u_j when stratum j is not "
         "exchangeable",
    "p": "response rate p_j of each stratum",
    "prob_exchangeable": "probability that stratum j belongs to the exchangeable component (EXNEX)",
}
_PFS_PARAMETERS: dict[str, str] = {
    "mu_std": "mean log hazard (mu), standardised: mu = mu_mean + mu_sd·mu_std (piecewise: one mu_k per interval)",
    "tau_std": "between-stratum sd (tau), standardised: tau = tau_scale·tau_std; tau on the log-hazard scale",
    "z": "stratum effects, standardised: log λ_j = mu + tau·z_j (piecewise: log λ_jk = mu_k + tau·z_jk)",
    "log_shape_std": "Weibull log shape, standardised: log k = shape_log_sd·log_shape_std",
    "log_hazard": "log hazard log λ_j of each stratum (piecewise: log λ_jk per stratum and interval)",
    "median_survival": "median PFS of each stratum, months",
}
PARAMETER_DESCRIPTIONS: dict[str, dict[str, str]] = {
    kind: _RESPONSE_PARAMETERS if kind in RESPONSE_KINDS else _PFS_PARAMETERS for kind in ALL_KINDS
}
"""What each name in an MCMC fit's convergence diagnostics (R-hat and ESS per quantity) is, per model kind:
the sampled, standardised parameters (internal PyMC names, kept as keys so that clients reading them
keep working) and the reported quantities. Diagnostics carry the entries of their names as
``parameters``."""


def parameter_descriptions(kind: str, names: Iterable[str]) -> dict[str, str]:
    """The description of each of ``names`` under ``kind`` (``PARAMETER_DESCRIPTIONS``), in their order."""
    table = PARAMETER_DESCRIPTIONS[kind]
    return {name: table.get(name, name) for name in names}


def free_parameters(kind: str) -> tuple[str, ...]:
    """The sampled (standardised) parameters of ``kind``."""
    extra = {"exnex": ("u",), "hierarchical-weibull": ("log_shape_std",)}.get(kind, ())
    return ("mu_std", "tau_std", "z", *extra)


def _binomial_kernel(pt, y, n, theta):
    """log Bin(y | n, expit θ) without the binomial coefficient (constant in θ): stable in θ."""
    return -y * pt.softplus(-theta) - (n - y) * pt.softplus(theta)


def build_model(kind: str, n_strata: int, n_intervals: int | None = None):
    """The PyMC model of ``kind`` for ``n_strata`` strata (and ``n_intervals`` intervals, piecewise).

    Two ``pm.Data`` vectors carry everything a request changes (see :func:`model_inputs`):
    ``prior``, the prior parameters in the order of ``PRIOR_VECTOR``, and ``data``:

        response kinds        [responders (J), n (J)]
        exponential           [events d_j (J), exposure T_j (J)]
        piecewise             [events d_jk (J·K, row-major), exposure T_jk (J·K)]
        Weibull               [events d_j (J), Σ_i δ_i log t_i (J), log t_i (N), stratum of i (N),
                               weight of i (N; 1, or 0 for a padding row)]

    Two containers rather than one per quantity because nutpie compiles an extraction routine per
    shared variable (about a second each); the Weibull patient count N may change from request to
    request without recompiling.
    """
    # PyMC takes seconds to import: only a process that samples pays for it.
    import pymc as pm
    import pytensor.tensor as pt

    J = n_strata
    with pm.Model() as model:
        # Placeholder values (valid for every prior parameter; one patient for the Weibull). A request
        # may change the length of ``data`` (the Weibull patient count) but not its rank.
        prior = pm.Data("prior", np.full(len(PRIOR_VECTOR[kind]), 0.5))
        if kind == "hierarchical-piecewise-exponential":
            placeholder = np.ones(2 * J * n_intervals)
        elif kind == "hierarchical-weibull":
            placeholder = np.concatenate([np.ones(2 * J), [0.0, 0.0, 1.0]])
        else:
            placeholder = np.ones(2 * J)
        data = pm.Data("data", placeholder)
        mu_mean, mu_sd, tau_scale = prior[0], prior[1], prior[2]
        tau = pm.Deterministic("tau", tau_scale * pm.HalfNormal("tau_std", 1.0))
        if kind == "hierarchical-piecewise-exponential":
            K = n_intervals
            mu = pm.Deterministic("mu", mu_mean + mu_sd * pm.Normal("mu_std", 0.0, 1.0, shape=K))
            log_hazard = mu[None, :] + tau * pm.Normal("z", 0.0, 1.0, shape=(J, K))
            events, exposure = data[: J * K].reshape((J, K)), data[J * K : 2 * J * K].reshape((J, K))
            pm.Potential("log_likelihood", (events * log_hazard - pt.exp(log_hazard) * exposure).sum())
            return model
        mu = pm.Deterministic("mu", mu_mean + mu_sd * pm.Normal("mu_std", 0.0, 1.0))
        theta = mu + tau * pm.Normal("z", 0.0, 1.0, shape=J)
        if kind == "hierarchical":
            pm.Potential("log_likelihood", _binomial_kernel(pt, data[:J], data[J : 2 * J], theta).sum())
        elif kind == "exnex":
            weight, nex_mean, nex_sd = prior[3], prior[4], prior[5]
            theta_nex = nex_mean + nex_sd * pm.Normal("u", 0.0, 1.0, shape=J)
            loglik_ex = _binomial_kernel(pt, data[:J], data[J : 2 * J], theta)
            loglik_nex = _binomial_kernel(pt, data[:J], data[J : 2 * J], theta_nex)
            pm.Potential(
                "log_likelihood",
                pt.logaddexp(pt.log(weight) + loglik_ex, pt.log1p(-weight) + loglik_nex).sum(),
            )
        elif kind == "hierarchical-exponential":
            events, exposure = data[:J], data[J : 2 * J]
            pm.Potential("log_likelihood", (events * theta - pt.exp(theta) * exposure).sum())
        elif kind == "hierarchical-weibull":
            log_shape = pm.Deterministic("log_shape", prior[3] * pm.Normal("log_shape_std", 0.0, 1.0))
            events, event_log_time = data[:J], data[J : 2 * J]
            patients = data[2 * J :].reshape((3, -1))
            log_time, weight = patients[0], patients[2]
            stratum = pt.cast(patients[1], "int64")
            cumulative_hazard = weight * pt.exp(theta[stratum] + pt.exp(log_shape) * log_time)
            pm.Potential(
                "log_likelihood",
                (events * (theta + log_shape)).sum()
                + (pt.exp(log_shape) - 1.0) * event_log_time.sum()
                - cumulative_hazard.sum(),
            )
        else:
            raise ValueError(f"unknown model kind {kind!r}")
    return model


def weibull_data(data: PFSData) -> np.ndarray:
    """The Weibull data vector: per-stratum event sums, then per-patient log t, stratum, weight."""
    time, event, stratum = data.flat()
    # A censoring at t = 0 contributes nothing (t^k = 0), but log 0 would poison the gradient in k.
    keep = time > 0.0
    log_time, event, stratum = np.log(time[keep]), event[keep], stratum[keep]
    event_log_time = np.bincount(stratum, weights=event * log_time, minlength=data.n_strata)
    weight = np.ones_like(log_time)
    if log_time.size == 0:  # keep one row, with weight 0
        log_time, stratum, weight = np.zeros(1), np.zeros(1, dtype=int), np.zeros(1)
    return np.concatenate([data.events_per_stratum, event_log_time, log_time, stratum, weight])


def model_inputs(
    spec: response_spec.ResponseModelSpec | survival_models.PFSModel, data: tuple[np.ndarray, np.ndarray] | PFSData
) -> dict[str, np.ndarray]:
    """The ``prior`` and ``data`` vectors of :func:`build_model` for a model spec and its data.

    A :class:`~designs.response.spec.ResponseModelSpec` takes ``data`` = (responders, n), a
    :class:`~designs.survival.models.PFSModel` a :class:`PFSData` (the piecewise kind takes its cut
    points from ``spec.prior.cut_points``).
    """
    kind = spec.kind
    prior_vector = np.array([getattr(spec.prior, name) for name in PRIOR_VECTOR[kind]], dtype=float)
    if kind in RESPONSE_KINDS:
        responders, n = data
        data_vector = np.concatenate([responders, n]).astype(float)
    elif kind == "hierarchical-exponential":
        data_vector = np.concatenate([data.events_per_stratum, data.exposure_per_stratum])
    elif kind == "hierarchical-weibull":
        data_vector = weibull_data(data)
    else:
        events, exposure = data.interval_statistics(spec.prior.cut_points)
        data_vector = np.concatenate([events.reshape(-1), exposure.reshape(-1)])
    return {"prior": prior_vector, "data": data_vector}
