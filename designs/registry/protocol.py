"""A trial's protocol as registered: declared strata, the response and PFS plans, the seed.

    {"id" (slug), "title", "strata": [{"name", "description"}],
     "response": {"p0", "p1", "strata": [{"name", "n_planned", "looks": [7, 14, 21]}], "model", "decision",
                  "engine", "simon", "mcmc", "not_evaluable": "exclude" | "non-responder"},
     "pfs": {"landmark_months", "benchmark_landmark_pfs", "target_landmark_pfs", "strata": [{"name", "n_planned"}],
             "model", "decision", "engine", "mcmc"},
     "seed",
     "derivation": {"criterion": "recist1.1" | "reins", "endpoint": "objective_response" | "clinical_benefit", ...},
     "adam": {"stratum_variable", "strata": {value: stratum name}, "response": {"paramcd", "records"}, "pfs": {...}},
     "safety": {"p0", "looks", "alpha", "method", "prior": {"a", "b"}, "scope": "per-stratum" | "pooled", "strata"}}

At least one of ``response`` and ``pfs``. Each endpoint's data-free fields are checked by the analyses'
own code (``designs.response.spec.check_settings``, ``designs.survival.spec.check_settings``) and located
under the endpoint (``response/model/prior/a``), so a bad prior reads exactly as in an analysis. Every
endpoint stratum must be declared at the top level (a misspelt 'Sporadic' is refused, naming the
declared ones); ``looks`` are cumulative numbers of evaluable patients, strictly increasing, the last
equal to ``n_planned``.

``ProtocolSpec.document`` is the protocol normalised, with every default filled (the prior as the
analyses apply it, the decision rule, the engine, the sampler settings when MCMC runs), so that what
is stored says exactly what will run, whatever later versions of gonogo take as defaults; its
``defaults`` lists the paths gonogo filled in (the rest the protocol chose). ``amend`` applies an
RFC 7396 JSON merge patch to such a document, fills the defaults in afresh and checks the whole again.

Optional sections for patient-level data: ``derivation`` (``designs.endpoints.spec.DerivationSpec``) says
how data cuts that carry tumour assessments are turned into responders and PFS; ``adam``
(``designs.adam.mapping.AdamMapping``) maps CDISC ADaM datasets (ADSL, ADRS, ADTTE) onto the declared
strata and endpoints. Each appears in the document only when the protocol has it.

Optional safety monitoring (``safety``): a toxicity stopping rule (``designs.safety.boundaries``) on the
patients' dose-limiting toxicities, checked by the safety code's own ``SafetyDesign.from_mapping`` and
located under ``safety/`` (``safety/looks/2`` reads as ``looks/2`` does in POST
/v1/designs/safety-boundaries). ``looks`` are cumulative numbers of safety-evaluable patients (of each
monitored stratum, or of them all when ``scope`` is "pooled"); ``strata`` names the declared strata
monitored (default: every declared stratum, filled in and listed in ``defaults``, so that a stratum an
amendment declares is monitored too unless the protocol chose its list). Defaults: method "bayesian",
alpha 0.10, the Beta(1, 1) prior, scope "per-stratum". A safety look beyond the planned enrolment (per
stratum: the largest monitored stratum's n_planned, the larger of its endpoints'; pooled: their sum) can
never fire and is refused at ``safety/looks/<i>``. A protocol with ``adam`` may monitor safety: its JSON
cuts can carry toxicity, while its ADaM cuts carry none (ADAE is not mapped), which each look then says
(a ``safety-unrecorded`` caveat among its warnings) rather than the protocol being refused. Safety monitoring is not an endpoint: a protocol
still needs response or PFS (gonogo runs go/no-go looks; a safety-only trial is a different design).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from designs.adam.mapping import AdamMapping
from designs.core.errors import FieldProblem, InvalidInputError
from designs.core.validation import MAX_COUNT, MAX_STRATA, Checker, did_you_mean
from designs.endpoints.spec import DerivationSpec
from designs.engines.sampler_settings import SamplerSettings
from designs.response import spec as response_spec
from designs.response.decisions import DecisionRule
from designs.response.simon_status import SimonRule
from designs.safety import boundaries
from designs.safety.boundaries import SafetyDesign
from designs.survival import spec as survival_spec
from designs.survival.decisions import PFSDecisionRule
from designs.survival.models import PFSModel

SLUG = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
# Control characters (C0, DEL, C1): never in a registry's free text. They print as nothing or garble
# a terminal, and PostgreSQL refuses NUL in text outright.
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
NO_CONTROL = r"^[^\x00-\x1f\x7f-\x9f]*$"  # the same, as a JSON-schema pattern


def control_problem(value: Any) -> str | None:
    """Why ``value`` (a string) cannot be stored as free text, or None when it can."""
    if isinstance(value, str) and (found := CONTROL.search(value)):
        return f"must not contain control characters (found U+{ord(found.group()):04X} at position {found.start()})"
    return None
"""A trial id: lower-case letters, digits and inner hyphens, 1 to 64 characters (it sits in URLs)."""
MAX_TITLE_LENGTH = 300
MAX_DESCRIPTION_LENGTH = 2000
MAX_LOOKS = 50
NOT_EVALUABLE = ("exclude", "non-responder")
"""What a not-evaluable patient counts as in the response analysis: left out of n (default), or a
non-responder (intention to treat)."""

_FIELDS = ("id", "title", "strata", "response", "pfs", "seed", "derivation", "adam", "safety", "defaults")
_STRATUM_FIELDS = ("name", "description")
_RESPONSE_FIELDS = ("p0", "p1", "strata", "model", "decision", "engine", "simon", "mcmc", "not_evaluable")
_RESPONSE_STRATUM_FIELDS = ("name", "n_planned", "looks")
_PFS_FIELDS = ("landmark_months", "benchmark_landmark_pfs", "target_landmark_pfs", "strata", "model", "decision",
               "engine", "mcmc")  # fmt: skip
_PFS_STRATUM_FIELDS = ("name", "n_planned")
_SAFETY_FIELDS = ("p0", "looks", "alpha", "method", "prior", "scope", "strata")
SAFETY_SCOPES = ("per-stratum", "pooled")
"""per-stratum: each monitored stratum's evaluable patients against the boundaries, a crossing stops that
stratum; pooled: the monitored strata's patients together, a crossing stops every monitored stratum."""
SAFETY_DEFAULTS = {**boundaries.SAFETY_DEFAULTS, "scope": "per-stratum"}
"""What a protocol's safety section takes when it does not say: the rule's defaults
(``designs.safety.boundaries.SAFETY_DEFAULTS``, shared with the safety analysis; the prior
``SafetyDesign``'s, Beta(1, 1)) and the scope."""


