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

This module is the single source of truth of a response analysis: model kinds, each kind's prior
fields (``PRIOR_FIELDS``) with their bounds and descriptions (``PRIOR_PARAMETERS``), and the request
itself (``ResponseAnalysisSpec``), whose one validating constructor ``from_mapping`` reports every bad
field at once. The HTTP schemas derive from it; the analysis trusts the spec it is given.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from typing import Any

from designs.core.errors import InvalidInputError
from designs.core.validation import (
    CLOSED_PROBABILITY,
    MAX_STRATA,
    PRIOR_LOCATION,
    PRIOR_SD,
    PRIOR_TAU_SCALE,
    Bounds,
    Checker,
)
from designs.engines.sampler_settings import SamplerSettings
from designs.response.decisions import DecisionRule
from designs.response.simon_status import SimonRule

HIERARCHICAL_KINDS: tuple[str, ...] = ("hierarchical", "exnex")
"""The kinds computed by quadrature or MCMC (the PyMC engine's response kinds)."""
CLOSED_FORM_KINDS: tuple[str, ...] = ("independent", "pooled")
KINDS: tuple[str, ...] = HIERARCHICAL_KINDS + CLOSED_FORM_KINDS
DEFAULT_KIND = "hierarchical"
ENGINES: tuple[str, ...] = ("mcmc", "quadrature")
"""The engines a request may name for a hierarchical kind (closed-form kinds ignore it, with a warning)."""

BHMBASKET_MU_SD = 2.6159
"""bhmbasket's sd of μ (logit scale): the prior is worth about one patient."""
BHMBASKET_NEX_SD = 2.8006
"""bhmbasket's sd of a non-exchangeable stratum's logit response rate."""
BHMBASKET_TAU_SCALE = 1.0
BHMBASKET_WEIGHT_EXCHANGEABLE = 0.5


def logit(p: float) -> float:
    return math.log(p / (1.0 - p))


class _PriorFields:
    """A prior dataclass echoed as applied: its fields as the JSON prior's keys."""

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class HierarchicalPrior(_PriorFields):
    """μ ~ N(mu_mean, mu_sd²), τ ~ HalfNormal(tau_scale); logit scale."""

    mu_mean: float
    mu_sd: float = BHMBASKET_MU_SD
    tau_scale: float = BHMBASKET_TAU_SCALE


@dataclass(frozen=True)
class ExnexPrior(_PriorFields):
    """The hierarchical component plus a non-exchangeable N(nex_mean, nex_sd²) and its prior weight."""

    mu_mean: float
    nex_mean: float
    mu_sd: float = BHMBASKET_MU_SD
    tau_scale: float = BHMBASKET_TAU_SCALE
    weight_exchangeable: float = BHMBASKET_WEIGHT_EXCHANGEABLE
    nex_sd: float = BHMBASKET_NEX_SD


@dataclass(frozen=True)
class BetaPrior(_PriorFields):
    """p ~ Beta(a, b): per stratum (independent) or shared (pooled)."""

    a: float
    b: float


Prior = HierarchicalPrior | ExnexPrior | BetaPrior


@dataclass(frozen=True)
class ResponseModelSpec:
    """A response model: its kind and its prior (as applied)."""

    kind: str
    prior: Prior

    def __post_init__(self) -> None:
        expected = PRIOR_CLASS.get(self.kind)
        if expected is None:
            raise InvalidInputError("model/kind", f"must be one of {', '.join(KINDS)}")
        if not isinstance(self.prior, expected):
            raise InvalidInputError("model/prior", f"kind '{self.kind}' takes a {expected.__name__}")

    @property
    def closed_form(self) -> bool:
        return self.kind in CLOSED_FORM_KINDS

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "prior": self.prior.as_dict()}


PRIOR_CLASS: dict[str, type] = {
    "hierarchical": HierarchicalPrior,
    "exnex": ExnexPrior,
    "independent": BetaPrior,
    "pooled": BetaPrior,
}


@dataclass(frozen=True)
class PriorParameter:
    """One prior field: its bounds and what it means (the JSON prior's documentation)."""

    bounds: Bounds
    description: str


