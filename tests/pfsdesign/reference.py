"""A brute-force reference for the hierarchical-exponential posterior, independent of both quadrature
codes: a fine uniform θ grid (step 0.002), Gaussian convolutions in Fourier space, a dense trapezoid
over τ, every θ node within ±10 prior sds as a μ node, P(θ_j < c) by a cumulative trapezoid. Slow
(seconds per data set) but simple enough to read in one sitting."""

from __future__ import annotations

import math

import numpy as np
from scipy.integrate import cumulative_trapezoid


def reference_prob_above(prior, events, exposure, rates, landmark, step=0.002, n_tau=600):
    """P(S_j(landmark) > s) for each stratum j and rate s (= P(θ_j < log(−log s / L)))."""
    d, T = np.asarray(events, float), np.asarray(exposure, float)
    cuts = np.log(-np.log(np.asarray(rates)) / landmark)
    half = 12.0 * math.hypot(prior.mu_sd, prior.tau_scale)
    lo, hi = prior.mu_mean - half, prior.mu_mean + half
    for dk, tk in zip(d, T):
        hi = max(hi, math.log((dk + 60.0 + math.sqrt(120.0 * dk)) / tk) + 1.0)
        if dk > 0:
            lo = min(lo, math.log(dk / tk) - 20.0 / math.sqrt(dk) - 2.0)
    theta = np.arange(lo - 2.0, hi + 2.0, step)
    size = 1 << int(math.ceil(math.log2(2 * theta.size)))
    omega = 2.0 * np.pi * np.fft.rfftfreq(size, d=step)
    with np.errstate(over="ignore"):
        loglik = d[:, None] * theta[None] - np.exp(theta)[None] * T[:, None]
    lik = np.exp(loglik - loglik.max(axis=1, keepdims=True))
    mu_weight = np.exp(-0.5 * ((theta - prior.mu_mean) / prior.mu_sd) ** 2) * (np.abs(theta - prior.mu_mean) < 10 * prior.mu_sd)
    tau = np.linspace(0.0, 10.0 * prior.tau_scale, n_tau)
    tau_weight = np.exp(-0.5 * (tau / prior.tau_scale) ** 2) * (tau[1] - tau[0])
    tau_weight[[0, -1]] *= 0.5
    spectra = np.fft.rfft(lik, n=size, axis=1)
    smooth = [np.exp(-0.5 * (t * omega) ** 2) for t in tau]
    log_i = np.log(np.maximum(np.stack([np.fft.irfft(spectra * m, n=size, axis=1)[:, :theta.size] for m in smooth]), 1e-300))
    base = np.log(np.maximum(mu_weight, 1e-300))[None] + np.log(tau_weight)[:, None]
    out = np.empty((d.size, len(rates)))
    for j in range(d.size):
        cavity = base + log_i.sum(axis=1) - log_i[:, j]
        cavity = np.exp(cavity - cavity.max()) * (mu_weight > 0)[None]
        density = sum(np.fft.irfft(np.fft.rfft(cavity[a], n=size) * smooth[a], n=size)[:theta.size] for a in range(n_tau))
        cdf = cumulative_trapezoid(np.maximum(density, 0.0) * lik[j], theta, initial=0.0)
        out[j] = np.interp(cuts, theta, cdf / cdf[-1])
    return out