@dataclass(frozen=True)
class StratumDecl:
    """A stratum the protocol declares: its name (as the data cuts must spell it) and what it is."""

    name: str
    description: str = ""


@dataclass(frozen=True)
class ResponseStratumPlan:
    """One stratum of the response plan: planned evaluable patients and the looks (cumulative evaluable
    patients at each planned look, the last = ``n_planned``)."""

    name: str
    n_planned: int
    looks: tuple[int, ...]


@dataclass(frozen=True)
class ResponsePlan:
    """The response endpoint: what a look's response analysis runs, checked."""

    p0: float
    p1: float
    strata: tuple[ResponseStratumPlan, ...]
    model: response_spec.ResponseModelSpec
    decision: DecisionRule
    simon: SimonRule | None
    engine: str | None
    sampler: SamplerSettings | None
    not_evaluable: str = "exclude"


@dataclass(frozen=True)
class PFSStratumPlan:
    name: str
    n_planned: int


@dataclass(frozen=True)
class PFSPlan:
    """The PFS endpoint: what a look's PFS analysis runs, checked (the engine is the model's)."""

    landmark_months: float
    benchmark_landmark_pfs: float
    target_landmark_pfs: float
    strata: tuple[PFSStratumPlan, ...]
    model: PFSModel
    decision: PFSDecisionRule
    sampler: SamplerSettings | None


@dataclass(frozen=True)
class SafetyPlan:
    """Safety monitoring as declared: the calibrated rule's design, its scope and the strata monitored."""

    design: SafetyDesign
    scope: str
    strata: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        d = self.design
        return {"p0": d.p0, "looks": list(d.looks), "alpha": d.alpha, "method": d.method,
                "prior": {"a": d.prior_a, "b": d.prior_b}, "scope": self.scope, "strata": list(self.strata)}


