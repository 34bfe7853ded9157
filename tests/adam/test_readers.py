"""ADaM readers: the same records give identical Dataset rows from every format; unreadable files are
refused saying which format was tried and why."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import re
import sys
import tempfile
import tracemalloc

import pandas as pd
import pyreadstat
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from designs.adam.readers import MAX_JSON_OBJECTS, MAX_ROWS, Dataset, read_dataset, read_datasets, sas_date
from designs.core.errors import InvalidInputError
from designs.core.validation import Checker
from tests.adam.files import WRITERS, as_csv, as_dataset_json, as_xpt, example_adam

EXAMPLE = example_adam(n_per_stratum=3, seed=7)
FORMAT = {"xpt": "xpt", "dat": "dataset-json", "csv": "csv", "jso": "json-records"}


def problems(error: pytest.ExceptionInfo) -> list[tuple[str, str]]:
    return [(p.field, p.reason) for p in error.value.problems]


def as_written(rows: tuple[dict, ...]) -> tuple[dict, ...]:
    """Rows with their numbers as CSV writes them: CSV has no types, its values stay text."""
    return tuple({k: str(v) if isinstance(v, int | float) else v for k, v in row.items()} for row in rows)


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("name", ["ADSL", "ADRS", "ADTTE"])
def test_every_format_gives_the_same_rows_for_the_same_records(name, writer):
    records = EXAMPLE[name]
    expected = read_dataset(name, records)
    dataset = read_dataset(name, WRITERS[writer](name, records))
    rows = as_written(expected.rows) if writer.startswith("csv") else expected.rows
    assert (dataset.columns, dataset.rows) == (expected.columns, rows)
    assert dataset.name == name and dataset.format == FORMAT[writer[:3]]
    assert len(dataset.rows) == len(records)


def test_values_are_normalised_dates_integral_numbers_and_stripped_text():
    dataset = read_dataset("ADTTE", as_xpt("ADTTE", [{"USUBJID": "S-1  ", "AVAL": 30.0, "CNSR": 0, "X": 2.5,
                                                      "ADT": "2024-02-09", "C": ""}]))
    assert dataset.rows == ({"USUBJID": "S-1", "AVAL": 30, "CNSR": 0, "X": 2.5, "ADT": dt.date(2024, 2, 9), "C": None},)
    assert isinstance(dataset.rows[0]["AVAL"], int)


def test_sha256_is_of_the_bytes_read_and_absent_for_records():
    data = as_csv(EXAMPLE["ADSL"])
    assert read_dataset("ADSL", data).sha256 == hashlib.sha256(data).hexdigest()
    assert read_dataset("ADSL", EXAMPLE["ADSL"]).sha256 is None


def test_csv_with_bom_crlf_quoted_commas_and_line_breaks():
    data = b'\xef\xbb\xbfusubjid,Comment,AVAL\r\n"S-1","stable, then ""PR""",12\r\nS-2,"two\r\nlines",\r\n\r\n'
    dataset = read_dataset("adsl", data)
    assert dataset.name == "ADSL" and dataset.columns == ("USUBJID", "COMMENT", "AVAL")
    assert dataset.rows == ({"USUBJID": "S-1", "COMMENT": 'stable, then "PR"', "AVAL": "12"},
                            {"USUBJID": "S-2", "COMMENT": "two\r\nlines", "AVAL": None})


def test_csv_values_stay_the_text_written_only_iso_dates_are_typed():
    """CSV has no types: guessing numbers would make USUBJID "101.010" 101.01 and "1E3" 1000."""
    data = b"USUBJID,SITE,DOSE,STARTDT\n101.010,10,0.5,2024-01-02\n1E3,20,.,.\n007,+7,1.0,2024-01-03\n"
    dataset = read_dataset("ADSL", data)
    assert [r["USUBJID"] for r in dataset.rows] == ["101.010", "1E3", "007"]
    assert [r["SITE"] for r in dataset.rows] == ["10", "20", "+7"]
    assert [r["DOSE"] for r in dataset.rows] == ["0.5", None, "1.0"]
    assert [r["STARTDT"] for r in dataset.rows] == [dt.date(2024, 1, 2), None, dt.date(2024, 1, 3)]


