"""Job fairs and placement follow-up: reading their files, stable-employment rates, re-matching.

Both files are small tables, CSV (UTF-8, BOM or GBK) or XLSX (first sheet), with English or
Chinese headers:

* job fairs: fair_id 招聘会编号, held_on 日期, place 地点, district_code 帮扶区代码, county_code
  结对县代码, fair_type 招聘会类型 (专场 / 定向 / 网络; blank: 专场), enterprises 参会企业数, jobs 岗位数,
  attendees 参会人数, intents 达成意向人数, hires 录用人数 (intents and hires are kept apart);
* outcomes: worker_id 劳动力编号, started 是否到岗, started_on 到岗日期, left_after_days 离职天数,
  employed_3m 三个月在岗, employed_6m 六个月在岗 (blank: not known yet).

A bad row raises :class:`~matcher.errors.RecordError` naming the file, row (header = row 1), field
and reason. A worker *stayed* at N months when ``employed_Nm`` is true; the stable-employment rate
is stayed / started among the outcomes known at that horizon.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from matcher.csvsafe import control_characters, escape_controls
from matcher.errors import RecordError, SchemaError
from matcher.pii import scrub_fields
from matcher.records import JobFair, _parse_bool


def read_rows(path: str | Path, kind: str) -> list[tuple[int, dict[str, str]]]:
    """``(row number, {column: cell})`` of each non-blank row of the side table ``kind``
    (:data:`~matcher.ingest.headers.SIDE_TABLES`), read by the importer's readers: CSV in any of its
    encodings (any suffix but a workbook's) or the first sheet of a workbook, headers in English or
    Chinese, a title line allowed above the header. A cell the reader cannot take (a formula) is a
    :class:`RecordError`; cells beyond the header are ignored, and a date with a time of day is read
    as its date."""
    rows, errors = read_rows_kept(path, kind)
    if errors:
        raise errors[0]
    return rows


def read_rows_kept(path: str | Path, kind: str) -> tuple[list[tuple[int, dict[str, str]]], list[RecordError]]:
    """As :func:`read_rows`, but a row with a cell the reader cannot take is one error in the list
    returned beside the readable rows (a file that cannot be read at all still raises)."""
    from matcher.ingest.readers import read_csv, read_path

    path = Path(path)
    if not path.is_file():
        raise SchemaError("file not found", file=str(path))
    workbook = path.suffix.lower() in (".xlsx", ".xlsm")
    for table in read_path(path, kind) if workbook else read_csv(path, kind):
        if table.error is not None:
            raise table.error
        rows, errors = [], []
        for raw in table.rows:
            bad = [(c, v, r) for c, v, r in raw.problems if c]  # no column: cells beyond the header
            if bad:
                column, value, reason = bad[0]
                errors.append(RecordError(reason, file=str(path), row=raw.row, field=column, value=value))
                continue
            cells = {c: v[:10] if _DATETIME.match(v) else v for c, v in raw.cells.items()}
            rows.append((raw.row, cells))
        return rows, errors
    raise SchemaError("no table in the file", file=str(path))


_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def read_job_fairs(path: str | Path) -> list[JobFair]:
    """Job fairs from a file (see module doc); the first bad row raises its :class:`RecordError`."""
    fairs, errors = load_job_fairs(path)
    if errors:
        raise errors[0]
    return [f for _, f in fairs]


def load_job_fairs(path: str | Path) -> tuple[list[tuple[int, JobFair]], list[RecordError]]:
    """``(row, fair)`` of each valid job fair of a file, and an error (file, row, field, reason) for
    each row rejected: a bad cell, or a ``fair_id`` that more than one row holds (every such row, as
    an import does)."""
    from matcher.ingest.headers import canonical_value

    rows, errors = read_rows_kept(path, "job_fairs")
    kept: list[tuple[int, JobFair]] = []
    for row, cells in rows:
        bad = next(((f, v) for f, v in cells.items() if control_characters(v)), None)
        if bad is not None:
            reason = f"control character {', '.join(control_characters(bad[1]))} is not allowed"
            errors.append(
                RecordError(reason, file=str(path), row=row, field=bad[0], value=escape_controls(bad[1]))
            )
            continue
        if cells.get("fair_type"):
            cells["fair_type"] = canonical_value("job_fairs", "fair_type", cells["fair_type"])
        try:
            kept.append((row, JobFair.model_validate(scrub_fields("job_fairs", cells))))
        except ValidationError as exc:
            e = exc.errors()[0]
            bad_field = str(e["loc"][0]) if e["loc"] else None
            msg = str(e["msg"]).removeprefix("Value error, ")
            if e["type"] == "enum" and bad_field == "fair_type":
                msg += " (or 专场 / 定向 / 网络)"
            elif str(e["type"]).startswith(("date_", "datetime_")):
                msg = "must be a date like 2020-03-01 (or 2020/3/1, 2020年3月1日)"
            elif e["type"] == "string_pattern_mismatch" and bad_field in ("county_code", "district_code"):
                msg = "must be a 6-digit admin code"
            errors.append(
                RecordError(msg, file=str(path), row=row, field=bad_field, value=cells.get(bad_field or ""))
            )
    seen = Counter(f.fair_id for _, f in kept)
    for row, f in kept:
        if seen[f.fair_id] > 1:
            reason = f"fair_id {f.fair_id} is on {seen[f.fair_id]} rows: which one is right cannot be told"
            errors.append(RecordError(reason, file=str(path), row=row, field="fair_id", value=f.fair_id))
    errors.sort(key=lambda e: e.row or 0)
    return [(row, f) for row, f in kept if seen[f.fair_id] == 1], errors


def fair_rows(fairs: Iterable[JobFair]) -> list[dict[str, Any]]:
    """Job fairs as ``job_fairs`` table rows."""
    return [
        {
            "fair_id": f.fair_id,
            "held_on": f.held_on,
            "place": f.place,
            "district_code": f.district_code,
            "county_code": f.county_code,
            "fair_type": f.fair_type.value,
            "n_enterprises": f.enterprises or 0,
            "n_jobs": f.jobs or 0,
            "n_attendees": f.attendees or 0,
            "n_intents": f.intents or 0,
            "n_hires": f.hires or 0,
        }
        for f in fairs
    ]


def _opt_bool(v: str, path: str, row: int, field: str) -> bool | None:
    if v == "":
        return None
    b = _parse_bool(v)
    if not isinstance(b, bool):
        raise RecordError("not true/false (是/否)", file=path, row=row, field=field, value=v)
    return b


def read_outcomes(path: str | Path) -> list[dict[str, Any]]:
    """Placement outcomes from a file (see module doc), as dicts for ``record_outcomes``."""
    out = []
    for row, c in read_rows(path, "outcomes"):
        p = str(path)
        if not c.get("worker_id"):
            raise RecordError("worker_id is required", file=p, row=row, field="worker_id")
        started = _opt_bool(c.get("started", ""), p, row, "started")
        try:
            started_on = dt.date.fromisoformat(c["started_on"]) if c.get("started_on") else None
            left = int(c["left_after_days"]) if c.get("left_after_days") else None
        except ValueError as exc:
            raise RecordError(str(exc), file=p, row=row, field="started_on/left_after_days") from exc
        out.append(
            {
                "worker_id": c["worker_id"],
                "started": True if started is None else started,
                "started_on": started_on,
                "left_after_days": left,
                "employed_3m": _opt_bool(c.get("employed_3m", ""), p, row, "employed_3m"),
                "employed_6m": _opt_bool(c.get("employed_6m", ""), p, row, "employed_6m"),
            }
        )
    return out


def stable_rates(outcomes: Iterable[Mapping[str, Any]], key: str) -> list[dict[str, Any]]:
    """Per ``key`` (``enterprise_id`` or ``location_code``): started, stayed 3/6 months, rates."""
    acc: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for o in outcomes:
        a = acc[o[key]]
        a["placed"] += 1
        if not o["started"]:
            continue
        a["started"] += 1
        if o.get("left_after_days") is not None:
            a["left"] += 1
        for m in ("3m", "6m"):
            v = o.get(f"employed_{m}")
            if v is not None:
                a[f"known_{m}"] += 1
                a[f"stayed_{m}"] += int(bool(v))
    out = []
    for k in sorted(acc):
        a = acc[k]
        out.append(
            {
                key: k,
                "placed": a["placed"],
                "started": a["started"],
                "left": a["left"],
                "stayed_3m": a["stayed_3m"],
                "stayed_6m": a["stayed_6m"],
                "rate_3m": round(a["stayed_3m"] / a["known_3m"], 4) if a["known_3m"] else None,
                "rate_6m": round(a["stayed_6m"] / a["known_6m"], 4) if a["known_6m"] else None,
            }
        )
    return out


def rematch_exclusions(
    outcomes: Iterable[Mapping[str, Any]],
) -> tuple[list[str], tuple[tuple[str, str], ...]]:
    """Workers who left (or never started), and the (worker, enterprise) pairs to exclude when re-matching."""
    left = [
        o
        for o in outcomes
        if not o["started"] or o.get("left_after_days") is not None or o.get("employed_3m") is False
    ]
    return sorted({o["worker_id"] for o in left}), tuple(
        sorted({(o["worker_id"], o["enterprise_id"]) for o in left})
    )


def rematch_dataset(
    ds: Any,
    base_assignments: Iterable[Mapping[str, Any]],
    outcomes: Iterable[Mapping[str, Any]],
    base_run_id: str,
) -> tuple[Any, tuple[tuple[str, str], ...]]:
    """The data set for re-matching the workers of a run who left, and the pairs to exclude.

    Workers: those who left (or never started). Jobs and enterprise capacities: what the workers
    who stay do not take. Each worker's former enterprise is excluded.
    """
    import hashlib

    from matcher.dataset import Dataset

    left, exclude = rematch_exclusions(outcomes)
    gone = set(left)
    staying = [a for a in base_assignments if a["worker_id"] not in gone]
    per_job = Counter(a["job_id"] for a in staying)
    per_ent = Counter(a["enterprise_id"] for a in staying)
    jobs = [
        j.model_copy(update={"openings": j.openings - per_job[j.job_id]})
        for j in ds.jobs
        if j.openings - per_job[j.job_id] > 0
    ]
    enterprises = [
        e
        if e.capacity is None
        else e.model_copy(update={"capacity": max(0, e.capacity - per_ent[e.enterprise_id])})
        for e in ds.enterprises
    ]
    digest = hashlib.sha256(
        f"{ds.input_sha256}\0rematch\0{base_run_id}\0{','.join(left)}".encode()
    ).hexdigest()
    sub = Dataset(
        workers=[w for w in ds.workers if w.worker_id in gone],
        enterprises=enterprises,
        jobs=jobs,
        pairings=ds.pairings,
        input_sha256=digest,
    )
    return sub, exclude
