"""Inference after a Simon two-stage trial: UMVUE, exact p-value and exact confidence interval."""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import optimize, stats

from designs.core.provenance import provenance
from designs.simon.validation import NMAX_LIMIT, check_error_rate, check_int, check_response_rate

_ROOT_XTOL = 1e-12  # brentq tolerance on p for confidence bounds (well inside the 1e-8 promised)


def _at_least_as_extreme(p: float, r1: int, n1: int, n: int, responders: int) -> float:
    """P_p(outcome ≥ observed) in the stage-wise ordering (Koyama & Chen 2008).

    Outcomes are (stage, responders). Stopped outcomes (1, x1) are ordered by x1 and all lie below
    continued outcomes (2, s), which are ordered by the total s. Hence
        stopped with x1:    P(X1 ≥ x1)
        continued with s:   Σ_{x1=r1+1}^{n1} P(X1 = x1)·P(X2 ≥ s − x1),  X2 ~ Bin(n − n1, p).
    """
    if n == n1:
        return float(stats.binom.sf(responders - 1, n1, p))
    x1 = np.arange(r1 + 1, n1 + 1)
    return float(np.sum(stats.binom.pmf(x1, n1, p) * stats.binom.sf(responders - x1 - 1, n - n1, p)))


def _at_most_as_extreme(p: float, r1: int, n1: int, n: int, responders: int) -> float:
    """P_p(outcome ≤ observed) in the stage-wise ordering (sums of positive terms, no 1 − x)."""
    if n == n1:
        return float(stats.binom.cdf(responders, n1, p))
    x1 = np.arange(r1 + 1, n1 + 1)
    continued = np.sum(stats.binom.pmf(x1, n1, p) * stats.binom.cdf(responders - x1, n - n1, p))
    return float(stats.binom.cdf(r1, n1, p) + continued)


def _umvue(r1: int, n1: int, n: int, responders: int) -> float:
    """UMVUE of the response rate (Jung & Kim 2004, Stat Med 23:881–896).

    Stopped: x1/n1. Continued with total s, summing over x1 = max(r1+1, s−n2)..min(n1, s):
        Σ C(n1−1, x1−1)·C(n2, s−x1) / Σ C(n1, x1)·C(n2, s−x1),
    which, as C(n1−1, x1−1) = (x1/n1)·C(n1, x1), is E[X1 | X = s, X1 > r1]/n1 under the
    hypergeometric law of X1 given X = s.
    """
    if n == n1:
        return responders / n1
    n2 = n - n1
    x1 = np.arange(max(r1 + 1, responders - n2), min(n1, responders) + 1)
    weights = stats.hypergeom.pmf(x1, n, n1, responders)
    return float(np.sum(weights * x1) / (n1 * np.sum(weights)))


def ci_level(alpha: float) -> float:
    """The two-sided level of the exact interval whose bounds are each one-sided at ``alpha``: 1 − 2·alpha."""
    return float(1.0 - 2.0 * alpha)


INFERENCE_METHOD = "UMVUE (Jung & Kim 2004); stage-wise ordering p-value and CI (Koyama & Chen 2008)"


def infer(r1: int, n1: int, n: int, p0: float, responders: int, alpha: float) -> dict[str, Any]:
    """UMVUE, exact one-sided p-value and exact confidence interval after a Simon two-stage trial.

    ``n`` is the attained total: n == n1 means the trial stopped after stage 1 (responders ≤ r1),
    n > n1 that it continued (responders > r1). The stage-2 sample actually treated, n − n1, is used as
    if it had been planned; Koyama & Chen's adjustment for a stage 2 that differs from plan needs the
    planned design and is not applied here.

    * umvue: Jung & Kim (2004), see ``_umvue``.
    * p_value: P_p0(outcome ≥ observed) in the stage-wise ordering of Koyama & Chen (2008, Stat Med
      27:3145), see ``_at_least_as_extreme``; 1 for the least extreme outcome (stopped with 0).
    * ci = (lower, upper): lower solves P_lower(outcome ≥ observed) = alpha and upper solves
      P_upper(outcome ≤ observed) = alpha (each bound one-sided at level alpha, so the interval has
      coverage ≥ 1 − 2·alpha), found with brentq (xtol 1e-12). Both probabilities are monotone in p.
      lower = 0 for the least extreme outcome (0 responders); upper = 1 for the most extreme (all n).
    * ci_level = 1 − 2·alpha: the interval's two-sided level (0.90 at alpha 0.05), stated beside ``ci``
      because the bounds are one-sided at alpha each, not a 1 − alpha interval.
    """
    n = check_int("n", n, 1, NMAX_LIMIT)
    n1 = check_int("n1", n1, 1, n)
    r1 = check_int("r1", r1, 0, n1 - 1)
    p0 = check_response_rate("p0", p0)
    alpha = check_error_rate("alpha", alpha)
    if n == n1:
        responders = check_int("responders", responders, 0, r1)
    else:
        responders = check_int("responders", responders, r1 + 1, n)

    outcome = (r1, n1, n, responders)
    if n == n1 and responders == 0:
        lower = 0.0
    else:
        lower = optimize.brentq(lambda p: _at_least_as_extreme(p, *outcome) - alpha, 0.0, 1.0,
                                xtol=_ROOT_XTOL)
    if n > n1 and responders == n:
        upper = 1.0
    else:
        upper = optimize.brentq(lambda p: _at_most_as_extreme(p, *outcome) - alpha, 0.0, 1.0,
                                xtol=_ROOT_XTOL)
    p_value = 1.0 if (n == n1 and responders == 0) else min(1.0, _at_least_as_extreme(p0, *outcome))
    request = {"r1": r1, "n1": n1, "n": n, "p0": p0, "responders": responders, "alpha": alpha}
    return {
        "umvue": _umvue(r1, n1, n, responders),
        "p_value": p_value,
        "ci": (float(lower), float(upper)),
        "ci_level": ci_level(alpha),
        "provenance": provenance(request, method=INFERENCE_METHOD),
    }
