"""ADaM datasets read from the bytes of a file (SAS transport, Dataset-JSON, CSV) or from JSON records.

Whatever the format, a dataset becomes one ``Dataset``: upper-case variable names and rows whose values
are text (trailing blanks stripped, "" read as missing), finite numbers (an integral number as an int,
so that 30 and 30.0 are one value), dates (``datetime.date``) or None (missing). A format with types
(SAS transport, Dataset-JSON, JSON) gives its numbers as numbers; CSV has none, and its values stay the
text written (only ISO dates are recognised): guessing numbers would rewrite identifiers ("101.010" →
101.01, "1E3" → 1000). The mapping (``designs.adam.mapping``) reads each variable by its role, numbers
parsed where it needs them and identifiers compared as text, so that the same records give identical
patients from every format, which is what lets a data cut be checked and hashed without regard to how
it was uploaded.

Formats, recognised by content (a filename only sharpens the messages and refuses an ``.xpt`` or
``.json`` that is not one):

- SAS transport (XPT) versions 5 and 8: starts with ``HEADER RECORD*******LIBRARY HEADER RECORD`` (v5)
  or ``...LIBV8   HEADER RECORD`` (v8); read by ReadStat (``pyreadstat``) as numbers, its datetime
  conversion disabled: numeric variables with a date format (DATE9., E8601DA., ...) are converted here by
  the bounded ``sas_date``, so that a bad value is a problem at its row, and a date variable whose every
  value is a datetime in seconds (pandas datetimes written with DATE9.) one problem at ``adam/{NAME}/{VAR}``;
  datetimes and times are kept as ISO text. Any exception ReadStat raises makes the file unreadable.
  Transport files are whole 80-byte records, so a length that is not a multiple of 80 is a truncated
  file; v8 also states its number of observations, which must be the number read. (A v5 file cut exactly at a record and row boundary cannot be told from a whole one:
  v5 states no row count.)
- Dataset-JSON 1.1 (``datasetJSONVersion``, ``columns``, ``rows``) and 1.0 (``clinicalData`` or
  ``referenceData`` → ``itemGroupData`` → one dataset with ``items`` and ``itemData``), parsed by the
  standard ``json`` module and checked here: one dataset, columns with names and known data types,
  every row as long as the columns, ``records`` equal to the rows given (a cut-off file shows). Columns
  typed ``date`` (1.1) or numeric with a SAS date display format (1.0) are dates.
- CSV: UTF-8 (a byte-order mark tolerated), comma-separated, a header row of variable names, CRLF or LF,
  quoted fields (commas and line breaks inside quotes). CSV has no types: a column whose every value is
  an ISO date (YYYY-MM-DD) is a date column, every other value stays the text written ("007", "1E3",
  "101.010" and "30" alike); "" and "." are missing.
- JSON records: a list of objects (``[{"USUBJID": ..., "TRTSDT": "2024-01-10"}, ...]``); keys are
  upper-cased, a column whose every value is an ISO date string is a date column.

A SAS dataset (SAS7BDAT) is recognised and refused, saying to export it as XPT, Dataset-JSON or CSV.
A file that cannot be read raises ``InvalidInputError`` at ``adam/{NAME}``, saying which formats were
tried and why each failed; so does a dataset of more than ``MAX_ROWS`` rows or ``MAX_CELLS`` values,
found while reading (CSV and XPT stop at the first row too many, JSON is counted before any row is
built). A bad value raises at ``adam/{NAME}/{row}/{VARIABLE}``, rows numbered from 1 (the first data
row): an integer beyond the range of floating point (a JSON integer of any length) is not a finite number.
Every problem of one file is reported at once.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import math
import os
import re
import sys
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from designs.core.validation import Checker

FORMATS = ("csv", "xpt", "dataset-json", "json-records")
MAX_ROWS = 200_000
"""Most rows read from one dataset (a trial's ADRS with every visit is far below this)."""
MAX_CELLS = 5_000_000
"""Most values (rows × variables) read from one dataset: 200 000 rows of 25 variables, or 20 000 of 250."""
MAX_JSON_OBJECTS = MAX_ROWS + 10_000
"""Most JSON objects parsed from one file: a row each in JSON records, a column each in Dataset-JSON; parsing
stops at the next one, before a file of millions of tiny records fills memory."""
SAS_EPOCH = dt.date(1960, 1, 1)
"""Day 0 of SAS dates: a SAS date is a number of days since 1960-01-01."""
XPT_MAGIC = b"HEADER RECORD*******LIB"
XPT_RECORD = 80
SAS7BDAT_MAGIC = b"\xc2\xea\x81\x60\xb3\x14\x11\xcf"
"""Bytes 12 to 19 of a SAS7BDAT file (a SAS dataset, not a transport file)."""
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
VARIABLE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,31}$")
"""A SAS variable name: a letter or underscore, then letters, digits, underscores; 32 characters at most."""
NUMBER = re.compile(r"^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$")
SAS_DATE_FORMATS = ("DATE", "E8601DA", "IS8601DA", "B8601DA", "YYMMDD", "MMDDYY", "DDMMYY", "WORDDATE", "WEEKDATE",
                    "WEEKDATX", "MONYY", "NLDATE") + tuple(f"{stem}{sep}" for stem in ("YYMMDD", "MMDDYY", "DDMMYY")
                                                            for sep in "BCDNPS")
