"""The issue's memory extremes in a process whose address space is limited (RLIMIT_AS): refused with
a 422, or answered within the limit — never an out-of-memory kill.

The child process runs the app in process under a 2.5 GB limit (its imports and threads reserve about
0.9 GB of address space; an ordinary MCMC analysis peaks near 1.9 GB): the quadrature extreme (prior
scales 10, three strata of 200 planned patients: ~3 GB measured) is refused naming the fields to
change; the MCMC extreme (100,000 draws and warm-up on 8 chains) becomes a job whose estimated peak is
within the limit; the predictive reweighting of 30,000 draws over 4,000 sampled futures runs within
it in blocks, and fails to allocate in one block (~1 GB per temporary) — what the test would see
if the blocks went away; an ordinary analysis is answered.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LIMIT_BYTES = 5 * 2**29  # 2.5 GB

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    resource.setrlimit(resource.RLIMIT_AS, ({limit}, {limit}))
    import numpy as np
    from fastapi.testclient import TestClient
    from service.app import app
    from service.deps import get_job_manager
    from tests.service.test_budget import BODY, MCMC_EXTREME, QUADRATURE_EXTREME, RecordingJobs
    from designs.response import predictive
    from designs.response.cost import estimate_response
    from designs.response.spec import ResponseAnalysisSpec

    out = {{}}
    jobs = RecordingJobs()
    app.dependency_overrides[get_job_manager] = lambda: jobs
    with TestClient(app) as client:
        out["ordinary"] = client.post("/v1/analyses/response", json=BODY).status_code
        r = client.post("/v1/analyses/response", json=QUADRATURE_EXTREME)
        out["quadrature"] = [r.status_code, sorted(e["field"] for e in r.json().get("errors", []))]
        out["mcmc"] = client.post("/v1/analyses/response", json=MCMC_EXTREME).status_code
    out["mcmc_estimate_bytes"] = estimate_response(ResponseAnalysisSpec.from_mapping(MCMC_EXTREME)).peak_bytes
    rng = np.random.default_rng(1)
    draws = np.stack([rng.beta(4, 8, 30_000), rng.beta(2, 10, 30_000)], axis=1)
    sizes = dict(p0=0.15, max_enumeration=100, monte_carlo_futures=4_000, seed=1)
    result = predictive.predictive_probability_by_reweighting(draws, [40, 40], **sizes)
    out["reweighting"] = [result.details["futures"], result.details["n_future_tuples"], bool(np.isfinite(result.probability).all())]
    try:
        predictive.predictive_probability_by_reweighting(draws, [40, 40], chunk_bytes=2**40, **sizes)
        out["one_block"] = "answered"
    except MemoryError:
        out["one_block"] = "MemoryError"
    print(json.dumps(out))
    """
)


@pytest.mark.slow
def test_the_issues_memory_extremes_are_refused_or_answered_within_an_address_space_limit():
    code = CHILD.format(limit=LIMIT_BYTES)
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout.strip().splitlines()[-1])
    assert out["ordinary"] == 200
    status, fields = out["quadrature"]
    assert status == 422 and "model/prior/mu_sd" in fields
    assert out["mcmc"] == 202 and out["mcmc_estimate_bytes"] < LIMIT_BYTES
    assert out["reweighting"] == ["sampled", 4000, True]
    assert out["one_block"] == "MemoryError"
