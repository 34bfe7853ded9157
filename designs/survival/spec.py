"""An interim PFS analysis request as plain data, checked once: the single source of truth of its limits.

The model (kind, prior fields with their bounds, engines) is ``designs.survival.models``'; the rule is
``designs.survival.decisions``'; this module adds the patients, the strata with their planned numbers of
patients (``n_planned``, which the final analysis needs), the landmark and the rates, and the one
validating constructor ``PFSAnalysisSpec.from_mapping``, which reports every bad field at once
(patients located as ``patients/<index>/<field>`` and named by id). The HTTP schema derives its
limits from here; the analysis trusts the spec it is given.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from designs.core.validation import MAX_STRATA, Bounds, Checker, did_you_mean, is_number
from designs.engines.sampler_settings import SamplerSettings
from designs.survival.decisions import PFSDecisionRule
from designs.survival.models import DEFAULT_KIND, PFSModel, resolve_in

MAX_PATIENTS = 2000
MAX_TIME_MONTHS = 1200.0
"""The longest follow-up of a patient, in months (100 years): longer is a unit or typing mistake, and
sums of such times overflow."""
LANDMARK_BOUNDS = Bounds(ge=0.1, le=120.0)
"""The landmark, in months: from three days (nearer 0, the hazard implied by a landmark rate
overflows) to ten years."""
DEFAULT_LANDMARK_MONTHS = 4.0
ENGINES: tuple[str, ...] = ("closed-form", "mcmc", "quadrature")
"""The engines a request may name; which apply depends on the kind (``designs.survival.models.ENGINES``).
``closed-form`` is what an independent-exponential analysis reports and what a registered protocol
stores for it, so a request may name it too: what the service answers, it takes back."""


@dataclass(frozen=True)
class PatientRecord:
    """One patient: ``event`` True = progression or death at ``time_months``, False = censored then."""

    id: str | int
    stratum: str
    time_months: float
    event: bool


_REQUEST_FIELDS = (
    "patients", "strata", "landmark_months", "benchmark_landmark_pfs", "target_landmark_pfs",
    "model", "decision", "engine", "mcmc", "seed",
)  # fmt: skip
_PATIENT_FIELDS = ("id", "stratum", "time_months", "event")


@dataclass(frozen=True)
class PFSAnalysisSpec:
    """Everything one analysis needs, checked (build it with :meth:`from_mapping`).

    ``strata`` lists the stratum names in reporting order (as requested; a request whose patients
    all share one stratum need not list it); every one has patients. ``n_planned`` holds each
    stratum's planned number of patients, in the order of ``strata`` (None: not given; ``()``: none
    given), at least its enrolled ones. ``sampler`` None: the sampler's defaults. ``request`` is the
    request as received (for the input hash and the default seed).
    """

    patients: tuple[PatientRecord, ...]
    strata: tuple[str, ...]
    benchmark_landmark_pfs: float
    target_landmark_pfs: float
    landmark_months: float = DEFAULT_LANDMARK_MONTHS
    model: PFSModel = field(default_factory=PFSModel)
    decision: PFSDecisionRule = field(default_factory=PFSDecisionRule)
    sampler: SamplerSettings | None = None
    seed: int | None = None
    request: Mapping[str, Any] | None = field(default=None, compare=False, repr=False)
    n_planned: tuple[int | None, ...] = ()

    def planned(self, stratum: str) -> int | None:
        """The stratum's planned number of patients, None when not given."""
        return dict(zip(self.strata, self.n_planned)).get(stratum)

    def payload(self) -> dict[str, Any]:
        """The request as received, else the spec in the request's JSON shape (for the input hash)."""
        if self.request is not None:
            return dict(self.request)
        return {
            "patients": [asdict(p) for p in self.patients],
            "strata": [
                name if self.planned(name) is None else {"name": name, "n_planned": self.planned(name)}
                for name in self.strata
            ],
            "landmark_months": self.landmark_months,
            "benchmark_landmark_pfs": self.benchmark_landmark_pfs,
            "target_landmark_pfs": self.target_landmark_pfs,
            "model": self.model.to_dict(),
            "decision": self.decision.as_dict(),
            "mcmc": None if self.sampler is None else asdict(self.sampler),
            "seed": self.seed,
        }

    @classmethod
    def from_mapping(cls, request: Mapping[str, Any]) -> PFSAnalysisSpec:
        """The spec of a JSON-shaped request ``{patients: [{id, stratum, time_months, event}],
        strata: [name | {name, n_planned}], landmark_months, benchmark_landmark_pfs, target_landmark_pfs,
        model: {kind, prior}, decision, engine, mcmc, seed}``; omitted optional fields take their defaults.

        Raises ``InvalidInputError`` naming every bad field at once.
        """
        check = Checker()
        request = check.mapping("body", request)
        check.unknown("", request, _REQUEST_FIELDS, "the PFS analysis request")
        settings = check_settings(check, request)
        seed = check.seed(request.get("seed"))
        patients = _patients(check, request.get("patients"))
        strata, n_planned = _strata(check, request.get("strata"), request.get("patients") or [])
        check.raise_if_any()
        return cls(
            patients, strata, settings.benchmark_landmark_pfs, settings.target_landmark_pfs, settings.landmark_months,
            settings.model, settings.decision, settings.sampler, seed, dict(request), n_planned,
        )


