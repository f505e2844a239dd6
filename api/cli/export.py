"""``laborbridge export KIND``: what leaves the store, as CSV or XLSX, personal data masked.

Two sorts of kind, one command:

* a record type (``workers``, ``enterprises``, ``jobs``, ``pairings``): one file, English headers
  (re-importable as is) or Chinese, ``--unmasked`` for names in clear (the use is audited);
* ``lists``: a run's placement lists (per district, per enterprise), the 岗位供给清单 per paired
  county and the unplaced list with skill-gap hints, into the folder ``--out``; without ``--run``,
  only the supply lists, from the records alone (every opening still open).

A run is read from ``--db`` (see ``laborbridge runs``); its records from ``--data DIR`` or
``--records-db URL``, else from where the run read them (kept with the run). ``laborbridge exports``
is the old spelling of ``export lists`` and stays for one release.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli._app import app

RECORD_KINDS = ("workers", "enterprises", "jobs", "pairings")
KINDS = (*RECORD_KINDS, "lists")
LIST_FORMATS = {"csv": ("csv",), "xlsx": ("xlsx",), "both": ("csv", "xlsx")}


def load_records(data: Path | None, records_db: str | None, source: str | None) -> Any:
    """The data set from a folder, a store URL, or the run's recorded source."""
    from matcher.errors import ConfigError
    from matcher.ingest import load_folder
    from matcher.store import load_dataset

    if data is not None:
        return load_folder(data)
    if records_db is not None:
        return load_dataset(records_db)
    if source:
        return load_dataset(source) if "://" in source else load_folder(source)
    raise ConfigError("say where the records are: --data DIR or --records-db URL")


@app.command("export")
def export_command(
    kind: Annotated[
        str, typer.Argument(help="workers, enterprises, jobs, pairings (records) or lists (a run's lists).")
    ],
    fmt: Annotated[
        str | None,
        typer.Option("--format", help="Records: csv (default) or xlsx. Lists: csv, xlsx or both (default)."),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Records: output file (required for xlsx; CSV goes to stdout without it). Lists: folder.",
        ),
    ] = None,
    db: Annotated[
        str | None,
        typer.Option(
            "--db", help="Store URL (default: settings db_url, else sqlite:///data/laborbridge.db)."
        ),
    ] = None,
    headers: Annotated[
        str, typer.Option("--headers", help="en: English column names (re-importable as is); zh: Chinese.")
    ] = "en",
    unmasked: Annotated[
        bool,
        typer.Option(
            "--unmasked",
            help="Show workers' names in clear (the use writes a row to the store's audit log). ID "
            "numbers and phones stay masked: the store keeps only keyed hashes of them, which "
            "cannot be reversed.",
        ),
    ] = False,
    run: Annotated[
        str | None, typer.Option("--run", help="Lists: run id, unique prefix, latest or latest~N.")
    ] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Lists: folder with the run's records.")] = None,
    records_db: Annotated[
        str | None, typer.Option("--records-db", help="Lists: store with the run's records (default: --db).")
    ] = None,
    year: Annotated[
        int | None, typer.Option("--year", help="Lists: reference year (default: the run's).")
    ] = None,
    sent: Annotated[
        bool,
        typer.Option(
            "--sent",
            help="Lists: record the supply lists as sent to their counties (in the --db store), so "
            "the programme report counts them.",
        ),
    ] = False,
    sent_on: Annotated[
        str | None,
        typer.Option("--sent-on", help="Lists: the date the supply lists are sent (default: today)."),
    ] = None,
) -> None:
    """Export records or a run's lists. ID numbers and phones are always masked (120101********123X,
    138****5678)."""
    from matcher.errors import ConfigError

    if kind not in KINDS:
        raise ConfigError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
    if kind == "lists":
        if unmasked or headers != "en":
            raise ConfigError("--unmasked and --headers are for records; lists are masked and in Chinese")
        if out is None:
            raise ConfigError("export lists needs --out FOLDER")
        write_lists(out, run, db, data, records_db, year, fmt or "both", sent=sent, sent_on=_day(sent_on))
        return
    if run is not None or data is not None or records_db is not None or year is not None or sent or sent_on:
        raise ConfigError("--run, --data, --records-db, --year, --sent and --sent-on are for export lists")
    _export_records(kind, fmt or "csv", out, db, headers, unmasked)


def _day(text: str | None) -> Any:
    """``--sent-on`` as a date (office spellings as in the import); ``None`` when not given."""
    from pydantic import TypeAdapter, ValidationError

    from matcher.errors import ConfigError
    from matcher.records import OptDate

    if text is None:
        return None
    try:
        return TypeAdapter(OptDate).validate_python(text)
    except ValidationError as exc:
        reason = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"--sent-on {text!r}: must be a date like 2020-03-01 ({reason})") from None


