"""``laborbridge tune``: tune the scoring weights, the fusion weight and k against an answer key."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from api.cli._app import app

if TYPE_CHECKING:
    from embeddings.encoder import Encoder


def make_encoder() -> Encoder:
    """The settings' embedding model behind the persistent cache (tests replace this)."""
    from api.settings import get_settings
    from matcher.placement.pipeline import make_encoder as _make

    settings = get_settings()
    return _make(settings.model, settings.cache_dir)


def _csco() -> str | None:
    from api.settings import get_settings

    return get_settings().csco_path


def _load(data_dir: Path | None, workers: int, jobs: int, seed: int, year: int) -> tuple[Any, Any]:
    """(data set, truth) from ``DATA_DIR`` with its ``truth.csv``, or from a generated sample."""
    from matcher.errors import InputError
    from matcher.ingest import load_folder
    from matcher.tuning.search import Truth

    if data_dir is not None:
        truth_csv = data_dir / "truth.csv"
        if not truth_csv.is_file():
            raise InputError(
                "tuning needs the answer key truth.csv (written by `laborbridge sample`)", file=str(truth_csv)
            )
        ds = load_folder(data_dir)
        return ds, Truth.read_csv(truth_csv, [w.worker_id for w in ds.workers])
    from matcher.sample.generate import generate_sample, write_sample

    data = generate_sample(workers, jobs, seed=seed, year=year)
    with tempfile.TemporaryDirectory(prefix="laborbridge-tune-") as tmp:
        write_sample(data, tmp, truth=False)
        ds = load_folder(tmp)
    return ds, Truth.from_columns(data.truth, [w.worker_id for w in ds.workers])


@app.command("tune")
def tune(
    data_dir: Annotated[
        Path | None,
        typer.Argument(
            help="A `laborbridge sample` folder with truth.csv (default: generate one); "
            "with --from-outcomes, the data folder of the runs (default: the store's records)."
        ),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Configuration file to write (.toml or .json), for --config.")
    ] = Path("tuned.toml"),
    workers: Annotated[
        int, typer.Option("--workers", min=20, help="Sample workers (without DATA_DIR).")
    ] = 2000,
    jobs: Annotated[int, typer.Option("--jobs", min=5, help="Sample jobs (without DATA_DIR).")] = 500,
    seed: Annotated[int, typer.Option("--seed", min=0, help="Sample seed and split seed.")] = 0,
    year: Annotated[int | None, typer.Option("--year", help="Reference year (default: this year).")] = None,
    config: Annotated[
        Path | None, typer.Option("--config", help="Base configuration to start from and compare against.")
    ] = None,
    ks: Annotated[list[int] | None, typer.Option("--k", help="Candidate k to try (repeatable).")] = None,
    min_k: Annotated[int, typer.Option("--min-k", min=1, help="Never choose a k below this.")] = 1,
    random: Annotated[int, typer.Option("--random", min=0, help="Random weight samples.")] = 200,
    rounds: Annotated[int, typer.Option("--rounds", min=0, help="Coordinate-search rounds.")] = 4,
    test_share: Annotated[
        float, typer.Option("--test-share", min=0.1, max=0.9, help="Share of workers held out.")
    ] = 0.5,
    as_json: Annotated[bool, typer.Option("--json", help="Print the full report as JSON.")] = False,
    from_outcomes: Annotated[
        bool,
        typer.Option(
            "--from-outcomes",
            help="Answer key: recorded placement outcomes in --db (data set: DATA_DIR, else the store).",
        ),
    ] = False,
    db: Annotated[
        str | None, typer.Option("--db", help="Store URL with the runs and outcomes (default: settings).")
    ] = None,
    months: Annotated[
        int | None,
        typer.Option(
            "--months",
            min=1,
            help="Retained = still employed after N months (default: each follow-up's horizon).",
        ),
    ] = None,
    runs: Annotated[
        list[str] | None,
        typer.Option("--run", help="Only the outcomes of this run (repeatable; default: all)."),
    ] = None,
    from_titles: Annotated[
        Path | None,
        typer.Option("--from-titles", help="Answer key: a labelled-titles CSV (job_name,expected_code)."),
    ] = None,
) -> None:
    """Search the weights, the dense/lexical fusion weight and k on a train split of the workers,
    check them on the held-out split, and write the best configuration.

    The answer key is the sample's latent truth (truth.csv); or, with --from-outcomes, the
    recorded follow-ups (retained vs left early); or, with --from-titles, labelled job titles.
    The file keeps the base configuration when the tuned one is not better on the held-out
    split. Use it with `place --config` and `serve --config`; its candidates.k is the candidate
    jobs per worker (with --from-outcomes/--from-titles: the largest --k, default 100, not tuned).
    """
    from matcher.recommend.recommender import Recommender
    from matcher.scoring.factors import ScoringConfig
    from matcher.tuning.search import tune as run_tune
    from matcher.tuning.search import write_config

    year = year or dt.date.today().year
    base = ScoringConfig.from_file(config) if config else ScoringConfig()
    if from_outcomes or from_titles is not None:
        _tune_from(
            data_dir,
            out,
            base,
            year,
            max(ks) if ks else 100,
            seed,
            random,
            rounds,
            test_share,
            as_json,
            from_outcomes=from_outcomes,
            db=db,
            months=months,
            runs=runs,
            titles=from_titles,
        )
        return
    if months is not None or runs:
        raise typer.BadParameter("--months and --run need --from-outcomes")
    ds, truth = _load(data_dir, workers, jobs, seed, year)
    rec = Recommender(base, year=year, csco_path=_csco()).fit(ds, make_encoder())
    res = run_tune(
        rec,
        truth,
        ks=tuple(ks or (20, 50, 100, 200)),
        n_random=random,
        n_rounds=rounds,
        test_share=test_share,
        seed=seed,
        min_k=min_k,
    )
    held = res.report["held_out"]
    notes = {
        "source": str(data_dir) if data_dir else f"sample seed={seed} workers={workers} jobs={jobs}",
        "year": year,
        "held_out_ndcg_at_10": round(held["tuned"]["ndcg_at_10"], 4),
        "base_held_out_ndcg_at_10": round(held["base"]["ndcg_at_10"], 4),
        "kept_base": res.kept_base,
    }
    path = write_config(out, res.config, res.k, notes)
    if as_json:
        typer.echo(
            json.dumps({"config_file": str(path), "k": res.k, **res.report}, ensure_ascii=False, indent=2)
        )
        return
    typer.echo(
        f"held-out nDCG@10 {held['tuned']['ndcg_at_10']:.4f} (base {held['base']['ndcg_at_10']:.4f}), "
        f"precision@10 {held['tuned']['precision_at_10']:.4f} (base {held['base']['precision_at_10']:.4f})"
    )
    typer.echo(f"fusion weight {res.report['fusion_weight']:.3f}, k {res.k}")
    verdict = "kept the base configuration (no held-out gain)" if res.kept_base else "tuned configuration"
    typer.echo(f"wrote {path}: {verdict}")


