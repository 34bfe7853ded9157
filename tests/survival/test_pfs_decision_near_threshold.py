"""Issue 14: a PFS decision by MCMC within two Monte Carlo SEs of its threshold says so
(``decision-near-threshold``); one far from it does not. The sampler is replaced by constructed,
independent draws of the hazards, which fix P(S(L) > benchmark | data) where the test needs it."""

from __future__ import annotations

import numpy as np

from designs.engines import pymc as pymc_engine
from designs.engines.pymc.draws import PFSDraws
from designs.survival.analysis import analyse_pfs
from designs.survival.spec import PFSAnalysisSpec

ROWS = [("NF1-associated", 1.0 + 0.5 * i, i % 3 != 0) for i in range(10)] + [
    ("sporadic", 2.0 + 0.7 * i, i % 2 == 0) for i in range(9)]
PATIENTS = [{"id": f"P{i}", "stratum": s, "time_months": t, "event": e} for i, (s, t, e) in enumerate(ROWS)]
CHAINS, S = 4, 4000


def constructed(fraction_above: float) -> PFSDraws:
    """λ = 0.1 (S(4) = 0.67 > 0.15) in a share ``fraction_above`` of the draws, else λ = 1 (S(4) = 0.018)."""
    rng = np.random.default_rng(5)
    column = np.where(np.arange(S) < round(fraction_above * S), np.log(0.1), 0.0)
    log_hazard = np.stack([rng.permutation(column), rng.permutation(column)], axis=1)
    report = {"converged": True, "failed_checks": [], "max_rhat": 1.0, "min_ess_bulk": float(S), "min_ess_tail": float(S),
              "divergences": 0, "reruns": 0, "quantities": {}, "constant_quantities": []}
    return PFSDraws("hierarchical-exponential", log_hazard, None, None, np.abs(rng.normal(size=S)), report, {},
                    mu=rng.normal(size=S), chains=CHAINS)


def run(monkeypatch, fraction_above: float):
    monkeypatch.setattr(pymc_engine, "sample_pfs", lambda *args, **kwargs: constructed(fraction_above))
    body = {"patients": PATIENTS, "strata": ["NF1-associated", "sporadic"], "benchmark_landmark_pfs": 0.15,
            "target_landmark_pfs": 0.35, "model": {"kind": "hierarchical-exponential"}, "engine": "mcmc", "seed": 1,
            "decision": {"futility_prob_above_benchmark": 0.10}}
    return analyse_pfs(PFSAnalysisSpec.from_mapping(body))


def near(result):
    return [w for w in result["warnings"] if w["code"] == "decision-near-threshold"]


def test_interim_futility_probability_0_105_against_0_10_is_flagged(monkeypatch):
    result = run(monkeypatch, 0.105)
    assert result["strata"][0]["prob_landmark_above_benchmark"] == 0.105
    caveats = near(result)
    assert [c["stratum"] for c in caveats] == ["NF1-associated", "sporadic"]
    assert "P(S(4) > 0.15 | data) = 0.105 ±" in caveats[0]["message"]
    assert "threshold 0.1" in caveats[0]["message"] and "quadrature" in caveats[0]["message"]


def test_probability_0_5_far_from_the_futility_bar_is_not_flagged(monkeypatch):
    assert near(run(monkeypatch, 0.5)) == []
