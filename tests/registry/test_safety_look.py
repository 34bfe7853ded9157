"""Safety in a look: the protocol's toxicity rule on the cut's dose-limiting toxicities (analyse_safety,
the calibrated boundaries, each planned look on its first n_j evaluable patients by enrolment), a crossed
boundary overriding an efficacy go with "stop for safety" (per stratum; pooled, every monitored stratum),
nothing applied before the first safety look, stored looks without safety comparing cleanly (additions)
only when the version monitors no safety, and a sponsor's open view without any safety count."""

from __future__ import annotations

import json

import pytest

from designs.registry.look import compare, open_view
from designs.safety.analysis import SafetyAnalysisSpec, analyse_safety
from designs.safety.boundaries import SafetyDesign, safety_boundaries, stop_counts
from tests.registry.examples import sarc031
from tests.registry.test_look import look, row

DLT = {"evaluable": True, "dose_limiting": True}
NO_DLT = {"evaluable": True, "dose_limiting": False}
SAFETY = {"p0": 0.2, "looks": [5, 10, 15], "alpha": 0.1, "method": "bayesian"}


def protocol(**safety):
    body = sarc031(pfs=None)
    body["response"].update(model={"kind": "independent", "prior": {"a": 1, "b": 1}}, simon=None)
    body["safety"] = {**SAFETY, **safety}
    return body


def patients(stratum, n, responders, dlts, *, statuses=None):
    """``n`` patients of ``stratum``, the first ``responders`` responding, the first ``dlts`` with a DLT."""
    out = []
    for i in range(n):
        p = row(f"{stratum[0]}{i:02d}", stratum, i, "responder" if i < responders else "non-responder")
        p["toxicity"] = DLT if i < dlts else NO_DLT
        out.append(p)
    return out


def test_per_stratum_a_crossed_boundary_overrides_an_efficacy_go_with_stop_for_safety():
    # nf1: 6 of 7 respond (go at its first planned look) and 4 of 7 had a DLT; sporadic: 1 DLT of 7
    result = look(protocol(), patients("nf1", 7, 6, 4) + patients("sporadic", 7, 0, 1))
    b = stop_counts(SafetyDesign.from_mapping(SAFETY))
    assert b == [3, 5, 7]  # Geller's rule calibrated: stop at >= 3 of 5, 5 of 10, 7 of 15 with P(stop | 0.2) <= 0.1
    nf1, sporadic = result["decisions"]
    assert nf1["response"]["decision"] == "go"
    assert nf1["safety"] == {
        "decision": "stop for safety", "scope": "per-stratum", "crossed": True, "overrides_efficacy": True,
        "efficacy": {"response": "go", "pfs": None},
        "reason": "4 of 7 evaluable patients had a dose-limiting toxicity; safety look 1: 4 of the first 5 (stop at ≥ 3, "
                  "crossed); n = 7 is not a planned safety look (next: n = 10, stop at ≥ 5): stop for safety (boundary "
                  "crossed at safety look 1), overriding the efficacy decision response 'go'"}
    assert sporadic["safety"]["decision"] == "continue" and not sporadic["safety"]["overrides_efficacy"]
    assert sporadic["safety"]["efficacy"]["response"] == sporadic["response"]["decision"] == "continue"
    assert sporadic["safety"]["reason"].endswith(": continue; the efficacy decisions stand (response 'continue')")
    assert any(note.startswith("nf1: 4 of 7 evaluable") for note in result["notes"])
    assert result["safety"]["design"]["prob_any_stratum_stops_null"] == pytest.approx(
        1 - (1 - result["safety"]["design"]["prob_stop_null"]) ** 2, rel=1e-12)


