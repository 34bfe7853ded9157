"""A data cut: every bad patient named at once, a canonical content whose SHA-256 does not depend on
the upload's order, follow-up that must not reach past the cut-off, and no silent change to what an
earlier cut recorded (a correction says it supersedes and why; ``diff`` lists what it changed)."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from designs.core.errors import InvalidInputError
from designs.registry.datacut import DataCutSpec, diff
from designs.registry.protocol import ProtocolSpec
from tests.registry.examples import sarc031

PROTOCOL = ProtocolSpec.from_mapping(sarc031())


def patient(pid, stratum="nf1", enrolled="2024-01-10", response=None, pfs=None):
    return {"id": pid, "stratum": stratum, "enrolled_on": enrolled, "response": response, "pfs": pfs}


def cut(*patients, cutoff="2024-06-30", **extra):
    return {"cutoff_date": cutoff, "patients": list(patients), **extra}


FIRST = cut(
    patient("p1", response="responder", pfs={"time_months": 3.0, "event": True}),
    patient("p2", "sporadic", "2024-02-01", "non-responder", {"time_months": 2.0, "event": False}),
    patient("p3", "sporadic", "2024-06-01"),
)


def problems(body, previous=None, number=None) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as info:
        DataCutSpec.from_mapping(body, PROTOCOL, previous, previous_number=number)
    return {p.field: p.reason for p in info.value.problems}


def test_canonical_document_and_hash_do_not_depend_on_upload_order():
    spec = DataCutSpec.from_mapping(FIRST, PROTOCOL)
    shuffled = copy.deepcopy(FIRST)
    shuffled["patients"].reverse()
    for p in shuffled["patients"]:
        p.pop("response")
        if p["pfs"] is None:
            p.pop("pfs")
    shuffled["patients"][0]["response"] = None
    again = DataCutSpec.from_mapping(shuffled, PROTOCOL)
    first = DataCutSpec.from_mapping(cut(*FIRST["patients"]), PROTOCOL)
    assert [p["id"] for p in spec.document["patients"]] == ["p1", "p2", "p3"]
    assert spec.document["patients"][0] == {"id": "p1", "stratum": "nf1", "enrolled_on": "2024-01-10",
                                            "response": "responder", "pfs": {"time_months": 3.0, "event": True}}
    assert spec.sha256 == first.sha256
    assert len(spec.sha256) == 64
    assert DataCutSpec.from_document(spec.document).sha256 == spec.sha256
    changed = copy.deepcopy(FIRST)
    changed["patients"][0]["response"] = "non-responder"
    assert DataCutSpec.from_mapping(changed, PROTOCOL).sha256 != spec.sha256
    assert again.document["patients"][2]["response"] is None


def test_every_bad_patient_at_once_located_and_named():
    found = problems(cut(
        patient("p1", stratum="Sporadic"),
        patient("p1"),
        patient("p3", enrolled="2024-07-01"),
        patient("p4", enrolled="2024-02-30"),
        patient("p5", enrolled="10/01/2024"),
        patient("p6", response="partial"),
        patient("p7", pfs={"time_months": -1, "event": "yes"}),
        patient("p8", enrolled="2024-06-01", pfs={"time_months": 1.5, "event": False}),
        {**patient("p9"), "age": 3},
        patient(""),
        cutoff="2024-06-31",
    ))
    assert "declared strata: nf1, sporadic" in found["patients/0/stratum"] and "'p1'" in found["patients/0/stratum"]
    assert "duplicate id" in found["patients/1/id"]
    assert found["cutoff_date"].startswith("the cut-off date is not a calendar date")
    assert "not a calendar date" in found["patients/3/enrolled_on"]
    assert "ISO date" in found["patients/4/enrolled_on"]
    assert "'p6'" in found["patients/5/response"]
    assert {"patients/6/pfs/time_months", "patients/6/pfs/event", "patients/8/age", "patients/9/id"} <= found.keys()


def test_enrolment_and_follow_up_may_not_pass_the_cutoff():
    found = problems(cut(
        patient("late", enrolled="2024-07-01"),
        patient("long", enrolled="2024-06-01", pfs={"time_months": 1.0, "event": False}),  # 30.44 days > 29
        cutoff="2024-06-30",
    ))
    assert "after the cut-off date 2024-06-30" in found["patients/0/enrolled_on"]
    assert "beyond the cut-off date" in found["patients/1/pfs/time_months"]
    exactly = DataCutSpec.from_mapping(cut(patient("ok", enrolled="2024-06-01",
                                                   pfs={"time_months": 29 / 30.4375, "event": True})), PROTOCOL)
    assert exactly.patients[0].pfs == (29 / 30.4375, True)


def test_endpoint_data_the_protocol_does_not_plan_is_refused():
    only_response = ProtocolSpec.from_mapping(sarc031(pfs=None))
    with pytest.raises(InvalidInputError, match="patients/0/pfs: patient 'a': the protocol has no PFS endpoint"):
        DataCutSpec.from_mapping(cut(patient("a", pfs={"time_months": 1, "event": True})), only_response)
    body = sarc031()
    body["pfs"]["strata"] = [{"name": "nf1", "n_planned": 21}]
    nf1_pfs = ProtocolSpec.from_mapping(body)
    with pytest.raises(InvalidInputError, match="stratum 'sporadic' has no PFS plan"):
        DataCutSpec.from_mapping(cut(patient("a", "sporadic", pfs={"time_months": 1, "event": True})), nf1_pfs)


def test_a_cut_needs_patients():
    assert "patients" in problems(cut())


def test_a_later_cut_may_add_patients_and_follow_up():
    previous = DataCutSpec.from_mapping(FIRST, PROTOCOL)
    later = copy.deepcopy(FIRST)
    later["cutoff_date"] = "2024-09-30"
    later["patients"][1]["pfs"] = {"time_months": 4.0, "event": True}  # censored at 2, progressed at 4
    later["patients"][2]["response"] = "not-evaluable"  # pending, now known
    later["patients"].append(patient("p4", "nf1", "2024-08-01"))
    spec = DataCutSpec.from_mapping(later, PROTOCOL, previous, previous_number=1)
    assert len(spec.patients) == 4


@pytest.mark.parametrize(
    ("edit", "where", "text"),
    [
        (lambda ps: ps.pop(2), "patients", "patients of cut 1 missing: 'p3'"),
        (lambda ps: ps[0].update(stratum="sporadic"), "patients/0/stratum", "was 'nf1' in cut 1"),
        (lambda ps: ps[0].update(enrolled_on="2024-01-11"), "patients/0/enrolled_on", "enrolled on 2024-01-10"),
        (lambda ps: ps[0].update(response="non-responder"), "patients/0/response", "was 'responder'"),
        (lambda ps: ps[0].update(response=None), "patients/0/response", "now null"),
        (lambda ps: ps[0].update(pfs={"time_months": 3.0, "event": False}), "patients/0/pfs", "event at 3 months withdrawn"),
        (lambda ps: ps[0].update(pfs={"time_months": 3.5, "event": True}), "patients/0/pfs", "event time changed"),
        (lambda ps: ps[1].update(pfs={"time_months": 1.0, "event": False}), "patients/1/pfs", "shortened from 2 to 1"),
        (lambda ps: ps[1].update(pfs=None), "patients/1/pfs", "withdrawn"),
    ],
)
def test_changes_follow_up_cannot_explain_need_a_correction(edit, where, text):
    previous = DataCutSpec.from_mapping(FIRST, PROTOCOL)
    later = copy.deepcopy(FIRST)
    edit(later["patients"])
    found = problems(later, previous, 1)
    assert text in found[where]
    later.update(supersedes=1, reason="source data verification")
    corrected = DataCutSpec.from_mapping(later, PROTOCOL, previous, previous_number=1)
    assert corrected.document["supersedes"] == 1 and corrected.document["reason"] == "source data verification"


def test_a_correction_names_the_latest_cut_and_says_why():
    previous = DataCutSpec.from_mapping(FIRST, PROTOCOL)
    assert "latest cut, number 2" in problems({**FIRST, "supersedes": 1, "reason": "x"}, previous, 2)["supersedes"]
    assert "required with supersedes" in problems({**FIRST, "supersedes": 2}, previous, 2)["reason"]
    assert "no cut to supersede" in problems({**FIRST, "supersedes": 1, "reason": "x"})["supersedes"]
    assert "goes with supersedes" in problems({**FIRST, "reason": "x"})["reason"]
    early = {**FIRST, "cutoff_date": "2024-06-29"}
    early["patients"] = [p for p in FIRST["patients"] if p["id"] != "p3"]
    found = problems(early, previous, 1)
    assert "before the previous cut's" in found["cutoff_date"]


def test_diff_lists_added_removed_and_changed_fields():
    a = DataCutSpec.from_mapping(FIRST, PROTOCOL).document
    later = copy.deepcopy(FIRST)
    later["patients"][0]["response"] = "non-responder"
    later["patients"][1]["pfs"] = {"time_months": 2.5, "event": False}
    removed = later["patients"].pop(2)
    later["patients"].append(patient("p9", "nf1", "2024-03-01"))
    b = DataCutSpec.from_mapping({**later, "supersedes": 1, "reason": "query"}, PROTOCOL,
                                 DataCutSpec.from_document(a), previous_number=1).document
    d = diff(a, b)
    assert [p["id"] for p in d["added"]] == ["p9"]
    assert [p["id"] for p in d["removed"]] == [removed["id"]]
    assert d["changed"] == [
        {"id": "p1", "changes": {"response": {"from": "responder", "to": "non-responder"}}},
        {"id": "p2", "changes": {"pfs": {"from": {"time_months": 2.0, "event": False},
                                         "to": {"time_months": 2.5, "event": False}}}},
    ]
    assert d["unchanged"] == 0
    assert diff(a, a) == {"added": [], "removed": [], "changed": [], "unchanged": 3,
                          "cutoff_date": {"from": "2024-06-30", "to": "2024-06-30"}}


def test_a_cutoff_date_after_today_utc_is_refused():
    assert DataCutSpec.from_mapping(FIRST, PROTOCOL, today=dt.date(2024, 6, 30)).cutoff_date == dt.date(2024, 6, 30)
    with pytest.raises(InvalidInputError) as info:
        DataCutSpec.from_mapping(FIRST, PROTOCOL, today=dt.date(2024, 6, 29))
    found = {p.field: p.reason for p in info.value.problems}
    assert found["cutoff_date"].startswith("in the future: the cut-off date 2024-06-30 is after today (2024-06-29, UTC)")
    assert "in the future" in problems(cut(patient("p1"), cutoff="2999-12-31"))["cutoff_date"]  # default: today


def test_patient_ids_are_one_id_after_unicode_nfc_normalisation():
    composed, decomposed = "caf\u00e9", "cafe\u0301"
    found = problems(cut(patient(composed), patient(decomposed)))
    assert "duplicate id (the same id once Unicode-normalised, NFC) (first at patients/0)" in found["patients/1/id"]

    # Across cuts: the same patient written the other way is neither missing nor new, but a change.
    previous = DataCutSpec.from_mapping(cut(patient(composed, response="responder")), PROTOCOL)
    found = problems(cut(patient(decomposed, response="responder")), previous, 1)
    assert "missing" not in found.get("patients", "") and "Unicode-normalised" in found["patients/0/id"]
    corrected = DataCutSpec.from_mapping(cut(patient(decomposed, response="responder"), supersedes=1, reason="typing"),
                                         PROTOCOL, previous, previous_number=1)
    d = diff(previous.document, corrected.document)
    assert d["added"] == d["removed"] == []
    assert d["changed"] == [{"id": composed, "changes": {"id": {"from": composed, "to": decomposed}}}]


def test_control_characters_in_ids_and_the_reason_are_refused():
    found = problems(cut(patient("a\u0000b"), patient("c\u001bd"), patient("ok\ud800")))
    assert found["patients/0/id"] == "patient 'a\\x00b': id must not contain a control character (U+0000 at position 1)"
    assert "a control character (U+001B at position 1)" in found["patients/1/id"]
    assert "a lone surrogate (U+D800 at position 2)" in found["patients/2/id"]
    previous = DataCutSpec.from_mapping(FIRST, PROTOCOL)
    found = problems({**FIRST, "supersedes": 1, "reason": "bad\u0000"}, previous, 1)
    assert found["reason"] == "must not contain a control character (U+0000 at position 3)"
    fine = DataCutSpec.from_mapping({**FIRST, "supersedes": 1, "reason": "line one\nline two\ttabbed"}, PROTOCOL,
                                    previous, previous_number=1)
    assert fine.reason == "line one\nline two\ttabbed"