"""SAS display formats that make a number a date, days since 1960-01-01 (XPT and Dataset-JSON 1.0 numeric columns)."""
SAS_DATETIME_FORMATS = ("DATETIME", "E8601DT", "IS8601DT", "B8601DT", "B8601DN", "DATEAMPM", "MDYAMPM", "DTDATE")
"""SAS display formats of a datetime, seconds since 1960-01-01T00:00 (XPT: kept as ISO text)."""
SAS_TIME_FORMATS = ("TIME", "HHMM", "TOD", "TIMEAMPM", "IS8601TM", "E8601TM", "B8601TM")
"""SAS display formats of a time of day, seconds since midnight (XPT: kept as ISO text)."""
SAS_DATETIME_EPOCH = dt.datetime(1960, 1, 1)
SECONDS_PER_DAY = 86_400
SECONDS_FROM, SECONDS_TO = 1900, 2100
"""A number that is no SAS date but, as seconds since 1960, a datetime in these years looks like a datetime."""
DSJ_TYPES = ("string", "integer", "decimal", "float", "double", "boolean", "datetime", "date", "time", "URI")
MISSING_CSV = ("", ".")


@dataclass(frozen=True)
class Dataset:
    """One ADaM dataset as read: upper-case variable names, rows of normalised values (see the module)."""

    name: str
    format: str
    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    sha256: str | None


class _Unreadable(Exception):
    """A file that is not of the format tried (the message says why)."""


class _TooLarge(Exception):
    """A dataset of more rows or values than gonogo reads (the message says how many, after the dataset's name)."""


def _within_limits(rows: int, columns: int, *, exact: bool = True) -> None:
    """Raises ``_TooLarge`` for more than ``MAX_ROWS`` rows or ``MAX_CELLS`` values; ``exact`` False when
    reading stopped at the first row too many (the dataset has at least ``rows``)."""
    stopped = "" if exact else f" (reading stopped at row {rows})"
    if rows > MAX_ROWS:
        count = f"{rows} rows" if exact else f"more than {MAX_ROWS} rows"
        raise _TooLarge(f"has {count}, more than the {MAX_ROWS} gonogo reads from one dataset{stopped}")
    if rows * columns > MAX_CELLS:
        count = f"{rows} rows" if exact else f"more than {rows - 1} rows"
        raise _TooLarge(f"has {count} of {columns} variables, more than the {MAX_CELLS} values gonogo reads from "
                        f"one dataset{stopped}: upload the variables the mapping uses")


