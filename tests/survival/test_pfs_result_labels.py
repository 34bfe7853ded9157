"""Issue 14: every interval of a PFS analysis says its level (``ci_level`` beside ``ci95``, the
Kaplan–Meier Greenwood interval included) and τ says its scale (log hazard)."""

from __future__ import annotations

import pytest

from designs.survival.analysis import analyse_pfs
from designs.survival.spec import PFSAnalysisSpec

ROWS = [("NF1-associated", 1.0 + 0.5 * i, i % 3 != 0) for i in range(10)] + [
    ("sporadic", 2.0 + 0.7 * i, i % 2 == 0) for i in range(9)]
PATIENTS = [{"id": f"P{i}", "stratum": s, "time_months": t, "event": e} for i, (s, t, e) in enumerate(ROWS)]


def run(**changes):
    body = {"patients": PATIENTS, "strata": ["NF1-associated", "sporadic"], "benchmark_landmark_pfs": 0.15,
            "target_landmark_pfs": 0.35, "model": {"kind": "independent-exponential"}, "seed": 1}
    body.update(changes)
    return analyse_pfs(PFSAnalysisSpec.from_mapping(body))


@pytest.mark.parametrize("changes", [{}, {"model": {"kind": "hierarchical-exponential"}, "engine": "quadrature"}])
def test_every_interval_of_a_stratum_states_its_level(changes):
    result = run(**changes)
    for stratum in result["strata"]:
        posterior = stratum["posterior"]
        for name in ("landmark_pfs", "median_pfs", "hazard_ratio_to_benchmark"):
            assert posterior[name]["ci_level"] == 0.95, name
        assert stratum["kaplan_meier"]["curve"]["ci_level"] == 0.95
        assert stratum["kaplan_meier"]["landmark"]["ci_level"] == 0.95


def test_tau_is_reported_on_the_log_hazard_scale_and_absent_without_a_hierarchy():
    assert run()["between_stratum_spread"] is None
    spread = run(model={"kind": "hierarchical-exponential"}, engine="quadrature")["between_stratum_spread"]
    assert spread["scale"] == "log-hazard"
    assert spread["ci_level"] == 0.95
    assert spread["ci95"][0] <= spread["median"] <= spread["ci95"][1]