@dataclass(frozen=True)
class ProtocolSpec:
    """A protocol, checked (build it with :meth:`from_mapping`); ``document`` is its normalised JSON."""

    id: str
    title: str
    strata: tuple[StratumDecl, ...]
    response: ResponsePlan | None
    pfs: PFSPlan | None
    seed: int | None
    document: dict
    derivation: DerivationSpec | None = None
    adam: AdamMapping | None = None
    safety: SafetyPlan | None = None

    @property
    def stratum_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.strata)

    @classmethod
    def from_mapping(cls, body: Any) -> ProtocolSpec:
        """The spec of a JSON-shaped protocol (see the module docstring); omitted optional fields take
        their defaults. Raises ``InvalidInputError`` naming every bad field at once."""
        check = Checker()
        body = check.mapping("body", body)
        check.unknown("", body, _FIELDS, "a protocol")
        trial_id = body.get("id")
        if not isinstance(trial_id, str) or not re.match(SLUG, trial_id):
            check.add("id", f"must be a slug: 1 to 64 lower-case letters, digits or inner hyphens (got {trial_id!r})")
            trial_id = None
        title = body.get("title")
        if not isinstance(title, str) or not 1 <= len(title.strip()) <= MAX_TITLE_LENGTH:
            check.add("title", f"must be a non-empty string of at most {MAX_TITLE_LENGTH} characters")
        elif problem := control_problem(title):
            check.add("title", problem)
        strata = _declared(check, body.get("strata"))
        declared = tuple(s.name for s in strata)
        if body.get("response") is None and body.get("pfs") is None:
            check.add("response", "a protocol needs at least one endpoint: response, pfs or both"
                  + (" (safety monitoring alone is not one: it watches an efficacy trial's toxicities)"
                     if body.get("safety") is not None else ""))
        response = None
        if body.get("response") is not None:
            response = check.within("response", _response, body["response"], declared)
        pfs = None
        if body.get("pfs") is not None:
            pfs = check.within("pfs", _pfs, body["pfs"], declared)
        seed = check.seed(body.get("seed"))
        derivation, adam = _patient_level(check, body, declared)
        safety = None
        if body.get("safety") is not None:
            safety = check.within("safety", _safety, body["safety"], declared)
        if safety is not None and not check.problems:
            _reachable(check, safety, response, pfs)
        given_defaults = body.get("defaults", [])
        if not isinstance(given_defaults, list) or not all(isinstance(p, str) for p in given_defaults):
            check.add("defaults", "must be a list of the paths whose values gonogo filled in (as a stored protocol lists them)")
            given_defaults = []
        check.raise_if_any()
        spec = cls(trial_id, title, strata, response, pfs, seed, {}, derivation, adam, safety)
        document = _document(spec)
        document["defaults"] = _defaulted(document, body, given_defaults)
        object.__setattr__(spec, "document", document)
        return spec


def _patient_level(check: Checker, body: Mapping[str, Any],
                   declared: tuple[str, ...]) -> tuple[DerivationSpec | None, AdamMapping | None]:
    """The ``derivation`` and ``adam`` sections, each checked by its own code, and what crosses them
    with the endpoints: an ADaM response or PFS source needs that endpoint, and per-visit ADaM
    responses need a derivation to confirm them."""
    derivation = adam = None
    if body.get("derivation") is not None:
        derivation = DerivationSpec.check(check, "derivation", body["derivation"])
    if body.get("adam") is not None:
        adam = AdamMapping.check(check, "adam", body["adam"], declared)
    if adam is not None:
        if adam.response is not None and body.get("response") is None:
            check.add("adam/response", "the protocol has no response endpoint for ADRS to feed")
        if adam.pfs is not None and body.get("pfs") is None:
            check.add("adam/pfs", "the protocol has no PFS endpoint for ADTTE to feed")
        if (adam.sd_min_days_applied is not None and derivation is not None
                and adam.sd_min_days_applied < derivation.benefit_min_days):
            check.add("adam/response/sd_min_days_applied",
                      f"{adam.sd_min_days_applied} days is shorter than the derivation's benefit_min_days "
                      f"({derivation.benefit_min_days}): stable disease that short would count as clinical benefit")
        if adam.response is not None and adam.response.get("records") == "visits" and body.get("derivation") is None:
            check.add("adam/response/records", "per-visit responses (records 'visits') need the protocol's "
                      "derivation section: it says how they are confirmed into a best overall response")
    return derivation, adam


