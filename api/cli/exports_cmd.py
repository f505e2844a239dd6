"""``laborbridge exports``: a run's placement lists, the job supply lists and the unplaced list.

The run is read from ``--db`` (see ``laborbridge runs``); its records from ``--data DIR`` or
``--records-db URL``, else from where the run read them (kept with the run). Without ``--run``,
only the job supply lists are written, from the records alone (every opening still open).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from api.cli._app import app


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


@app.command("exports")
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
    """Write placement lists (per district, per enterprise), job supply lists and the unplaced list."""
    import datetime as dt

    from api.cli.runs import store_url
    from matcher.errors import ConfigError
    from matcher.geo import place_name
    from matcher.reporting.exports import write_grouped, write_run_exports

    formats = {"csv": ("csv",), "xlsx": ("xlsx",), "both": ("csv", "xlsx")}.get(fmt)
    if formats is None:
        raise ConfigError(f"--format must be csv, xlsx or both, not {fmt!r}")
    if run is None:
        from matcher.reporting.exports import supply_tables

        ds = load_records(data, records_db or db, None)
        y = year or dt.date.today().year
        supply = {f"{c} {place_name(c)}": t for c, t in supply_tables(ds, y).items()}
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
        written = write_run_exports(ds, y, placed, unplaced, out, formats, predicted)
    for p in written:
        print(p)