def _export_records(
    kind: str, fmt: str, out: Path | None, db: str | None, headers: str, unmasked: bool
) -> None:
    from api.settings import get_settings
    from matcher.errors import ConfigError
    from matcher.ingest.template import header_cells, sheet_name, write_csv, write_xlsx
    from matcher.store import export_columns, export_rows, open_engine

    if fmt not in ("csv", "xlsx"):
        raise ConfigError(f"--format must be csv or xlsx, not {fmt!r}")
    if headers not in ("en", "zh"):
        raise ConfigError(f"--headers must be en or zh, not {headers!r}")
    if fmt == "xlsx" and out is None:
        raise ConfigError("--format xlsx needs --out FILE")
    url = get_settings().store_url(db)
    engine = open_engine(url)
    try:
        if unmasked and kind == "workers":  # before any name leaves: no row, no export
            from api.audit import record_cli

            where = str(out) if out is not None else "stdout"
            record_cli(engine, "laborbridge export workers --unmasked", f"names in clear, {fmt} to {where}")
        columns = export_columns(kind)
        names = header_cells(kind, chinese=headers == "zh")
        rows = export_rows(engine, kind, unmasked_names=unmasked)
        if fmt == "xlsx":
            n = write_xlsx(rows, names, columns, out, sheet=sheet_name(kind))  # type: ignore[arg-type]
        elif out is None:
            n = write_csv(rows, names, columns, sys.stdout)
        else:
            # BOM: Excel on Chinese Windows reads a BOM-less CSV as GBK and garbles it.
            with out.open("w", encoding="utf-8-sig", newline="") as fh:
                n = write_csv(rows, names, columns, fh)
    finally:
        engine.dispose()
    if out is not None:
        print(f"{n:,} {kind} written to {out}", file=sys.stderr)


@app.command("exports", hidden=True, deprecated=True)
def exports(
    out: Annotated[Path, typer.Option("--out", help="Folder for the lists.")],
    run: Annotated[
        str | None, typer.Option("--run", help="Run id, unique prefix, latest or latest~N.")
    ] = None,
    db: Annotated[str | None, typer.Option("--db", help="Store holding the run (default: settings).")] = None,
    data: Annotated[Path | None, typer.Option("--data", help="Folder with the run's records.")] = None,
    records_db: Annotated[
        str | None, typer.Option("--records-db", help="Store with the run's records (default: --db).")
    ] = None,
    year: Annotated[int | None, typer.Option("--year", help="Reference year (default: the run's).")] = None,
    fmt: Annotated[str, typer.Option("--format", help="csv, xlsx or both.")] = "both",
) -> None:
    """Old spelling of ``export lists`` (kept for one release)."""
    print("note: `laborbridge exports` is now `laborbridge export lists`", file=sys.stderr)
    write_lists(out, run, db, data, records_db, year, fmt)


def write_lists(
    out: Path,
    run: str | None,
    db: str | None,
    data: Path | None,
    records_db: str | None,
    year: int | None,
    fmt: str,
    *,
    sent: bool = False,
    sent_on: Any = None,
) -> None:
    """Write placement lists (per district, per enterprise), job supply lists and the unplaced list;
    ``sent``: record the supply lists as sent on ``sent_on`` (default: today) in the ``db`` store."""
    import datetime as dt

    from api.cli.runs import store_url
    from matcher.errors import ConfigError
    from matcher.geo import place_name
    from matcher.reporting.exports import supply_tables, write_grouped, write_run_exports

    formats = LIST_FORMATS.get(fmt)
    if formats is None:
        raise ConfigError(f"--format must be csv, xlsx or both, not {fmt!r}")
    if run is None:
        ds = load_records(data, records_db or db, None)
        y = year or dt.date.today().year
        tables = supply_tables(ds, y, sent_on=sent_on or dt.date.today())
        supply = {f"{c} {place_name(c)}": t for c, t in tables.items()}
        out.mkdir(parents=True, exist_ok=True)
        written = write_grouped(supply, "岗位供给清单", out, formats)
    else:
        from matcher.store import open_engine
        from matcher.store.runs_repo import get_run, run_assignments, run_unplaced

        engine = open_engine(store_url(db))
        header = get_run(engine, run)
        placed = run_assignments(engine, header["run_id"])
        unplaced = run_unplaced(engine, header["run_id"])
        engine.dispose()
        ds = load_records(data, records_db, header["summary"].get("source") or db)
        if ds.input_sha256 != header["input_sha256"]:
            print("warning: the records changed since this run; lists show today's records", file=sys.stderr)
        y = year or header["params"]["year"]
        predicted = header["summary"].get("job_codes_predicted")
        tables = supply_tables(ds, y, placed, predicted, sent_on=sent_on or dt.date.today())
        written = write_run_exports(ds, y, placed, unplaced, out, formats, predicted, supply=tables)
    for p in written:
        print(p)
    if sent:
        _record_sent(tables, sent_on or dt.date.today(), db)


def _record_sent(tables: Any, day: Any, db: str | None) -> None:
    from api.cli._words import words
    from api.cli.runs import store_url
    from matcher.reporting.exports import supply_sent
    from matcher.store import open_engine
    from matcher.store.runs_repo import record_supply_lists_sent

    engine = open_engine(store_url(db))
    try:
        n = record_supply_lists_sent(engine, supply_sent(tables, day))
    finally:
        engine.dispose()
    print(words()("supply.sent", n=n, date=day.isoformat()), file=sys.stderr)