def test_csv_column_with_one_bad_date_stays_text():
    dataset = read_dataset("ADSL", b"TRTSDT\n2024-01-02\n2024-02-30\n")
    assert [r["TRTSDT"] for r in dataset.rows] == ["2024-01-02", "2024-02-30"]


def test_csv_row_with_the_wrong_number_of_values_is_located_by_row():
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", b"A,B\n1,2\n1,2,3\n4\n")
    assert problems(error) == [
        ("adam/ADSL/2", "ADSL row 2 (line 3) has 3 values, the header names 2 variables"),
        ("adam/ADSL/3", "ADSL row 3 (line 4) has 1 values, the header names 2 variables"),
    ]


def test_json_records_keys_upper_cased_and_missing_keys_missing():
    dataset = read_dataset("ADRS", [{"usubjid": "S-1", "avalc": "PR"}, {"USUBJID": "S-2", "ADT": "2024-03-01"}])
    assert dataset.columns == ("USUBJID", "AVALC", "ADT")
    assert dataset.rows[1] == {"USUBJID": "S-2", "AVALC": None, "ADT": dt.date(2024, 3, 1)}


def test_json_records_bad_values_reported_at_once_by_row_and_variable():
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", [{"USUBJID": "S-1", "SAFFL": True}, {"USUBJID": ["S-2"], "X": 1e308 * 10}, "row"])
    assert [p[0] for p in problems(error)] == ["adam/ADSL/3"]
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", [{"USUBJID": "S-1", "SAFFL": True}, {"USUBJID": ["S-2"], "X": float("inf")}])
    assert [p[0] for p in problems(error)] == ["adam/ADSL/1/SAFFL", "adam/ADSL/2/USUBJID", "adam/ADSL/2/X"]


def test_json_nan_and_infinity_are_not_json():
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADTTE", b'[{"AVAL": NaN}]')
    assert problems(error) == [("adam/ADTTE", "ADTTE read as JSON: NaN is not a JSON number")]


@pytest.mark.parametrize("version", [5, 8])
def test_truncated_xpt_is_refused(version):
    data = as_xpt("ADSL", EXAMPLE["ADSL"], version=version)
    for cut in (len(data) - 30, 400):
        with pytest.raises(InvalidInputError) as error:
            read_dataset("ADSL", data[:cut], filename="adsl.xpt")
        (field, reason), = problems(error)
        assert field == "adam/ADSL" and reason.startswith("ADSL (adsl.xpt) read as SAS transport (XPT): ")
        assert "truncated" in reason


def test_xpt_v8_cut_at_a_record_boundary_is_caught_by_its_observation_count():
    records = [{"USUBJID": f"S-{i}", "AVAL": float(i)} for i in range(30)]
    data = as_xpt("ADSL", records, version=8)
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", data[:-80])
    assert problems(error)[0][1].endswith("truncated: the header states 30 observations, 26 were read")


def test_xpt_holding_another_dataset_is_refused():
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", as_xpt("ADRS", EXAMPLE["ADRS"]))
    assert problems(error)[0][1].endswith("the file holds dataset 'ADRS', not ADSL")


@pytest.mark.parametrize(("data", "why"), [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
     "and not CSV: not UTF-8 text (byte 0x89 at position 0; a CSV file is read as UTF-8"),
    (b"PK\x03\x04\x14\x00\x00\x00\x08\x00", "and not CSV: not text (a NUL byte at position 5)"),
    (b"Dear DMC,\nplease find the data attached.\n", "the header row holds 'Dear DMC', '', not variable names"),
    (b"USUBJID;TRTSDT\nS-1;2024-01-02\n", "(only comma-separated files are read)"),
    (b"", "empty: no header row of variable names"),
    (bytes(12) + b"\xc2\xea\x81\x60\xb3\x14\x11\xcf" + bytes(40),
     "a SAS dataset (SAS7BDAT), which gonogo does not read"),
    (b'{"rows": []}', "a JSON object that is not Dataset-JSON"),
    (b'{"USUBJID": ', "not valid JSON (Expecting value at line 1 column 13)"),
])
def test_a_file_that_is_not_xpt_json_or_csv_is_refused_saying_what_was_tried(data, why):
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", data)
    (field, reason), = problems(error)
    assert field == "adam/ADSL" and why in reason


