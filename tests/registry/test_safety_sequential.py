"""Review 13a in the registry: each planned safety look applied to the first n_j safety-evaluable
patients by enrolment (findings 1 and 2: a stop stays a stop), provisional looks and groups without any
toxicity status said among the look's warnings (6), unreachable safety looks refused (6), and the
family-wise P(stop | p0) of several strata (8)."""

from __future__ import annotations

import pytest

from designs.core.errors import InvalidInputError
from designs.registry.design import design_summary
from designs.registry.protocol import ProtocolSpec
from designs.safety.boundaries import prob_any_stops
from tests.registry.examples import sarc031
from tests.registry.test_look import look, row

DLT = {"evaluable": True, "dose_limiting": True}
NO_DLT = {"evaluable": True, "dose_limiting": False}
REVIEW = {"p0": 0.25, "looks": [5, 10, 15, 20], "alpha": 0.1, "method": "bayesian"}  # stop counts 4, 6, 7, 9


def protocol(**safety):
    body = sarc031(pfs=None)
    body["response"].update(model={"kind": "independent", "prior": {"a": 1, "b": 1}}, simon=None)
    body["safety"] = {**REVIEW, **safety}
    return body


def cohort(stratum, dlts, *, first_day=0):
    """Patients of ``stratum`` enrolled a day apart, with a DLT where ``dlts`` is true (None: no status)."""
    out = []
    for i, dlt in enumerate(dlts):
        p = row(f"{stratum[0]}{first_day + i:02d}", stratum, first_day + i, "non-responder")
        if dlt is not None:
            p["toxicity"] = DLT if dlt else NO_DLT
        out.append(p)
    return out


def nf1(result):
    return result["safety"]["strata"][0], result["decisions"][0]["safety"]


def test_review_t3_a_stop_at_look_1_stays_a_stop_after_6_more_patients_without_dlt():
    first = cohort("nf1", [True] * 4 + [False])
    row1, decision1 = nf1(look(protocol(), first + cohort("sporadic", [False] * 5)))
    assert decision1["decision"] == "stop for safety" and row1["first_crossing"]["look"] == 1
    second = first + cohort("nf1", [False] * 6, first_day=5)
    row2, decision2 = nf1(look(protocol(), second + cohort("sporadic", [False] * 5)))
    assert (row2["evaluable"], row2["toxicities"]) == (11, 4)
    assert decision2["decision"] == "stop for safety" and decision2["crossed"]
    assert [(a["n"], a["toxicities"], a["stop_at"], a["crossed"]) for a in row2["looks_applied"]] == [
        (5, 4, 4, True), (10, 4, 6, False)]
    assert "boundary crossed at safety look 1" in decision2["reason"]
    assert "n = 11 is not a planned safety look (next: n = 15, stop at ≥ 7)" in decision2["reason"]


def test_review_4_dlts_in_9_stop_only_when_the_first_5_by_enrolment_had_4():
    late = cohort("nf1", [False] * 5 + [True] * 4)  # the DLTs among patients 6 to 9: look 1 saw none
    early = cohort("nf1", [True] * 4 + [False] * 5)
    assert nf1(look(protocol(), late + cohort("sporadic", [False] * 5)))[1]["decision"] == "continue"
    assert nf1(look(protocol(), early + cohort("sporadic", [False] * 5)))[1]["decision"] == "stop for safety"
    # the order is enrolment's, not the order of the cut's rows
    shuffled = list(reversed(early))
    assert nf1(look(protocol(), shuffled + cohort("sporadic", [False] * 5)))[0]["first_crossing"]["n"] == 5


def test_a_pooled_look_takes_the_first_patients_of_the_strata_together():
    # nf1 enrolled first: its 3 DLTs and sporadic's first are among the pooled first 5 (4 ≥ 4)
    patients = cohort("nf1", [True, True, True]) + cohort("sporadic", [True, False, False, False], first_day=3)
    result = look(protocol(scope="pooled"), patients)
    pooled = result["safety"]["pooled"]
    assert [(a["n"], a["toxicities"], a["crossed"]) for a in pooled["looks_applied"]] == [(5, 4, True)]
    assert {d["safety"]["decision"] for d in result["decisions"]} == {"stop for safety"}
    # the strata's descriptive rows get their own first patients too: nothing is left undetermined
    late = cohort("nf1", [False] * 5 + [True] * 4) + cohort("sporadic", [True] * 3 + [False] * 3, first_day=20)
    result = look(protocol(scope="pooled"), late)
    assert result["warnings"] == [] and result["safety"]["pooled"]["decision"] == "stop for safety"


