"""Lists the offices send out, as CSV and XLSX with Chinese headers and personal data masked.

* 安置名单 (placement lists) of a recorded run, per district and per enterprise;
* 岗位供给清单 (job supply list) for every paired county, sent before any run: the open jobs in
  its paired districts and in its local workshops that its workers could take (location, age and
  gender rules; a county with no workers in the data gets every such opening), with wage,
  accommodation, the enterprise's contact person and phone, and the date the list is sent; a job
  closed (``closes_on``) before that date is left out;
* 未安置名单 (unplaced list) with the reason and the skill-gap hint.

Workers' names, ID numbers and phones are always masked (张*, 620503********1234, 138****5678).
An enterprise's contact person and phone are business data, written as recorded (every cell still
guarded against formula injection by :mod:`matcher.csvsafe`).
CSV files are UTF-8 with a byte-order mark, so Excel and LibreOffice both read the Chinese text.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from operator import itemgetter
from pathlib import Path
from typing import Any

import numpy as np

from matcher.csvsafe import csv_writer, guard_columns, text_writer, write_guarded
from matcher.dataset import Dataset
from matcher.geo import place_name
from matcher.pii import mask
from matcher.records import LOCAL_WORKSHOP_KINDS, EnterpriseKind, Job
from matcher.reporting.xlsx import write_workbook
from matcher.runs.record import REASON_ZH
from matcher.scoring.context import MatchContext

KIND_ZH = {
    EnterpriseKind.company: "企业",
    EnterpriseKind.cooperative: "合作社",
    EnterpriseKind.poverty_workshop: "扶贫车间",
    EnterpriseKind.community_factory: "社区工厂",
    EnterpriseKind.satellite_factory: "卫星工厂",
    EnterpriseKind.employment_station: "就业驿站",
}
GENDER_ZH = {"male": "男", "female": "女", "any": "不限"}
MOBILITY_ZH = {"local": "本地", "paired": "结对地区", "anywhere": "不限"}
MAX_SHEETS = 200  # more groups than this go into one sheet, sorted by group
CSV_LINE_END = "\n"
CSV_BOM = "\ufeff".encode()  # what the utf-8-sig codec writes first


@dataclass(frozen=True)
class Table:
    """Rows under (column, Chinese header) pairs; ``csv_lines``, when made
    (:func:`with_csv_lines`), each row's text as :func:`write_csv` writes it, kept with the rows
    when the table is split (:func:`group_rows`)."""

    columns: tuple[tuple[str, str], ...]
    rows: list[dict[str, Any]]
    csv_lines: list[str] | None = field(default=None, compare=False, repr=False)

    @property
    def headers(self) -> list[str]:
        return [h for _, h in self.columns]

    def column_values(self) -> list[list[Any]]:
        """The cells column by column (``""`` where a row lacks the column)."""
        out = []
        for k, _ in self.columns:
            try:
                out.append(list(map(itemgetter(k), self.rows)))
            except KeyError:  # a row without it (a worker no longer in the data): one at a time
                out.append([r.get(k, "") for r in self.rows])
        return out

    def values(self) -> Iterable[list[Any]]:
        keys = [c for c, _ in self.columns]
        for r in self.rows:
            yield [r.get(k, "") for k in keys]


PLACEMENT_COLUMNS = (
    ("location", "工作地点"),
    ("enterprise_name", "企业名称"),
    ("job_id", "岗位编号"),
    ("job_title", "岗位名称"),
    ("worker_id", "劳动力编号"),
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("phone", "手机号"),
    ("gender", "性别"),
    ("home_county", "户籍县"),
    ("wage", "月薪（元）"),
    ("accommodation", "提供住宿"),
    ("score", "匹配得分"),
    ("why", "推荐理由"),
)
SUPPLY_COLUMNS = (
    ("job_id", "岗位编号"),
    ("job_title", "岗位名称"),
    ("occupation_code", "职业代码"),
    ("enterprise_name", "企业名称"),
    ("enterprise_kind", "单位类型"),
    ("employment_base", "就业基地"),
    ("location", "工作地点"),
    ("openings", "招聘人数"),
    ("openings_left", "剩余名额"),
    ("wage", "月薪（元）"),
    ("accommodation", "提供住宿"),
    ("age", "年龄要求"),
    ("gender", "性别要求"),
    ("fit_workers", "本县适合人数"),
    ("contact_name", "联系人"),
    ("contact_phone", "联系电话"),
    ("sent_on", "发送日期"),
)
UNPLACED_COLUMNS = (
    ("worker_id", "劳动力编号"),
    ("name", "姓名"),
    ("id_number", "身份证号"),
    ("phone", "手机号"),
    ("home_county", "户籍县"),
    ("mobility", "流动意愿"),
    ("desired", "意向工种"),
    ("reason", "未安置原因"),
    ("hint", "原因说明与建议（含技能提升）"),
)


def wage_text(job: Job) -> str:
    lo, hi = job.wage_min, job.wage_max
    if lo is not None and hi is not None and lo != hi:
        return f"{lo}–{hi}"
    w = lo if lo is not None else hi
    return "" if w is None else str(w)


def age_text(job: Job) -> str:
    if job.age_min is None and job.age_max is None:
        return "不限"
    if job.age_max is None:
        return f"{job.age_min}岁以上"
    if job.age_min is None:
        return f"{job.age_max}岁以下"
    return f"{job.age_min}–{job.age_max}岁"


def _worker_cells(ds: Dataset, worker_id: str) -> dict[str, Any]:
    w = ds.worker_by_id.get(worker_id)
    if w is None:  # the run's input no longer holds this worker
        return {"worker_id": worker_id}
    return {
        "worker_id": w.worker_id,
        "name": mask("name", w.name),
        "id_number": mask("id_number", w.id_number),
        "phone": mask("phone", w.phone),
        "gender": GENDER_ZH[w.gender.value],
        "home_county": place_name(w.home_county_code),
        "mobility": MOBILITY_ZH[w.mobility.value],
        "desired": "、".join(w.desired_occupations),
    }


def placement_table(ds: Dataset, assignments: Iterable[Mapping[str, Any]]) -> Table:
    """Every assignment of a run with the worker (masked), the job and the reason, by place and enterprise."""
    rows = []
    for a in assignments:
        job = ds.job_by_id.get(a["job_id"])
        ent = ds.enterprise_by_id.get(a["enterprise_id"])
        rows.append(
            {
                **_worker_cells(ds, a["worker_id"]),
                "location_code": a["location_code"],
                "location": place_name(a["location_code"]),
                "enterprise_id": a["enterprise_id"],
                "enterprise_name": ent.name if ent else a["enterprise_id"],
                "job_id": a["job_id"],
                "job_title": job.title if job else "",
                "wage": wage_text(job) if job else "",
                "accommodation": ("是" if job.accommodation else "否") if job else "",
                "score": round(float(a["score"]), 4),
                "why": a.get("explanation_zh", ""),
            }
        )
    rows.sort(key=lambda r: (r["location_code"], r["enterprise_id"], r["job_id"], r["worker_id"]))
    return Table(PLACEMENT_COLUMNS, rows)


def group_rows(table: Table, key: str, label: str) -> dict[str, Table]:
    """The table split by ``key``; each part named by its ``label`` column and key (with its rows'
    ``csv_lines`` where the table has them)."""
    parts: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(table.rows):
        parts[f"{r[key]} {r[label]}".strip()].append(i)
    rows, lines = table.rows, table.csv_lines
    return {
        name: Table(
            table.columns,
            [rows[i] for i in at],
            None if lines is None else [lines[i] for i in at],
        )
        for name, at in sorted(parts.items())
    }


def unplaced_table(ds: Dataset, unplaced: Iterable[Mapping[str, Any]]) -> Table:
    """Every unplaced worker of a run (masked) with the reason in Chinese and the hint: the rule
    behind the reason, what would help (:mod:`matcher.placement.guidance`) and skill-gap training."""
    rows = [
        {
            **_worker_cells(ds, u["worker_id"]),
            "reason": REASON_ZH.get(u["reason"], u["reason"]),
            "hint": u.get("hint_zh") or "",
        }
        for u in unplaced
    ]
    rows.sort(key=lambda r: (r.get("home_county", ""), r["worker_id"]))
    return Table(UNPLACED_COLUMNS, rows)


def supply_tables(
    ds: Dataset,
    year: int,
    assignments: Iterable[Mapping[str, Any]] = (),
    predicted: Mapping[str, Sequence[Any]] | None = None,
    *,
    sent_on: dt.date | None = None,
) -> dict[str, Table]:
    """岗位供给清单 of every paired county code (see module doc), sent on ``sent_on`` (default:
    today); openings left after ``assignments`` (none: the list before any run).

    ``predicted``: job id → (code, confidence) a run predicted for jobs without a code (shown as
    ``4-07-05-01（预测 0.82）``)."""
    from matcher.scoring.factors import age_gender_ok

    sent_on = sent_on or dt.date.today()
    ctx = MatchContext.build(ds, year)
    pmap = ctx.pairing
    if pmap is None:
        return {}
    loc = {c: i for i, c in enumerate(ctx.location_codes)}
    taken: dict[str, int] = defaultdict(int)
    for a in assignments:
        taken[a["job_id"]] += 1
    left = np.array([j.openings - taken.get(j.job_id, 0) for j in ds.jobs], dtype=np.int64)
    is_open = np.array([j.closes_on is None or j.closes_on >= sent_on for j in ds.jobs], dtype=bool)
    workshop = np.array(
        [ds.enterprise_by_id[j.enterprise_id].kind in LOCAL_WORKSHOP_KINDS for j in ds.jobs], dtype=bool
    )
    by_county: dict[int, list[int]] = defaultdict(list)
    for i, c in enumerate(ctx.worker_county):
        by_county[int(c)].append(i)
    out: dict[str, Table] = {}
    for county in sorted(pmap.districts_of_county):
        places = [loc[d] for d in pmap.districts_of_county[county] if d in loc]
        in_district = np.isin(ctx.job_location, np.array(places, dtype=np.int32))
        local = (ctx.job_location == loc[county]) & workshop if county in loc else np.zeros_like(workshop)
        jobs = np.flatnonzero((in_district | local) & (left > 0) & is_open)
        own = by_county.get(loc.get(county, -1), [])
        if own and jobs.size:
            fit: list[int | str] = list(_fit_counts(ctx, np.array(own), jobs, age_gender_ok))
        else:
            fit = [""] * jobs.size  # no worker of the county in the data: every opening goes on the list
        rows = [
            {**_supply_row(ds, int(j), int(left[j]), n, predicted), "sent_on": sent_on.isoformat()}
            for j, n in zip(jobs, fit, strict=True)
            if n != 0
        ]
        rows.sort(key=lambda r: (r["location_code"] != county, r["location_code"], r["job_id"]))
        out[county] = Table(SUPPLY_COLUMNS, rows)
    return out


def supply_sent(tables: Mapping[str, Table], sent_on: dt.date) -> list[dict[str, Any]]:
    """What to record of supply lists sent on ``sent_on``: per county, its jobs and openings."""
    return [
        {
            "county_code": county,
            "sent_on": sent_on,
            "n_jobs": len(t.rows),
            "n_openings": sum(int(r["openings_left"]) for r in t.rows),
        }
        for county, t in tables.items()
    ]


def _fit_counts(ctx: MatchContext, workers: np.ndarray, jobs: np.ndarray, age_gender_ok: Any) -> np.ndarray:
    """For each job, how many of ``workers`` pass its location, age and gender rules.

    Workers are grouped into profiles (accepted places, age, gender) so the work is profiles × jobs.
    """
    allowed = ctx.worker_allowed[workers]
    _, allowed_id = np.unique(_row_keys(allowed), return_inverse=True)
    # one integer per profile (a 1-d unique sorts numbers, not rows): place set, age, gender
    age = ctx.worker_age[workers].astype(np.int64)
    age -= age.min(initial=0)
    place = allowed_id.ravel().astype(np.int64)
    prof = (place * (int(age.max(initial=0)) + 1) + age) * 2 + ctx.worker_male[workers]
    _, first, counts = np.unique(prof, return_index=True, return_counts=True)
    total = np.zeros(jobs.size, dtype=np.int64)
    for p, n in zip(first, counts, strict=True):
        w = workers[p]
        ok = ctx.worker_allowed[w, ctx.job_location[jobs]] & age_gender_ok(
            np.full(jobs.size, ctx.worker_age[w]),
            np.full(jobs.size, ctx.worker_male[w]),
            ctx.job_age_min[jobs],
            ctx.job_age_max[jobs],
            ctx.job_gender[jobs],
        )
        total += ok * n
    return total


def _row_keys(rows: np.ndarray) -> np.ndarray:
    """One value per row of a boolean matrix, equal exactly when the rows are: its bits packed
    into bytes, each row's bytes one fixed-width byte string."""
    packed = np.ascontiguousarray(np.packbits(rows, axis=1))
    if not packed.shape[1]:
        return np.zeros(len(rows), "S1")
    return packed.view(f"S{packed.shape[1]}").ravel()


