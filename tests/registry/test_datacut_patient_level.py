"""Data cuts of tumour assessments in the core: what a later cut may change without ``supersedes``
(only more follow-up: added visits, a death or off-study date; never a recorded measurement), the
enrolment date defaulting to the treatment start, and every problem of an ADaM cut in one answer."""

from __future__ import annotations

import copy
import datetime as dt

import pytest

from designs.core.errors import InvalidInputError
from designs.registry.datacut import DataCutSpec
from designs.registry.protocol import ProtocolSpec
from tests.registry.examples import sarc031

TODAY = dt.date(2026, 11, 30)
PROTOCOL = ProtocolSpec.from_mapping(sarc031(derivation={"criterion": "recist1.1", "endpoint": "objective_response"},
                                             adam={"stratum_variable": "NF1FL", "strata": {"Y": "nf1", "N": "sporadic"},
                                                   "response": {"paramcd": "BOR", "records": "best"},
                                                   "pfs": {"paramcd": "PFS", "unit": "days"}}))


def patient(visits, **assessments) -> dict:
    return {"id": "P-1", "stratum": "nf1", "assessments": {
        "treatment_start": "2026-01-05", "baseline": {"date": "2026-01-02", "target_sum_mm": 100},
        "visits": visits, **assessments}}


def cut(cutoff: str, *patients, **fields) -> dict:
    return {"cutoff_date": cutoff, "patients": list(patients), **fields}


def build(body, previous=None, number=None):
    return DataCutSpec.from_mapping(body, PROTOCOL, previous, previous_number=number, today=TODAY)


def problems(body, previous=None, number=None) -> dict[str, str]:
    with pytest.raises(InvalidInputError) as info:
        build(body, previous, number)
    return {p.field: p.reason for p in info.value.problems}


FIRST = [{"date": "2026-03-02", "target_sum_mm": 60}]  # PR, awaiting confirmation at the first cut


def test_a_later_cut_may_add_visits_also_late_entered_ones_between_earlier_visits():
    one = build(cut("2026-03-31", patient(FIRST)))
    assert one.patients[0].response is None  # pending: the PR awaits its confirmation
    late = [{"date": "2026-02-02", "target_sum_mm": 80}, *FIRST, {"date": "2026-04-06", "target_sum_mm": 55}]
    two = build(cut("2026-04-30", patient(late)), one, 1)
    assert two.patients[0].response == "responder"


@pytest.mark.parametrize(("changed", "says"), [
    ({"baseline": {"date": "2026-01-02", "target_sum_mm": 300}}, "baseline was"),
    ({"visits": [{"date": "2026-03-02", "target_sum_mm": 250}, {"date": "2026-04-06", "target_sum_mm": 240}]},
     "the visit on 2026-03-02 changed (target_sum_mm 60 → 250)"),
    ({"visits": [{"date": "2026-04-06", "target_sum_mm": 55}]}, "the visit on 2026-03-02 removed"),
    ({"treatment_start": "2026-01-04"}, "treatment_start was"),
])
def test_a_recorded_measurement_cannot_change_without_supersedes(changed, says):
    """A later cut without supersedes only adds follow-up: rewriting the baseline or an earlier visit
    (which could turn a non-responder into a responder) is refused, naming the patient and the change."""
    one = build(cut("2026-03-31", patient(FIRST)))
    body = patient([*FIRST, {"date": "2026-04-06", "target_sum_mm": 55}])
    body["assessments"].update(copy.deepcopy(changed))
    found = problems(cut("2026-04-30", body), one, 1)
    assert says in found["patients/0/assessments"] and "supersedes" in found["patients/0/assessments"]
    corrected = build(cut("2026-04-30", body, supersedes=1, reason="baseline re-read by central review"), one, 1)
    assert corrected.supersedes == 1


def test_a_death_date_once_recorded_cannot_change_without_supersedes():
    one = build(cut("2026-03-31", patient(FIRST, death_date="2026-03-20")))
    found = problems(cut("2026-04-30", patient(FIRST, death_date="2026-03-25")), one, 1)
    assert "death_date was 2026-03-20, now 2026-03-25" in found["patients/0/assessments"]


def test_enrolment_defaults_to_the_treatment_start_also_when_sent_as_null():
    spec = build(cut("2026-03-31", {**patient(FIRST), "enrolled_on": None}))
    assert spec.patients[0].enrolled_on == dt.date(2026, 1, 5)