@dataclass(frozen=True)
class PFSSettings:
    """The data-free part of a PFS analysis, checked: landmark, rates, model (with its engine), rule, sampler.

    Shared by the analysis request and a registered protocol's PFS plan (``designs.registry``), so
    that both read the same fields with the same messages. Fields are None where a problem was found.
    """

    landmark_months: float | None
    benchmark_landmark_pfs: float | None
    target_landmark_pfs: float | None
    model: PFSModel | None
    decision: PFSDecisionRule | None
    sampler: SamplerSettings | None


def check_settings(check: Checker, request: Mapping[str, Any]) -> PFSSettings:
    """``landmark_months``, ``benchmark_landmark_pfs`` < ``target_landmark_pfs``, ``model`` {kind, prior},
    ``engine`` (which must suit the kind), ``decision`` and ``mcmc`` of ``request``; problems go to
    ``check`` at the fields' own names. Unknown fields are the caller's to refuse."""
    landmark = check.number("landmark_months", request.get("landmark_months", DEFAULT_LANDMARK_MONTHS), LANDMARK_BOUNDS)
    benchmark = check.probability("benchmark_landmark_pfs", request.get("benchmark_landmark_pfs"))
    target = check.probability("target_landmark_pfs", request.get("target_landmark_pfs"))
    if benchmark is not None and target is not None and target <= benchmark:
        check.add(
            "target_landmark_pfs",
            f"target_landmark_pfs must be greater than benchmark_landmark_pfs (benchmark = {benchmark}, target = {target})",
        )
    model = check.mapping("model", request.get("model"))
    check.unknown("model/", model, ("kind", "prior"), "the model")
    engine = request.get("engine")
    if engine is not None:
        check.choice("engine", engine, ENGINES)
    pfs_model = resolve_in(check, model.get("kind", DEFAULT_KIND), model.get("prior"), engine)
    decision = check.build("decision", PFSDecisionRule, request.get("decision"))
    sampler = None if request.get("mcmc") is None else check.build("mcmc", SamplerSettings, request["mcmc"])
    return PFSSettings(landmark, benchmark, target, pfs_model, decision, sampler)