def occupation_text(job: Job, predicted: Mapping[str, Sequence[Any]] | None = None) -> str:
    """The job's code, else the code a run predicted from its title with its confidence."""
    if job.occupation_code or not predicted or job.job_id not in predicted:
        return job.occupation_code
    code, confidence = predicted[job.job_id][:2]
    return f"{code}（预测 {float(confidence):.2f}）"


def _supply_row(
    ds: Dataset, j: int, left: int, fit: int | str, predicted: Mapping[str, Sequence[Any]] | None = None
) -> dict[str, Any]:
    job = ds.jobs[j]
    ent = ds.enterprise_by_id[job.enterprise_id]
    where = ds.job_location(job)
    return {
        "job_id": job.job_id,
        "job_title": job.title,
        "occupation_code": occupation_text(job, predicted),
        "enterprise_name": ent.name,
        "enterprise_kind": KIND_ZH[ent.kind],
        "employment_base": "是" if ent.employment_base else "否",
        "location_code": where,
        "location": place_name(where),
        "openings": job.openings,
        "openings_left": left,
        "wage": wage_text(job),
        "accommodation": "是" if job.accommodation else "否",
        "age": age_text(job),
        "gender": GENDER_ZH[job.gender.value],
        "fit_workers": fit,
        "contact_name": ent.contact_name,
        "contact_phone": ent.contact_phone,
    }