def _declared(check: Checker, strata: Any) -> tuple[StratumDecl, ...]:
    if not check.size("strata", strata, 1, MAX_STRATA, "strata"):
        return ()
    out = []
    for i, item in enumerate(strata):
        where = f"strata/{i}"
        item = check.mapping(where, item)
        check.unknown(f"{where}/", item, _STRATUM_FIELDS, "a declared stratum")
        name = check.name(f"{where}/name", item.get("name"))
        if problem := control_problem(name):
            check.add(f"{where}/name", problem)
            name = None
        description = item.get("description", "")
        if description is None:
            description = ""
        if not isinstance(description, str) or len(description) > MAX_DESCRIPTION_LENGTH:
            check.add(f"{where}/description", f"must be a string of at most {MAX_DESCRIPTION_LENGTH} characters")
            description = ""
        elif problem := control_problem(description):
            check.add(f"{where}/description", problem)
        if name is not None:
            out.append(StratumDecl(name, description))
    check.unique("strata", [s.get("name") if isinstance(s, Mapping) else None for s in strata], "/name")
    return tuple(out)


def _endpoint_strata(check: Checker, strata: Any, declared: tuple[str, ...], fields: tuple[str, ...],
                     what: str) -> list[tuple[int, str, int | None, Mapping[str, Any]]]:
    """(index, name, n_planned, item) of an endpoint's strata: declared names, each once (name or
    n_planned None where it is bad: the problem is in ``check``)."""
    if not check.size("strata", strata, 1, MAX_STRATA, "strata"):
        return []
    out = []
    for i, item in enumerate(strata):
        where = f"strata/{i}"
        item = check.mapping(where, item)
        check.unknown(f"{where}/", item, fields, what)
        name = check.name(f"{where}/name", item.get("name"))
        if name is not None and declared and name not in declared:
            check.add(f"{where}/name", f"stratum '{name}' is not declared (declared strata: {', '.join(declared)})"
                      + did_you_mean(name, list(declared)))
            name = None
        planned = check.count(f"{where}/n_planned", item.get("n_planned"), low=1)
        out.append((i, name, planned, item))
    check.unique("strata", [s.get("name") if isinstance(s, Mapping) else None for s in strata], "/name")
    return out


def _looks(check: Checker, where: str, looks: Any, n_planned: int | None) -> tuple[int, ...] | None:
    """Cumulative evaluable patients at each look: ≥ 1, strictly increasing, the last = n_planned.
    Omitted: one look, the final one."""
    if looks is None:
        return None if n_planned is None else (n_planned,)
    if not check.size(where, looks, 1, MAX_LOOKS, "looks"):
        return None
    values = [check.integer(f"{where}/{k}", v, 1, MAX_COUNT) for k, v in enumerate(looks)]
    if None in values:
        return None
    ok = True
    for k in range(1, len(values)):
        if values[k] <= values[k - 1]:
            check.add(f"{where}/{k}", f"looks must increase strictly ({values[k - 1]} then {values[k]})")
            ok = False
    if n_planned is not None and values[-1] != n_planned:
        check.add(f"{where}/{len(values) - 1}", f"the last look must be at n_planned = {n_planned} (got {values[-1]})")
        ok = False
    return tuple(values) if ok else None


def _response(check: Checker, body: Any, declared: tuple[str, ...]) -> ResponsePlan | None:
    body = check.mapping("body", body)
    check.unknown("", body, _RESPONSE_FIELDS, "the response plan")

    def strata(c: Checker) -> tuple[ResponseStratumPlan, ...]:
        out = []
        for i, name, planned, item in _endpoint_strata(c, body.get("strata"), declared, _RESPONSE_STRATUM_FIELDS,
                                                      "a response stratum"):
            looks = _looks(c, f"strata/{i}/looks", item.get("looks"), planned)
            if name is not None and planned is not None and looks is not None:
                out.append(ResponseStratumPlan(name, planned, looks))
        return tuple(out)

    s = response_spec.check_settings(check, body, strata=strata)
    not_evaluable = check.choice("not_evaluable", body.get("not_evaluable", "exclude"), NOT_EVALUABLE)
    if check.problems:
        return None
    return ResponsePlan(s.p0, s.p1, s.strata, s.model, s.decision, s.simon, s.engine, s.sampler, not_evaluable)


def _pfs(check: Checker, body: Any, declared: tuple[str, ...]) -> PFSPlan | None:
    body = check.mapping("body", body)
    check.unknown("", body, _PFS_FIELDS, "the PFS plan")
    s = survival_spec.check_settings(check, body)
    strata = tuple(PFSStratumPlan(name, planned) for _, name, planned, _ in
                   _endpoint_strata(check, body.get("strata"), declared, _PFS_STRATUM_FIELDS, "a PFS stratum")
                   if name is not None and planned is not None)
    if check.problems:
        return None
    return PFSPlan(s.landmark_months, s.benchmark_landmark_pfs, s.target_landmark_pfs, strata, s.model, s.decision,
                   s.sampler)