def _row_limit(columns: int) -> int:
    """The most rows a dataset of ``columns`` variables may have."""
    return min(MAX_ROWS, MAX_CELLS // max(columns, 1))


def read_dataset(name: str, data: bytes | list | dict, *, filename: str | None = None) -> Dataset:
    """The dataset ``name`` (ADSL, ADRS, ADTTE, ...) from the bytes of a file, a list of JSON records or
    a Dataset-JSON object. Raises ``InvalidInputError`` naming every problem (``adam/{NAME}``...)."""
    name = name.upper()
    check = Checker()
    where = f"adam/{name}"
    dataset = None
    try:
        if not VARIABLE_NAME.match(name):
            check.add(where, f"{name!r} is not a dataset name (letters, digits and _, starting with a letter or _)")
        elif isinstance(data, bytes | bytearray):
            dataset = _from_bytes(check, name, bytes(data), filename)
        elif isinstance(data, list):
            dataset = _from_records(check, name, data, None)
        elif isinstance(data, Mapping):
            dataset = _guard(check, where, name, "Dataset-JSON", lambda: _from_dataset_json(check, name, data, None))
        else:
            check.add(where, f"{name} must be the bytes of a file, a list of records or a Dataset-JSON object "
                      f"(got {type(data).__name__})")
    except _TooLarge as error:
        check.add(where, f"{name}{f' ({filename})' if filename else ''} {error}")
    check.raise_if_any()
    assert dataset is not None
    return dataset


def read_datasets(check: Checker, sources: Mapping[str, Any], filenames: Mapping[str, str] | None = None
                  ) -> dict[str, Dataset]:
    """Every dataset of ``sources`` (name → bytes, records or Dataset-JSON), the problems of all of them
    collected in ``check``; the datasets read, by upper-case name."""
    filenames = filenames or {}
    read = {}
    for name, data in sources.items():
        dataset = check.attempt(read_dataset, name, data, filename=filenames.get(name))
        if dataset is not None and dataset.name in read:
            check.add(f"adam/{dataset.name}", f"{dataset.name} is given twice (names differing only in case)")
        elif dataset is not None:
            read[dataset.name] = dataset
    return read


def _from_bytes(check: Checker, name: str, data: bytes, filename: str | None) -> Dataset | None:
    digest = hashlib.sha256(data).hexdigest()
    where = f"adam/{name}"
    label = f"{name}{f' ({filename})' if filename else ''}"
    extension = os.path.splitext(filename or "")[1].lower()
    if data[12:20] == SAS7BDAT_MAGIC or extension == ".sas7bdat":
        check.add(where, f"{label} is a SAS dataset (SAS7BDAT), which gonogo does not read: export it as SAS "
                  "transport (XPT, version 5 or 8), Dataset-JSON or CSV")
        return None
    if data.startswith(XPT_MAGIC):
        return _guard(check, where, label, "SAS transport (XPT)", lambda: _from_xpt(check, name, data, digest))
    if extension == ".xpt":
        check.add(where, f"{label}: named .xpt but not a SAS transport file (it does not start with "
                  f"'HEADER RECORD*******LIBRARY HEADER RECORD')")
        return None
    text = _text(data)
    if isinstance(text, str) and text.lstrip()[:1] in ("{", "["):
        return _guard(check, where, label, "JSON", lambda: _from_json_text(check, name, text, digest))
    if extension == ".json":
        why = text if isinstance(text, _Unreadable) else "it does not start with { or ["
        check.add(where, f"{label}: named .json but not JSON ({why})")
        return None
    tried = ("not SAS transport (it does not start with 'HEADER RECORD*******LIB'), not JSON (it does not start "
             "with { or [)")
    if isinstance(text, _Unreadable):
        check.add(where, f"{label} is {tried}, and not CSV: {text}")
        return None
    return _guard(check, where, label, f"CSV ({tried})", lambda: _from_csv(check, name, text, digest))


def _guard(check: Checker, where: str, label: str, tried: str, read: Callable[[], Dataset | None]) -> Dataset | None:
    """``read()``, or None with the reason it is unreadable as ``tried`` recorded at ``where``."""
    try:
        return read()
    except _Unreadable as error:
        check.add(where, f"{label} read as {tried}: {error}")
        return None


def _text(data: bytes) -> str | _Unreadable:
    """The bytes as UTF-8 text without a byte-order mark, or why they are not text."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return _Unreadable(f"not UTF-8 text (byte 0x{data[error.start]:02X} at position {error.start}; a CSV file "
                           "is read as UTF-8, as Excel's 'CSV UTF-8' saves it)")
    if "\x00" in text:
        return _Unreadable(f"not text (a NUL byte at position {text.index(chr(0))})")
    return text


# ---------------------------------------------------------------------------------------------------- XPT


def _from_xpt(check: Checker, name: str, data: bytes, digest: str) -> Dataset | None:
    import pyreadstat  # noqa: PLC0415 - a compiled extension only XPT uploads need

    if len(data) % XPT_RECORD:
        raise _Unreadable(f"truncated: {len(data)} bytes is not a whole number of {XPT_RECORD}-byte records")
    members = len(re.findall(rb"HEADER RECORD\*{7}(?:MEMBER  |MEMBV8  )HEADER RECORD", data))
    if members != 1:
        raise _Unreadable(f"holds {members} datasets; upload one dataset per file")
    fd, path = tempfile.mkstemp(suffix=".xpt")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        frame, meta = _xpt_frame(pyreadstat, path, data)
    except _TooLarge:
        raise
    except Exception as error:  # noqa: BLE001 - ReadStat raises ReadstatError, OverflowError, ValueError, ...
        raise _Unreadable(f"ReadStat cannot read it ({type(error).__name__}: {error}): a truncated or damaged "
                          "file?") from None
    finally:
        os.unlink(path)
    stated = _xpt_stated_rows(data)
    if stated is not None and stated != len(frame):
        raise _Unreadable(f"truncated: the header states {stated} observations, {len(frame)} were read")
    _same_name(name, meta.table_name)
    columns = [str(c) for c in frame.columns]
    records = [dict(zip(columns, values, strict=True)) for values in frame.itertuples(index=False, name=None)]
    formats = {c: sas_format_kind(str((meta.original_variable_types or {}).get(c) or "")) for c in columns}
    _seconds_columns(check, name, records, [c for c in columns if formats[c] == "date"])

    def value(variable: str, raw: Any) -> Any:
        return _xpt_value(raw, formats[variable])

    rows = _normalised(check, name, columns, records, value, by_variable=True)
    return None if rows is None else Dataset(name, "xpt", tuple(c.upper() for c in columns), rows, digest)


def _xpt_stated_rows(data: bytes) -> int | None:
    """The number of observations a version 8 file states (v5 states none)."""
    stated = re.search(rb"HEADER RECORD\*{7}OBSV8   HEADER RECORD!{7}\s*(\d+)", data)
    return int(stated.group(1)) if stated else None


def _xpt_frame(pyreadstat: Any, path: str, data: bytes) -> tuple[Any, Any]:
    """The file's rows, read no further than the first row too many (``_TooLarge`` then)."""
    _, meta = pyreadstat.read_xport(path, metadataonly=True)
    columns = max(int(meta.number_columns or 0), 1)
    limit = _row_limit(columns)
    stated = _xpt_stated_rows(data)
    if stated is not None and stated > limit:
        _within_limits(stated, columns)
    frame, meta = pyreadstat.read_xport(path, row_limit=limit + 1, disable_datetime_conversion=True)
    if len(frame) > limit:
        _within_limits(len(frame), columns, exact=False)
    return frame, meta


def _xpt_value(value: Any, kind: str | None) -> Any:
    """A value as pyreadstat returns it (datetime conversion disabled), read by its variable's format ``kind``
    (``sas_format_kind``): NaN is a missing number; a date number is a date (``sas_date``, bounded: a bad value
    is a ValueError at its row); datetimes and times are kept as ISO text (a time beyond a day as its number of
    seconds)."""
    if hasattr(value, "item"):  # a numpy scalar
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if not isinstance(value, int | float) or kind is None:
        return value
    if kind == "date":
        return sas_date(value)
    if kind == "datetime":
        return sas_datetime(value).isoformat()
    if 0 <= value < SECONDS_PER_DAY:
        return (dt.datetime.min + dt.timedelta(seconds=value)).time().isoformat()
    return value


def _seconds_columns(check: Checker, name: str, records: list[dict], dates: Sequence[str]) -> None:
    """A date variable whose every value looks like a datetime in seconds (a pandas datetime column written with
    a date format) is one problem at ``adam/{NAME}/{VAR}``; its values are then left out (missing), not reported
    row by row."""
    for column in dates:
        values = [_xpt_value(record[column], None) for record in records]
        seconds = [_seconds_as_date(v) for v in values if v is not None]
        if not seconds or None in seconds:
            continue
        first = next(v for v in values if v is not None)
        check.add(f"adam/{name}/{column.upper()}", f"{name}: {column.upper()} has a date format but its values "
                  f"({_number(first)} = {seconds[0].isoformat()}, ...) look like a datetime in seconds since "
                  "1960-01-01: write dates (days since 1960-01-01), e.g. from a pandas column of datetime.date, "
                  "or give the variable a datetime format (DATETIME20.)")
        for record in records:
            record[column] = None


def _number(value: int | float) -> str:
    return f"{int(value)}" if float(value).is_integer() else f"{value}"


def _seconds_as_date(value: Any) -> dt.datetime | None:
    """The datetime that ``value``, read as seconds since 1960-01-01, is, when ``value`` is no SAS date (days) but
    is such a datetime; None otherwise."""
    try:
        sas_date(value)
        return None
    except ValueError:
        pass
    return seconds_datetime(value)


def seconds_datetime(value: Any) -> dt.datetime | None:
    """The datetime ``value`` is as seconds since 1960-01-01, when that is a plausible trial datetime (1900 to 2100,
    more than a year from 1960): what a pandas datetime written with a date format (DATE9.) holds; None otherwise.
    (A date of 1960 in seconds cannot be told from a number of days.)"""
    try:
        moment = sas_datetime(value)
    except ValueError:
        return None
    if abs(value) <= SECONDS_PER_DAY * 366 or not SECONDS_FROM <= moment.year <= SECONDS_TO:
        return None
    return moment


def sas_format_kind(display_format: str) -> str | None:
    """"date", "datetime" or "time" for a SAS display format of that kind (DATE9., E8601DA10., DATETIME20.,
    TIME8., ...), None for any other (a number, or text)."""
    stem = re.sub(r"[\d.]+$", "", display_format.strip().upper())
    if stem in SAS_DATE_FORMATS:
        return "date"
    if stem in SAS_DATETIME_FORMATS:
        return "datetime"
    return "time" if stem in SAS_TIME_FORMATS else None


def _same_name(name: str, stated: Any) -> None:
    if isinstance(stated, str) and stated.strip() and stated.strip().upper() != name:
        raise _Unreadable(f"the file holds dataset {stated.strip()!r}, not {name}")


# --------------------------------------------------------------------------------------------------- JSON


def _from_json_text(check: Checker, name: str, text: str, digest: str) -> Dataset | None:
    def refuse(constant: str) -> Any:
        raise _Unreadable(f"{constant} is not a JSON number")

    objects = 0

    def counted(item: dict) -> dict:
        nonlocal objects
        objects += 1
        if objects > MAX_JSON_OBJECTS:
            raise _TooLarge(f"holds more than {MAX_JSON_OBJECTS} JSON objects, more than a dataset of {MAX_ROWS} rows "
                            "(the most gonogo reads) has: reading stopped there")
        return item

    try:
        document = json.loads(text, parse_constant=refuse, object_hook=counted, parse_int=_json_int)
    except json.JSONDecodeError as error:
        raise _Unreadable(f"not valid JSON ({error.msg} at line {error.lineno} column {error.colno})") from None
    if isinstance(document, list):
        return _from_records(check, name, document, digest)
    return _from_dataset_json(check, name, document, digest)


def _from_records(check: Checker, name: str, records: list, digest: str | None) -> Dataset | None:
    """JSON records: a list of objects, one per row, keys upper-cased."""
    where = f"adam/{name}"
    _within_limits(len(records), 0)
    _within_limits(len(records), len({str(k).upper() for r in records if isinstance(r, Mapping) for k in r}))
    columns: dict[str, str] = {}
    upper_rows = []
    for i, record in enumerate(records, start=1):
        if not isinstance(record, Mapping):
            check.add(f"{where}/{i}", f"{name} row {i} must be an object of variable → value "
                      f"(got {type(record).__name__})")
            continue
        row = {}
        for key, value in record.items():
            variable = str(key).upper()
            if not VARIABLE_NAME.match(variable):
                check.add(f"{where}/{i}", f"{name} row {i}: {key!r} is not a variable name (letters, digits and _, "
                          "starting with a letter or _, 32 characters at most)")
                continue
            if variable in row:
                check.add(f"{where}/{i}/{variable}", f"{name} row {i}: {variable} given twice (names differing only "
                          "in case)")
            row[variable] = value
            columns.setdefault(variable, variable)
        upper_rows.append(row)
    if check.problems:
        return None
    names = list(columns)
    full = [{c: row.get(c) for c in names} for row in upper_rows]
    rows = _normalised(check, name, names, _dates_inferred(full, names, _iso_date_or_missing), _json_value)
    return None if rows is None else Dataset(name, "json-records", tuple(names), rows, digest)


def _json_value(value: Any) -> Any:
    if _too_large(value):
        raise ValueError(TOO_LARGE)
    if isinstance(value, bool) or not isinstance(value, str | int | float | type(None) | dt.date):
        raise ValueError(f"{_json_kind(value)} is not a value an ADaM variable holds (text, a number, a date or null)")
    return value


def _json_kind(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    return {list: "an array", dict: "an object"}.get(type(value), type(value).__name__)


def _from_dataset_json(check: Checker, name: str, document: Any, digest: str | None) -> Dataset | None:
    if not isinstance(document, Mapping):
        raise _Unreadable(f"JSON {type(document).__name__}, neither a list of records nor a Dataset-JSON object")
    if "datasetJSONVersion" in document and "columns" in document:
        columns, rows, stated = _dataset_json_11(document)
    elif isinstance(document.get("clinicalData"), Mapping) or isinstance(document.get("referenceData"), Mapping):
        columns, rows, stated = _dataset_json_10(document)
    else:
        raise _Unreadable("a JSON object that is not Dataset-JSON: neither version 1.1 (datasetJSONVersion, columns, "
                          "rows) nor 1.0 (clinicalData or referenceData with itemGroupData)")
    _same_name(name, stated)
    names = [column.name for column in columns]
    if len({n.upper() for n in names}) != len(names):
        raise _Unreadable(f"variables named twice (names differing only in case): {', '.join(names)}")
    records = [dict(zip(names, row, strict=True)) for row in rows]
    typed = {column.name: column for column in columns}

    def value(variable: str, raw: Any) -> Any:
        return typed[variable].read(raw)

    normalised = _normalised(check, name, names, records, value, by_variable=True)
    if normalised is None:
        return None
    return Dataset(name, "dataset-json", tuple(n.upper() for n in names), normalised, digest)


@dataclass(frozen=True)
class _Column:
    """A Dataset-JSON column: its name, logical data type and (1.0) SAS display format."""

    name: str
    data_type: str
    display_format: str

    @property
    def is_date(self) -> bool:
        if self.data_type == "date":
            return True
        if self.data_type not in ("integer", "float", "double", "decimal"):
            return False
        return sas_format_kind(self.display_format) == "date"

    def read(self, raw: Any) -> Any:
        if raw is None:
            return None
        if isinstance(raw, bool) or isinstance(raw, list | dict):
            raise ValueError(f"{_json_kind(raw)} is not a value an ADaM variable holds")
        if _too_large(raw):
            raise ValueError(TOO_LARGE)
        if self.is_date:
            return sas_date(raw)
        if self.data_type == "decimal" and isinstance(raw, str):
            if not NUMBER.match(raw.strip()):
                raise ValueError(f"{raw!r} is not a decimal number")
            return number_text(raw)
        if self.data_type in ("integer", "decimal", "float", "double") and not isinstance(raw, int | float):
            raise ValueError(f"{raw!r} is not a number, as the column's dataType {self.data_type!r} says")
        if self.data_type not in ("integer", "decimal", "float", "double") and not isinstance(raw, str):
            raise ValueError(f"{raw!r} is not text, as the column's dataType {self.data_type!r} says")
        return raw


def _dataset_json_11(document: Mapping[str, Any]) -> tuple[list[_Column], list[list], Any]:
    version = document.get("datasetJSONVersion")
    if not isinstance(version, str) or not re.match(r"^1\.1(\.\d+)?$", version):
        raise _Unreadable(f"datasetJSONVersion {version!r} is not 1.1 (Dataset-JSON 1.1 and 1.0 are read)")
    columns = _columns(document.get("columns"), "columns", "dataType", "")
    rows = _rows(document.get("rows", []), len(columns), "rows", document.get("records"))
    return columns, rows, document.get("name")


def _dataset_json_10(document: Mapping[str, Any]) -> tuple[list[_Column], list[list], Any]:
    data = document["clinicalData"] if isinstance(document.get("clinicalData"), Mapping) else document["referenceData"]
    groups = data.get("itemGroupData")
    if not isinstance(groups, Mapping) or len(groups) != 1:
        count = len(groups) if isinstance(groups, Mapping) else "no"
        raise _Unreadable(f"Dataset-JSON 1.0 with {count} datasets in itemGroupData; one dataset per file")
    (group,) = groups.values()
    if not isinstance(group, Mapping):
        raise _Unreadable("Dataset-JSON 1.0: the itemGroupData entry is not an object")
    columns = _columns(group.get("items"), "items", "type", "displayFormat")
    rows = _rows(group.get("itemData", []), len(columns), "itemData", group.get("records"))
    if columns and columns[0].name.upper() == "ITEMGROUPDATASEQ":  # the record number, not a variable
        columns, rows = columns[1:], [row[1:] for row in rows]
    return columns, rows, group.get("name")


def _columns(items: Any, key: str, type_key: str, format_key: str) -> list[_Column]:
    if not isinstance(items, list) or not items:
        raise _Unreadable(f"Dataset-JSON: {key} must be a non-empty array of column definitions")
    columns = []
    for j, item in enumerate(items, start=1):
        item = item if isinstance(item, Mapping) else {}
        name, data_type = item.get("name"), item.get(type_key)
        if not isinstance(name, str) or not VARIABLE_NAME.match(name):
            raise _Unreadable(f"Dataset-JSON: column {j} has no valid variable name (got {name!r})")
        if data_type not in DSJ_TYPES:
            raise _Unreadable(f"Dataset-JSON: column {j} ({name}) has {type_key} {data_type!r}, not one of "
                              f"{', '.join(DSJ_TYPES)}")
        display = item.get("displayFormat") if format_key else None
        columns.append(_Column(name, data_type, display if isinstance(display, str) else ""))
    return columns


def _rows(rows: Any, width: int, key: str, records: Any) -> list[list]:
    if not isinstance(rows, list):
        raise _Unreadable(f"Dataset-JSON: {key} must be an array of rows")
    _within_limits(len(rows), width)
    for i, row in enumerate(rows, start=1):
        if not isinstance(row, list) or len(row) != width:
            got = f"{len(row)} values" if isinstance(row, list) else type(row).__name__
            raise _Unreadable(f"Dataset-JSON: row {i} of {key} has {got}, the columns are {width}")
    if records is not None and records != len(rows):
        raise _Unreadable(f"Dataset-JSON: records states {records!r} rows but {len(rows)} are given (a cut-off file?)")
    return rows


# ---------------------------------------------------------------------------------------------------- CSV


def _from_csv(check: Checker, name: str, text: str, digest: str) -> Dataset | None:
    header, lines = _csv_lines(text)
    bad = [cell for cell in header if not VARIABLE_NAME.match(cell)]
    if bad:
        hint = " (only comma-separated files are read)" if len(header) == 1 and re.search(r"[;\t|]", header[0]) else ""
        raise _Unreadable(f"the header row holds {', '.join(repr(b) for b in bad[:5])}, not variable names (letters, "
                          f"digits and _, starting with a letter or _, 32 characters at most){hint}")
    if len({h.upper() for h in header}) != len(header):
        raise _Unreadable(f"the header row names a variable twice: {', '.join(header)}")
    records = []
    for i, (line_number, line) in enumerate(lines, start=1):
        if len(line) != len(header):
            check.add(f"adam/{name}/{i}", f"{name} row {i} (line {line_number}) has {len(line)} values, the header "
                      f"names {len(header)} variables")
            continue
        records.append(dict(zip(header, line, strict=True)))
    if check.problems:
        return None
    records = _dates_inferred(records, header, _csv_date)
    rows = _normalised(check, name, header, records, _csv_value)
    return None if rows is None else Dataset(name, "csv", tuple(h.upper() for h in header), rows, digest)


def _csv_lines(text: str) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """The header (stripped) and the data lines (line number, cells), blank lines skipped; reading stops at
    the first row beyond what a dataset of the header's width may have (``_TooLarge``)."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    lines: list[tuple[int, list[str]]] = []
    limit = MAX_ROWS
    try:
        for line in reader:
            if not any(cell.strip() for cell in line):
                continue
            if header is None:
                header = [cell.strip() for cell in line]
                limit = _row_limit(len(header))
                continue
            lines.append((reader.line_num, line))
            if len(lines) > limit:
                _within_limits(len(lines), len(header), exact=False)
    except csv.Error as error:
        raise _Unreadable(f"bad CSV at line {reader.line_num}: {error}") from None
    if header is None:
        raise _Unreadable("empty: no header row of variable names")
    return header, lines


def _csv_value(value: Any) -> Any:
    return None if isinstance(value, str) and value.strip() in MISSING_CSV else value


def _csv_date(value: Any) -> bool | None:
    """True for an ISO date, None for a missing value, False otherwise."""
    if isinstance(value, str) and value.strip() in MISSING_CSV:
        return None
    return _iso_date_or_missing(value.strip() if isinstance(value, str) else value)


def _iso_date_or_missing(value: Any) -> bool | None:
    if value is None:
        return None
    return isinstance(value, str) and parse_iso_date(value) is not None


def _dates_inferred(records: list[dict], columns: Sequence[str], kind: Callable[[Any], bool | None]) -> list[dict]:
    """Columns whose every non-missing value is an ISO date (and one at least) turned into dates."""
    dates = [c for c in columns if _all(records, c, kind)]
    for record in records:
        for c in dates:
            if kind(record[c]):
                record[c] = parse_iso_date(record[c].strip())
    return records


def _all(records: list[dict], column: str, kind: Callable[[Any], bool | None]) -> bool:
    verdicts = [kind(record[column]) for record in records]
    return any(v for v in verdicts) and all(v is not False for v in verdicts)


# ----------------------------------------------------------------------------------------------- values


def _normalised(check: Checker, name: str, columns: Sequence[str], records: list[dict],
                read: Callable[..., Any], *, by_variable: bool = False) -> tuple[dict[str, Any], ...] | None:
    """Every row with upper-case names and normalised values; None when a value is bad (each one reported)."""
    before = len(check.problems)
    rows = []
    for i, record in enumerate(records, start=1):
        row = {}
        for column in columns:
            variable = column.upper()
            try:
                raw = read(column, record[column]) if by_variable else read(record[column])
                row[variable] = normal_value(raw)
            except ValueError as error:
                check.add(f"adam/{name}/{i}/{variable}",
                          f"{name} row {i}: {variable} {_quoted(record[column])}: {error}")
        rows.append(row)
    return None if len(check.problems) > before else tuple(rows)


def normal_value(value: Any) -> Any:
    """A value as a ``Dataset`` holds it: text without trailing blanks ("" → None), a finite number (an int
    when integral), a date, or None. Raises ValueError for anything else."""
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        value = value.rstrip()
        return value or None
    if _too_large(value):
        raise ValueError(TOO_LARGE)
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ValueError("not a finite number")
        if isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
            return int(value)
        return value
    raise ValueError(f"{_json_kind(value)} is not a value an ADaM variable holds (text, a number, a date or missing)")


TOO_LARGE = ("not a finite number: an integer beyond the range of floating point (about 1.8e308), which no SAS "
             "numeric holds")


@dataclass(frozen=True)
class _HugeInteger:
    """A JSON integer of more than ``MAX_INTEGER_DIGITS`` digits, kept unconverted (Python refuses to convert one of
    more than 4300 digits) so that it is refused at its cell as ``TOO_LARGE``."""

    digits: int

    def __repr__(self) -> str:
        return f"<an integer of {self.digits} digits>"


MAX_INTEGER_DIGITS = 400
"""An integer of more digits is beyond the range of floating point (309 digits) and is not converted."""


def _json_int(text: str) -> int | _HugeInteger:
    digits = len(text.lstrip("-"))
    return int(text) if digits <= MAX_INTEGER_DIGITS else _HugeInteger(digits)


def _too_large(value: Any) -> bool:
    """An integer beyond the range of floating point (an int, or a JSON integer too long to convert)."""
    if isinstance(value, _HugeInteger):
        return True
    return isinstance(value, int) and not isinstance(value, bool) and abs(value) > sys.float_info.max


def _quoted(value: Any) -> str:
    """A value as a reason quotes it: its repr, an integer beyond floating point by its size only."""
    if isinstance(value, int) and _too_large(value):
        return f"<an integer of about {int(value.bit_length() * math.log10(2)) + 1} digits>"
    return repr(value)


def number_text(text: str) -> int | float:
    """A number written as text (``NUMBER``): an int exactly when it has no fraction or exponent."""
    text = text.strip()
    if re.match(r"^[+-]?\d+$", text):
        # beyond MAX_INTEGER_DIGITS (float range) as ±inf, refused as not finite: int() refuses 4300 digits
        return int(text) if len(text.lstrip("+-")) <= MAX_INTEGER_DIGITS else float(text)
    return float(text)


def parse_iso_date(text: str) -> dt.date | None:
    """An ISO calendar date YYYY-MM-DD, or None."""
    if not ISO_DATE.match(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def sas_date(value: Any) -> dt.date:
    """A SAS date (days since 1960-01-01, a whole number) or an ISO date text as a date; ValueError otherwise."""
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        parsed = parse_iso_date(value.strip())
        if parsed is None:
            raise ValueError("not an ISO date YYYY-MM-DD")
        return parsed
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError("not a date")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("not a date")
    if isinstance(value, float) and not value.is_integer():
        raise ValueError("not a whole number of days since 1960-01-01 (a SAS date)")
    try:
        return SAS_EPOCH + dt.timedelta(days=int(value))
    except OverflowError:
        pass
    moment = seconds_datetime(value)
    seconds = "" if moment is None else f": it looks like a datetime in seconds since 1960 ({moment.isoformat()}): " \
        "write dates (days)"
    raise ValueError(f"out of the range of dates as a SAS date (days since 1960-01-01){seconds}")


def sas_datetime(value: int | float) -> dt.datetime:
    """A SAS datetime (seconds since 1960-01-01T00:00) as a datetime; ValueError when out of range."""
    if isinstance(value, bool) or not isinstance(value, int | float) or _too_large(value) or not math.isfinite(value):
        raise ValueError("not a datetime (seconds since 1960-01-01)")
    try:
        return SAS_DATETIME_EPOCH + dt.timedelta(seconds=value)
    except OverflowError:
        raise ValueError("out of the range of datetimes as a SAS datetime (seconds since 1960-01-01)") from None
