"""On-site qualification over HTTP: ``GET /v1/qualification`` (an admin token) answers the qualification
report of this server's installed version (``designs.qualification``: the published results it must
reproduce, every value with expected, tolerance, obtained and pass/fail, the versions, platform and CPU,
and the report's SHA-256).

The run takes seconds to a minute or two (the MCMC case may compile its model), so the first request
is answered 202 with a job to poll at ``/v1/jobs/{id}``, whose result is the report; the report is then
kept in the data directory (``<GONOGO_DATA_DIR>/qualification/gonogo-<version>.json``), and later
requests for the same version answer it at once (200), unless ``?rerun=true`` asks for a new run. A
kept report whose SHA-256 no longer matches its content, or made with other versions of the libraries
(an upgrade of numpy under the same gonogo), is not served: the qualification runs again.
While a run is under way, requests answer its job again rather than starting another.

The answer is the report exactly as it was hashed: its SHA-256 verifies against the body's canonical
JSON (``designs.qualification.verify_report``; ``gonogo qualify --verify FILE``).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

import designs
from designs.engines import pymc
from designs.qualification import run_qualification, verify_report
from designs.qualification.runner import versions
from service.api.trials import AUTH_RESPONSES
from service.auth import Principal, role
from service.budget import AnalysisComputation
from service.deps import JobManagerDep, SettingsDep
from service.jobs import ACTIVE, JobManager
from service.problems import PROBLEM_RESPONSES, UNAVAILABLE_RESPONSES
from service.schemas.designs import JobAccepted

log = logging.getLogger("gonogo")
router = APIRouter(prefix="/v1/qualification", tags=["qualification"], responses=AUTH_RESPONSES)
KIND = "qualification"


class QualificationCheck(BaseModel):
    """One checked value of a case."""

    model_config = ConfigDict(extra="allow")
    name: str
    expected: Any = Field(description="the published value (or an independent exact computation's): a number, "
                                      "a boolean, or a list of integers and nulls")
    tolerance: float = Field(description="absolute tolerance (0: exactly equal)")
    mcse: float | None = Field(None, description="the Monte Carlo standard error of this run (MCMC case only)")
    k: float | None = Field(None, description="multiples of the MCSE allowed beside the tolerance (MCMC case only)")
    allowed: float | None = Field(None, description="tolerance + k·MCSE (MCMC case only)")
    obtained: Any = Field(description="what this installation computed (null when the case failed to compute)")
    difference: float | None = Field(description="|obtained − expected|, largest over a list; null when not comparable")
    passed: bool


class QualificationCase(BaseModel):
    """One case: its source, how the expected values were obtained, its tolerance and why, its checks."""

    model_config = ConfigDict(extra="allow")
    id: str
    title: str
    source: str
    how_obtained: str
    tolerance_why: str
    mcse_k: float | None = None
    checks: list[QualificationCheck]
    passed: bool
    seconds: float
    notes: str | None = Field(None, description="the run's own diagnostics (MCMC: R-hat, ESS, divergences)")
    error: str | None = Field(None, description="why the case could not compute (it then fails)")


class QualificationReport(BaseModel):
    """The qualification report of this server's installed version."""

    model_config = ConfigDict(extra="allow")
    format: str = Field(description="gonogo-qualification/1")
    gonogo_version: str
    passed: bool = Field(description="every case passed")
    counts: dict[str, int]
    failed_cases: list[str]
    started_at: str
    finished_at: str
    seconds: float
    software: dict[str, str]
    platform: dict[str, Any]
    cases: list[QualificationCase]
    sha256_covers: str
    sha256: str = Field(description="SHA-256 of the canonical JSON of this report without this field (sorted keys, "
                                    "compact separators, UTF-8)")


ANSWERS: dict[int | str, dict[str, Any]] = {
    202: {"description": "No report of this version kept yet (or ?rerun=true): a job to poll at /v1/jobs/{id}, "
                         "whose result is the report", "model": JobAccepted},
}


def report_path(data_dir: Path, version: str = designs.__version__) -> Path:
    return Path(data_dir) / "qualification" / f"gonogo-{version}.json"


def read_kept(path: Path) -> dict[str, Any] | None:
    """The kept report of this version when it verifies, else None (absent, unreadable or altered)."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        log.warning("the kept qualification report %s cannot be read: running the qualification again", path)
        return None
    if not isinstance(document, dict) or not verify_report(document):
        log.warning("the kept qualification report %s does not match its SHA-256: running the qualification again", path)
        return None
    if document.get("gonogo_version") != designs.__version__ or document.get("software") != versions():
        log.info("the kept qualification report %s is of other software versions: running the qualification again", path)
        return None
    return document


def keep(path: Path, report: dict[str, Any]) -> None:
    """Write the report whole or not at all (a temporary file beside it, renamed)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            json.dump(report, out, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _qualify(_spec: Any) -> dict[str, Any]:
    """The job's one chunk (``service.budget.AnalysisComputation``): the whole set, every case exact or
    seeded (pure)."""
    return run_qualification()


class KeepReport:
    """A job's ``finish``: keep the report in the data directory, answer it unchanged."""

    def __init__(self, path: Path):
        self.path = path

    def __call__(self, report: dict[str, Any]) -> dict[str, Any]:
        try:
            keep(self.path, report)
        except OSError:
            log.warning("the qualification report could not be kept at %s", self.path, exc_info=True)
        return report


_running: dict[tuple[int, str], str] = {}
"""The job of the qualification under way, by (job manager, version): later requests answer it again."""
_running_lock = threading.Lock()


def _accepted(job_id: str, state: str, progress: float) -> JSONResponse:
    content = {"id": job_id, "kind": KIND, "state": state, "progress": progress, "links": {"self": f"/v1/jobs/{job_id}"}}
    return JSONResponse(content, status_code=202, headers={"Location": f"/v1/jobs/{job_id}"})


def answer(manager: JobManager, data_dir: Path, rerun: bool) -> JSONResponse:
    """The kept report (200), the job under way (202), or a new job (202)."""
    path = report_path(data_dir)
    if not rerun:
        kept = read_kept(path)
        if kept is not None:
            return JSONResponse(kept)
    key = (id(manager), designs.__version__)
    with _running_lock:
        job_id = _running.get(key)
        job = manager.get(job_id) if job_id is not None else None
        if job is not None and job.state in ACTIVE:
            return _accepted(job.id, job.state, job.progress)
        from designs.core.memory import CACHES

        computation = AnalysisComputation(_qualify, None, CACHES.total_bytes, pymc.cache_dir())
        job = manager.submit(KIND, computation, KeepReport(path), request={"rerun": rerun},
                             request_sha256=None)
        _running[key] = job.id
    return _accepted(job.id, job.state, job.progress)


@router.get("", operation_id="qualification", response_model=QualificationReport,
            responses={**ANSWERS, **PROBLEM_RESPONSES, **UNAVAILABLE_RESPONSES},
            summary="The on-site qualification report of this server's installed version (admin)")
async def qualification(settings: SettingsDep, jobs: JobManagerDep,
                        principal: Annotated[Principal, Depends(role("admin"))],
                        rerun: Annotated[bool, Query(description="run the qualification again even when a report "
                                                                 "of this version is kept")] = False) -> Any:
    return await run_in_threadpool(answer, jobs, settings.data_dir, rerun)