def _patients(check: Checker, patients: Any) -> tuple[PatientRecord, ...]:
    if not check.size("patients", patients, 1, MAX_PATIENTS, "patients"):
        return ()
    out = []
    seen_ids: dict[str, int] = {}
    for i, patient in enumerate(patients):
        where = f"patients/{i}"
        patient = check.mapping(where, patient)
        check.unknown(f"{where}/", patient, _PATIENT_FIELDS, "a patient")
        pid, t, event = patient.get("id"), patient.get("time_months"), patient.get("event")
        label = f"patient {pid!r}"
        if isinstance(pid, bool) or not isinstance(pid, str | int) or pid == "":
            check.add(f"{where}/id", f"{label}: id must be a non-empty string or an integer")
        elif str(pid) in seen_ids:
            check.add(f"{where}/id", f"{label}: duplicate id (first at patients/{seen_ids[str(pid)]})")
        else:
            seen_ids[str(pid)] = i
        stratum = check.name(f"{where}/stratum", patient.get("stratum"))
        ok = stratum is not None
        if not is_number(t):
            check.add(f"{where}/time_months", f"{label}: time must be a finite number (got {t})")
            ok = False
        elif not 0 <= t <= MAX_TIME_MONTHS:
            check.add(f"{where}/time_months", f"{label}: time must lie in [0, {MAX_TIME_MONTHS:g}] months (got {t})")
            ok = False
        if not isinstance(event, bool):
            check.add(f"{where}/event", f"{label}: event must be true or false")
            ok = False
        if ok:
            out.append(PatientRecord(pid, stratum, float(t), event))
    return tuple(out)


def _strata(check: Checker, listed: Any, patients: list[Any]) -> tuple[tuple[str, ...], tuple[int | None, ...]]:
    """Stratum names in reporting order, and their planned numbers of patients (None where a stratum
    is listed by its name alone). Listing them is required when the patients name more than one, so
    that a misspelt name ('Sporadic') is refused, not analysed as a stratum of its own; a single
    stratum needs no list. Each listed stratum has patients, and no more than its n_planned.

    ``patients`` are the request's (mappings), so that a problem is located at the patient's index.
    """
    rows = [(p.get("id"), p.get("stratum")) if isinstance(p, Mapping) else (None, None) for p in patients]
    if listed is None:
        order = tuple(dict.fromkeys(stratum for _, stratum in rows if isinstance(stratum, str)))
        if len(order) > MAX_STRATA:
            check.add("patients", f"at most {MAX_STRATA} strata (got {len(order)})")
        if len(order) > 1:
            check.add("strata", f"required when the patients name more than one stratum: list them in reporting "
                      f"order (the patients name {', '.join(repr(s) for s in order)})")
        return order, ()
    if not check.size("strata", listed, 1, MAX_STRATA, "strata"):
        return (), ()
    names, n_planned = [], []
    for i, item in enumerate(listed):
        if isinstance(item, Mapping):
            check.unknown(f"strata/{i}/", item, ("name", "n_planned"), "a stratum")
            names.append(check.name(f"strata/{i}/name", item.get("name")))
            n_planned.append(check.count(f"strata/{i}/n_planned", item.get("n_planned"), low=1))
        else:
            names.append(check.name(f"strata/{i}", item))
            n_planned.append(None)
    check.unique("strata", names)
    order = tuple(dict.fromkeys(name for name in names if name is not None))
    for i, (pid, stratum) in enumerate(rows):
        if stratum not in order:
            check.add(f"patients/{i}/stratum", f"patient {pid!r}: unknown stratum '{stratum}' (strata: {', '.join(order)})"
                      + did_you_mean(stratum, order))
    enrolled = Counter(stratum for _, stratum in rows)
    for j, (name, planned) in enumerate(zip(names, n_planned)):
        if name is None:
            continue
        if not enrolled[name]:
            check.add(f"strata/{j}", f"stratum '{name}' has no patients")
        elif planned is not None and planned < enrolled[name]:
            check.add(f"strata/{j}/n_planned", f"stratum '{name}': n_planned must be at least the patients enrolled "
                      f"(enrolled = {enrolled[name]}, n_planned = {planned})")
    return order, tuple(n_planned) if any(n is not None for n in n_planned) else ()
