"""A look: the protocol's analyses on a cut, checkable by hand (Beta arithmetic), Simon's stage 1 from
enrolment order, reproducible bit for bit, every difference of a rerun listed, and a sponsor's open
view with nothing of efficacy."""

from __future__ import annotations

import copy
import datetime as dt
import json

import pytest
from scipy import stats

from designs.registry.datacut import DataCutSpec
from designs.registry.look import compare, look_seed, open_view, run_look
from designs.registry.protocol import ProtocolSpec
from designs.response.simon_status import SimonRule, simon_status
from tests.registry.examples import sarc031

CONTEXT = {"trial": "sarc031", "protocol_version": 1, "data_cut": {"number": 1, "sha256": "x", "cutoff_date": "2024-12-31"},
           "amendments_since_previous_look": [], "actor": "stat", "at": "2024-12-31T12:00:00Z"}


def row(pid, stratum, day, response=None, pfs=None):
    return {"id": pid, "stratum": stratum, "enrolled_on": (dt.date(2024, 1, 1) + dt.timedelta(days=day)).isoformat(),
            "response": response, "pfs": pfs}


def look(protocol_body, patients, *, number=1, seed=None, context=CONTEXT):
    protocol = ProtocolSpec.from_mapping(protocol_body)
    cut = DataCutSpec.from_mapping({"cutoff_date": "2024-12-31", "patients": patients}, protocol)
    seed = look_seed(protocol.seed, protocol.id, number) if seed is None else seed
    return run_look(protocol.document, cut.document, look_number=number, seed=seed, context=context)


def independent(**response):
    body = sarc031(pfs=None)
    body["response"].update(model={"kind": "independent", "prior": {"a": 1, "b": 1}}, **response)
    return body


def test_independent_look_matches_beta_arithmetic():
    patients = (
        [row(f"n{i}", "nf1", i, "responder" if i < 3 else "non-responder") for i in range(10)]
        + [row("n-ne", "nf1", 20, "not-evaluable"), row("n-pending", "nf1", 21)]
        + [row(f"s{i}", "sporadic", i, "non-responder") for i in range(4)]
    )
    result = look(independent(), patients)
    nf1 = result["response"]["strata"][0]
    assert (nf1["name"], nf1["n"], nf1["responders"], nf1["n_planned"]) == ("nf1", 10, 3, 21)
    posterior = stats.beta(1 + 3, 1 + 7)
    assert nf1["posterior_mean"] == pytest.approx(4 / 12, abs=1e-12)
    assert nf1["prob_above_p0"] == pytest.approx(posterior.sf(0.05), abs=1e-10)
    assert nf1["prob_above_p1"] == pytest.approx(posterior.sf(0.25), abs=1e-10)
    assert nf1["ci95"] == pytest.approx([posterior.ppf(0.025), posterior.ppf(0.975)], abs=1e-9)
    sporadic = result["response"]["strata"][1]
    assert sporadic["posterior_mean"] == pytest.approx(1 / 6, abs=1e-12)  # Beta(1, 5)
    assert result["accrual"]["nf1"] == {"enrolled": 12, "response_evaluable": 10, "not_evaluable": 1, "pending": 1,
                                        "pfs_patients": 0, "pfs_events": 0}
    assert result["pfs"] is None
    assert result["decisions"][0] == {"stratum": "nf1", "pfs": None,
                                      "response": {"decision": nf1["decision"], "simon": nf1["simon"]["status"]}}
    json.dumps(result, allow_nan=False)


def test_not_evaluable_counts_as_non_responder_when_the_protocol_says_so():
    patients = [row("a", "nf1", 0, "responder"), row("b", "nf1", 1, "not-evaluable"), row("c", "sporadic", 0)]
    result = look(independent(not_evaluable="non-responder"), patients)
    nf1 = result["response"]["strata"][0]
    assert (nf1["n"], nf1["responders"]) == (2, 1)
    assert nf1["posterior_mean"] == pytest.approx(2 / 4, abs=1e-12)


def test_simon_stage1_from_enrolment_order_where_cumulative_counts_mislead():
    # Seven non-responders enrolled first, then three responders (whose ids sort first: order is by date).
    patients = [row(f"z{i}", "nf1", i, "non-responder") for i in range(7)]
    patients += [row(f"a{i}", "nf1", 10 + i, "responder") for i in range(3)]
    patients += [row("s1", "sporadic", 0, "responder")]
    result = look(independent(), patients)
    status = result["response"]["strata"][0]["simon"]
    cumulative = simon_status(SimonRule(0, 7, 2, 21), 10, 3)
    assert cumulative["status"] == "stage2_ongoing" and "assumed" in cumulative["text"]
    assert status["status"] == "stopped_stage1"
    assert status["stage1_responders"] == 0
    assert "Cumulative counts" not in status["text"] and "3 patients were enrolled beyond n1" in status["text"]
    assert result["decisions"][0]["response"]["simon"] == "stopped_stage1"

    # The same counts with a responder inside stage 1 pass it, and say how.
    patients[0] = row("z0", "nf1", 0, "responder")
    patients[7] = row("a0", "nf1", 10, "non-responder")
    status = look(independent(), patients)["response"]["strata"][0]["simon"]
    assert status["status"] == "stage2_ongoing" and status["stage1_responders"] == 1
    assert "Stage 1: 1 > r1 = 0 responders among the first n1 = 7" in status["text"]


