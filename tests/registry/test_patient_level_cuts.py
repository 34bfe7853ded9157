"""Data cuts of patient-level data over HTTP, on SQLite and PostgreSQL: patients given by tumour
assessments (responses and PFS derived under the protocol's derivation, every reason kept in the cut),
and CDISC ADaM datasets as JSON records, Dataset-JSON, or CSV / SAS transport / Dataset-JSON files
(multipart/form-data): the same patients in every format give the identical cut and identical looks.
Bad ADaM input is refused naming dataset, row and variable, all at once, with nothing stored."""

from __future__ import annotations

import copy
import json

import pytest

from designs.registry.look import compare
from tests.adam import files
from tests.conftest import assert_problem
from tests.registry.conftest import TRIAL

CUTS = f"/v1/trials/{TRIAL}/data-cuts"
LOOKS = f"/v1/trials/{TRIAL}/looks"
CUTOFF = "2026-06-30"
ADAM = {
    "stratum_variable": "NF1FL", "strata": {"Y": "NF1-associated", "N": "sporadic"},
    "response": {"paramcd": "BOR", "records": "best"}, "pfs": {"paramcd": "PFS", "unit": "days"},
}
DERIVATION = {"criterion": "recist1.1", "endpoint": "clinical_benefit", "benefit_min_days": 112}


@pytest.fixture
def trial(registry, protocol):
    """The example trial, its protocol with a derivation and an ADaM mapping."""
    body = copy.deepcopy(protocol)
    body["derivation"] = DERIVATION
    body["adam"] = ADAM
    created = registry.request("statistician", "POST", "/v1/trials", json=body)
    assert created.status_code == 201, created.text
    return created.json()


def _post_cut(registry, **kwargs):
    return registry.request("statistician", "POST", CUTS, **kwargs)


def _sd_patient(pid: str, last_sd_day: int) -> dict:
    """A RECIST patient in stable disease (sum 100 → 90 mm) at days 56 and ``last_sd_day``, then
    progressing (sum 130 mm) four weeks later."""
    return {"id": pid, "stratum": "NF1-associated", "assessments": {
        "treatment_start": "2026-01-05",
        "baseline": {"day": -3, "target_sum_mm": 100},
        "visits": [{"day": 57, "target_sum_mm": 90}, {"day": last_sd_day + 1, "target_sum_mm": 90},
                   {"day": last_sd_day + 29, "target_sum_mm": 130}],
    }}


def test_cut_of_assessments_derives_clinical_benefit_at_112_days_sarc031(registry, trial):
    """SARC031's clinical benefit: stable disease for at least 4 cycles of 28 days. SD assessed 112
    days after treatment start is benefit; 111 days is not. The cut keeps assessments and reasons."""
    body = {"cutoff_date": CUTOFF, "patients": [_sd_patient("P-112", 112), _sd_patient("P-111", 111)]}
    created = _post_cut(registry, json=body)
    assert created.status_code == 201, created.text
    patients = {p["id"]: p for p in registry.request("dmc", "GET", f"{CUTS}/1").json()["patients"]}
    assert patients["P-112"]["response"] == "responder"
    assert patients["P-111"]["response"] == "non-responder"
    for p in patients.values():
        assert p["enrolled_on"] == "2026-01-05"  # the treatment start, by default
        assert p["assessments"]["treatment_start"] == "2026-01-05"
        assert p["derivation"]["reason"] and p["derivation"]["pfs"]["kind"] == "progression"
        assert p["derivation"]["pfs"]["used"] is True
        assert p["pfs"] == {"time_months": p["derivation"]["pfs"]["time_months"], "event": True}
    assert patients["P-112"]["derivation"]["pfs"]["time_days"] == 112 + 28


def test_assessments_need_the_protocols_derivation_and_exclude_a_response(registry, protocol):
    created = registry.request("statistician", "POST", "/v1/trials", json=protocol)
    assert created.status_code == 201, created.text
    patient = {**_sd_patient("P-1", 112), "response": "responder"}
    refused = _post_cut(registry, json={"cutoff_date": CUTOFF, "patients": [patient]})
    problem = assert_problem(refused, 422)
    fields = {e["field"] for e in problem["errors"]}
    assert "patients/0/assessments" in fields and any("derivation section" in e["reason"] for e in problem["errors"])


