"""Simon two-stage designs: search, evaluation, inference after the trial."""

from __future__ import annotations

from fastapi import APIRouter

from designs import simon
from designs.core.provenance import provenance
from service import limits
from service.deps import SettingsDep
from service.schemas.simon import (
    DesignSearchRequest,
    DesignSearchResult,
    EvaluateRequest,
    EvaluateResult,
    InferenceRequest,
    InferenceResult,
)

router = APIRouter(prefix="/v1/simon", tags=["simon"])


@router.post("/designs", operation_id="simon-designs", response_model=DesignSearchResult,
             summary="Optimal, minimax and admissible Simon two-stage designs")
def designs(body: DesignSearchRequest, settings: SettingsDep) -> dict:
    limits.enforce(settings, nmax=body.nmax)
    result = simon.search_designs(body.p0, body.p1, body.alpha, body.beta, nmax=body.nmax).as_dict()
    result["provenance"] = provenance(body.model_dump(), method="exact binomial enumeration (Simon 1989; Jung et al. 2004)")
    return result


@router.post("/evaluate", operation_id="simon-evaluate", response_model=EvaluateResult,
             summary="Exact operating characteristics of a Simon design")
def evaluate(body: EvaluateRequest) -> dict:
    rows = simon.evaluate_design(body.r1, body.n1, body.r, body.n, body.p)
    return {
        "design": {"r1": body.r1, "n1": body.n1, "r": body.r, "n": body.n},
        "evaluations": rows,
        "provenance": provenance(body.model_dump(), method="exact binomial enumeration"),
    }


@router.post("/inference", operation_id="simon-inference", response_model=InferenceResult,
             summary="UMVUE, exact p-value and confidence interval after a Simon trial")
def inference(body: InferenceRequest) -> dict:
    result = dict(simon.infer(body.r1, body.n1, body.n, body.p0, body.responders, body.alpha))
    result["provenance"] = provenance(
        body.model_dump(), method="UMVUE (Jung & Kim 2004); stage-wise ordering p-value and CI (Koyama & Chen 2008)"
    )
    return result