def test_an_adam_cut_names_a_bad_cut_off_and_every_bad_value_at_once():
    adam = {
        "ADSL": [{"USUBJID": "A", "TRTSDT": "2026-01-05", "NF1FL": "maybe"}],
        "ADRS": [{"USUBJID": "A", "PARAMCD": "BOR", "AVALC": "CRR", "ADT": "2026-03-02"}],
        "ADTTE": [{"USUBJID": "A", "PARAMCD": "PFS", "AVAL": 10, "CNSR": -1}],
    }
    found = problems({"cutoff_date": "2026-13-01", "adam": adam, "reason": "stray"})
    assert {"cutoff_date", "reason", "adam/ADSL/1/NF1FL", "adam/ADRS/1/AVALC", "adam/ADTTE/1/CNSR"} <= set(found), found


def _adam_cut(adam, **fields):
    return {"cutoff_date": "2026-06-30", "adam": copy.deepcopy(adam), **fields}


def _example():
    from tests.adam import files

    adam = files.example_adam(n_per_stratum=3)
    return {"ADSL": adam["ADSL"], "ADRS": [r for r in adam["ADRS"] if r["PARAMCD"] == "BOR"], "ADTTE": adam["ADTTE"]}


def test_an_adam_record_rewritten_without_supersedes_is_refused_and_later_follow_up_accepted():
    """ADaM cuts keep their records as the assessments' cuts keep visits: a censoring turned into an
    event at the same time, or a best response re-read, is a correction (supersedes + reason); a
    censoring moved to a later date is follow-up."""
    adam = _example()
    one = build(_adam_cut(adam))
    censored = next(i for i, r in enumerate(adam["ADTTE"]) if r["CNSR"] != 0 and r["ADT"] < "2026-06-29")
    rewritten = copy.deepcopy(adam)
    rewritten["ADTTE"][censored]["CNSR"] = 0
    rewritten["ADRS"][0]["AVALC"] = "PD" if rewritten["ADRS"][0]["AVALC"] != "PD" else "SD"
    found = problems(_adam_cut(rewritten), one, 1)
    reasons = " ".join(found.values())
    assert "ADTTE record" in reasons and "ADRS record" in reasons, found
    assert all(field.endswith("/source") or field.endswith("/pfs") or field.endswith("/response") for field in found)
    followed = copy.deepcopy(adam)
    start = dt.date.fromisoformat(followed["ADTTE"][censored]["STARTDT"])
    later = dt.date.fromisoformat(followed["ADTTE"][censored]["ADT"]) + dt.timedelta(days=1)
    followed["ADTTE"][censored].update(ADT=later.isoformat(), AVAL=(later - start).days + 1)
    two = build(_adam_cut(followed), one, 1)
    assert two.sha256 != one.sha256


def test_subjects_left_out_by_the_population_flag_are_listed_with_why():
    protocol = ProtocolSpec.from_mapping({**PROTOCOL.document, "adam": {**PROTOCOL.document["adam"],
                                                                         "population_variable": "SAFFL"}})
    adam = _example()
    adam["ADSL"][1] = {**adam["ADSL"][1], "SAFFL": "N"}
    spec = DataCutSpec.from_mapping(_adam_cut(adam), protocol, today=TODAY)
    left_out = adam["ADSL"][1]["USUBJID"]
    assert left_out not in {p.id for p in spec.patients} and len(spec.patients) == len(adam["ADSL"]) - 1
    assert spec.document["excluded"] == [{"id": left_out, "reason": "SAFFL = 'N', not 'Y': outside the population "
                                                                   "(the protocol's adam population_variable)"}]


def test_a_misspelt_dataset_is_named_with_the_likely_one_beside_every_other_problem():
    adam = _example()
    adam["ADTT"] = adam.pop("ADTTE")
    adam["ADSL"][0] = {**adam["ADSL"][0], "NF1FL": "maybe"}
    found = problems(_adam_cut(adam))
    assert found["adam/ADTT"].endswith("did you mean ADTTE?")
    assert "adam/ADTTE" in found and "adam/ADSL/1/NF1FL" in found, found


def test_the_diff_of_two_cuts_lists_the_visits_added_by_date():
    from designs.registry.datacut import diff

    one = build(cut("2026-03-31", patient(FIRST)))
    more = {"date": "2026-04-06", "target_sum_mm": 55}
    two = build(cut("2026-04-30", patient([*FIRST, more])), one, 1)
    changed = diff(one.document, two.document)["changed"]
    visits = changed[0]["changes"]["assessments"]["visits"]
    assert [v["date"] for v in visits["added"]] == ["2026-04-06"] and visits["removed"] == visits["changed"] == []