def _bodies(adam: dict[str, list[dict]]) -> dict[str, dict]:
    """One ADaM cut in every way it may be sent: requests' keyword arguments by name."""
    names = {"ADSL": "adsl", "ADRS": "adrs", "ADTTE": "adtte"}
    return {
        "json-records": {"json": {"cutoff_date": CUTOFF, "adam": adam}},
        "json-dataset-json": {"json": {"cutoff_date": CUTOFF, "adam": {
            k: json.loads(files.as_dataset_json(k, v)) for k, v in adam.items()}}},
        "csv": {"data": {"cutoff_date": CUTOFF}, "files": {
            k: (f"{names[k]}.csv", files.as_csv(v), "text/csv") for k, v in adam.items()}},
        "xpt": {"data": {"cutoff_date": CUTOFF}, "files": {
            k: (f"{names[k]}.xpt", files.as_xpt(k, v), "application/octet-stream") for k, v in adam.items()}},
        "dataset-json": {"data": {"cutoff_date": CUTOFF}, "files": {
            k: (f"{names[k]}.json", files.as_dataset_json(k, v), "application/json") for k, v in adam.items()}},
    }


def _adam() -> dict[str, list[dict]]:
    data = files.example_adam(n_per_stratum=8)
    return {"ADSL": data["ADSL"], "ADRS": [r for r in data["ADRS"] if r["PARAMCD"] == "BOR"], "ADTTE": data["ADTTE"]}


def test_adam_as_json_csv_xpt_and_dataset_json_give_identical_cuts_and_looks(registry, trial):
    """The ADaM round trip: the same patients as JSON records, Dataset-JSON (in JSON and as a file),
    CSV and SAS transport give one canonical cut (the same SHA-256) and looks with the same numbers;
    each cut records the files it was read from."""
    shas, formats = [], []
    for way, kwargs in _bodies(_adam()).items():
        created = _post_cut(registry, **kwargs)
        assert created.status_code == 201, (way, created.text)
        shas.append(created.json()["sha256"])
        formats.append([f["format"] for f in created.json()["files"]])
    assert len(set(shas)) == 1
    assert formats == [[], [], ["csv"] * 3, ["xpt"] * 3, ["dataset-json"] * 3]
    first = registry.request("dmc", "GET", f"{CUTS}/1").json()
    assert all(p["source"]["ADSL"]["USUBJID"] == p["id"] for p in first["patients"])
    results = []
    for number in (1, 5):
        look = registry.request("statistician", "POST", LOOKS, json={"data_cut": number})
        assert look.status_code == 201, look.text
        result = look.json()["result"]
        results.append({k: result[k] for k in ("accrual", "response", "pfs", "decisions")})
    assert results[0]["response"] is not None and results[0]["pfs"] is not None
    # The looks' seeds differ (look n's seed derives from n), and with them the inputs' hashes: nothing else.
    differences = compare(results[0], results[1])["differences"]
    assert {d["path"] for d in differences} <= {"response/provenance/seed", "response/provenance/input_sha256",
                                                "pfs/provenance/input_sha256"}, differences


def test_adam_cnsr_zero_is_the_event_and_other_codes_are_censoring(registry, trial):
    """ADaM ADTTE: CNSR = 0 is an event, any positive integer a censoring reason (never 1 − CNSR)."""
    adam = _adam()
    censored = next(i for i, r in enumerate(adam["ADTTE"]) if r["CNSR"] == 1)
    adam["ADTTE"][censored] = {**adam["ADTTE"][censored], "CNSR": 2}  # another reason to censor
    codes = {r["USUBJID"]: r["CNSR"] for r in adam["ADTTE"]}
    assert {0, 1, 2} <= set(codes.values())
    created = _post_cut(registry, json={"cutoff_date": CUTOFF, "adam": adam})
    assert created.status_code == 201, created.text
    for p in registry.request("dmc", "GET", f"{CUTS}/1").json()["patients"]:
        if p["pfs"] is not None:
            assert p["pfs"]["event"] is (codes[p["id"]] == 0)


