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
from designs.core.errors import InvalidInputError
from designs.registry.look import compare, look_seed, natural_key, open_view, run_look
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
                                        "pfs_patients": 0, "pfs_events": 0, "safety_evaluable": 0,
                                        "safety_not_evaluable": 0, "safety_unrecorded": 12}
    assert result["safety"] is None  # the protocol monitors no safety
    assert result["pfs"] is None
    schedule = {"planned_looks": [7, 21], "n": 10, "reached": 7, "next": 21, "on_schedule": False}
    assert nf1["schedule"] == schedule
    assert result["decisions"][0] == {"stratum": "nf1", "pfs": None,
                                      "response": {"decision": nf1["decision"], "simon": nf1["simon"]["status"],
                                                   "schedule": schedule,
                                                   "note": "off the planned schedule (n = 10; planned looks 7, 21)"}}
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
    assert report["additions"] == []  # only the fields later versions record are additions (ADDED_FIELDS)
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


def simon_of(result, stratum=0):
    return result["response"]["strata"][stratum]["simon"]


def test_stage1_stays_ongoing_while_one_of_its_first_n1_patients_is_pending():
    # A, enrolled first, is pending; seven non-responders then three responders were assessed after.
    patients = [row("A", "nf1", 0)]
    patients += [row(f"N{i}", "nf1", 1 + i, "non-responder") for i in range(7)]
    patients += [row(f"R{i}", "nf1", 10 + i, "responder") for i in range(3)]
    patients += [row("s1", "sporadic", 0, "responder")]
    status = simon_of(look(independent(), patients))
    assert status["status"] == "stage1_ongoing"  # not "stopped_stage1": A belongs to stage 1
    assert (status["stage1_responders"], status["stage1_assessed"], status["stage1_pending"]) == (0, 6, 1)
    assert status["responders_needed"] == 1 and "1 pending" in status["text"]

    # A turns out a responder: stage 1 passed (1 > r1 = 0); the earlier status did not have to reverse.
    patients[0] = row("A", "nf1", 0, "responder")
    status = simon_of(look(independent(), patients))
    assert status["status"] == "stage2_ongoing" and status["stage1_responders"] == 1
    assert status["stage1_pending"] == 0 and "Cumulative counts" not in status["text"]

    # A turns out a non-responder: stage 1 is complete and stopped.
    patients[0] = row("A", "nf1", 0, "non-responder")
    status = simon_of(look(independent(), patients))
    assert status["status"] == "stopped_stage1" and "4 patients were enrolled beyond n1" in status["text"]


def test_not_evaluable_patients_leave_stage1_only_when_the_protocol_excludes_them():
    patients = [row("ne", "nf1", 0, "not-evaluable")] + [row(f"n{i}", "nf1", 1 + i, "non-responder") for i in range(6)]
    patients += [row("late", "nf1", 20, "responder"), row("s1", "sporadic", 0)]
    excluded = simon_of(look(independent(), patients))
    assert excluded["status"] == "continue_stage2" and excluded["stage1_responders"] == 1  # "late" is 7th
    counted = simon_of(look(independent(not_evaluable="non-responder"), patients))
    assert counted["status"] == "stopped_stage1" and counted["stage1_responders"] == 0


def test_natural_id_order_puts_p9_before_p10():
    assert sorted(["P10", "P9", "P1", "P09", "Q2"], key=natural_key) == ["P1", "P09", "P9", "P10", "Q2"]


def test_same_day_enrolments_follow_natural_id_order_and_a_tie_across_n1_is_said():
    patients = [row(f"P{i}", "nf1", i, "non-responder") for i in range(1, 7)]
    patients += [row("P10", "nf1", 8, "responder"), row("P9", "nf1", 8, "non-responder"), row("s1", "sporadic", 0)]
    result = look(independent(), patients)
    status = simon_of(result)
    # Natural order: P9 is the 7th patient (stage 1: 0 responders), P10 the 8th; "P10" < "P9" as text.
    assert status["status"] == "stopped_stage1" and status["stage1_responders"] == 0
    assert "Stage-1 membership is ambiguous" in status["text"] and "could change stage 1's count" in status["text"]
    assert status["stage1_boundary_tie"] in status["text"]
    assert any("nf1: Stage-1 membership is ambiguous" in note for note in result["notes"])

    patients[6] = row("P10", "nf1", 9, "responder")  # a day later: no tie at the boundary
    result = look(independent(), patients)
    assert simon_of(result)["stage1_boundary_tie"] is None
    assert not any("ambiguous" in note for note in result["notes"])


def test_no_go_or_no_go_before_the_first_planned_look():
    result = look(independent(), [row("n1", "nf1", 0), row("s1", "sporadic", 0)])  # n = 0 of looks 7, 21
    entry = result["decisions"][0]["response"]
    analysis = result["response"]["strata"][0]
    assert analysis["n"] == 0
    assert entry["decision"] == "continue" and entry["reason"] == "before the first planned look"
    assert entry["analysis_decision"] == analysis["decision"]
    assert entry["schedule"] == {"planned_looks": [7, 21], "n": 0, "reached": None, "next": 7, "on_schedule": False}
    assert any(note.startswith("nf1: before the first planned look (n = 0; planned looks 7, 21)")
               for note in result["notes"])

    patients = [row(f"n{i}", "nf1", i, "responder" if i < 3 else "non-responder") for i in range(7)]
    entry = look(independent(), patients + [row("s1", "sporadic", 0)])["decisions"][0]["response"]
    assert entry["schedule"]["on_schedule"] and entry["schedule"]["reached"] == 7
    assert "reason" not in entry and "note" not in entry and "analysis_decision" not in entry


def test_patients_of_strata_the_protocol_version_no_longer_declares_are_refused():
    patients = [row("n1", "nf1", 0, "responder"), row("s1", "sporadic", 0, "non-responder"), row("s2", "sporadic", 1)]
    stored = DataCutSpec.from_mapping({"cutoff_date": "2024-12-31", "patients": patients},
                                      ProtocolSpec.from_mapping(independent()))
    renamed = independent()
    renamed["strata"][1]["name"] = "sporadic-renamed"
    renamed["response"]["strata"][1]["name"] = "sporadic-renamed"
    amended = ProtocolSpec.from_mapping(renamed)
    with pytest.raises(InvalidInputError) as info:
        run_look(amended.document, stored.document, look_number=1, seed=1, context=CONTEXT)
    [problem] = info.value.problems
    assert problem.field == "data_cut"
    assert "stratum 'sporadic': 's1', 's2'" in problem.reason
    assert "declared strata: nf1, sporadic-renamed" in problem.reason


def test_data_of_an_endpoint_no_longer_planned_for_a_stratum_is_noted():
    body, patients = quadrature_trial()
    cut = DataCutSpec.from_mapping({"cutoff_date": "2024-12-31", "patients": patients}, ProtocolSpec.from_mapping(body))
    body["pfs"]["strata"] = [{"name": "nf1", "n_planned": 30}]
    result = run_look(ProtocolSpec.from_mapping(body).document, cut.document, look_number=1, seed=1, context=CONTEXT)
    assert "sporadic: 20 patients' PFS data are not analysed: this protocol version has no PFS plan for the stratum" \
        in result["notes"]