_POSITIVE = Bounds(ge=1e-3, le=1e6)
"""A Beta prior's a or b: below 0.001 the prior is improper in all but name, and scipy's Beta quantiles
overflow (a = b = 5e-324)."""
PRIOR_PARAMETERS: dict[str, PriorParameter] = {
    "a": PriorParameter(_POSITIVE, "Beta prior: a (independent, pooled; default p0)"),
    "b": PriorParameter(_POSITIVE, "Beta prior: b (independent, pooled; default 1 − p0)"),
    "mu_mean": PriorParameter(PRIOR_LOCATION, "mean of μ on the logit scale (default logit p0)"),
    "mu_sd": PriorParameter(PRIOR_SD, f"sd of μ (default {BHMBASKET_MU_SD})"),
    "tau_scale": PriorParameter(PRIOR_TAU_SCALE, f"scale of the half-normal prior on τ (default {BHMBASKET_TAU_SCALE:g})"),
    "weight_exchangeable": PriorParameter(
        CLOSED_PROBABILITY,
        f"EXNEX prior probability that a stratum is exchangeable (default {BHMBASKET_WEIGHT_EXCHANGEABLE})",
    ),
    "nex_mean": PriorParameter(PRIOR_LOCATION, "EXNEX non-exchangeable mean, logit scale (default logit p0)"),
    "nex_sd": PriorParameter(PRIOR_SD, f"EXNEX non-exchangeable sd (default {BHMBASKET_NEX_SD})"),
}
"""Every prior field of every kind, in the JSON prior's order."""
PRIOR_FIELDS: dict[str, tuple[str, ...]] = {
    kind: tuple(name for name in PRIOR_PARAMETERS if name in {f.name for f in fields(cls)})
    for kind, cls in PRIOR_CLASS.items()
}
"""Which prior fields each model kind takes (bhmbasket's parameterisation)."""


def default_prior(kind: str, p0: float) -> Prior:
    """bhmbasket's default prior of ``kind`` (one of ``KINDS``) for null response rate ``p0`` in (0, 1)."""
    if kind == "hierarchical":
        return HierarchicalPrior(mu_mean=logit(p0))
    if kind == "exnex":
        return ExnexPrior(mu_mean=logit(p0), nex_mean=logit(p0))
    return BetaPrior(a=p0, b=1.0 - p0)


def _resolve(check: Checker, kind: Any, prior: Any, p0: float | None) -> ResponseModelSpec | None:
    """The spec of ``kind`` with the given prior fields and bhmbasket's defaults; problems go to ``check``."""
    if check.choice("model/kind", kind, KINDS) is None:
        return None
    # A null field is an omitted one (the HTTP schema lists every kind's fields).
    given = {k: v for k, v in check.mapping("model/prior", prior).items() if v is not None}
    before = len(check.problems)
    check.unknown("model/prior/", given, PRIOR_FIELDS[kind], f"the {kind} prior")
    values = {
        name: check.number(f"model/prior/{name}", given[name], PRIOR_PARAMETERS[name].bounds)
        for name in PRIOR_FIELDS[kind]
        if name in given
    }
    if p0 is None or len(check.problems) > before:
        return None
    return ResponseModelSpec(kind, replace(default_prior(kind, p0), **values))


def resolve(kind: str, prior: Mapping[str, Any] | None, p0: float) -> ResponseModelSpec:
    """The spec of ``kind`` with the given prior fields and bhmbasket's defaults for the others.

    Raises ``InvalidInputError`` naming every bad field (``model/prior/mu_sd`` ...): unknown fields,
    non-finite numbers, values outside ``PRIOR_PARAMETERS``' bounds.
    """
    check = Checker()
    p0 = check.response_rate("p0", p0)
    spec = _resolve(check, kind, prior, p0)
    check.raise_if_any()
    return spec


@dataclass(frozen=True)
class StratumData:
    """One stratum's interim counts: ``responders`` of ``n`` evaluable patients, ``n_planned`` at the end."""

    name: str
    n: int
    responders: int
    n_planned: int


_REQUEST_FIELDS = ("p0", "p1", "strata", "model", "decision", "simon", "engine", "mcmc", "seed")
_STRATUM_FIELDS = tuple(f.name for f in fields(StratumData))


