"""Safety monitoring over HTTP, on SQLite and PostgreSQL: a protocol with a safety section (bad fields
in one 422, located under safety/), toxicity statuses in a cut (strict types), a look whose stratum
stops for safety, its stored design's safety rule, a sponsor who sees no toxicity count, and a
reproduction that is identical."""

from __future__ import annotations

import copy

from tests.conftest import assert_problem
from tests.registry.conftest import TRIAL

DLT = {"evaluable": True, "dose_limiting": True}
NO_DLT = {"evaluable": True, "dose_limiting": False}


def _protocol(protocol):
    body = copy.deepcopy(protocol)
    body["safety"] = {"p0": 0.2, "looks": [3, 6], "alpha": 0.1, "scope": "per-stratum"}
    return body


def _cut():
    patients = [{"id": f"N{i}", "stratum": "NF1-associated", "enrolled_on": "2026-01-05", "response": "responder",
                 "toxicity": DLT if i < 3 else NO_DLT} for i in range(4)]
    patients += [{"id": f"S{i}", "stratum": "sporadic", "enrolled_on": "2026-01-06", "response": "non-responder",
                  "toxicity": NO_DLT if i < 3 else None} for i in range(4)]
    return {"cutoff_date": "2026-06-30", "patients": patients}


def test_a_bad_safety_section_is_one_422_naming_every_field_under_safety(registry, protocol):
    body = _protocol(protocol)
    body["safety"].update(p0=0, looks=[3, 2], method="bayes", strata=["NF2"])
    problem = assert_problem(registry.request("statistician", "POST", "/v1/trials", json=body), 422,
                             "safety/p0", "safety/looks/1", "safety/method", "safety/strata/0")
    assert len(problem["errors"]) == 4


def test_a_toxicity_status_must_be_booleans_and_a_dlt_must_be_evaluable(registry, protocol):
    assert registry.request("statistician", "POST", "/v1/trials", json=_protocol(protocol)).status_code == 201
    cut = _cut()
    cut["patients"][0]["toxicity"] = {"evaluable": "yes", "dose_limiting": 1}
    assert_problem(registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/data-cuts", json=cut), 422,
                   "patients/0/toxicity/evaluable", "patients/0/toxicity/dose_limiting")
    cut = _cut()
    cut["patients"][1]["toxicity"] = {"evaluable": False, "dose_limiting": True}
    assert_problem(registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/data-cuts", json=cut), 422,
                   "patients/1/toxicity/dose_limiting")


def test_a_look_stops_a_stratum_for_safety_and_the_sponsor_sees_no_toxicity(registry, protocol):
    registry.populate(_protocol(protocol), _cut())
    stored = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/looks/1").json()["result"]
    nf1, sporadic = stored["decisions"]
    assert nf1["safety"]["decision"] == "stop for safety" and nf1["safety"]["crossed"] is True  # 3 of 4 >= b at n = 3
    assert sporadic["safety"]["decision"] == "continue"
    assert stored["safety"]["strata"][1]["evaluable"] == 3 and stored["accrual"]["sporadic"]["safety_unrecorded"] == 1
    design = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/versions/1/design").json()
    assert [(look["n"], look["stop_at"]) for look in design["safety"]["looks"]] == list(
        zip([3, 6], stored["safety"]["design"]["stop_counts"], strict=True))
    sponsor = registry.request("sponsor", "GET", f"/v1/trials/{TRIAL}/looks/1")
    assert sponsor.status_code == 200, sponsor.text
    text = sponsor.text
    assert {k for counts in sponsor.json()["open"]["accrual"].values() for k in counts} == {  # no safety count (review 13a.3)
        "enrolled", "response_evaluable", "not_evaluable", "pending", "pfs_patients"}
    for word in ("toxicities", "dose_limiting", "stop for safety", "crossed"):
        assert word not in text, word
    report = registry.request("sponsor", "GET", f"/v1/trials/{TRIAL}/looks/1/report", params={"view": "open"})
    assert report.status_code == 200 and "stop for safety" not in report.text and "DLTs" not in report.text
    closed = registry.request("dmc", "GET", f"/v1/trials/{TRIAL}/looks/1/report")
    assert '<section id="safety">' in closed.text and "stop for safety" in closed.text
    reproduced = registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/looks/1/reproduce")
    assert reproduced.status_code == 200 and reproduced.json()["identical"] is True, reproduced.text


def test_an_amendment_of_the_safety_section_lists_its_effective_changes(registry, protocol):
    registry.request("statistician", "POST", "/v1/trials", json=_protocol(protocol)).raise_for_status()
    etag = registry.request("statistician", "GET", f"/v1/trials/{TRIAL}").headers["ETag"]
    amended = registry.request("statistician", "POST", f"/v1/trials/{TRIAL}/amendments", headers={"If-Match": etag},
                               json={"changes": {"safety": {"alpha": None, "scope": "pooled"}}})
    assert amended.status_code in (200, 201), amended.text
    version = amended.json()
    changes = version["history"][-1]["effective_changes"] if "history" in version else version["effective_changes"]
    assert changes == {"safety/scope": {"from": "per-stratum", "to": "pooled"}}  # alpha 0.1 was the default already
