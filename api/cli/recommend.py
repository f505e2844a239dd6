"""``laborbridge recommend`` and ``laborbridge candidates``: explained top-k lists from a data set."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli._app import app

if TYPE_CHECKING:
    from embeddings.encoder import Encoder
    from matcher.recommend.recommender import Recommender
    from matcher.records import Worker

DataOpt = Annotated[
    Path | None, typer.Option("--data", help="Data folder (workers.csv, enterprises.csv, jobs.csv ...).")
]
DbOpt = Annotated[
    str | None, typer.Option("--db", help="Store URL (e.g. sqlite:///data/laborbridge.db) instead of --data.")
]
YearOpt = Annotated[int | None, typer.Option("--year", help="Reference year for ages (default: this year).")]
ConfigOpt = Annotated[
    Path | None, typer.Option("--config", help="Scoring configuration (.json or .toml, see ScoringConfig).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def make_encoder() -> Encoder:
    """The settings' embedding model behind the persistent cache (tests replace this)."""
    from api.settings import get_settings
    from matcher.placement.pipeline import make_encoder as _make

    settings = get_settings()
    return _make(settings.model, settings.cache_dir)


def load_recommender(data: Path | None, db: str | None, year: int | None, config: Path | None) -> Recommender:
    """A :class:`matcher.recommend.recommender.Recommender` fitted on ``--data`` or ``--db``."""
    from matcher.errors import ConfigError
    from matcher.recommend.recommender import Recommender
    from matcher.scoring.factors import ScoringConfig

    if (data is None) == (db is None):
        raise ConfigError("give exactly one of --data DIR or --db URL")
    if data is not None:
        from matcher.ingest import load_folder

        ds = load_folder(data)
    else:
        from matcher.store import load_dataset

        ds = load_dataset(str(db))
    scoring = ScoringConfig.from_file(config) if config else None
    from api.settings import get_settings

    year = year or dt.date.today().year
    return Recommender(scoring, year=year, csco_path=get_settings().csco_path).fit(ds, make_encoder())


def read_profile(path: Path) -> Worker:
    """One worker from a JSON object with the workers.csv fields (``worker_id`` may be left out)."""
    from pydantic import ValidationError

    from matcher.errors import InputError
    from matcher.records import Worker

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read the profile: {exc}", file=str(path)) from exc
    if not isinstance(data, dict):
        raise InputError("the profile must be one JSON object", file=str(path))
    data.setdefault("worker_id", "profile")
    try:
        return Worker.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise InputError(first["msg"], file=str(path), field=field) from exc


@app.command("recommend")
def recommend(
    worker_id: Annotated[str | None, typer.Argument(help="A worker_id from the data set.")] = None,
    profile_file: Annotated[
        Path | None, typer.Option("--profile-file", help="One worker as JSON (workers.csv fields).")
    ] = None,
    data: DataOpt = None,
    db: DbOpt = None,
    k: Annotated[int, typer.Option("--k", min=1, max=200, help="Jobs to list.")] = 10,
    year: YearOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The top-k jobs for one worker, with score and explanation."""
    from matcher.errors import ConfigError

    query: str | Worker
    if worker_id is not None and profile_file is None:
        query = worker_id
    elif profile_file is not None and worker_id is None:
        query = read_profile(profile_file)
    else:
        raise ConfigError("give exactly one of WORKER_ID or --profile-file F")
    rec = load_recommender(data, db, year, config).recommend_one(query, k=k)
    out = rec.to_dict()
    if as_json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    _print_items(f"jobs for worker {rec.worker_id}", out["items"], "job_id", out.get("excluded"))
    for s in out.get("skill_gap", []):
        print(f"  建议 / suggestion: {s['training_zh']} / {s['training_en']}")


@app.command("candidates")
def candidates(
    job_id: Annotated[str, typer.Argument(help="A job_id from the data set.")],
    data: DataOpt = None,
    db: DbOpt = None,
    k: Annotated[int, typer.Option("--k", min=1, max=500, help="Workers to list.")] = 20,
    year: YearOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The top-k workers for one job (no name, ID number or phone), with score and explanation."""
    res = load_recommender(data, db, year, config).candidates_for_job(job_id, k=k)
    out = res.to_dict()
    if as_json:
        print(json.dumps(out, ensure_ascii=False, indent=2))
        return
    _print_items(f"workers for job {res.job_id}", out["items"], "worker_id", out.get("excluded"))


def _print_items(title: str, items: list[dict[str, Any]], key: str, excluded: str | None) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title + (f" ({excluded})" if excluded else ""))
    table.add_column("#", justify="right")
    table.add_column(key)
    table.add_column("score", justify="right")
    table.add_column("why")
    for i, it in enumerate(items, start=1):
        table.add_row(
            str(i), it[key], f"{it['score']:.3f}", f"{it['explanation_zh']}\n{it['explanation_en']}"
        )
    Console().print(table)