@dataclass(frozen=True)
class ResponseAnalysisSpec:
    """An interim response analysis request, checked (build it with :meth:`from_mapping`).

    ``engine`` None: the model's default (closed form, else MCMC); ``sampler`` None: no MCMC settings
    given (the sampler's defaults); ``seed`` None: derived from ``request``, the request as received
    (its SHA-256 is the provenance's input hash).
    """

    p0: float
    p1: float
    strata: tuple[StratumData, ...]
    model: ResponseModelSpec
    decision: DecisionRule = field(default_factory=DecisionRule)
    simon: SimonRule | None = None
    engine: str | None = None
    sampler: SamplerSettings | None = None
    seed: int | None = None
    request: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)

    def payload(self) -> dict[str, Any]:
        """The request as received, else the spec in the request's JSON shape (for the input hash)."""
        if self.request is not None:
            return dict(self.request)
        return {
            "p0": self.p0,
            "p1": self.p1,
            "strata": [asdict(s) for s in self.strata],
            "model": self.model.as_dict(),
            "decision": self.decision.as_dict(),
            "simon": None if self.simon is None else self.simon.as_dict(),
            "engine": self.engine,
            "mcmc": None if self.sampler is None else asdict(self.sampler),
            "seed": self.seed,
        }

    @classmethod
    def from_mapping(cls, request: Mapping[str, Any]) -> ResponseAnalysisSpec:
        """The spec of a JSON-shaped request ``{p0, p1, strata: [{name, n, responders, n_planned}],
        model: {kind, prior}, decision, simon, engine, mcmc, seed}``; omitted fields take their defaults.

        Raises ``InvalidInputError`` naming every bad field at once.
        """
        check = Checker()
        request = check.mapping("body", request)
        check.unknown("", request, _REQUEST_FIELDS, "the response analysis request")
        settings = check_settings(check, request, strata=lambda c: _strata(c, request.get("strata")))
        seed = check.seed(request.get("seed"))
        check.raise_if_any()
        return cls(settings.p0, settings.p1, settings.strata, settings.model, settings.decision, settings.simon,
                   settings.engine, settings.sampler, seed, dict(request))


@dataclass(frozen=True)
class ResponseSettings:
    """The data-free part of a response analysis, checked: rates, model, rule, Simon, engine, sampler.

    Shared by the analysis request and a registered protocol's response plan (``designs.registry``),
    so that both read the same fields with the same messages. ``strata`` is whatever the caller's
    ``strata`` callback built (the analysis's counts; a protocol's planned strata). Fields are None
    where a problem was found (the checker holds it).
    """

    p0: float | None
    p1: float | None
    strata: Any
    model: ResponseModelSpec | None
    decision: DecisionRule | None
    simon: SimonRule | None
    engine: str | None
    sampler: SamplerSettings | None


def check_settings(check: Checker, request: Mapping[str, Any], *, strata: Any = None) -> ResponseSettings:
    """``p0``, ``p1`` (p0 < p1), ``model`` {kind, prior} with bhmbasket's defaults, ``decision``, ``simon``,
    ``engine`` and ``mcmc`` of ``request``; problems go to ``check`` located at the fields' own names
    (``model/prior/a``). ``strata``, a callable taking the checker, is called between the rates and the model, so that the
    problems come in the request's order; its result is returned as ``strata``. Unknown fields are the
    caller's to refuse (its requests differ in them)."""
    p0 = check.response_rate("p0", request.get("p0"))
    p1 = check.response_rate("p1", request.get("p1"))
    if p0 is not None and p1 is not None and not p0 < p1:
        check.add("p1", f"p1 must be greater than p0 (p0 = {p0}, p1 = {p1})")
    built = None if strata is None else strata(check)
    model = check.mapping("model", request.get("model"))
    check.unknown("model/", model, ("kind", "prior"), "the model")
    spec = _resolve(check, model.get("kind", DEFAULT_KIND), model.get("prior"), p0)
    decision = check.build("decision", DecisionRule, request.get("decision"))
    simon = None if request.get("simon") is None else check.build("simon", SimonRule, request["simon"])
    engine = request.get("engine")
    if engine is not None:
        check.choice("engine", engine, ENGINES)
    sampler = None if request.get("mcmc") is None else check.build("mcmc", SamplerSettings, request["mcmc"])
    return ResponseSettings(p0, p1, built, spec, decision, simon, engine, sampler)


def _strata(check: Checker, strata: Any) -> tuple[StratumData, ...]:
    if not check.size("strata", strata, 1, MAX_STRATA, "strata"):
        return ()
    out = []
    for i, stratum in enumerate(strata):
        where = f"strata/{i}"
        stratum = check.mapping(where, stratum)
        check.unknown(f"{where}/", stratum, _STRATUM_FIELDS, "a stratum")
        name = check.name(f"{where}/name", stratum.get("name"))
        counts = check.counts(where, stratum.get("n"), stratum.get("responders"), stratum.get("n_planned"))
        if name is not None and counts is not None:
            out.append(StratumData(name, counts[0], counts[1], counts[2]))
    check.unique("strata", [s.get("name") if isinstance(s, Mapping) else None for s in strata], "/name")
    return tuple(out)