def test_a_look_whose_first_patients_may_change_is_provisional_and_says_so_among_the_warnings():
    patients = cohort("nf1", [None] + [False] * 6) + cohort("sporadic", [False] * 5)  # nf1's first patient: no status
    result = look(protocol(), patients)
    codes = [(w["code"], w["stratum"]) for w in result["warnings"]]
    assert ("safety-look-provisional", "nf1") in codes and ("safety-look-provisional", "sporadic") not in codes
    message = next(w["message"] for w in result["warnings"] if w["code"] == "safety-look-provisional")
    assert "safety look 1 (n = 5)" in message and "1 patient enrolled" in message
    assert result["accrual"]["nf1"]["safety_unrecorded"] == 1


def test_a_monitored_stratum_without_any_toxicity_status_is_a_warning_of_the_look():
    # review 13a finding 6: the safety analysis's caveats reach the look's own warnings
    patients = cohort("nf1", [None] * 6) + cohort("sporadic", [False] * 5)
    result = look(protocol(), patients)
    unrecorded = [w for w in result["warnings"] if w["code"] == "safety-unrecorded"]
    assert [w["stratum"] for w in unrecorded] == ["nf1"] and "none of its 6 patients" in unrecorded[0]["message"]
    assert "stratum-empty" in {w["code"] for w in result["warnings"]}  # analyse_safety's own caveat too


def _problems(body) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as refused:
        ProtocolSpec.from_mapping(body)
    return {p.field: p.reason for p in refused.value.problems}


def test_safety_looks_beyond_the_planned_enrolment_are_refused_at_each_look():
    body = protocol(looks=[5, 20, 50, 100])  # sarc031: 21 planned per stratum
    assert set(_problems(body)) == {"safety/looks/2", "safety/looks/3"}
    assert "the largest monitored stratum's planned patients are 21" in _problems(body)["safety/looks/2"]
    pooled = protocol(looks=[5, 20, 40, 50], scope="pooled")  # pooled: 21 + 21 = 42
    assert set(_problems(pooled)) == {"safety/looks/3"}
    assert ProtocolSpec.from_mapping(protocol(looks=[5, 42], scope="pooled")).safety is not None


def test_the_design_and_the_look_give_the_family_wise_p_stop_of_several_strata():
    summary = design_summary(ProtocolSpec.from_mapping(protocol()).document, trial_id="t", version=1)
    safety = summary["safety"]
    expected = 1 - (1 - safety["calibration"]["prob_stop_null"]) ** 2
    assert safety["family_wise"]["prob_any_stratum_stops_null"] == pytest.approx(expected, rel=1e-12)
    assert "alpha and the operating characteristics are per stratum" in safety["family_wise"]["note"]
    result = look(protocol(), cohort("nf1", [False] * 5) + cohort("sporadic", [False] * 5))
    assert result["safety"]["design"]["prob_any_stratum_stops_null"] == prob_any_stops(
        result["safety"]["design"]["prob_stop_null"], 2)
    single = design_summary(ProtocolSpec.from_mapping(protocol(strata=["nf1"])).document, trial_id="t", version=1)["safety"]
    assert single["family_wise"] is None
    assert design_summary(ProtocolSpec.from_mapping(protocol(scope="pooled")).document, trial_id="t", version=1)["safety"]["family_wise"] is None


def test_an_adam_cut_without_toxicity_warns_that_adam_carries_none():
    # review 13a finding 6: a protocol with adam may monitor safety (its JSON cuts can carry toxicity); a look
    # on an ADaM cut says the stratum's patients have no toxicity status and why, among the look's warnings
    from designs.registry.datacut import DataCutSpec
    from designs.registry.look import look_seed, run_look
    from tests.registry.test_look import CONTEXT

    spec = ProtocolSpec.from_mapping(protocol())
    cut = DataCutSpec.from_mapping({"cutoff_date": "2024-12-31", "patients": cohort("nf1", [None] * 6)}, spec).document
    for patient in cut["patients"]:
        patient["source"] = {"ADSL": {"USUBJID": patient["id"]}}  # as the ADaM mapping keeps it
    result = run_look(spec.document, cut, look_number=1, seed=look_seed(None, spec.id, 1), context=CONTEXT)
    warning = next(w for w in result["warnings"] if w["code"] == "safety-unrecorded")
    assert warning["stratum"] == "nf1" and "ADaM, which carries no toxicity" in warning["message"]