def _safety(check: Checker, body: Any, declared: tuple[str, ...]) -> SafetyPlan | None:
    """The safety section: the rule checked by ``SafetyDesign.from_mapping`` (its problems at its own
    paths, so ``safety/prior/a`` reads as ``prior/a`` in POST /v1/designs/safety-boundaries), the scope,
    and the monitored strata (declared ones, each once; default every declared stratum)."""
    body = check.mapping("body", body)
    check.unknown("", body, _SAFETY_FIELDS, "the safety monitoring plan")
    given = {k: v for k, v in body.items() if k in ("p0", "looks", "alpha", "method", "prior") and v is not None}
    design = check.attempt(SafetyDesign.from_mapping, {k: v for k, v in SAFETY_DEFAULTS.items() if k != "scope"} | given)
    scope = body.get("scope")
    scope = check.choice("scope", SAFETY_DEFAULTS["scope"] if scope is None else scope, SAFETY_SCOPES)
    strata = body.get("strata")
    if strata is None:
        strata = list(declared)
    elif check.size("strata", strata, 1, MAX_STRATA, "monitored strata"):
        for i, name in enumerate(strata):
            if check.name(f"strata/{i}", name) is not None and declared and name not in declared:
                check.add(f"strata/{i}", f"stratum {name!r} is not declared (declared strata: {', '.join(declared)})"
                          + did_you_mean(name, list(declared)))
        check.unique("strata", strata)
    if check.problems or design is None:
        return None
    return SafetyPlan(design, scope, tuple(strata))


def _reachable(check: Checker, safety: SafetyPlan, response: ResponsePlan | None, pfs: PFSPlan | None) -> None:
    """Refuse safety looks no monitored patients can reach: beyond the largest planned enrolment (a
    stratum's planned patients are the largest n_planned of its endpoints; per stratum, the largest
    monitored stratum's; pooled, the monitored strata's sum). Such a look can never fire."""
    planned: dict[str, int] = {}
    for plan in (response, pfs):
        for stratum in plan.strata if plan is not None else ():
            planned[stratum.name] = max(planned.get(stratum.name, 0), stratum.n_planned)
    sizes = [planned.get(name, 0) for name in safety.strata]
    cap = sum(sizes) if safety.scope == "pooled" else max(sizes, default=0)
    what = ("the monitored strata's planned patients together" if safety.scope == "pooled"
            else "the largest monitored stratum's planned patients")
    for i, n in enumerate(safety.design.looks):
        if n > cap:
            check.add(f"safety/looks/{i}", f"a safety look at {n} evaluable patients can never be reached: "
                      f"{what} are {cap} (the endpoints' n_planned)")


def _document(spec: ProtocolSpec) -> dict[str, Any]:
    """The normalised protocol: every default filled, in the request's JSON shape (valid input again)."""
    doc: dict[str, Any] = {
        "id": spec.id,
        "title": spec.title,
        "strata": [{"name": s.name, "description": s.description} for s in spec.strata],
        "response": None,
        "pfs": None,
        "seed": spec.seed,
    }
    r = spec.response
    if r is not None:
        engine = r.engine
        if engine is None and not r.model.closed_form:
            engine = "mcmc"
        sampler = r.sampler
        if sampler is None and engine == "mcmc" and not r.model.closed_form:
            sampler = SamplerSettings()
        doc["response"] = {
            "p0": r.p0,
            "p1": r.p1,
            "strata": [{"name": s.name, "n_planned": s.n_planned, "looks": list(s.looks)} for s in r.strata],
            "model": r.model.as_dict(),
            "decision": r.decision.as_dict(),
            "engine": engine,
            "simon": None if r.simon is None else r.simon.as_dict(),
            "mcmc": None if sampler is None else asdict(sampler),
            "not_evaluable": r.not_evaluable,
        }
    p = spec.pfs
    if p is not None:
        sampler = p.sampler
        if sampler is None and p.model.engine == "mcmc":
            sampler = SamplerSettings()
        doc["pfs"] = {
            "landmark_months": p.landmark_months,
            "benchmark_landmark_pfs": p.benchmark_landmark_pfs,
            "target_landmark_pfs": p.target_landmark_pfs,
            "strata": [{"name": s.name, "n_planned": s.n_planned} for s in p.strata],
            "model": {"kind": p.model.kind, "prior": p.model.prior_as_applied()},
            "decision": p.decision.as_dict(),
            "engine": p.model.engine,
            "mcmc": None if sampler is None else asdict(sampler),
        }
    if spec.derivation is not None:
        doc["derivation"] = spec.derivation.document
    if spec.adam is not None:
        doc["adam"] = spec.adam.document
    if spec.safety is not None:
        doc["safety"] = spec.safety.as_dict()
    return doc


