"""``laborbridge sample``: write a synthetic, realistic data folder."""

from __future__ import annotations

from pathlib import Path

import typer

from api.cli._app import app


@app.command("sample")
def sample(
    out_dir: Path = typer.Argument(..., help="Folder to write workers/enterprises/jobs/pairings.csv into."),
    workers: int = typer.Option(2000, "--workers", min=0, help="Number of workers (labourers) to generate."),
    jobs: int = typer.Option(500, "--jobs", min=0, help="Number of job postings to generate."),
    seed: int = typer.Option(0, "--seed", min=0, help="Random seed; the same seed gives identical files."),
    year: int | None = typer.Option(
        None, "--year", help="Reference year for ages and active pairings (default: this year)."
    ),
    truth: bool = typer.Option(
        True,
        "--truth/--no-truth",
        help="Also write truth.csv (latent occupation and preferences) for quality benchmarks.",
    ),
) -> None:
    """Generate a synthetic programme: workers from the paired counties, jobs in Tianjin and at home.

    Names, ID numbers and phones are valid in form but made up. Same options, same bytes.

    truth.csv holds what a scorer never sees (true occupation, preferred location) for benchmarks.
    """
    from matcher.sample.generate import generate_sample, write_sample

    data = generate_sample(workers, jobs, seed=seed, year=year)
    written = write_sample(data, out_dir, truth=truth)
    openings = int(data.jobs["openings"].sum())
    typer.echo(
        f"wrote {len(data)} workers, {len(data.enterprises['enterprise_id'])} enterprises, "
        f"{len(data.jobs['job_id'])} jobs ({openings} openings), {len(data.pairings['county_code'])} "
        f"pairings{' + truth' if 'truth' in written else ''} (seed {seed}, year {data.year}) to {out_dir}"
    )
