"""``laborbridge report`` (the programme report) and ``laborbridge fairs import`` (job fairs)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli._app import app

fairs_app = typer.Typer(
    help="Dedicated job fairs (专场招聘会), counted by the programme report.", no_args_is_help=True
)
app.add_typer(fairs_app, name="fairs")


@app.command("report")
def report(
    year: Annotated[int, typer.Option("--year", help="The programme year to report on.")],
    out: Annotated[
        Path | None,
        typer.Option("--out", help="XLSX to write (default: report_<year>.xlsx); JSON beside it."),
    ] = None,
    db: Annotated[
        str | None, typer.Option("--db", help="Store URL (default: settings, then data/laborbridge.db).")
    ] = None,
    chart: Annotated[
        bool, typer.Option("--chart/--no-chart", help="Add the one-page progress chart.")
    ] = True,
) -> None:
    """Progress per district and for the city against the targets, job fairs, the annual flow report."""
    from api.cli._words import words
    from api.cli.runs import store_url
    from matcher.reporting.programme import latest_placements, programme_figures, write_report
    from matcher.store import dataset_from_engine, open_engine
    from matcher.store.runs_repo import job_fairs, outcomes, run_assignments, runs_in_year, supply_lists_sent

    engine = open_engine(store_url(db))
    try:
        ds = dataset_from_engine(engine)
        placements = latest_placements(runs_in_year(engine, year), lambda rid: run_assignments(engine, rid))
        figures = programme_figures(
            ds, year, placements, job_fairs(engine), outcomes(engine), supply_lists_sent(engine)
        )
        figures["_enterprise_names"] = {e.enterprise_id: e.name for e in ds.enterprises}
    finally:
        engine.dispose()
    written = write_report(figures, out or Path(f"report_{year}.xlsx"), chart=chart)
    c = figures["city"]
    p = figures["programme"]
    line = words()(
        "report.line",
        year=year,
        offered=f"{c['jobs_offered']:,}",
        cumulative=f"{c['jobs_offered_cumulative']:,}",
        start=p["start"],
        end=p["end"],
        target=f"{c['jobs_target']:,}",
        placed=f"{c['placed']:,}",
        fairs=c["job_fairs_cumulative"],
        fair_target=c["job_fairs_target"],
    )
    print(line)
    for p in written.values():
        print(p)


@fairs_app.command("import")
def fairs_import(
    file: Annotated[Path, typer.Argument(help="CSV or XLSX of job fairs (English or Chinese headers).")],
    db: Annotated[
        str | None, typer.Option("--db", help="Store URL (default: settings, then data/laborbridge.db).")
    ] = None,
) -> None:
    """Add or replace job fairs by id (fair_id, held_on, place, district_code, county_code, fair_type,
    counts). Bad rows are reported (file, row, field, reason) and the good ones recorded, as by
    ``import``; exit 1 when no row could be recorded."""
    from api.cli._words import words
    from api.cli.runs import store_url
    from matcher.errors import RecordError
    from matcher.runs.followup import fair_rows, load_job_fairs
    from matcher.store import open_engine
    from matcher.store.convert import unfit_values
    from matcher.store.models import JobFairRow, table_of
    from matcher.store.runs_repo import upsert_job_fairs

    t = words()
    fairs, rejected = load_job_fairs(file)
    rows = []
    for row, fair in fairs:
        (values,) = fair_rows([fair])
        unfit = next(unfit_values(table_of(JobFairRow), values), None)
        if unfit is None:
            rows.append(values)
        else:
            col, reason = unfit
            value = str(values[col])[:80]
            rejected.append(RecordError(reason, file=str(file), row=row, field=col, value=value))
    n = 0
    if rows:
        engine = open_engine(store_url(db))
        try:
            n = upsert_job_fairs(engine, rows)
        finally:
            engine.dispose()
    print(t("fairs.recorded", n=n))
    if rejected:
        print(t("fairs.rejected", n=len(rejected)))
        for e in sorted(rejected, key=lambda e: e.row or 0):
            print(f"  {e}" + (f" [{e.value}]" if e.value else ""))
    if not rows:
        raise typer.Exit(1)