def test_the_safety_section_is_analyse_safety_with_the_calibrated_rule():
    result = look(protocol(), patients("nf1", 12, 3, 2) + patients("sporadic", 4, 0, 0))
    safety = result["safety"]
    expected = analyse_safety(SafetyAnalysisSpec.from_mapping({
        "p0": 0.2, "prior": {"a": 1.0, "b": 1.0}, "pooled": False,
        "strata": [{"name": "nf1", "evaluable": 12, "toxicities": 2, "toxicities_at_looks": [2, 2]},
                   {"name": "sporadic", "evaluable": 4, "toxicities": 0, "toxicities_at_looks": []}],
        "design": {"looks": [5, 10, 15], "alpha": 0.1, "method": "bayesian", "prior": {"a": 1.0, "b": 1.0}}}))
    assert safety["strata"] == expected["strata"]
    calibrated = safety_boundaries(SafetyDesign.from_mapping(SAFETY))
    assert safety["design"]["stop_counts"] == [look["stop_at"] for look in calibrated["looks"]]
    assert safety["design"]["constant"] == calibrated["calibration"]["constant"]
    assert safety["design"]["prob_stop_null"] == calibrated["calibration"]["prob_stop_null"] <= 0.1
    # the Beta(1 + 2, 1 + 10) posterior of nf1
    assert safety["strata"][0]["posterior"] == {"a": 3.0, "b": 11.0}
    assert safety["strata"][0]["boundary"] == {"look": 2, "n": 10, "stop_at": 5} and not safety["strata"][0]["crossed"]


def test_below_the_first_safety_look_the_rule_applies_nothing_yet():
    result = look(protocol(), patients("nf1", 4, 0, 4) + patients("sporadic", 3, 0, 0))  # 4 of 4, but n < 5
    nf1 = result["safety"]["strata"][0]
    assert (nf1["boundary"], nf1["looks_applied"], nf1["crossed"], nf1["decision"]) == (None, [], False, "continue")
    assert result["decisions"][0]["safety"]["reason"] == ("4 of 4 evaluable patients had a dose-limiting toxicity; "
                                                          "before the first safety look (n = 5, stop at ≥ 3): "
                                                          "continue; the efficacy decisions stand (response 'continue')")


def test_pooled_a_crossing_stops_every_monitored_stratum_and_the_strata_rows_only_describe():
    # 2 DLTs of 5 in each stratum: neither alone crosses 3 of 5, pooled 4 of 10 does not reach 5 of 10;
    # 3 + 2 of 10 does.
    result = look(protocol(scope="pooled"), patients("nf1", 7, 6, 3) + patients("sporadic", 3, 0, 2))
    safety = result["safety"]
    assert safety["pooled"]["evaluable"] == 10 and safety["pooled"]["toxicities"] == 5 and safety["pooled"]["crossed"]
    assert all(r["boundary"] is None and r["decision"] is None for r in safety["strata"])
    nf1, sporadic = result["decisions"]
    assert nf1["safety"]["decision"] == sporadic["safety"]["decision"] == "stop for safety"
    assert nf1["safety"]["overrides_efficacy"] and nf1["response"]["decision"] == "go"
    assert sporadic["safety"]["reason"].startswith("pooled over nf1, sporadic: 5 of 10 evaluable patients")
    assert sporadic["safety"]["reason"].endswith("a pooled crossing stops every monitored stratum")


def test_an_unmonitored_stratum_has_no_safety_decision_and_its_toxicities_are_noted():
    result = look(protocol(strata=["nf1"]), patients("nf1", 5, 0, 0) + patients("sporadic", 5, 0, 5))
    assert [r["name"] for r in result["safety"]["strata"]] == ["nf1"]
    sporadic = result["decisions"][1]["safety"]
    assert sporadic["decision"] is None and sporadic["reason"] == "not monitored for safety (monitored: nf1)"
    assert ("sporadic: 5 patients' toxicity statuses are not analysed: this protocol version does not monitor the "
            "stratum for safety") in result["notes"]


def test_patients_without_a_toxicity_status_are_counted_as_not_evaluable_for_safety():
    rows = patients("nf1", 6, 0, 1)
    rows[4].pop("toxicity")
    rows[5]["toxicity"] = {"evaluable": False, "dose_limiting": False}
    result = look(protocol(), rows)
    assert {k: result["accrual"]["nf1"][k] for k in ("safety_evaluable", "safety_not_evaluable", "safety_unrecorded")} == {
        "safety_evaluable": 4, "safety_not_evaluable": 1, "safety_unrecorded": 1}
    assert result["safety"]["strata"][0]["evaluable"] == 4


