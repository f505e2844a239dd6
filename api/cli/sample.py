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
    national: bool = typer.Option(
        False,
        "--national",
        help="Several partner cities (Tianjin, Beijing, Shanghai, Guangzhou, Hangzhou, Fuzhou) with their "
        "paired counties: real county codes, synthetic pairings outside Tianjin (see national.json).",
    ),
    cities: int | None = typer.Option(
        None, "--cities", min=1, help="With --national: only the first N partner cities [default: all 6]."
    ),
) -> None:
    """Generate a synthetic programme: workers from the paired counties, jobs in Tianjin and at home.

    Names, ID numbers and phones are valid in form but made up. Same options, same bytes.

    truth.csv holds what a scorer never sees (true occupation, preferred location) for benchmarks.
    """
    from matcher.errors import ConfigError
    from matcher.sample.generate import generate_sample, write_sample

    if cities is not None and not national:
        raise ConfigError("--cities needs --national")
    if national:
        from matcher.sample.national import generate_national, write_national

        data, about = generate_national(workers, jobs, seed=seed, year=year, cities=cities)
        written = write_national(data, about, out_dir, truth=truth)
        synthetic = [c["name"] for c in about["cities"] if c["pairings_synthetic"]]
        typer.echo(
            f"national sample: {len(about['cities'])} partner cities; pairings of "
            f"{', '.join(synthetic) or 'no city'} are synthetic (see {written['national']})"
        )
    else:
        data = generate_sample(workers, jobs, seed=seed, year=year)
        written = write_sample(data, out_dir, truth=truth)
    openings = int(data.jobs["openings"].sum())
    typer.echo(
        f"wrote {len(data)} workers, {len(data.enterprises['enterprise_id'])} enterprises, "
        f"{len(data.jobs['job_id'])} jobs ({openings} openings), {len(data.pairings['county_code'])} "
        f"pairings{' + truth' if 'truth' in written else ''} (seed {seed}, year {data.year}) to {out_dir}"
    )