def test_a_named_xpt_or_json_that_is_not_one_is_refused():
    named = (("adsl.xpt", "named .xpt but not a SAS transport file"), ("adsl.json", "named .json but not JSON"))
    for filename, said in named:
        with pytest.raises(InvalidInputError) as error:
            read_dataset("ADSL", as_csv(EXAMPLE["ADSL"]), filename=filename)
        assert problems(error)[0][1].startswith(f"ADSL ({filename}): {said}")


def test_dataset_json_records_count_shows_a_cut_off_file():
    document = json.loads(as_dataset_json("ADSL", EXAMPLE["ADSL"]))
    document["rows"] = document["rows"][:-1]
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", document)
    assert "records states 6 rows but 5 are given" in problems(error)[0][1]


def test_dataset_json_10_with_two_datasets_or_a_short_row_is_refused():
    document = json.loads(as_dataset_json("ADSL", EXAMPLE["ADSL"], version="1.0"))
    groups = document["clinicalData"]["itemGroupData"]
    groups["IG.ADRS"] = groups["IG.ADSL"]
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", document)
    assert "with 2 datasets in itemGroupData" in problems(error)[0][1]
    del groups["IG.ADRS"]
    groups["IG.ADSL"]["itemData"][2] = groups["IG.ADSL"]["itemData"][2][:-1]
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", document)
    assert "row 3 of itemData has 4 values, the columns are 5" in problems(error)[0][1]


def test_dataset_json_values_against_their_column_types():
    document = json.loads(as_dataset_json("ADTTE", EXAMPLE["ADTTE"]))
    document["rows"][0][2] = "281"  # AVAL, an integer column
    document["rows"][1][4] = "2024-02-30"  # STARTDT, a date column
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADTTE", document)
    assert [p[0] for p in problems(error)] == ["adam/ADTTE/1/AVAL", "adam/ADTTE/2/STARTDT"]


def test_dataset_json_unknown_version_is_refused():
    document = json.loads(as_dataset_json("ADSL", EXAMPLE["ADSL"]))
    document["datasetJSONVersion"] = "2.0"
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", document)
    assert "datasetJSONVersion '2.0' is not 1.1" in problems(error)[0][1]


def test_read_datasets_collects_the_problems_of_every_file():
    check = Checker()
    read = read_datasets(check, {"adsl": as_csv(EXAMPLE["ADSL"]), "ADRS": b"\x00", "ADTTE": b"[1"})
    assert list(read) == ["ADSL"] and isinstance(read["ADSL"], Dataset)
    assert [p.field for p in check.problems] == ["adam/ADRS", "adam/ADTTE"]


def test_a_dataset_name_must_be_a_sas_name_and_data_a_file_records_or_an_object():
    with pytest.raises(InvalidInputError) as error:
        read_dataset("AD SL", b"A\n1\n")
    assert problems(error) == [("adam/AD SL", "'AD SL' is not a dataset name (letters, digits and _, starting with a "
                                "letter or _)")]
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", "A\n1\n")
    assert problems(error) == [("adam/ADSL", "ADSL must be the bytes of a file, a list of records or a Dataset-JSON "
                                "object (got str)")]


def test_read_datasets_refuses_a_dataset_given_twice():
    check = Checker()
    read_datasets(check, {"adsl": EXAMPLE["ADSL"], "ADSL": EXAMPLE["ADSL"]})
    assert [(p.field, p.reason) for p in check.problems] == [
        ("adam/ADSL", "ADSL is given twice (names differing only in case)")]


@pytest.mark.parametrize(("value", "date"), [(0, dt.date(1960, 1, 1)), (-1, dt.date(1959, 12, 31)),
                                             (23385, dt.date(2024, 1, 10)), ("2024-01-10", dt.date(2024, 1, 10))])
def test_sas_dates_count_days_from_1960_01_01(value, date):
    assert sas_date(value) == date


@pytest.mark.parametrize("value", [23385.5, "10JAN2024", True, 10**9])
def test_sas_date_refuses_what_is_not_a_date(value):
    with pytest.raises(ValueError):
        sas_date(value)


