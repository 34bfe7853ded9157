"""The one place that decides, from a computation's estimated cost, to answer now, start a job, or refuse.

Every analysis and design request has an estimated cost (``designs.core.cost``: seconds and peak
memory, from its spec alone). Against the Settings:

* above the hard budget (``GONOGO_MAX_COMPUTE_SECONDS``, ``GONOGO_MAX_COMPUTE_MB``): 422, reported
  with the request's other problems, naming each field that alone would bring it within the budget
  and the largest value that does (``mcmc/draws``: "with 8 chains and 2 strata at most 12,000 draws
  fit ..."), else the fields the cost grows with;
* above the synchronous budget (``GONOGO_SYNC_COMPUTE_SECONDS``, ``GONOGO_SYNC_COMPUTE_MB``), or with
  ``Prefer: respond-async``: a job (202, ``Location: /v1/jobs/{id}``) whose result is the document the
  synchronous answer would have been;
* otherwise the answer is computed now, in the compute pool (``service.compute``).

Operating characteristics and calibration keep their own thresholds (simulated trials,
``GONOGO_JOB_THRESHOLD_TRIALS``; decision tables, ``GONOGO_JOB_DECISION_SECONDS`` and
``GONOGO_MAX_DECISION_SECONDS``), decided here too (``design_wants_job``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from designs.core.cost import MB, Cost, largest_within
from designs.core.errors import FieldProblem, InvalidInputError
from designs.core.memory import CACHES, set_cache_budget
from designs.engines import pymc
from designs.core.provenance import input_hash
from designs.engines.sampler_settings import MIN_REQUEST_DRAWS, SamplerSettings
from designs.response.cost import estimate_response
from designs.response.spec import PRIOR_PARAMETERS, ResponseAnalysisSpec
from designs.survival.cost import estimate_pfs
from designs.survival.spec import PFSAnalysisSpec
from service import limits
from service.boundary import merge
from service.computations import sent_request
from service.jobs import JobManager
from service.schemas.pfs import PFSAnalysisResult
from service.schemas.response import ResponseAnalysisResult
from service.settings import Settings

JOB_DESCRIPTION = "Too large to answer now, or `Prefer: respond-async`: a job to poll at /v1/jobs/{id}"


def asks_async(prefer: str | None) -> bool:
    """``Prefer: respond-async`` (RFC 7240) among the preferences."""
    return prefer is not None and "respond-async" in prefer.lower()


def _fits(settings: Settings) -> Callable[[Cost], bool]:
    return lambda cost: cost.seconds <= settings.max_compute_seconds and cost.peak_bytes <= settings.max_compute_mb * MB


def _within_sync(cost: Cost, settings: Settings) -> bool:
    return cost.seconds <= settings.sync_compute_seconds and cost.peak_bytes <= settings.sync_compute_mb * MB


# --------------------------------------------------------------------------------------------------
# Refusals: which field to change, and to what


def _sampler(spec: Any) -> SamplerSettings:
    return spec.sampler or SamplerSettings()


def _with_sampler(spec: Any, **change: Any) -> Any:
    return dataclasses.replace(spec, sampler=dataclasses.replace(_sampler(spec), **change))


def _with_prior(spec: Any, name: str, value: float) -> Any:
    model = spec.model
    return dataclasses.replace(spec, model=dataclasses.replace(model, prior=dataclasses.replace(model.prior, **{name: value})))


def _with_planned(spec: ResponseAnalysisSpec, cap: int) -> ResponseAnalysisSpec:
    strata = tuple(dataclasses.replace(s, n_planned=max(s.n, min(s.n_planned, cap))) for s in spec.strata)
    return dataclasses.replace(spec, strata=strata)


def _knobs(spec: Any, cost: Cost) -> list[tuple[str, Any, Callable[[float], Any], float, bool, str]]:
    """(field, current value, spec with that value, lowest value allowed, integer?, unit) for every
    field the cost grows with and a client can lower."""
    knobs = []
    if cost.parts.get("engine") == "mcmc" or "draws_per_chain" in cost.parts:
        s = _sampler(spec)
        knobs += [
            ("mcmc/draws", s.draws, lambda v: _with_sampler(spec, draws=int(v)), MIN_REQUEST_DRAWS, True, "draws"),
            ("mcmc/tune", s.tune, lambda v: _with_sampler(spec, tune=int(v)), MIN_REQUEST_DRAWS, True, "warm-up draws"),
            ("mcmc/chains", s.chains, lambda v: _with_sampler(spec, chains=int(v)), 1, True, "chains"),
            ("mcmc/max_reruns", s.max_reruns, lambda v: _with_sampler(spec, max_reruns=int(v)), 0, True, "reruns"),
        ]
    if "grid_cells" in cost.parts:
        prior = spec.model.prior
        for name in ("mu_sd", "tau_scale", "nex_sd"):
            value = getattr(prior, name, None)
            if value is not None and name in PRIOR_PARAMETERS:
                low = PRIOR_PARAMETERS[name].bounds.gt or PRIOR_PARAMETERS[name].bounds.ge or 1e-3
                knobs.append((f"model/prior/{name}", value, lambda v, name=name: _with_prior(spec, name, v),
                              max(low, 1e-3), False, ""))
        if isinstance(spec, ResponseAnalysisSpec):
            planned = max(s.n_planned for s in spec.strata)
            lowest = max(s.n for s in spec.strata)
            knobs.append(("strata/n_planned", planned, lambda v: _with_planned(spec, int(v)), lowest, True, "planned patients per stratum"))
    return knobs


def _amount(value: float, integer: bool) -> str:
    return f"{int(value):,}" if integer else f"{value:.3g}"


def _context(spec: Any, cost: Cost, field: str) -> str:
    """What else sets the cost, beside the field to change: "with 8 chains and 2 strata"."""
    strata = f"{len(spec.strata)} strata"
    if "draws_per_chain" in cost.parts:
        s = _sampler(spec)
        other = f"{s.draws:,} draws" if field == "mcmc/chains" else f"{s.chains} chains"
        return f"with {other} and {strata}"
    return f"with {strata}"


def cost_problems(spec: Any, cost: Cost, settings: Settings, estimate: Callable[[Any], Cost]) -> list[FieldProblem]:
    """A ``FieldProblem`` per field that alone would bring the cost within the hard budget (with the
    largest value that does), or one naming the cost and its drivers when none would."""
    fits = _fits(settings)
    if fits(cost):
        return []
    over = []
    if cost.seconds > settings.max_compute_seconds:
        over.append(f"the limit of {settings.max_compute_seconds:g} s (GONOGO_MAX_COMPUTE_SECONDS)")
    if cost.peak_bytes > settings.max_compute_mb * MB:
        over.append(f"the limit of {settings.max_compute_mb:g} MB (GONOGO_MAX_COMPUTE_MB)")
    limit_text = " and ".join(over)
    found = []
    for field, current, with_value, low, integer, unit in _knobs(spec, cost):
        if current is None or current <= low:
            continue
        best = largest_within(lambda v, with_value=with_value: estimate(with_value(v)), fits, low, current, integer=integer)
        if best is None or best >= current:
            continue
        what = f" {unit}" if unit else ""
        found.append(FieldProblem(field, (
            f"{_context(spec, cost, field)} at most {_amount(best, integer)}{what} fit{'' if unit else 's'} {limit_text}; the request asks for "
            f"{_amount(current, integer)} (estimated {cost.seconds:,.0f} s, {cost.peak_mb:,.0f} MB)")))
    if not found:
        field = next((d for d in cost.drivers if d != "strata/n_planned"), "body")
        found.append(FieldProblem(field, (
            f"the computation is estimated at {cost.seconds:,.0f} s and {cost.peak_mb:,.0f} MB, beyond {limit_text}; "
            f"it grows with {', '.join(cost.drivers)}")))
    return found


# --------------------------------------------------------------------------------------------------
# Analyses: build, estimate, refuse, or decide sync / job


@dataclasses.dataclass
class AnalysisComputation:
    """One analysis as a one-chunk computation for ``JobManager.submit`` (``service.jobs`` protocol):
    its chunk runs ``analyse(spec)`` in a job worker, with this process's cache budget and directory
    of compiled models. Pure (``service.jobs.backends.is_pure``): the spec holds its seed (given, or
    derived from the request's SHA-256), so computing it again after its worker died gives the same
    numbers."""

    pure = True

    analyse: Callable[[Any], dict[str, Any]]
    spec: Any
    cache_bytes: int
    model_dir: Path | None = None
    chunks: list = dataclasses.field(default_factory=lambda: [0])

    def prepare(self) -> AnalysisComputation:
        return self

    def run_chunk(self, chunk: Any) -> dict[str, Any]:
        set_cache_budget(self.cache_bytes)
        pymc.set_cache_dir(self.model_dir)
        return self.analyse(self.spec)

    def reduce(self, pairs: list[tuple[Any, Any]]) -> dict[str, Any]:
        return pairs[0][1]


class AnalysisFinish:
    """The synchronous answer's shape (the route's response model), given to a job's result."""

    def __init__(self, schema: type):
        self.schema = schema

    def __call__(self, result: dict[str, Any]) -> dict[str, Any]:
        return self.schema.model_validate(result).model_dump(mode="json")


