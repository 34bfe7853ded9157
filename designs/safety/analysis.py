"""The safety analysis at a look: the posterior of each stratum's toxicity rate, and the stopping boundary.

    posterior     p_tox | x of n ~ Beta(a + x, b + n − x) under a Beta(a, b) prior (conjugate, exact):
                  mean, 95% equal-tailed credible interval (quantiles 0.025 and 0.975), P(p_tox > p0)
    pooled        the same with the strata's counts summed (one common toxicity rate, no borrowing model)
    rule          with a design (``designs.safety.boundaries.SafetyDesign``): the calibrated rule as it
                  was calibrated. Every planned look n_j ≤ n is applied to the FIRST n_j evaluable
                  patients: x_j = their dose-limiting toxicities, crossed when x_j ≥ b_j (``stop_counts``);
                  the group is "stop for safety" when any look so far crossed (the first crossing is
                  reported), else "continue" (``apply_looks``). The same first patients at every later
                  analysis keep a stop a stop, and the exact P(stop | p0) of the calibration is the
                  rule's whatever n the analyses happen at. Counting every toxicity so far against the
                  last look's b instead is not the calibrated rule (its false-stop rate is higher).
    x_j           given per stratum as ``toxicities_at_looks`` (pooled: ``pooled_toxicities_at_looks``),
                  the counts among the first n_j for each planned look ≤ n, in look order. Without them
                  only x = toxicities at n is known: x_j lies in [max(0, x − (n − n_j)), min(x, n_j)]
                  (both ends are attainable at every look at once), so a look is crossed for certain when
                  the lower end reaches b_j, not crossed for certain when the upper end is below it;
                  otherwise ``crossed`` is null and the decision "undetermined" (a ``safety-undetermined``
                  caveat asks for the counts). At n = the only look, or when n is a look and no earlier
                  look is in doubt, this is exact.

Closed form throughout: milliseconds for any request (``scipy.stats.beta``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scipy import stats

from designs.core.caveats import caveat
from designs.core.errors import InvalidInputError
from designs.core.posterior_summary import CI_PROB, INTERVAL_NOTE, QUANTILE_HIGH, QUANTILE_LOW
from designs.core.provenance import provenance
from designs.core.validation import MAX_STRATA, Checker
from designs.safety import boundaries
from designs.safety.boundaries import SAFETY_DEFAULTS, SafetyDesign, beta_prior

POOLED = "pooled"
STOP, CONTINUE, UNDETERMINED = "stop for safety", "continue", "undetermined"
SMALL_STRATUM = 3
"""Fewer evaluable patients than this: the posterior rests mostly on the prior (a ``stratum-sparse`` caveat)."""

_REQUEST_FIELDS = ("p0", "prior", "strata", "pooled", "design", "pooled_toxicities_at_looks")
_STRATUM_FIELDS = ("name", "evaluable", "toxicities", "toxicities_at_looks")
_DESIGN_FIELDS = ("looks", "alpha", "method", "prior")


@dataclass(frozen=True)
class StratumToxicities:
    name: str
    evaluable: int
    toxicities: int
    at_looks: tuple[int, ...] | None = None
    """DLTs among the first n_j evaluable patients at each planned look n_j ≤ evaluable (None: not given)."""


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
    pooled_at_looks: tuple[int, ...] | None = None

    def payload(self) -> Mapping[str, Any]:
        """The request as sent (its SHA-256 is the result's ``input_sha256``)."""
        return self.request

    @classmethod
    def from_mapping(cls, request: Mapping[str, Any]) -> SafetyAnalysisSpec:
        """The spec of ``{p0, prior: {a, b}, strata: [{name, evaluable, toxicities, toxicities_at_looks}],
        pooled, pooled_toxicities_at_looks, design: {looks, alpha, method, prior}}``; raises
        ``InvalidInputError`` naming every bad field at once."""
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
        if pooled is None:
            pooled = len(strata) > 1
        if pooled is True:
            for i, _, s in strata:
                if s.name.casefold() == POOLED:
                    check.add(f"strata/{i}/name", f"'{s.name}' names the pooled row of the answer: call the stratum otherwise")
        # a design given but refused: its problems are reported; the counts at its looks cannot be checked
        unchecked = request.get("design") is not None and design is None
        strata = tuple(s if unchecked else _with_at_looks(check, f"strata/{i}/toxicities_at_looks",
                                                          item.get("toxicities_at_looks"), s, design)
                       for i, item, s in strata)
        pooled_at_looks = None
        if request.get("pooled_toxicities_at_looks") is not None and not unchecked:
            if not pooled:
                check.add("pooled_toxicities_at_looks", "given without a pooled analysis (pooled is false)")
            elif len(strata) == len(request.get("strata") or ()):
                total = StratumToxicities(POOLED, sum(s.evaluable for s in strata), sum(s.toxicities for s in strata))
                pooled_at_looks = _with_at_looks(check, "pooled_toxicities_at_looks",
                                                 request["pooled_toxicities_at_looks"], total, design).at_looks
                only = strata[0].at_looks if len(strata) == 1 else None
                if pooled_at_looks is not None and only is not None and list(pooled_at_looks) != list(only):
                    check.add("pooled_toxicities_at_looks", f"with one stratum the pooled patients are its patients: "
                              f"must equal its toxicities_at_looks ({list(only)}), got {list(pooled_at_looks)}")
        check.raise_if_any()
        return cls(p0, prior["a"], prior["b"], strata, pooled, design, dict(request), pooled_at_looks)


def _strata(check: Checker, raw: Any) -> list[tuple[int, Mapping[str, Any], StratumToxicities]]:
    """The well-formed strata, each with its raw item (its ``toxicities_at_looks`` is checked once the
    design is known)."""
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
            strata.append((i, item, StratumToxicities(name, n, x)))
    check.unique("strata", [item.get("name") if isinstance(item, Mapping) else None for item in raw], "/name")
    return strata


def _with_at_looks(check: Checker, where: str, raw: Any, stratum: StratumToxicities, design: Any) -> StratumToxicities:
    """``stratum`` with its checked ``toxicities_at_looks``: one count per planned look n_j ≤ n, in look
    order, that the n patients and x toxicities can have had (x_j ≤ n_j, non-decreasing, each look's new
    DLTs within its new patients, and x − x_last ≤ n − n_last). Its problems at ``where``."""
    if raw is None:
        return stratum
    if design is None:
        check.add(where, "needs a design: the counts at the planned looks are those of its stopping rule")
        return stratum
    passed = [k for k in design.looks if k <= stratum.evaluable]
    if not isinstance(raw, Sequence) or isinstance(raw, str) or len(raw) != len(passed):
        looks = ", ".join(str(k) for k in passed) or "none"
        check.add(where, f"must be a list of {len(passed)} DLT counts, one per planned look at or below n = "
                  f"{stratum.evaluable} (looks {looks}): the toxicities among the first n_j evaluable patients")
        return stratum
    before = len(check.problems)
    counts = [check.count(f"{where}/{j}", value) for j, value in enumerate(raw)]
    if len(check.problems) > before:
        return stratum
    n, x = stratum.evaluable, stratum.toxicities
    previous_n = previous_x = 0
    for j, (n_j, x_j) in enumerate(zip(passed, counts, strict=True)):
        if x_j > min(n_j, x):
            check.add(f"{where}/{j}", f"{x_j} DLTs among the first {n_j} evaluable patients exceed "
                      + (f"the look's {n_j} patients" if n_j < x else f"the {x} toxicities in all"))
        elif x_j < previous_x:
            check.add(f"{where}/{j}", f"counts cannot decrease ({x_j} follows {previous_x})")
        elif x_j - previous_x > n_j - previous_n:
            check.add(f"{where}/{j}", f"{x_j - previous_x} new DLTs among {n_j - previous_n} new patients")
        previous_n, previous_x = n_j, x_j
    if passed and len(check.problems) == before and x - previous_x > n - previous_n:
        check.add(where, f"the {x - previous_x} DLTs after look n = {previous_n} exceed the {n - previous_n} "
                  "patients evaluated since")
    if len(check.problems) > before:
        return stratum
    return StratumToxicities(stratum.name, n, x, tuple(counts))


def _design(check: Checker, raw: Any, p0: float | None, prior: Mapping[str, float]) -> Any:
    """The ``SafetyDesign`` of the request's design fields and its p0; its problems located under ``design/``.

    The design's prior defaults to the analysis's (its omitted a or b to 1), its method and alpha to
    ``SAFETY_DEFAULTS`` (as a protocol's safety section). A bad p0 is reported at ``p0`` only, once: the
    design's own fields are checked with a stand-in p0 of 0.5, so that their problems come in the same
    answer."""
    values = check.mapping("design", raw)
    before = len(check.problems)
    check.unknown("design/", values, _DESIGN_FIELDS, "the safety design")
    if len(check.problems) > before:
        return None
    given = {name: value for name, value in values.items() if value is not None}
    fields = {**SAFETY_DEFAULTS, "prior": dict(prior), **given, "p0": 0.5 if p0 is None else p0}
    try:
        return SafetyDesign.from_mapping(fields)
    except InvalidInputError as error:
        for problem in error.problems:
            if problem.field != "p0":
                check.add(f"design/{problem.field}", problem.reason)
            elif p0 is not None:  # a p0 the analysis takes but the design does not (it is narrower)
                check.add("p0", f"{problem.reason} (for the design's boundaries)")
        return None


def apply_looks(looks: Sequence[int], stop_counts: Sequence[int | None], n: int, toxicities: int,
                at_looks: Sequence[int] | None = None) -> dict[str, Any]:
    """The calibrated rule applied as calibrated, at n evaluable patients with ``toxicities`` DLTs: every
    planned look n_j ≤ n on its first n_j patients (x_j from ``at_looks``, one per such look, or else
    bounded by [max(0, x − (n − n_j)), min(x, n_j)]), crossed when x_j ≥ b_j.

    ``looks_applied``: per passed look {look, n, stop_at, toxicities (null when only bounded),
    toxicities_range, crossed (null: undetermined)}; ``first_crossing``: the first look crossed for
    certain; ``next_look``: the next planned look {look, n, stop_at} (null after the last);
    ``boundary``: the look that decides (the first crossing, else the last look applied; null before
    the first look); ``crossed`` (null: undetermined) and ``decision``."""
    applied = []
    for j, (n_j, b_j) in enumerate(zip(looks, stop_counts, strict=True)):
        if n_j > n:
            break
        if at_looks is not None:
            low = high = at_looks[j]
        else:
            low, high = max(0, toxicities - (n - n_j)), min(toxicities, n_j)
        crossed = False if b_j is None or high < b_j else True if low >= b_j else None
        applied.append({"look": j + 1, "n": n_j, "stop_at": b_j, "toxicities": low if low == high else None,
                        "toxicities_range": [low, high], "crossed": crossed})
    first = next((look for look in applied if look["crossed"]), None)
    crossed = True if first else False if all(look["crossed"] is False for look in applied) else None
    later = [{"look": j + 1, "n": n_j, "stop_at": b_j}
             for j, (n_j, b_j) in enumerate(zip(looks, stop_counts, strict=True)) if n_j > n]
    deciding = first or (applied[-1] if applied else None)
    return {
        "looks_applied": applied,
        "first_crossing": first,
        "next_look": later[0] if later else None,
        "boundary": None if deciding is None else {k: deciding[k] for k in ("look", "n", "stop_at")},
        "crossed": crossed,
        "decision": STOP if crossed else CONTINUE if crossed is False else UNDETERMINED,
    }


def look_text(look: Mapping[str, Any]) -> str:
    """One applied look in words, as the look's reasons and the report print it: "look 1: 4 of the first
    5 (stop at ≥ 4, crossed)" (a bounded count as "0 to 4", an undetermined look "undetermined")."""
    x = look["toxicities"]
    x = f"{look['toxicities_range'][0]} to {look['toxicities_range'][1]}" if x is None else x
    if look["stop_at"] is None:
        return f"look {look['look']}: {x} of the first {look['n']} (no count stops)"
    verdict = {True: "crossed", False: "not crossed", None: "undetermined"}[look["crossed"]]
    return f"look {look['look']}: {x} of the first {look['n']} (stop at ≥ {look['stop_at']}, {verdict})"


def _row(spec: SafetyAnalysisSpec, name: str, n: int, x: int, stop_counts: Sequence[int | None] | None,
         at_looks: Sequence[int] | None = None) -> dict[str, Any]:
    a, b = spec.prior_a + x, spec.prior_b + n - x
    posterior = stats.beta(a, b)
    row: dict[str, Any] = {
        "name": name,
        "evaluable": n,
        "toxicities": x,
        "posterior": {"a": a, "b": b},
        "posterior_mean": float(posterior.mean()),
        "ci95": [float(posterior.ppf(QUANTILE_LOW)), float(posterior.ppf(QUANTILE_HIGH))],
        "ci_level": CI_PROB,
        "prob_above_p0": float(posterior.sf(spec.p0)),
    }
    if stop_counts is None:
        row.update(looks_applied=None, first_crossing=None, next_look=None, boundary=None, crossed=None, decision=None)
    else:
        row.update(apply_looks(spec.design.looks, stop_counts, n, x, at_looks))
    return row


def _undetermined(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """A ``safety-undetermined`` caveat when whether the rule stopped depends on counts not given."""
    if row["crossed"] is not None:
        return []
    field = "pooled_toxicities_at_looks" if row["name"] == POOLED else "its toxicities_at_looks"
    doubtful = ", ".join(f"look {look['look']} (n = {look['n']}: stop at ≥ {look['stop_at']}, "
                         f"{look['toxicities_range'][0]} to {look['toxicities_range'][1]} DLTs among the first {look['n']})"
                         for look in row["looks_applied"] if look["crossed"] is None)
    text = (f"'{row['name']}': whether the safety rule stopped depends on how many of the {row['toxicities']} DLTs "
            f"came among the first patients of {doubtful}: give {field} (the DLTs among the first n_j evaluable "
            "patients at each planned look) to apply the rule exactly")
    return [caveat("safety-undetermined", text, None if row["name"] == POOLED else row["name"])]


def _warnings(stratum: StratumToxicities) -> list[dict[str, Any]]:
    if stratum.evaluable == 0:
        return [caveat("stratum-empty", f"Stratum '{stratum.name}' has no evaluable patients yet: its posterior is the prior.", stratum.name)]
    if stratum.evaluable < SMALL_STRATUM:
        text = f"Stratum '{stratum.name}' has only {stratum.evaluable} evaluable patients: its posterior rests mostly on the prior."
        return [caveat("stratum-sparse", text, stratum.name)]
    return []


def analyse_safety(spec: SafetyAnalysisSpec) -> dict[str, Any]:
    """Per stratum (and pooled): evaluable n, toxicities, the Beta posterior of p_tox, its mean, 95%
    equal-tailed CrI and P(p_tox > p0) at n; with a design, the calibrated rule applied at every planned
    look so far (``apply_looks``) and whether it stopped."""
    stop_counts = None
    if spec.design is not None:
        stop_counts = boundaries.stop_counts(spec.design)
    strata = [_row(spec, s.name, s.evaluable, s.toxicities, stop_counts, s.at_looks) for s in spec.strata]
    pooled = None
    if spec.pooled:
        n, x = sum(s.evaluable for s in spec.strata), sum(s.toxicities for s in spec.strata)
        pooled = _row(spec, POOLED, n, x, stop_counts, spec.pooled_at_looks)
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
        "warnings": [w for s in spec.strata for w in _warnings(s)]
                    + [w for row in [*strata, *([pooled] if pooled else [])] if row["crossed"] is None
                       and row["looks_applied"] is not None for w in _undetermined(row)],
        "provenance": provenance(spec.payload(), model={"kind": "beta-binomial", "prior": prior}, method="closed form"),
    }
