"""The SARC031-like example's protocol and simulated cuts (designs.registry.example): deterministic,
within their cut-offs, each cut extending the previous one as real follow-up would."""

from __future__ import annotations

import math
from datetime import date, timedelta

import pytest

from designs.registry import example
from designs.simon.search import search_designs


def test_the_same_seed_gives_the_same_cuts_and_another_seed_other_ones():
    assert example.data_cuts(7) == example.data_cuts(7)
    assert example.data_cuts(7) != example.data_cuts(8)


@pytest.mark.parametrize("seed", [2026, 1, 2, 3, 99])
def test_every_row_lies_within_its_cut_off(seed):
    for cut in example.data_cuts(seed):
        cutoff = date.fromisoformat(cut["cutoff_date"])
        ids = [p["id"] for p in cut["patients"]]
        assert len(ids) == len(set(ids))
        for p in cut["patients"]:
            enrolled = date.fromisoformat(p["enrolled_on"])
            assert enrolled <= cutoff
            assert p["stratum"] in {name for name, _ in example.STRATA}
            if p["pfs"] is not None:
                assert p["pfs"]["time_months"] > 0
                # the registry's rule: enrolled_on + time_months × 30.4375 days must not pass the cut-off
                assert enrolled + timedelta(days=p["pfs"]["time_months"] * example.DAYS_PER_MONTH) <= cutoff + timedelta(0)
                assert p["pfs"]["time_months"] * example.DAYS_PER_MONTH <= (cutoff - enrolled).days


@pytest.mark.parametrize("seed", [2026, 1, 2, 3, 99])
def test_each_cut_extends_the_previous_one_without_supersedes(seed):
    cuts = example.data_cuts(seed)
    assert len(cuts) == 3
    assert [c["cutoff_date"] for c in cuts] == sorted({c["cutoff_date"] for c in cuts})
    for before, after in zip(cuts, cuts[1:]):
        later = {p["id"]: p for p in after["patients"]}
        assert len(after["patients"]) >= len(before["patients"])
        for p in before["patients"]:
            q = later[p["id"]]  # no patient disappears
            assert (q["stratum"], q["enrolled_on"]) == (p["stratum"], p["enrolled_on"])
            if p["response"] is not None:
                assert q["response"] == p["response"]  # a known outcome stays
            if p["pfs"] is not None:
                assert q["pfs"] is not None and q["pfs"]["time_months"] >= p["pfs"]["time_months"]
                if p["pfs"]["event"]:
                    assert q["pfs"] == p["pfs"]  # an event is never withdrawn


@pytest.mark.parametrize("seed", [2026, 5, 11])
def test_the_last_cut_knows_every_planned_patient_to_the_landmark(seed):
    last = example.data_cuts(seed)[-1]
    assert len(last["patients"]) == example.N_PLANNED * len(example.STRATA)
    assert all(p["response"] is not None for p in last["patients"])
    for p in last["patients"]:
        assert p["pfs"]["event"] or p["pfs"]["time_months"] >= example.LANDMARK_MONTHS or p["response"] == "not-evaluable"


def test_clinical_benefit_and_pfs_tell_one_story():
    """A responder (no progression before day 112) has no PFS event before 112 days, and a non-responder
    has one."""
    for p in example.data_cuts(2026)[-1]["patients"]:
        if p["response"] == "responder":
            assert not (p["pfs"]["event"] and p["pfs"]["time_months"] * example.DAYS_PER_MONTH < example.BENEFIT_DAYS - 1)
        elif p["response"] == "non-responder":
            assert p["pfs"]["event"] and p["pfs"]["time_months"] * example.DAYS_PER_MONTH <= example.BENEFIT_DAYS


def test_the_simon_design_is_the_optimal_one_for_the_stated_rates():
    d = example.SIMON_DESIGNED_FOR
    optimal = search_designs(d["p0"], d["p1"], d["alpha"], d["beta"], nmax=40).optimal
    assert (optimal.r1, optimal.n1, optimal.r, optimal.n) == tuple(example.SIMON[k] for k in ("r1", "n1", "r", "n"))


def test_the_benchmark_figures_are_stated_with_their_arithmetic():
    assert example.exponential_median_to_landmark(1.77) == pytest.approx(math.exp(-4 * math.log(2) / 1.77))
    assert example.exponential_median_to_landmark(1.77) == pytest.approx(0.209, abs=5e-4)
    assert example.exponential_landmark_to_median(0.15) == pytest.approx(1.46, abs=5e-3)
    text = "\n".join(example.notes())
    assert "20.9%" in text and "1.46 months" in text and "NCT03433183" in text


def test_the_protocol_has_both_strata_looks_and_the_quadrature_engine():
    protocol = example.protocol("x-1", 5)
    assert protocol["id"] == "x-1" and protocol["seed"] == 5
    assert [s["name"] for s in protocol["strata"]] == ["NF1-associated", "sporadic"]
    assert all(s["looks"] == [7, 14, 21] for s in protocol["response"]["strata"])
    assert protocol["response"]["engine"] == protocol["pfs"]["engine"] == "quadrature"
    assert protocol["response"]["simon"] == {"r1": 0, "n1": 7, "r": 2, "n": 21}


def test_a_look_renders_as_a_table_with_simons_column():
    look = {
        "look": 2, "protocol_version": 1, "data_cut": {"number": 2, "sha256": "ab" * 32, "cutoff_date": "2026-01-01"},
        "accrual": {"NF1-associated": {"enrolled": 16}, "sporadic": {"enrolled": 15}},
        "response": {"p0": 0.15, "strata": [
            {"name": "NF1-associated", "n": 14, "responders": 5, "prob_above_p0": 0.97, "decision": "continue"},
            {"name": "sporadic", "n": 14, "responders": 1, "prob_above_p0": 0.31, "decision": "no-go"}]},
        "pfs": {"benchmark": {"landmark_pfs": 0.15}, "strata": [
            {"name": "NF1-associated", "n": 16, "events": 9, "prob_landmark_above_benchmark": 0.9, "decision": "continue"},
            {"name": "sporadic", "n": 15, "events": 13, "prob_landmark_above_benchmark": 0.4, "decision": "continue"}]},
        "decisions": [{"stratum": "NF1-associated", "response": {"decision": "continue", "simon": {"status": "stage2_ongoing"}}},
                      {"stratum": "sporadic", "response": {"decision": "no-go", "simon": "stage2_ongoing"}}],
        "warnings": [],
    }
    text = example.render_look(look)
    lines = text.splitlines()
    assert lines[0].startswith("Look 2: data cut 2 (cut-off 2026-01-01")
    assert "Simon" in lines[1] and "P(CBR>0.15)" in lines[1] and "P(S4>0.15)" in lines[1]
    nf1 = next(line for line in lines if line.startswith("NF1-associated"))
    assert nf1.split() == ["NF1-associated", "16", "14", "5", "0.970", "continue", "stage2_ongoing", "9/16", "0.900", "continue"]
    assert "no-go" in next(line for line in lines if line.startswith("sporadic"))