def _tune_from(
    data_dir: Path | None,
    out: Path,
    base: Any,
    year: int,
    k: int,
    seed: int,
    random: int,
    rounds: int,
    test_share: float,
    as_json: bool,
    *,
    from_outcomes: bool,
    db: str | None,
    months: int | None,
    runs: list[str] | None,
    titles: Path | None,
) -> None:
    """``tune --from-outcomes`` and ``tune --from-titles``: fit, tune, write, print."""
    from matcher.recommend.recommender import Recommender
    from matcher.tuning.search import write_config

    if from_outcomes and titles is not None:
        raise typer.BadParameter("give one answer key: --from-outcomes or --from-titles")
    if titles is not None:
        from matcher.tuning.titles import read_titles, title_problem, tune_from_titles

        if months is not None or runs or data_dir is not None:
            raise typer.BadParameter("--from-titles takes no DATA_DIR, --months or --run")
        rows, rejected = read_titles(titles)
        problem = title_problem(rows, seed)
        rec = Recommender(base, year=year, fetch=k, csco_path=_csco()).fit(problem.dataset, make_encoder())
        res = tune_from_titles(
            rec,
            problem,
            n_random=random,
            n_rounds=rounds,
            test_share=test_share,
            seed=seed,
            source=str(titles),
        )
        res.report["rows_left_out"] = [str(e) for e in rejected]
        source, metric, label = str(titles), "ndcg_at_10", "nDCG@10"
    else:
        from sqlalchemy import make_url

        from api.cli.runs import store_url
        from matcher.ingest import load_folder
        from matcher.store import dataset_from_engine, open_engine
        from matcher.tuning.outcomes import labelled_placements, stored_outcomes, tune_from_outcomes

        url = store_url(db)
        engine = open_engine(url)
        try:
            outcome_rows, run_ids = stored_outcomes(engine, runs)
            ds = load_folder(data_dir) if data_dir is not None else dataset_from_engine(engine)
        finally:
            engine.dispose()
        labelled = labelled_placements(outcome_rows, months)
        shown = make_url(url).render_as_string(hide_password=True)
        source = f"outcomes of {len(run_ids)} run(s) in {shown}"
        rec = Recommender(base, year=year, fetch=k, csco_path=_csco()).fit(ds, make_encoder())
        res = tune_from_outcomes(
            rec, labelled, n_random=random, n_rounds=rounds, test_share=test_share, seed=seed, source=source
        )
        res.report["runs"] = run_ids
        res.report["months"] = months
        metric, label = "objective", "retention objective"
    held = res.report["held_out"]
    notes = {
        "source": source,
        "year": year,
        f"held_out_{metric}": round(held["tuned"][metric], 4),
        f"base_held_out_{metric}": round(held["base"][metric], 4),
        "kept_base": res.kept_base,
    }
    path = write_config(out, res.config, res.k, notes)
    if as_json:
        typer.echo(
            json.dumps({"config_file": str(path), "k": res.k, **res.report}, ensure_ascii=False, indent=2)
        )
        return
    figures = ", ".join(
        f"{m} {held['tuned'][m]:.4f} (base {held['base'][m]:.4f})" for m in held["tuned"] if m != metric
    )
    typer.echo(f"held-out {label} {held['tuned'][metric]:.4f} (base {held['base'][metric]:.4f}); {figures}")
    for e in res.report.get("rows_left_out", [])[:5]:
        typer.echo(f"left out: {e}")
    verdict = "kept the base configuration (no held-out gain)" if res.kept_base else "tuned configuration"
    typer.echo(f"wrote {path}: {verdict}")