def _before_safety(look_document):
    """A look as software before safety monitoring stored it."""
    stored = json.loads(json.dumps(look_document))
    del stored["safety"]
    for entry in stored["decisions"]:
        entry.pop("safety", None)
    for counts in stored["accrual"].values():
        for key in ("safety_evaluable", "safety_not_evaluable", "safety_unrecorded"):
            del counts[key]
    return stored


def test_a_stored_look_without_safety_compares_identically_only_when_its_version_monitors_no_safety():
    plain = look(sarc031(pfs=None), [row(f"n{i}", "nf1", i, "responder") for i in range(3)])
    assert plain["safety"] is None and "safety" not in plain["decisions"][0]  # no monitoring: safety null
    report = compare(_before_safety(plain), plain)
    assert report["identical"] and report["differences"] == []
    assert report["additions"] == [
        "accrual/nf1/safety_evaluable", "accrual/nf1/safety_not_evaluable", "accrual/nf1/safety_unrecorded",
        "accrual/sporadic/safety_evaluable", "accrual/sporadic/safety_not_evaluable", "accrual/sporadic/safety_unrecorded",
        "safety"]
    # a look on a safety-monitored version (a stop for safety) that lost its safety data is not identical
    monitored = look(protocol(), patients("nf1", 7, 6, 6) + patients("sporadic", 7, 0, 1))
    assert monitored["decisions"][0]["safety"]["decision"] == "stop for safety"
    report = compare(_before_safety(monitored), monitored)
    assert not report["identical"] and report["additions"] == []
    lost = {d["path"] for d in report["differences"]}
    assert {"safety", "decisions/0/safety", "decisions/1/safety", "accrual/nf1/safety_evaluable"} <= lost
    changed = json.loads(json.dumps(monitored))
    changed["safety"]["strata"][0]["toxicities"] = 3  # a number the stored look holds is still compared
    assert [d["path"] for d in compare(changed, monitored)["differences"]] == ["safety/strata/0/toxicities"]


def test_the_sponsors_open_view_holds_accrual_counts_and_nothing_of_safety():
    # finding 13a.3: safety-evaluable counts with enrolment dates give early DLTs away
    closed = look(protocol(), patients("nf1", 7, 6, 4) + patients("sporadic", 7, 0, 1))
    view = open_view(closed)
    assert set(view) == {"trial", "look", "protocol_version", "data_cut", "amendments_since_previous_look", "accrual", "run"}
    assert {name: set(counts) for name, counts in view["accrual"].items()} == {
        name: {"enrolled", "response_evaluable", "not_evaluable", "pending", "pfs_patients"} for name in ("nf1", "sporadic")}


@pytest.mark.parametrize("method", ["pocock", "obrien-fleming"])
def test_the_binomial_methods_run_in_a_look_too(method):
    result = look(protocol(method=method), patients("nf1", 10, 2, 6) + patients("sporadic", 5, 0, 0))
    assert result["safety"]["design"]["method"] == method
    assert result["decisions"][0]["safety"]["decision"] == "stop for safety"  # 6 of 10 against p0 = 0.2


def test_a_no_go_beside_a_crossed_boundary_is_stated_not_overridden():
    body = protocol()
    body["response"]["decision"] = {"final_threshold": 0.95}
    body["response"]["strata"] = [{"name": "nf1", "n_planned": 5, "looks": [5]},
                                  {"name": "sporadic", "n_planned": 5, "looks": [5]}]
    body["safety"]["looks"] = [5]
    result = look(body, patients("nf1", 5, 0, 4) + patients("sporadic", 5, 0, 0))  # 0 of 5 respond: no-go
    nf1 = result["decisions"][0]
    assert nf1["response"]["decision"] == "no-go" and nf1["safety"]["decision"] == "stop for safety"
    assert not nf1["safety"]["overrides_efficacy"]
    assert nf1["safety"]["reason"].endswith("(stop at ≥ 3, crossed): stop for safety (boundary crossed at safety "
                                            "look 1; response 'no-go' stops the stratum too)")
