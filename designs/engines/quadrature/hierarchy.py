"""The prior on the θ scale: a normal hierarchy over the strata, exchangeable or EXNEX."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from designs.core.errors import FieldProblem, InvalidInputError


@dataclass(frozen=True)
class NormalHierarchy:
    """μ ~ N(mu_mean, mu_sd²), τ ~ HalfNormal(tau_scale) (or τ = fixed_tau); EXNEX when w < 1."""

    mu_mean: float
    mu_sd: float
    tau_scale: float
    weight_exchangeable: float = 1.0
    nex_mean: float = 0.0
    nex_sd: float = 1.0
    fixed_tau: float | None = None

    def __post_init__(self) -> None:
        # Located as in a request's model prior (model/prior/<name>); fixed_tau is not a request field.
        problems = [
            FieldProblem(f"model/prior/{name}", "must be > 0")
            for name in ("mu_sd", "tau_scale", "nex_sd")
            if not getattr(self, name) > 0
        ]
        if not 0.0 <= self.weight_exchangeable <= 1.0:
            problems.append(FieldProblem("model/prior/weight_exchangeable", "must lie in [0, 1]"))
        if self.fixed_tau is not None and not (math.isfinite(self.fixed_tau) and self.fixed_tau >= 0):
            problems.append(FieldProblem("fixed_tau", "must be finite and ≥ 0"))
        if problems:
            raise InvalidInputError(problems)

    @classmethod
    def from_prior(cls, prior: Any, *, fixed_tau: float | None = None) -> NormalHierarchy:
        """From a ``designs.response.spec`` HierarchicalPrior or ExnexPrior."""
        exnex = hasattr(prior, "weight_exchangeable")
        return cls(
            mu_mean=prior.mu_mean,
            mu_sd=prior.mu_sd,
            tau_scale=prior.tau_scale,
            weight_exchangeable=prior.weight_exchangeable if exnex else 1.0,
            nex_mean=prior.nex_mean if exnex else 0.0,
            nex_sd=prior.nex_sd if exnex else 1.0,
            fixed_tau=fixed_tau,
        )

    @property
    def exnex(self) -> bool:
        return self.weight_exchangeable < 1.0
