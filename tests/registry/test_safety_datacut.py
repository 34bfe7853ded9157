"""Patients' toxicity status in a data cut: strict booleans, a dose-limiting toxicity only in an evaluable
patient, kept in the canonical patient only when given (so that earlier cuts keep their SHA-256), never
changed without a correction, and shown by diff."""

from __future__ import annotations

import pytest

from designs.core.errors import InvalidInputError
from designs.registry.datacut import DataCutSpec, diff
from designs.registry.protocol import ProtocolSpec
from tests.registry.examples import sarc031

PROTOCOL = ProtocolSpec.from_mapping(sarc031(safety={"p0": 0.25, "looks": [5, 10]}))
DLT = {"evaluable": True, "dose_limiting": True}
NO_DLT = {"evaluable": True, "dose_limiting": False}


def patient(pid, toxicity=None, **more):
    row = {"id": pid, "stratum": "nf1", "enrolled_on": "2024-01-01", "response": None, **more}
    if toxicity is not None:
        row["toxicity"] = toxicity
    return row


def cut(*patients, previous=None, **more):
    return DataCutSpec.from_mapping({"cutoff_date": "2024-06-30", "patients": list(patients), **more}, PROTOCOL,
                                    previous, previous_number=None if previous is None else 1)


def test_a_cut_keeps_each_patients_toxicity_and_leaves_it_out_where_none_was_given():
    spec = cut(patient("a", DLT), patient("b", {"evaluable": False, "dose_limiting": False}), patient("c"))
    rows = {p["id"]: p for p in spec.document["patients"]}
    assert rows["a"]["toxicity"] == DLT and rows["b"]["toxicity"] == {"evaluable": False, "dose_limiting": False}
    assert "toxicity" not in rows["c"]
    assert DataCutSpec.from_document(spec.document).document == spec.document
    assert cut(patient("c")).sha256 == cut(patient("c", None)).sha256  # null and absent: the same cut


def test_every_bad_toxicity_status_at_once_located_and_named():
    with pytest.raises(InvalidInputError) as refused:
        cut(patient("a", {"evaluable": 1, "dose_limiting": "no"}), patient("b", {"evaluable": False, "dose_limiting": True}),
            patient("c", {"evaluable": True}), patient("d", "yes"), patient("e", {**DLT, "grade": 3}))
    found = {p.field: p.reason for p in refused.value.problems}
    assert set(found) == {"patients/0/toxicity/evaluable", "patients/0/toxicity/dose_limiting",
                          "patients/1/toxicity/dose_limiting", "patients/2/toxicity/dose_limiting",
                          "patients/3/toxicity", "patients/4/toxicity/grade"}
    assert found["patients/0/toxicity/evaluable"] == "patient 'a': evaluable must be true or false (got 1)"
    assert "not evaluable" in found["patients/1/toxicity/dose_limiting"]
    assert found["patients/2/toxicity/dose_limiting"].startswith("patient 'c':")


def test_a_recorded_toxicity_status_changes_only_by_a_correction_and_diff_shows_it():
    first = cut(patient("a", NO_DLT), patient("b"))
    later = cut(patient("a", NO_DLT), patient("b", DLT), previous=first)  # recorded when known: follow-up
    assert [p.get("toxicity") for p in later.document["patients"]] == [NO_DLT, DLT]
    for changed in (DLT, None):
        with pytest.raises(InvalidInputError) as refused:
            cut(patient("a", changed), patient("b"), previous=first)
        (problem,) = refused.value.problems
        assert problem.field == "patients/0/toxicity" and "a correction needs supersedes and a reason" in problem.reason
        assert "was evaluable, no dose-limiting toxicity in cut 1" in problem.reason
    corrected = cut(patient("a", DLT), patient("b"), previous=first, supersedes=1, reason="DLT adjudicated late")
    assert diff(first.document, corrected.document)["changed"] == [
        {"id": "a", "changes": {"toxicity": {"from": NO_DLT, "to": DLT}}}]
    assert diff(first.document, later.document)["changed"] == [
        {"id": "b", "changes": {"toxicity": {"from": None, "to": DLT}}}]


def test_a_cut_may_carry_toxicity_whether_or_not_the_protocol_monitors_safety():
    protocol = ProtocolSpec.from_mapping(sarc031())
    spec = DataCutSpec.from_mapping({"cutoff_date": "2024-06-30", "patients": [patient("a", DLT)]}, protocol)
    assert spec.document["patients"][0]["toxicity"] == DLT