# ------------------------------------------------------------------------------------ writing

_SHEET_BAD = re.compile(r"[\[\]\*\?/\\:]")
_FILE_BAD = re.compile(r"[\\/:*?\"<>|\s]+")


def sheet_title(name: str, used: set[str]) -> str:
    """A valid, unique Excel sheet name (31 characters, no []*?/\\:)."""
    base = _SHEET_BAD.sub("_", name)[:31] or "Sheet"
    title, n = base, 1
    while title in used:
        n += 1
        title = f"{base[: 31 - len(str(n)) - 1]}~{n}"
    used.add(title)
    return title


def write_csv(table: Table, path: Path) -> Path:
    """``table`` as CSV, UTF-8 with BOM, Chinese headers; formula-like text neutralised."""
    return _write_csv_text(path, _csv_head(table.headers), _csv_lines(table))


def with_csv_lines(table: Table) -> Table:
    """``table`` with each row's CSV text made now (:attr:`Table.csv_lines`): a table written in
    several groupings (a run's placement list by district and by enterprise) is rendered once.
    Its rows must not change after."""
    return Table(table.columns, table.rows, _csv_lines(table))


def _csv_lines(table: Table) -> list[str]:
    """Each row's text as the CSV writer writes it (every cell guarded, :func:`_guarded_rows`)."""
    if table.csv_lines is not None:
        if len(table.csv_lines) != len(table.rows):
            raise ValueError("a table's csv_lines must be one a row")
        return table.csv_lines
    body: list[str] = []
    cells, breaks = _guarded_rows(table)
    if cells:
        write_guarded(_text_writer(body), cells, breaks)
    return body


