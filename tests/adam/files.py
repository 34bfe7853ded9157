"""ADaM files for tests: the same records written as CSV, SAS transport (v5, v8) or Dataset-JSON (1.0, 1.1),
and a SARC031-like example trial (ADSL, ADRS, ADTTE) with two strata, "NF1-associated" and "sporadic".

Records are lists of dicts whose dates are ISO strings (or ``datetime.date``): JSON-able as they are, so
that they are also the JSON-records form. A column whose every value is a date is written as a date:
``DATE9.`` SAS dates in XPT and in Dataset-JSON 1.0, ``dataType: "date"`` (target integer) in 1.1.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os
import random
import tempfile
from collections.abc import Sequence
from typing import Any

import pandas as pd
import pyreadstat

SAS_EPOCH = dt.date(1960, 1, 1)
LAST_DATE = dt.date(2026, 6, 29)
"""Every date of the example is on or before this day (before 2026-06-30)."""
VISIT_DAYS = 56
"""Response assessed every 8 weeks (2 cycles of 28 days)."""
STRATA = {"Y": "NF1-associated", "N": "sporadic"}


def _columns(records: Sequence[dict]) -> list[str]:
    columns: dict[str, None] = {}
    for record in records:
        columns.update(dict.fromkeys(record))
    return list(columns)


def _date(value: Any) -> dt.date | None:
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and len(value) == 10 and value[4] == "-" and value[7] == "-":
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return None
    return None


def _kind(records: Sequence[dict], column: str) -> str:
    """'date', 'integer', 'float' or 'string': how a column is written."""
    values = [r.get(column) for r in records if r.get(column) is not None]
    if values and all(_date(v) is not None for v in values):
        return "date"
    if values and all(isinstance(v, int | float) and not isinstance(v, bool) for v in values):
        return "integer" if all(isinstance(v, int) or v.is_integer() for v in values) else "float"
    return "string"


def as_csv(records: Sequence[dict]) -> bytes:
    """UTF-8 CSV, CRLF line ends (the csv module's default), dates ISO, missing values empty."""
    columns = _columns(records)
    out = io.StringIO(newline="")
    writer = csv.writer(out)
    writer.writerow(columns)
    for record in records:
        writer.writerow(["" if record.get(c) is None else _text(record.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def _text(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def as_xpt(name: str, records: Sequence[dict], version: int = 5) -> bytes:
    """SAS transport (``version`` 5 or 8) written by ReadStat; date columns as SAS dates with DATE9."""
    columns = _columns(records)
    kinds = {c: _kind(records, c) for c in columns}
    frame = pd.DataFrame({c: _xpt_column(records, c, kinds[c]) for c in columns}, columns=columns)
    formats = {c: "DATE9." for c in columns if kinds[c] == "date"}
    fd, path = tempfile.mkstemp(suffix=".xpt")
    os.close(fd)
    try:
        pyreadstat.write_xport(frame, path, table_name=name, file_format_version=version, variable_format=formats)
        with open(path, "rb") as handle:
            return handle.read()
    finally:
        os.unlink(path)


def _xpt_column(records: Sequence[dict], column: str, kind: str) -> pd.Series:
    values = [r.get(column) for r in records]
    if kind == "date":
        return pd.Series([_date(v) for v in values], dtype=object)
    if kind in ("integer", "float"):
        return pd.Series([float("nan") if v is None else float(v) for v in values], dtype=float)
    return pd.Series(["" if v is None else str(v) for v in values], dtype=object)


def as_dataset_json(name: str, records: Sequence[dict], version: str = "1.1") -> bytes:
    """Dataset-JSON ``version`` "1.1" (columns/rows; dates ISO, dataType date, targetDataType integer) or "1.0"
    (clinicalData/itemGroupData with ITEMGROUPDATASEQ; dates as SAS integers with displayFormat DATE9.)."""
    columns = _columns(records)
    kinds = {c: _kind(records, c) for c in columns}
    if version == "1.1":
        document = {
            "datasetJSONCreationDateTime": "2026-06-30T12:00:00", "datasetJSONVersion": "1.1.0",
            "itemGroupOID": f"IG.{name}", "records": len(records), "name": name, "label": name,
            "columns": [_column_11(name, c, kinds[c]) for c in columns],
            "rows": [[_value_11(r.get(c), kinds[c]) for c in columns] for r in records],
        }
    elif version == "1.0":
        items = [{"OID": "ITEMGROUPDATASEQ", "name": "ITEMGROUPDATASEQ", "label": "Record identifier",
                  "type": "integer"}] + [_item_10(name, c, kinds[c]) for c in columns]
        rows = [[i] + [_value_10(r.get(c), kinds[c]) for c in columns] for i, r in enumerate(records, start=1)]
        document = {
            "creationDateTime": "2026-06-30T12:00:00", "datasetJSONVersion": "1.0.0",
            "clinicalData": {"studyOID": "SARC031", "metaDataVersionOID": "MDV.1", "itemGroupData": {
                f"IG.{name}": {"records": len(records), "name": name, "label": name, "items": items,
                               "itemData": rows}}},
        }
    else:
        raise ValueError(f"Dataset-JSON version {version!r}: 1.0 or 1.1")
    return json.dumps(document).encode("utf-8")


def _column_11(name: str, column: str, kind: str) -> dict:
    base = {"itemOID": f"IT.{name}.{column}", "name": column, "label": column}
    if kind == "date":
        return base | {"dataType": "date", "targetDataType": "integer", "displayFormat": "DATE9."}
    return base | {"dataType": kind}


def _value_11(value: Any, kind: str) -> Any:
    if value is None:
        return None
    return _date(value).isoformat() if kind == "date" else value


def _item_10(name: str, column: str, kind: str) -> dict:
    base = {"OID": f"IT.{name}.{column}", "name": column, "label": column}
    if kind == "date":
        return base | {"type": "integer", "displayFormat": "DATE9."}
    return base | {"type": kind}


def _value_10(value: Any, kind: str) -> Any:
    if value is None:
        return None
    return (_date(value) - SAS_EPOCH).days if kind == "date" else value


WRITERS = {
    "xpt-v5": lambda name, records: as_xpt(name, records, version=5),
    "xpt-v8": lambda name, records: as_xpt(name, records, version=8),
    "dataset-json-1.0": lambda name, records: as_dataset_json(name, records, version="1.0"),
    "dataset-json-1.1": lambda name, records: as_dataset_json(name, records, version="1.1"),
    "csv": lambda name, records: as_csv(records),
    "csv-bom": lambda name, records: b"\xef\xbb\xbf" + as_csv(records),
    "csv-lf": lambda name, records: as_csv(records).replace(b"\r\n", b"\n"),
    "json-records-bytes": lambda name, records: json.dumps(records).encode(),
    "json-records": lambda name, records: list(records),
    "dataset-json-object": lambda name, records: json.loads(as_dataset_json(name, records)),
}
"""Every form a dataset may take, as (name, records) → what ``read_dataset`` is given."""


# ------------------------------------------------------------------------------------------ the example


def example_mapping(records: str = "best") -> dict:
    """The protocol's ``adam`` section for :func:`example_adam` (response from BOR or from the OVR visits)."""
    response = {"paramcd": "BOR", "records": "best", "responders": ["CR", "PR"]} if records == "best" else \
        {"paramcd": "OVR", "records": "visits"}
    return {"subject_variable": "USUBJID", "start_variable": "TRTSDT", "stratum_variable": "NF1FL",
            "strata": dict(STRATA), "population_variable": "SAFFL", "response": response,
            "pfs": {"paramcd": "PFS", "unit": "days"}}


def example_adam(n_per_stratum: int = 10, seed: int = 31) -> dict[str, list[dict]]:
    """A SARC031-like trial (MPNST, NF1-associated and sporadic strata): ADSL (USUBJID, TRTSDT, NF1FL, SAFFL),
    ADRS (OVR per visit every 8 weeks and one BOR per subject: ADT, ADY, AVALC), ADTTE (PFS in days with the
    ADaM +1 convention, CNSR 0 event / 1 censored at the last assessment / 2 censored, no assessment).
    Dates ISO, all on or before 2026-06-29; the same ``seed`` gives the same records."""
    rng = random.Random(seed)
    adsl, adrs, adtte = [], [], []
    number = 0
    for flag in STRATA:
        for _ in range(n_per_stratum):
            number += 1
            subject = f"SARC031-{number:03d}"
            start = dt.date(2024, 1, 8) + dt.timedelta(days=rng.randrange(0, 700))
            adsl.append({"USUBJID": subject, "TRTSDT": start.isoformat(), "NF1FL": flag, "SAFFL": "Y"})
            visits = _visits(rng, start, flag == "Y")
            adrs.extend({"USUBJID": subject, "PARAMCD": "OVR", "AVALC": response, "ADT": day.isoformat(),
                         "ADY": (day - start).days + 1} for day, response in visits)
            best_day, best = _best(visits)
            adrs.append({"USUBJID": subject, "PARAMCD": "BOR", "AVALC": best,
                         "ADT": None if best_day is None else best_day.isoformat(),
                         "ADY": None if best_day is None else (best_day - start).days + 1})
            adtte.append(_pfs(subject, start, visits))
    return {"ADSL": adsl, "ADRS": adrs, "ADTTE": adtte}


def _visits(rng: random.Random, start: dt.date, nf1: bool) -> list[tuple[dt.date, str]]:
    """Visits every 8 weeks until progression, ten visits or 2026-06-29: a responder (PR from the second
    visit), a stable patient (SD, maybe PD late) or an early progressor, with the odd NE."""
    kind = rng.choices(("responder", "stable", "progressor"), weights=(3, 5, 2) if nf1 else (1, 5, 4))[0]
    out = []
    for k in range(1, 11):
        day = start + dt.timedelta(days=VISIT_DAYS * k)
        if day > LAST_DATE:
            break
        if kind == "progressor":
            response = "PD"
        elif rng.random() < 0.08:
            response = "NE"
        elif kind == "responder":
            response = "SD" if k == 1 else "PR"
        else:
            response = "PD" if k >= 4 and rng.random() < 0.25 else "SD"
        out.append((day, response))
        if response == "PD":
            break
    return out


def _best(visits: list[tuple[dt.date, str]]) -> tuple[dt.date | None, str]:
    """BOR as RECIST 1.1 states it for these visits: PR confirmed by a PR >= 28 days later, else SD from day 42,
    else PD, else NE (assessed, none qualifies) or MISSING."""
    prs = [day for day, r in visits if r == "PR"]
    if len(prs) >= 2 and (prs[-1] - prs[0]).days >= 28:
        return prs[0], "PR"
    sd = [day for day, r in visits if r in ("SD", "PR")]
    if sd:
        return sd[0], "SD"
    pd_ = [day for day, r in visits if r == "PD"]
    if pd_:
        return pd_[0], "PD"
    return (visits[0][0], "NE") if visits else (None, "NE")


def _pfs(subject: str, start: dt.date, visits: list[tuple[dt.date, str]]) -> dict:
    progression = [day for day, r in visits if r == "PD"]
    adequate = [day for day, r in visits if r != "NE"]
    if progression:
        end, censor = progression[0], 0
    elif adequate:
        end, censor = adequate[-1], 1
    else:
        end, censor = start, 2
    return {"USUBJID": subject, "PARAMCD": "PFS", "AVAL": (end - start).days + 1, "CNSR": censor,
            "STARTDT": start.isoformat(), "ADT": end.isoformat()}