JSON_KEYS = st.sampled_from(["datasetJSONVersion", "columns", "rows", "records", "name", "clinicalData",
                             "itemGroupData", "items", "itemData", "type", "dataType", "USUBJID", "TRTSDT", "AVAL"])
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10) | st.sampled_from(["1.1.0", "date"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_KEYS, inner, max_size=5), max_leaves=25)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_json_document_is_read_or_refused_with_located_problems(document):
    try:
        dataset = read_dataset("ADSL", json.dumps(document).encode())
    except InvalidInputError as error:
        assert error.problems and all(p.field.startswith("adam/ADSL") for p in error.problems)
        return
    assert all(v is None or isinstance(v, str | int | float | dt.date) for row in dataset.rows for v in row.values())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=120))
def test_any_bytes_are_read_or_refused_with_located_problems(data):
    try:
        read_dataset("ADSL", data)
    except InvalidInputError as error:
        assert all(p.field.startswith("adam/ADSL") for p in error.problems)


# ----------------------------------------------------------------------------------------------- size


def refused_measuring_memory(data: bytes) -> tuple[pytest.ExceptionInfo, int]:
    """The refusal of ``data`` as ADSL and the peak memory (bytes) allocated while reading it."""
    tracemalloc.start()
    try:
        with pytest.raises(InvalidInputError) as error:
            read_dataset("ADSL", data)
        return error, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_a_csv_of_millions_of_rows_is_refused_while_reading_before_rows_are_built():
    """5 MB, 2.5 million one-column rows: refused at row MAX_ROWS + 1, within a small memory budget."""
    data = b"USUBJID\n" + b"1\n" * 2_500_000
    error, peak = refused_measuring_memory(data)
    assert problems(error) == [("adam/ADSL", f"ADSL has more than {MAX_ROWS} rows, more than the {MAX_ROWS} gonogo "
                                f"reads from one dataset (reading stopped at row {MAX_ROWS + 1})")]
    assert peak < 200 * 2**20, f"peak {peak / 2**20:.0f} MB"


def test_a_json_file_of_millions_of_records_is_refused_while_parsing():
    """5 MB of 1.7 million empty records: parsing stops at the first object beyond MAX_JSON_OBJECTS."""
    data = b"[" + b",".join([b"{}"] * 1_700_000) + b"]"
    error, peak = refused_measuring_memory(data)
    assert problems(error) == [("adam/ADSL", f"ADSL holds more than {MAX_JSON_OBJECTS} JSON objects, more than a "
                                f"dataset of {MAX_ROWS} rows (the most gonogo reads) has: reading stopped there")]
    assert peak < 60 * 2**20, f"peak {peak / 2**20:.0f} MB"


@pytest.mark.parametrize("rows", [10, 11])
def test_json_records_and_dataset_json_are_refused_beyond_max_rows(rows, monkeypatch):
    monkeypatch.setattr("designs.adam.readers.MAX_ROWS", 10)
    records = [{"A": None}] * rows
    document = {"datasetJSONVersion": "1.1.0", "columns": [{"name": "A", "dataType": "string"}],
                "rows": [[None]] * rows}
    for data in (records, document):
        if rows <= 10:
            assert len(read_dataset("ADSL", data).rows) == rows
            continue
        with pytest.raises(InvalidInputError) as error:
            read_dataset("ADSL", data)
        assert problems(error) == [("adam/ADSL", "ADSL has 11 rows, more than the 10 gonogo reads from one dataset")]


@pytest.mark.parametrize("rows", [20, 21])
def test_a_dataset_of_more_than_max_cells_values_is_refused(rows, monkeypatch):
    monkeypatch.setattr("designs.adam.readers.MAX_CELLS", 1000)
    header = ",".join(f"V{j}" for j in range(50))
    data = (header + "\n" + ("," * 49 + "x\n") * rows).encode()
    records = [dict.fromkeys(header.split(","), "x")] * rows
    if rows * 50 <= 1000:
        assert len(read_dataset("ADSL", data).rows) == len(read_dataset("ADSL", records).rows) == rows
        return
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", data, filename="adsl.csv")
    why = "rows of 50 variables, more than the 1000 values gonogo reads from one dataset"
    assert problems(error) == [("adam/ADSL", f"ADSL (adsl.csv) has more than 20 {why} (reading stopped at row 21): "
                                "upload the variables the mapping uses")]
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", records)
    assert problems(error) == [("adam/ADSL", f"ADSL has 21 {why}: upload the variables the mapping uses")]