def _guarded_rows(table: Table) -> tuple[list[tuple[Any, ...]], Any]:
    """``table``'s rows with every cell guarded (:func:`~matcher.csvsafe.guard_columns`), as
    :func:`write_csv`'s writer guards them."""
    if not table.rows:
        return [], None
    return guard_columns(csv_writer(io.StringIO(), lineterminator=CSV_LINE_END), table.column_values())


def _text_writer(out: list[str]) -> Any:
    """The CSV writer of the lists, each row's text appended to ``out`` (one string a row)."""
    return text_writer(out, lineterminator=CSV_LINE_END)


def _csv_head(headers: list[str]) -> str:
    """The header row's text, as the CSV writer writes it."""
    head: list[str] = []
    _text_writer(head).writerow(headers)
    return "".join(head)


def _write_csv_text(path: Path, head: str, body: Sequence[str]) -> Path:
    """A CSV file of the lists: UTF-8 with a byte-order mark, then ``head`` and the rows' text."""
    data = CSV_BOM + "".join([head, *body]).encode("utf-8")
    with open(path, "wb") as fh:
        fh.write(data)
    return path


def csv_file_name(group: str) -> str:
    """The CSV file of a group of a list (its name, without characters a file name cannot hold)."""
    return f"{_FILE_BAD.sub('_', group)}.csv"