def quadrature_trial():
    body = sarc031()
    body["response"]["strata"] = [{"name": "nf1", "n_planned": 30}, {"name": "sporadic", "n_planned": 30}]
    body["pfs"]["strata"] = [{"name": "nf1", "n_planned": 30}, {"name": "sporadic", "n_planned": 30}]
    patients = []
    for i in range(40):
        stratum = "nf1" if i % 2 else "sporadic"
        response = ("responder", "non-responder", "non-responder", "not-evaluable", None)[i % 5]
        pfs = {"time_months": round(0.3 + (i * 7 % 11) / 3, 2), "event": i % 3 != 0}
        patients.append(row(f"p{i:02d}", stratum, i, response, pfs))
    return body, patients


def test_quadrature_look_reproduces_identically_and_compare_lists_every_difference():
    body, patients = quadrature_trial()
    stored = look(body, patients)
    rerun = look(body, patients, context={**CONTEXT, "actor": "dmc", "at": "2025-01-02T00:00:00Z"})
    assert stored["response"]["engine"] == "quadrature" and stored["pfs"]["provenance"]["engine"] == "quadrature"
    report = compare(json.loads(json.dumps(stored)), rerun)  # as read back from the database
    assert report["identical"] and report["differences"] == [] and report["timings"] == []
    assert report["software"]["stored"] == stored["provenance"]["software"]

    tampered = copy.deepcopy(stored)
    tampered["response"]["strata"][1]["prob_above_p0"] += 1e-15
    tampered["pfs"]["strata"][0]["decision"] = "go"
    tampered["provenance"]["software"]["numpy"] = "0.0"
    tampered["response"]["provenance"]["software"]["scipy"] = "0.0"
    del tampered["accrual"]["nf1"]["pending"]
    report = compare(tampered, rerun)
    assert not report["identical"]
    assert {d["path"] for d in report["differences"]} == {
        "response/strata/1/prob_above_p0", "pfs/strata/0/decision", "accrual/nf1/pending"}
    assert report["software"]["stored"]["numpy"] == "0.0"
    assert report["software"]["rerun"]["numpy"] != "0.0"


def test_a_look_with_no_evaluable_patient_yet_runs():
    body, patients = quadrature_trial()
    patients = [{**p, "response": None, "pfs": None} for p in patients]
    result = look(body, patients)
    assert [s["n"] for s in result["response"]["strata"]] == [0, 0]
    assert result["pfs"] is None and [d["pfs"]["decision"] for d in result["decisions"]] == [None, None]
    json.dumps(result, allow_nan=False)


def test_another_seed_or_look_number_gives_another_seed():
    assert look_seed(31, "sarc031", 1) == look_seed(31, "sarc031", 1)
    seeds = {look_seed(31, "sarc031", 1), look_seed(31, "sarc031", 2), look_seed(32, "sarc031", 1),
             look_seed(None, "sarc031", 1), look_seed(31, "other", 1)}
    assert len(seeds) == 5 and all(0 <= s < 2**32 for s in seeds)


def test_open_view_has_accrual_and_data_quality_only():
    body, patients = quadrature_trial()
    closed = look(body, patients)
    view = open_view(closed)
    text = json.dumps(view)
    for word in ("posterior", "responders", "decision", "prob_", "simon", "events", "warnings", "ci95"):
        assert word not in text, word
    assert view["accrual"]["nf1"] == {k: closed["accrual"]["nf1"][k] for k in
                                      ("enrolled", "response_evaluable", "not_evaluable", "pending", "pfs_patients")}
    assert view["data_cut"] == CONTEXT["data_cut"] and view["look"] == 1


def test_strata_without_pfs_data_are_reported_not_analysed():
    body, patients = quadrature_trial()
    patients = [{**p, "pfs": None} if p["stratum"] == "sporadic" else p for p in patients]
    result = look(body, patients)
    assert [s["name"] for s in result["pfs"]["strata"]] == ["nf1"]
    assert result["decisions"][1]["pfs"] == {"decision": None, "reason": "no PFS data yet"}
    assert "sporadic: no PFS data yet; not analysed" in result["notes"]


def test_more_evaluable_patients_than_planned_is_analysed_and_noted():
    body = independent()
    body["response"]["strata"] = [{"name": "nf1", "n_planned": 2}, {"name": "sporadic", "n_planned": 2}]
    body["response"]["simon"] = None
    patients = [row(f"n{i}", "nf1", i, "non-responder") for i in range(3)] + [row("s", "sporadic", 0)]
    result = look(body, patients)
    assert result["response"]["strata"][0]["n_planned"] == 3
    assert any("exceed the response plan's n_planned = 2" in note for note in result["notes"])


@pytest.mark.slow
def test_mcmc_look_reproduces_identically_with_its_seed():
    body, patients = quadrature_trial()
    del body["response"]["engine"], body["pfs"]["engine"]  # the defaults: MCMC for both
    body["response"]["mcmc"] = body["pfs"]["mcmc"] = {"draws": 300, "tune": 300, "chains": 2}
    stored = look(body, patients)
    assert stored["response"]["engine"] == "mcmc" and stored["pfs"]["provenance"]["engine"] == "mcmc"
    report = compare(json.loads(json.dumps(stored)), look(body, patients))
    assert report["identical"], report["differences"][:5]
    assert all(t["path"].endswith("/seconds") for t in report["timings"])
    other = compare(stored, look(body, patients, number=2))
    assert not other["identical"]  # another look, another seed: the Monte Carlo numbers move
