"""The safety analysis at a look: the posterior of each stratum's toxicity rate, and the stopping boundary.

    posterior     p_tox | x of n ~ Beta(a + x, b + n − x) under a Beta(a, b) prior (conjugate, exact):
                  mean, 95% equal-tailed credible interval (quantiles 0.025 and 0.975), P(p_tox > p0)
    pooled        the same with the strata's counts summed (one common toxicity rate, no borrowing model)
    boundary      with a design (``designs.safety.boundaries.SafetyDesign``): the boundary in force at n
                  is that of the largest look ≤ n (none before the first look); it is crossed when the
                  toxicities so far reach its stop count b (``stop_counts``): "stop for safety", else
                  "continue". Counting every toxicity so far against the last look's b is the rule
                  applied at the look itself; between looks it can only stop earlier, never later.

Closed form throughout: milliseconds for any request (``scipy.stats.beta``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats

from designs.core.caveats import caveat
from designs.core.errors import InvalidInputError
from designs.core.posterior_summary import INTERVAL_NOTE, QUANTILE_HIGH, QUANTILE_LOW
from designs.core.provenance import provenance
from designs.core.validation import MAX_STRATA, Checker
from designs.safety import boundaries
from designs.safety.boundaries import SafetyDesign, beta_prior

POOLED = "pooled"
STOP, CONTINUE = "stop for safety", "continue"
SMALL_STRATUM = 3
"""Fewer evaluable patients than this: the posterior rests mostly on the prior (a ``stratum-sparse`` caveat)."""

_REQUEST_FIELDS = ("p0", "prior", "strata", "pooled", "design")
_STRATUM_FIELDS = ("name", "evaluable", "toxicities")
_DESIGN_FIELDS = ("looks", "alpha", "method", "prior")


@dataclass(frozen=True)
class StratumToxicities:
    name: str
    evaluable: int
    toxicities: int


@dataclass(frozen=True)
class SafetyAnalysisSpec:
    """A checked safety analysis request; ``design`` is a ``SafetyDesign`` (None: no boundary)."""

    p0: float
    prior_a: float
    prior_b: float
    strata: tuple[StratumToxicities, ...]
    pooled: bool
    design: Any
    request: Mapping[str, Any]

    def payload(self) -> Mapping[str, Any]:
        """The request as sent (its SHA-256 is the result's ``input_sha256``)."""
        return self.request

    @classmethod
    def from_mapping(cls, request: Mapping[str, Any]) -> SafetyAnalysisSpec:
        """The spec of ``{p0, prior: {a, b}, strata: [{name, evaluable, toxicities}], pooled, design:
        {looks, alpha, method, prior}}``; raises ``InvalidInputError`` naming every bad field at once."""
        check = Checker()
        request = check.mapping("body", request)
        check.unknown("", request, _REQUEST_FIELDS, "the safety analysis request")
        p0 = check.probability("p0", request.get("p0"))
        prior = dict(zip(("a", "b"), beta_prior(check, "prior", request.get("prior")), strict=True))
        strata = _strata(check, request.get("strata"))
        pooled = request.get("pooled")
        if pooled is not None and not isinstance(pooled, bool):
            check.add("pooled", f"must be true or false (got {pooled!r})")
        design = None
        if request.get("design") is not None:
            design = _design(check, request["design"], p0, prior)
        check.raise_if_any()
        if pooled is None:
            pooled = len(strata) > 1
        return cls(p0, prior["a"], prior["b"], strata, pooled, design, dict(request))


def _strata(check: Checker, raw: Any) -> tuple[StratumToxicities, ...]:
    if not check.size("strata", raw, 1, MAX_STRATA, "strata"):
        return ()
    strata = []
    for i, item in enumerate(raw):
        where = f"strata/{i}"
        item = check.mapping(where, item)
        check.unknown(f"{where}/", item, _STRATUM_FIELDS, "a stratum")
        name = check.name(f"{where}/name", item.get("name"))
        n = check.count(f"{where}/evaluable", item.get("evaluable"))
        x = check.count(f"{where}/toxicities", item.get("toxicities"))
        if n is not None and x is not None and x > n:
            check.add(f"{where}/toxicities", f"toxicities cannot exceed evaluable (evaluable = {n}, toxicities = {x})")
        elif None not in (name, n, x):
            strata.append(StratumToxicities(name, n, x))
    check.unique("strata", [item.get("name") if isinstance(item, Mapping) else None for item in raw], "/name")
    return tuple(strata)


def _design(check: Checker, raw: Any, p0: float | None, prior: Mapping[str, float]) -> Any:
    """The ``SafetyDesign`` of the request's design fields and its p0; its problems located under ``design/``.

    The design's prior defaults to the analysis's (its omitted a or b to 1). A bad p0 is reported at ``p0`` only, once: the
    design's own fields are checked with a stand-in p0 of 0.5, so that their problems come in the same
    answer."""
    values = check.mapping("design", raw)
    before = len(check.problems)
    check.unknown("design/", values, _DESIGN_FIELDS, "the safety design")
    if len(check.problems) > before:
        return None
    given = {name: value for name, value in values.items() if value is not None}
    fields = {"prior": dict(prior), **given, "p0": 0.5 if p0 is None else p0}
    try:
        return SafetyDesign.from_mapping(fields)
    except InvalidInputError as error:
        for problem in error.problems:
            if problem.field != "p0":
                check.add(f"design/{problem.field}", problem.reason)
            elif p0 is not None:  # a p0 the analysis takes but the design does not (it is narrower)
                check.add("p0", f"{problem.reason} (for the design's boundaries)")
        return None


def _boundary(design: Any, stop_counts: Sequence[int | None], n: int, toxicities: int) -> dict[str, Any]:
    """The boundary in force at n evaluable patients (that of the largest look ≤ n) and whether it is crossed."""
    in_force = [i for i, look_n in enumerate(design.looks) if look_n <= n]
    if not in_force:
        return {"boundary": None, "crossed": False, "decision": CONTINUE}
    i = in_force[-1]
    stop_at = stop_counts[i]
    crossed = stop_at is not None and toxicities >= stop_at
    return {"boundary": {"look": i + 1, "n": design.looks[i], "stop_at": stop_at}, "crossed": crossed,
            "decision": STOP if crossed else CONTINUE}


def _row(spec: SafetyAnalysisSpec, name: str, n: int, x: int, stop_counts: Sequence[int | None] | None) -> dict[str, Any]:
    a, b = spec.prior_a + x, spec.prior_b + n - x
    posterior = stats.beta(a, b)
    row: dict[str, Any] = {
        "name": name,
        "evaluable": n,
        "toxicities": x,
        "posterior": {"a": a, "b": b},
        "posterior_mean": float(posterior.mean()),
        "ci95": [float(posterior.ppf(QUANTILE_LOW)), float(posterior.ppf(QUANTILE_HIGH))],
        "prob_above_p0": float(posterior.sf(spec.p0)),
    }
    if stop_counts is None:
        row.update(boundary=None, crossed=None, decision=None)
    else:
        row.update(_boundary(spec.design, stop_counts, n, x))
    return row


def _warnings(stratum: StratumToxicities) -> list[dict[str, Any]]:
    if stratum.evaluable == 0:
        return [caveat("stratum-empty", f"Stratum '{stratum.name}' has no evaluable patients yet: its posterior is the prior.", stratum.name)]
    if stratum.evaluable < SMALL_STRATUM:
        text = f"Stratum '{stratum.name}' has only {stratum.evaluable} evaluable patients: its posterior rests mostly on the prior."
        return [caveat("stratum-sparse", text, stratum.name)]
    return []


def analyse_safety(spec: SafetyAnalysisSpec) -> dict[str, Any]:
    """Per stratum (and pooled): evaluable n, toxicities, the Beta posterior of p_tox, its mean, 95%
    equal-tailed CrI and P(p_tox > p0); with a design, the boundary in force and whether it is crossed."""
    stop_counts = None
    if spec.design is not None:
        stop_counts = boundaries.stop_counts(spec.design)
    strata = [_row(spec, s.name, s.evaluable, s.toxicities, stop_counts) for s in spec.strata]
    pooled = None
    if spec.pooled:
        n, x = sum(s.evaluable for s in spec.strata), sum(s.toxicities for s in spec.strata)
        pooled = _row(spec, POOLED, n, x, stop_counts)
    prior = {"a": spec.prior_a, "b": spec.prior_b}
    design = None
    if spec.design is not None:
        design = {"method": spec.design.method, "looks": list(spec.design.looks), "alpha": spec.design.alpha,
                  "prior": {"a": spec.design.prior_a, "b": spec.design.prior_b}, "stop_counts": list(stop_counts)}
    return {
        "p0": spec.p0,
        "prior": prior,
        "interval": INTERVAL_NOTE,
        "design": design,
        "strata": strata,
        "pooled": pooled,
        "warnings": [w for s in spec.strata for w in _warnings(s)],
        "provenance": provenance(spec.payload(), model={"kind": "beta-binomial", "prior": prior}, method="closed form"),
    }