RESULT_SCHEMAS: dict[str, type] = {"response-analysis": ResponseAnalysisResult, "pfs-analysis": PFSAnalysisResult}
"""What a job's result is validated against: the synchronous answer's response model."""

ESTIMATORS: dict[str, tuple[Callable[[Mapping[str, Any]], Any], Callable[[Any], Cost]]] = {
    "response-analysis": (ResponseAnalysisSpec.from_mapping, estimate_response),
    "pfs-analysis": (PFSAnalysisSpec.from_mapping, estimate_pfs),
}


def admit(kind: str, payload: Mapping[str, Any], settings: Settings) -> tuple[Any, Cost]:
    """The spec of an analysis request and its cost; every problem at once — the spec's, the Settings
    limits' and, when the spec is sound, the hard budget's — as ``InvalidInputError``."""
    build, estimate = ESTIMATORS[kind]
    found = limits.of_request(settings, payload)
    try:
        spec = build(payload)
    except InvalidInputError as exc:
        raise InvalidInputError(merge(found, exc.problems)) from None
    cost = estimate(spec)
    found = merge(found, cost_problems(spec, cost, settings, estimate))
    if found:
        raise InvalidInputError(found)
    return spec, cost


async def analysis(kind: str, body: Any, settings: Settings, jobs: JobManager, prefer: str | None,
                   analyse: Callable[[Any], dict[str, Any]], compute: Callable[..., Awaitable[Any]]) -> Any:
    """An analysis route's answer: a 422 (``admit``), a 202 job (``as_job``), or ``analyse(spec)``
    computed by ``compute`` (the compute pool, ``service.compute``). Building the spec, estimating its
    cost and recording a job run on a thread: never on the event loop."""
    spec, cost = await run_in_threadpool(admit, kind, body.model_dump(mode="json"), settings)
    job = await run_in_threadpool(as_job, kind, body, spec, cost, settings, jobs, prefer, analyse)
    return job if job is not None else await compute(analyse, spec)