def write_csv_groups(groups: Mapping[str, Table], folder: Path) -> list[Path]:
    """Each group as its own CSV file in ``folder`` (:func:`csv_file_name`), as :func:`write_csv`
    writes it.

    The cells of all groups are guarded and written as text in one pass (a string a row; none
    where the groups have their ``csv_lines``), then each group's slice of rows goes to its file
    with the header row made once: a run's placement list by enterprise is thousands of small
    files, and passes over each file's columns, or a writer made for each, cost more than its cells.
    """
    tables = list(groups.values())
    if len({t.columns for t in tables}) > 1:  # groups of one table share its columns; others not
        return [write_csv(t, folder / csv_file_name(name)) for name, t in groups.items()]
    if not tables:
        return []
    if all(t.csv_lines is not None for t in tables):  # rendered once already (with_csv_lines)
        body = [line for t in tables for line in _csv_lines(t)]
    else:  # every group's rows, a string a row, as one writer writes them
        body = _csv_lines(Table(tables[0].columns, [r for t in tables for r in t.rows]))
    head = _csv_head(tables[0].headers)
    written = []
    start = 0
    for name, table in groups.items():
        stop = start + len(table.rows)
        written.append(_write_csv_text(folder / csv_file_name(name), head, body[start:stop]))
        start = stop
    return written


def write_xlsx(sheets: Mapping[str, Table], path: Path) -> Path:
    """One sheet per table, bold frozen header (:mod:`matcher.reporting.xlsx`); strings stored as
    text (a leading ``=`` never becomes a formula), characters a workbook cannot hold removed."""
    used: set[str] = set()
    if not sheets:
        sheets = {"空": Table((("note", "说明"),), [{"note": "无数据"}])}
    return write_workbook(
        {sheet_title(name, used): (table.headers, table.column_values()) for name, table in sheets.items()},
        path,
    )


def write_grouped(groups: Mapping[str, Table], stem: str, out: Path, formats: Sequence[str]) -> list[Path]:
    """Grouped tables as one workbook (a sheet each) and/or one CSV each in folder ``stem``."""
    written: list[Path] = []
    if "xlsx" in formats:
        if len(groups) > MAX_SHEETS:  # too many sheets to browse: one sheet, in group order
            rows = [r for t in groups.values() for r in t.rows]
            cols = next(iter(groups.values())).columns
            groups_x: Mapping[str, Table] = {stem: Table(cols, rows)}
        else:
            groups_x = groups
        written.append(write_xlsx(groups_x, out / f"{stem}.xlsx"))
    if "csv" in formats:
        folder = out / stem
        folder.mkdir(parents=True, exist_ok=True)
        written += write_csv_groups(groups, folder)
    return written


def write_run_exports(
    ds: Dataset,
    year: int,
    assignments: Sequence[Mapping[str, Any]],
    unplaced: Sequence[Mapping[str, Any]],
    out_dir: str | Path,
    formats: Sequence[str] = ("csv", "xlsx"),
    predicted: Mapping[str, Sequence[Any]] | None = None,
    supply: Mapping[str, Table] | None = None,
) -> list[Path]:
    """Write the placement lists, the supply lists and the unplaced list of a run into ``out_dir``;
    ``predicted``: the run's predicted codes of uncoded jobs (``summary["job_codes_predicted"]``);
    ``supply``: the supply lists already made (default: made here, sent today)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    placed = placement_table(ds, assignments)
    if "csv" in formats:  # the same rows go to the lists by district and by enterprise
        placed = with_csv_lines(placed)
    written = write_grouped(group_rows(placed, "location_code", "location"), "安置名单_按地区", out, formats)
    written += write_grouped(
        group_rows(placed, "enterprise_id", "enterprise_name"), "安置名单_按企业", out, formats
    )
    if supply is None:
        supply = supply_tables(ds, year, assignments, predicted)
    named = {f"{c} {place_name(c)}": t for c, t in supply.items()}
    written += write_grouped(named, "岗位供给清单", out, formats)
    written += write_grouped({"未安置名单": unplaced_table(ds, unplaced)}, "未安置名单", out, formats)
    return written