@pytest.mark.parametrize("version", [5, 8])
def test_xpt_is_read_no_further_than_max_rows(version, monkeypatch):
    monkeypatch.setattr("designs.adam.readers.MAX_ROWS", 5)
    data = as_xpt("ADSL", [{"USUBJID": f"S-{i}"} for i in range(6)], version=version)
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", data)
    said = "6 rows" if version == 8 else "more than 5 rows"  # v8 states its count, v5 is read to row 6
    stopped = "" if version == 8 else " (reading stopped at row 6)"
    assert problems(error) == [("adam/ADSL", f"ADSL has {said}, more than the 5 gonogo reads from one dataset"
                                f"{stopped}")]
    assert len(read_dataset("ADSL", as_xpt("ADSL", [{"USUBJID": "S-1"}] * 5, version=version)).rows) == 5


# ------------------------------------------------------------------------------- XPT dates and large numbers


def xpt_of(frame: pd.DataFrame, formats: dict[str, str], name: str = "ADSL") -> bytes:
    """``frame`` written as SAS transport v5 by pyreadstat, with these variable formats."""
    fd, path = tempfile.mkstemp(suffix=".xpt")
    os.close(fd)
    try:
        pyreadstat.write_xport(frame, path, table_name=name, variable_format=formats)
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(path)


def test_an_xpt_date9_column_written_from_pandas_datetimes_is_a_located_problem_seconds_not_days():
    """pandas datetimes are written as seconds since 1960: with DATE9. ReadStat would read 2020464000 days."""
    frame = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "TRTSDT": pd.to_datetime(["2024-01-10", "2024-02-01"])})
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", xpt_of(frame, {"TRTSDT": "DATE9."}))
    (field, reason), = problems(error)
    assert field == "adam/ADSL/TRTSDT"
    assert reason.startswith("ADSL: TRTSDT has a date format but its values (2020464000 = 2024-01-10T00:00:00, ...) "
                             "look like a datetime in seconds since 1960-01-01: write dates (days since 1960-01-01)")


def test_an_xpt_date_value_in_seconds_among_days_is_a_problem_at_its_row():
    frame = pd.DataFrame({"USUBJID": ["S-1", "S-2", "S-3"], "TRTSDT": [23385.0, 2020464000.0, float("nan")]})
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", xpt_of(frame, {"TRTSDT": "DATE9."}))
    assert problems(error) == [("adam/ADSL/2/TRTSDT", "ADSL row 2: TRTSDT 2020464000.0: out of the range of dates as a "
                                "SAS date (days since 1960-01-01): it looks like a datetime in seconds since 1960 "
                                "(2024-01-10T00:00:00): write dates (days)")]


@pytest.mark.parametrize(("days", "ok"), [(2936549.0, True), (2936550.0, False)])
def test_an_xpt_sas_date_is_read_up_to_9999_12_31(days, ok):
    frame = pd.DataFrame({"USUBJID": ["S-1"], "TRTSDT": [days]})
    data = xpt_of(frame, {"TRTSDT": "DATE9."})
    if ok:
        assert read_dataset("ADSL", data).rows[0]["TRTSDT"] == dt.date(9999, 12, 31)
        return
    with pytest.raises(InvalidInputError) as error:
        read_dataset("ADSL", data)
    assert problems(error) == [("adam/ADSL/1/TRTSDT", "ADSL row 1: TRTSDT 2936550.0: out of the range of dates as a "
                                "SAS date (days since 1960-01-01)")]


def test_xpt_datetimes_and_times_are_kept_as_iso_text_dates_as_dates():
    frame = pd.DataFrame({"ADT": [23385.0], "ADTM": [2020464000.0 + 3723.5], "ATM": [3723.0], "DUR": [90000.0]})
    formats = {"ADT": "E8601DA10.", "ADTM": "DATETIME22.1", "ATM": "TIME8.", "DUR": "TIME8."}
    assert read_dataset("ADSL", xpt_of(frame, formats)).rows == (
        {"ADT": dt.date(2024, 1, 10), "ADTM": "2024-01-10T01:02:03.500000", "ATM": "01:02:03", "DUR": 90000},)


