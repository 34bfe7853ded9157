"""Response-model specs as plain data: a model kind and its prior, with bhmbasket's defaults.

    hierarchical   logit p_j = μ + τ·z_j, z_j ~ N(0, 1); μ ~ N(mu_mean, mu_sd²), τ ~ HalfNormal(tau_scale)
                   (Berry et al. 2013, Clin Trials 10:720–734)
    exnex          stratum j exchangeable (the hierarchical component) with prior probability
                   weight_exchangeable, else logit p_j ~ N(nex_mean, nex_sd²)
                   (Neuenschwander et al. 2016, Pharm Stat 15:123–134)
    independent    p_j ~ Beta(a, b), one per stratum
    pooled         one p ~ Beta(a, b) shared by every stratum

Defaults are the R package bhmbasket's (``getPriorParameters`` with one patient's worth of prior
information) so that users can compare: mu_mean = nex_mean = logit(p0), mu_sd = 2.6159,
tau_scale = 1, nex_sd = 2.8006, weight_exchangeable = 0.5, and Beta(p0, 1 − p0).
The JSON prior of a request maps one-to-one onto these dataclasses; ``as_dict`` echoes it as applied.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

from designs.core.errors import FieldProblem, InvalidInputError

KINDS: tuple[str, ...] = ("hierarchical", "exnex", "independent", "pooled")
HIERARCHICAL_KINDS: tuple[str, ...] = ("hierarchical", "exnex")
CLOSED_FORM_KINDS: tuple[str, ...] = ("independent", "pooled")

BHMBASKET_MU_SD = 2.6159
"""bhmbasket's sd of μ (logit scale): the prior is worth about one patient."""
BHMBASKET_NEX_SD = 2.8006
"""bhmbasket's sd of a non-exchangeable stratum's logit response rate."""
BHMBASKET_TAU_SCALE = 1.0
BHMBASKET_WEIGHT_EXCHANGEABLE = 0.5


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


@dataclass(frozen=True)
class HierarchicalPrior:
    """μ ~ N(mu_mean, mu_sd²), τ ~ HalfNormal(tau_scale); logit scale."""

    mu_mean: float
    mu_sd: float = BHMBASKET_MU_SD
    tau_scale: float = BHMBASKET_TAU_SCALE

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class ExnexPrior:
    """The hierarchical component plus a non-exchangeable N(nex_mean, nex_sd²) and its prior weight."""

    mu_mean: float
    nex_mean: float
    mu_sd: float = BHMBASKET_MU_SD
    tau_scale: float = BHMBASKET_TAU_SCALE
    weight_exchangeable: float = BHMBASKET_WEIGHT_EXCHANGEABLE
    nex_sd: float = BHMBASKET_NEX_SD

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class BetaPrior:
    """p ~ Beta(a, b): per stratum (independent) or shared (pooled)."""

    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


Prior = HierarchicalPrior | ExnexPrior | BetaPrior


@dataclass(frozen=True)
class ResponseModelSpec:
    """A response model: its kind and its prior (as applied)."""

    kind: str
    prior: Prior

    def __post_init__(self) -> None:
        expected = _PRIOR_CLASS.get(self.kind)
        if expected is None:
            raise InvalidInputError("model/kind", f"must be one of {', '.join(KINDS)}")
        if not isinstance(self.prior, expected):
            raise InvalidInputError("model/prior", f"kind '{self.kind}' takes a {expected.__name__}")

    @property
    def closed_form(self) -> bool:
        return self.kind in CLOSED_FORM_KINDS

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "prior": self.prior.as_dict()}


_PRIOR_CLASS: dict[str, type] = {
    "hierarchical": HierarchicalPrior,
    "exnex": ExnexPrior,
    "independent": BetaPrior,
    "pooled": BetaPrior,
}
_POSITIVE = frozenset({"mu_sd", "tau_scale", "nex_sd", "a", "b"})


def _check_p0(p0: Any) -> float:
    if isinstance(p0, bool) or not isinstance(p0, int | float) or not 0.0 < p0 < 1.0:
        raise InvalidInputError("p0", "must lie in (0, 1)")
    return float(p0)


def default_prior(kind: str, p0: float) -> Prior:
    """bhmbasket's default prior of ``kind`` for null response rate ``p0``."""
    p0 = _check_p0(p0)
    if kind == "hierarchical":
        return HierarchicalPrior(mu_mean=logit(p0))
    if kind == "exnex":
        return ExnexPrior(mu_mean=logit(p0), nex_mean=logit(p0))
    if kind in CLOSED_FORM_KINDS:
        return BetaPrior(a=p0, b=1.0 - p0)
    raise InvalidInputError("model/kind", f"must be one of {', '.join(KINDS)}")


def resolve(kind: str, prior: Mapping[str, Any] | None, p0: float) -> ResponseModelSpec:
    """The spec of ``kind`` with the given prior fields and bhmbasket's defaults for the others.

    Raises ``InvalidInputError`` naming every bad field (``model/prior/mu_sd`` ...): unknown fields,
    non-finite numbers, sd/scale/a/b ≤ 0, weight_exchangeable outside [0, 1].
    """
    if kind not in KINDS:
        raise InvalidInputError("model/kind", f"must be one of {', '.join(KINDS)}")
    defaults = default_prior(kind, p0)
    given = dict(prior or {})
    names = [f.name for f in fields(defaults)]
    problems: list[FieldProblem] = []
    for name in sorted(set(given) - set(names)):
        problems.append(FieldProblem(f"model/prior/{name}", f"not a field of the {kind} prior ({', '.join(names)})"))
    values: dict[str, float] = {}
    for name in names:
        value = given.get(name)
        if value is None:
            values[name] = getattr(defaults, name)
            continue
        where = f"model/prior/{name}"
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            problems.append(FieldProblem(where, "must be a finite number"))
        elif name in _POSITIVE and value <= 0:
            problems.append(FieldProblem(where, "must be > 0"))
        elif name == "weight_exchangeable" and not 0.0 <= value <= 1.0:
            problems.append(FieldProblem(where, "must lie in [0, 1]"))
        else:
            values[name] = float(value)
    if problems:
        raise InvalidInputError(problems)
    return ResponseModelSpec(kind, type(defaults)(**values))