def as_job(kind: str, body: Any, spec: Any, cost: Cost, settings: Settings, jobs: JobManager, prefer: str | None,
           analyse: Callable[[Any], dict[str, Any]]) -> JSONResponse | None:
    """The 202 of a job running ``analyse(spec)`` when the request asks for one or its cost is above the
    synchronous budget; None when it is to be answered now."""
    if not (asks_async(prefer) or not _within_sync(cost, settings)):
        return None
    computation = AnalysisComputation(analyse, spec, CACHES.total_bytes, pymc.cache_dir())
    return accepted(jobs, kind, body, computation, AnalysisFinish(RESULT_SCHEMAS[kind]), input_hash(spec.payload()))


def accepted(jobs: JobManager, kind: str, body: Any, computation: Any, finish: Callable[[dict], dict],
             request_sha256: str) -> JSONResponse:
    """202 with the job: its id, state and link (``Location``); the job keeps the request as sent."""
    job = jobs.submit(kind, computation, finish, request=sent_request(body), request_sha256=request_sha256)
    content = {"id": job.id, "kind": kind, "state": job.state, "progress": job.progress,
               "links": {"self": f"/v1/jobs/{job.id}"}}
    return JSONResponse(content, status_code=202, headers={"Location": f"/v1/jobs/{job.id}"})


# --------------------------------------------------------------------------------------------------
# Designs: operating characteristics and calibration


def design_wants_job(plan: Any, prefer: str | None, settings: Settings) -> bool:
    """A design request (``OCPlan``, ``CalibrationPlan``) as a job or not; 422 when its decision tables
    (``plan.decision_seconds``) would take longer than ``GONOGO_MAX_DECISION_SECONDS``."""
    seconds = plan.decision_seconds
    if seconds > settings.max_decision_seconds:
        raise InvalidInputError(
            "strata",
            f"the decision rule's posterior tables would take about {seconds / 3600:.1f} hours "
            f"(limit {settings.max_decision_seconds / 3600:g} h): use fewer coupled strata or interim looks, "
            "or the independent or pooled model",
        )
    return (asks_async(prefer) or plan.simulated_trials > settings.job_threshold_trials
            or seconds > settings.job_decision_seconds)


def protocol_problems(spec: Any, settings: Settings) -> list[FieldProblem]:
    """What a registered protocol may not ask of this service, located in the protocol: the Settings
    limits (strata, MCMC draws of each endpoint) and the hard compute budget of a look at the planned
    size (``designs.registry.cost``), so that a protocol whose final look could never run is refused
    when it is registered or amended, before any data arrive."""
    from designs.registry.cost import estimate_look_cost

    document = spec.document
    found = limits.problems(settings, strata=len(document["strata"]))
    for endpoint in ("response", "pfs"):
        part = document.get(endpoint) or {}
        for problem in limits.of_request(settings, {"mcmc": part.get("mcmc") or {}}):
            found.append(FieldProblem(f"{endpoint}/{problem.field}", problem.reason))
    if found:
        return found
    cost = estimate_look_cost(spec)
    if _fits(settings)(cost):
        return []
    reason = (f"a look at the planned size would need about {cost.seconds:,.0f} s and {cost.peak_bytes / MB:,.0f} MB, "
              f"beyond this service's budget of {settings.max_compute_seconds:,.0f} s and {settings.max_compute_mb:,} MB "
              "(GONOGO_MAX_COMPUTE_SECONDS, GONOGO_MAX_COMPUTE_MB): lower what drives it")
    return [FieldProblem(driver, reason) for driver in (cost.drivers or ("response",))]