@pytest.mark.parametrize("error", [OverflowError("days=2077747200; must have magnitude <= 999999999"),
                                   ValueError("bad"), pyreadstat.ReadstatError("Invalid file"), MemoryError()])
def test_any_exception_of_readstat_is_an_unreadable_xpt_at_the_dataset(error, monkeypatch):
    def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(pyreadstat, "read_xport", fail)
    with pytest.raises(InvalidInputError) as raised:
        read_dataset("ADSL", as_xpt("ADSL", EXAMPLE["ADSL"]), filename="adsl.xpt")
    (field, reason), = problems(raised)
    assert field == "adam/ADSL"
    assert reason.startswith(f"ADSL (adsl.xpt) read as SAS transport (XPT): ReadStat cannot read it "
                             f"({type(error).__name__}: {error})")


BEYOND_FLOAT = int(sys.float_info.max) + 1


def dumps(document: object) -> bytes:
    """JSON of ``document``, integers of any size written out (Python writes at most 4300 digits by default)."""
    limit = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    try:
        return json.dumps(document).encode()
    finally:
        sys.set_int_max_str_digits(limit)


@pytest.mark.parametrize("value", [BEYOND_FLOAT, -BEYOND_FLOAT, 10**400, 10**5000],
                         ids=["max+1", "-(max+1)", "1e400", "1e5000"])
def test_an_integer_beyond_floating_point_is_not_a_finite_number_at_its_cell(value):
    """10**400 in AVAL, CNSR or a date column: math.isfinite would raise OverflowError on it."""
    records = [{"USUBJID": "S-1", "AVAL": 1, "TRTSDT": "2024-01-10"},
               {"USUBJID": "S-2", "AVAL": value, "TRTSDT": value}]
    rows = [list(r.values()) for r in records]
    data = {"records": records, "json": dumps(records),
            "dataset-json-1.1": {"datasetJSONVersion": "1.1.0", "records": 2, "rows": rows,
                                 "columns": [{"name": "USUBJID", "dataType": "string"},
                                             {"name": "AVAL", "dataType": "integer"},
                                             {"name": "TRTSDT", "dataType": "date"}]}}
    data["dataset-json-bytes"] = dumps(data["dataset-json-1.1"])
    for form, given_data in data.items():
        with pytest.raises(InvalidInputError) as error:
            read_dataset("ADSL", given_data)
        assert [p[0] for p in problems(error)] == ["adam/ADSL/2/AVAL", "adam/ADSL/2/TRTSDT"], form
        assert all(reason.endswith("not a finite number: an integer beyond the range of floating point (about "
                                   "1.8e308), which no SAS numeric holds") for _, reason in problems(error)), form


def test_the_largest_integer_within_floating_point_is_a_number():
    value = int(sys.float_info.max)
    assert read_dataset("ADSL", [{"AVAL": value}]).rows == ({"AVAL": value},)
    assert read_dataset("ADSL", json.dumps([{"AVAL": -value}]).encode()).rows == ({"AVAL": -value},)


ANY_INTEGER = st.integers() | st.integers(min_value=-(10**5000), max_value=10**5000) | st.sampled_from(
    [BEYOND_FLOAT, -BEYOND_FLOAT, int(sys.float_info.max), 2**53 + 1, 10**400, 10**4300])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.fixed_dictionaries({"USUBJID": st.text(max_size=4) | ANY_INTEGER, "AVAL": ANY_INTEGER,
                                       "ADT": st.none() | ANY_INTEGER}), min_size=1, max_size=3))
def test_integers_of_any_size_in_json_records_and_dataset_json_rows_are_read_or_located(records):
    columns = [{"name": "USUBJID", "dataType": "string"}, {"name": "AVAL", "dataType": "integer"},
               {"name": "ADT", "dataType": "date"}]
    document = {"datasetJSONVersion": "1.1.0", "columns": columns, "rows": [list(r.values()) for r in records]}
    for data in (records, dumps(records), document, dumps(document)):
        try:
            dataset = read_dataset("ADRS", data)
        except InvalidInputError as error:
            assert error.problems and all(re.match(r"^adam/ADRS/\d+/(USUBJID|AVAL|ADT)$", p.field)
                                          for p in error.problems)
            continue
        assert all(v is None or isinstance(v, str | int | float | dt.date) for row in dataset.rows
                   for v in row.values())