def _leaves(doc: Any, prefix: str = "") -> dict[str, Any]:
    """Every non-null leaf of a JSON document by its path (lists are leaves)."""
    if not isinstance(doc, Mapping):
        return {} if doc is None else {prefix: doc}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        out.update(_leaves(value, f"{prefix}/{key}" if prefix else key))
    return out


def _present(body: Any, path: str) -> bool:
    for key in path.split("/"):
        if not isinstance(body, Mapping) or body.get(key) is None:
            return False
        body = body[key]
    return True


def _defaulted(document: Mapping[str, Any], body: Mapping[str, Any], given: list[str]) -> list[str]:
    """The paths of the normalised document that gonogo filled in: absent from ``body``, or listed as
    filled in by the stored version ``body`` is (``given``)."""
    leaves = _leaves({k: v for k, v in document.items() if k != "defaults"})
    return sorted(path for path in leaves if not _present(body, path) or path in given)


def _without(doc: Any, paths: set[str], prefix: str = "") -> Any:
    if not isinstance(doc, Mapping):
        return doc
    out = {}
    for key, value in doc.items():
        where = f"{prefix}/{key}" if prefix else key
        if where not in paths:
            out[key] = _without(value, paths, where)
    return out


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7396 JSON merge patch: objects merge key by key, null removes a key, anything else replaces."""
    if not isinstance(patch, Mapping):
        return patch
    out = dict(target) if isinstance(target, Mapping) else {}
    for key, value in patch.items():
        if value is None:
            out.pop(key, None)
        else:
            out[key] = merge_patch(out.get(key), value)
    return out


def amend(document: Mapping[str, Any], changes: Any) -> dict[str, Any]:
    """The normalised document of ``document`` amended by ``changes`` (an RFC 7396 merge patch).

    The whole amended protocol is checked again, its problems located at the protocol's own paths
    (``response/p1``). ``id`` cannot change. Merge-patch semantics: a list (strata, looks) is replaced
    whole; null removes a field, which then takes its default again. The values gonogo filled in
    (the document's ``defaults``) are filled in afresh unless ``changes`` sets them: changing ``p0``
    re-centres a default prior on the new p0 (the new version shows it), while a prior the protocol
    chose stays as chosen.
    """
    if not isinstance(changes, Mapping) or not changes:
        raise InvalidInputError("changes", "must be a non-empty object: an RFC 7396 merge patch of the protocol")
    problems = []
    if "id" in changes and changes["id"] != document.get("id"):
        problems.append(FieldProblem("changes/id", f"a trial's id cannot change (it is {document.get('id')!r})"))
    if "defaults" in changes:
        problems.append(FieldProblem("changes/defaults", "is gonogo's record of the values it filled in, not part of "
                                     "the protocol: change the values themselves"))
    if problems:
        raise InvalidInputError(problems)
    filled = set(document.get("defaults") or ()) - set(_leaves(changes))
    base = _without({k: v for k, v in document.items() if k != "defaults"}, filled)
    return ProtocolSpec.from_mapping(merge_patch(base, changes)).document


def effective_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """What an amendment changed in effect: every leaf of the normalised protocol (lists are leaves)
    whose value differs between ``old`` and ``new``, by path, ``{"from", "to"}`` (null: absent). It
    shows what a merge patch implied, e.g. ``response/model/prior/a`` when a new ``p0`` re-centred a
    default prior. ``defaults`` (gonogo's bookkeeping) is left out."""
    before = _leaves({k: v for k, v in old.items() if k != "defaults"})
    after = _leaves({k: v for k, v in new.items() if k != "defaults"})
    return {path: {"from": before.get(path), "to": after.get(path)}
            for path in sorted(before.keys() | after.keys()) if before.get(path) != after.get(path)}