def test_bad_adam_files_are_refused_naming_dataset_row_and_variable_all_at_once(registry, trial):
    adam = _adam()
    adam["ADRS"][2] = {**adam["ADRS"][2], "AVALC": "CRR"}
    adam["ADTTE"][0] = {**adam["ADTTE"][0], "CNSR": -1}
    adam["ADSL"][1] = {**adam["ADSL"][1], "NF1FL": "maybe"}
    before = registry.counts()
    kwargs = _bodies(adam)["csv"]
    refused = _post_cut(registry, **kwargs)
    problem = assert_problem(refused, 422)
    fields = {e["field"] for e in problem["errors"]}
    assert {"adam/ADRS/3/AVALC", "adam/ADTTE/1/CNSR", "adam/ADSL/2/NF1FL"} <= fields, fields
    assert registry.counts() == before


def test_a_cut_in_another_content_type_is_415_and_a_form_without_adsl_names_it(registry, trial):
    refused = _post_cut(registry, content=b"USUBJID,TRTSDT\n", headers={"Content-Type": "text/csv"})
    assert "multipart/form-data" in assert_problem(refused, 415)["detail"]
    no_adsl = _post_cut(registry, data={"cutoff_date": CUTOFF, "colour": "blue"},
                        files={"ADRS": ("adrs.csv", b"USUBJID\n", "text/csv")})
    fields = {e["field"] for e in assert_problem(no_adsl, 422)["errors"]}
    assert {"adam/ADSL", "colour"} <= fields, fields


def test_adam_needs_the_protocols_adam_section(registry, protocol):
    created = registry.request("statistician", "POST", "/v1/trials", json=protocol)
    assert created.status_code == 201, created.text
    refused = _post_cut(registry, json={"cutoff_date": CUTOFF, "adam": _adam()})
    problem = assert_problem(refused, 422)
    assert [e["field"] for e in problem["errors"]] == ["adam"]
    assert "no adam section" in problem["errors"][0]["reason"]


def test_an_unreadable_file_is_named_beside_every_bad_value_of_the_readable_ones(registry, trial):
    adam = _adam()
    adam["ADSL"][1] = {**adam["ADSL"][1], "NF1FL": "maybe"}
    kwargs = _bodies(adam)["csv"]
    kwargs["files"]["ADTTE"] = ("adtte.xpt", b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!000000", "application/octet-stream")
    before = registry.counts()
    fields = {e["field"] for e in assert_problem(_post_cut(registry, **kwargs), 422)["errors"]}
    assert "adam/ADSL/2/NF1FL" in fields and any(f.startswith("adam/ADTTE") for f in fields), fields
    assert registry.counts() == before


def test_a_form_field_sent_as_a_file_is_named(registry, trial):
    kwargs = _bodies(_adam())["csv"]
    kwargs["files"]["cutoff_date"] = ("cutoff.txt", CUTOFF.encode(), "text/plain")
    del kwargs["data"]
    problem = assert_problem(_post_cut(registry, **kwargs), 422)
    assert [e["field"] for e in problem["errors"]] == ["cutoff_date"]
    assert "text field" in problem["errors"][0]["reason"]


def test_a_file_of_thousands_of_bad_rows_lists_the_first_thousand_and_counts_the_rest(registry, trial):
    adam = _adam()
    adam["ADSL"] = [{"USUBJID": f"S{i:05d}", "TRTSDT": "2026-01-05", "NF1FL": "maybe"} for i in range(1500)]
    problem = assert_problem(_post_cut(registry, json={"cutoff_date": CUTOFF, "adam": adam}), 422)
    assert len(problem["errors"]) == 1000
    assert problem["detail"].endswith("more problems not listed (the first 1000 are): fix these and send again")


def test_a_file_of_another_dataset_is_named_beside_the_other_problems(registry, trial):
    adam = _adam()
    adam["ADSL"][1] = {**adam["ADSL"][1], "NF1FL": "maybe"}
    kwargs = _bodies(adam)["csv"]
    kwargs["files"]["ADAE"] = ("adae.csv", b"USUBJID,AETERM\nX,rash\n", "text/csv")
    fields = {e["field"] for e in assert_problem(_post_cut(registry, **kwargs), 422)["errors"]}
    assert {"adam/ADAE", "adam/ADSL/2/NF1FL"} <= fields, fields
